"""A batch's rows on the Spark path, parsed once (write.py): the source's typed, guarded rows are
persisted as they are first computed, so the key check (key_stats over key_counts) and the write
both read that one parse, not the file again; the rows deduplicated when a key has more than one
(dedupe). Kept as rows, MEMORY_AND_DISK (a local checkpoint: no columnar cache to build, which
measured slower than reading the file twice): what doesn't fit the memory Spark keeps for blocks
spills to the executors' local disk, so a source far larger than the heap is still one read with a
bounded heap; released when the write is done, whether it committed or failed."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from .csv_source import POSITION

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@contextmanager
def parsed_once(rows: "DataFrame") -> Iterator["DataFrame"]:
    """The rows kept as the first action over them (the key check) computes them, released after."""
    # Lazy: the key check's own job parses the file and keeps its rows (MEMORY_AND_DISK, as
    # rows), so a bad record fails the key check and its handle is known before any job runs.
    kept = rows.localCheckpoint(eager=False)
    rdd = kept._jdf.queryExecution().analyzed().rdd()
    try:
        yield kept
    finally:
        rdd.unpersist(True)


def key_counts(rows: "DataFrame", keys: list[str]) -> "DataFrame":
    """Per key, how many of the rows carry it (key columns and `count`)."""
    return rows.select(*[rows[f"`{k}`"] for k in keys]).groupBy(*keys).count()


def key_stats(counts: "DataFrame", keys: list[str], current: "DataFrame | None") -> dict[str, int]:
    """One aggregation over a batch's key counts: records, records with an empty key, the most
    records one key has, distinct keys, and how many of them the table (current) already holds."""
    from pyspark.sql import functions as F

    null_key = F.lit(False)
    for k in keys:
        null_key = null_key | F.col(f"`{k}`").isNull()
    if current is not None:
        # The table holds one row per key: no distinct (a shuffle of every key of the table);
        # Spark's adaptive planning broadcasts the batch's key counts when they are small.
        hits = current.select(*[F.col(f"`{k}`") for k in keys]).withColumn("__lf_hit", F.lit(1))
        counts = counts.join(hits, keys, "left")
    else:
        counts = counts.withColumn("__lf_hit", F.lit(None).cast("int"))
    row = counts.agg(
        F.coalesce(F.sum("count"), F.lit(0)).alias("rows"),
        F.coalesce(F.sum(F.when(null_key, F.col("count"))), F.lit(0)).alias("nulls"),
        F.coalesce(F.max(F.when(~null_key, F.col("count"))), F.lit(0)).alias("maxPerKey"),
        F.coalesce(F.sum("__lf_hit"), F.lit(0)).alias("overlap"),
        F.count(F.when(~null_key, F.lit(1))).alias("keys"),
    ).first()
    return {k: int(row[k]) for k in ("rows", "nulls", "maxPerKey", "overlap", "keys")}


def dedupe(df: "DataFrame", keys: list[str], ordering: str | None) -> "DataFrame":
    """One row per key: the one with the largest ordering value, else the last one in the file
    (the rows carry their position in the file: csv_source.rows(position=True))."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    order = [F.col(f"`{ordering}`").desc_nulls_last()] if ordering else []
    w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(*order, F.col(POSITION).desc())
    return df.withColumn("__lf_rank", F.row_number().over(w)).where("__lf_rank = 1").drop("__lf_rank", POSITION)
