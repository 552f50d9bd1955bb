"""The pure half of a rebuild (rebuild.py runs it): its names and places, what refuses it, and
the verification's fingerprint (computed in Spark on both tables, compared here). No Spark
import at module level, so pytest checks these without one."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from .contract import CONSTANTS
from .errors import JobFailure

# How many of the keys a collapse would merge are named in its refusal.
SAMPLE_KEYS = 5
# The database a Hudi table rebuilt from another format names in its properties (rebuild.py): none.
NO_DATABASE = "lakeform_no_database"


@dataclass(frozen=True)
class Names:
    """Where a rebuild's tables are: the shadow (its own metastore entry until the swap, at its
    own location beside the table's) and the name the replaced table keeps in the trash."""

    stamp: str
    shadow_name: str
    shadow_location: str
    trash_name: str

    @staticmethod
    def of(name: str, home: str, now: float | None = None) -> "Names":
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() if now is None else now))
        # A "-" is no identifier's: no other table's home can be the shadow's location.
        return Names(stamp=stamp, shadow_name=f"{name}__rebuild_{stamp}", shadow_location=f"{home}-r{stamp}", trash_name=f"{name}__before_{stamp}")


def layout(spec_json: str | None) -> dict[str, Any] | None:
    """The layout fields (format, primaryKey, partitionBy) of a commit's lakeform.spec."""
    import json

    if not spec_json:
        return None
    try:
        s = json.loads(spec_json)
    except ValueError:
        return None
    return {k: s.get(k) for k in ("format", "primaryKey", "partitionBy")}


def describe_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    """'primaryKey [id] → [id, region]; format hudi → iceberg'."""
    show = lambda v: f"[{', '.join(v)}]" if isinstance(v, list) else str(v)  # noqa: E731
    parts = [f"{k} {show(before.get(k))} → {show(after.get(k))}" for k in ("format", "primaryKey", "partitionBy") if before.get(k) != after.get(k)]
    return "; ".join(parts) or "nothing"


def refuse_collapse(table: str, keys: list[str], duplicates: int, sample: list[list[Any]]) -> JobFailure:
    """A new key two or more rows share: the rebuild would merge them, so it is refused."""
    shown = ", ".join("(" + ", ".join(repr(v) for v in row) + ")" if len(row) > 1 else repr(row[0]) for row in sample[:SAMPLE_KEYS])
    return JobFailure(
        "INCOMPATIBLE_SPEC_CHANGE",
        f"rebuilding {table} with primaryKey [{', '.join(keys)}] would collapse rows: {duplicates} key(s) are shared by more than one row "
        f"(e.g. {shown}); the table is unchanged. Choose a key that is unique in the table's rows",
    )


def refuse_null_keys(table: str, keys: list[str], rows: int) -> JobFailure:
    return JobFailure("INCOMPATIBLE_SPEC_CHANGE", f"rebuilding {table} with primaryKey [{', '.join(keys)}]: {rows} row(s) have an empty key column; the table is unchanged")


def metastore_partition_keys(layout: dict[str, Any]) -> list[str]:
    """The partition keys of a table's metastore entry: a Hudi table's partitionBy (each partition
    is an entry of its own, at a location under the table's); none for Iceberg (in its metadata)."""
    return list(layout.get("partitionBy") or []) if layout.get("format") == "hudi" else []


def refuse_partitioned_hudi_swap(table: str, before: dict[str, Any], after: dict[str, Any], replaces_whole: Callable[[], bool]) -> JobFailure | None:
    """A rebuild whose swap readers could see half-made: refused, saying what the user can do.
    None when the swap is one step readers see whole.

    Away from a partitioned Hudi table, on any metastore: its partitions are entries of their own,
    and Trino reads a table's entry and then lists its partitions by name, in two calls. A query that
    read the old entry just before the swap lists the new table's partitions (or none, an Iceberg
    table has none) just after it, and answers with rows missing instead of failing. Hive gives no
    call that returns both from one moment.

    Into a partitioned Hudi table (from an unpartitioned Hudi or an Iceberg one: the old entry has
    no partitions a reader could list), only on a metastore that replaces entries whole (Lakeform's
    own; `replaces_whole` asks it, only then): Hive's alter_table refuses to change an entry's
    partition keys ("partition keys can not be changed"), so elsewhere the swap would be a drop and
    a create. The text is lake/rebuildRefusals.json's, filled as the plan fills it (rebuildPlan.ts)."""
    kb, ka = metastore_partition_keys(before), metastore_partition_keys(after)
    if not kb and (not ka or replaces_whole()):
        return None
    show = lambda v: f"[{', '.join(v)}]"  # noqa: E731
    R = CONSTANTS["rebuildRefusals"]
    if kb:
        why, todo = R["why"]["fromPartitionedHudi"], R["todo"]["keyChange"] if kb == ka else R["todo"]["fromPartitionedHudi"]
    else:
        why, todo = R["why"]["keysChange"], R["todo"]["fromIceberg"] if before.get("format") == "iceberg" else R["todo"]["fromUnpartitionedHudi"]
    values = {"before": show(kb), "after": show(ka), "key": show(before.get("primaryKey") or []), "table": table, "change": describe_change(before, after)}
    text = R["refusal"].replace("{why}", why).replace("{todo}", todo)
    return JobFailure("INCOMPATIBLE_SPEC_CHANGE", re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text))


def unsupported(table: str, why: str) -> JobFailure:
    return JobFailure("INCOMPATIBLE_SPEC_CHANGE", f"table {table} can't be rebuilt: {why}; the table is unchanged")


@dataclass(frozen=True)
class Fingerprint:
    """What must be equal on both sides of a rebuild: rows, distinct keys, and the sums of a
    64-bit hash of each row's key and of each row's columns (order-free)."""

    rows: int
    keys: int
    key_sum: str
    row_sum: str

    @property
    def checksum(self) -> str:
        return f"{self.key_sum}:{self.row_sum}"

    def mismatch(self, other: "Fingerprint") -> str | None:
        diffs = [f"{f} {getattr(self, f)} ≠ {getattr(other, f)}" for f in ("rows", "keys", "key_sum", "row_sum") if getattr(self, f) != getattr(other, f)]
        return "; ".join(diffs) or None


def fingerprint(df: Any, keys: list[str], columns: list[str]) -> Fingerprint:
    """The fingerprint of a DataFrame's rows (one Spark job): columns hashed in name order, so a
    table whose columns are in another order hashes the same; sums exact (decimal)."""
    from pyspark.sql import functions as F

    cols = sorted(columns)
    row = df.select(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct(*[F.col(f"`{k}`") for k in keys]).alias("keys"),
        F.sum(F.xxhash64(*[F.col(f"`{k}`") for k in keys]).cast("decimal(38,0)")).alias("k"),
        F.sum(F.xxhash64(*[F.col(f"`{c}`") for c in cols]).cast("decimal(38,0)")).alias("r"),
    ).collect()[0]
    return Fingerprint(rows=int(row["rows"]), keys=int(row["keys"]), key_sum=str(row["k"] or 0), row_sum=str(row["r"] or 0))


def tombstone(
    database: str, trash_name: str, fmt: str, location: str, spec: dict[str, Any], last_commit: dict[str, str] | None, rows: int, days: float,
    now: float | None = None, declared_in: str | None = None,
) -> dict[str, Any]:
    """The trash's record of the table a rebuild replaced (lake/trash.ts Tombstone): listed by
    `lakeform trash`, purged after its period, undroppable under its trash name."""
    now = time.time() if now is None else now
    iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{int(s * 1000) % 1000:03d}Z"  # noqa: E731
    return {
        "table": f"{database}.{trash_name}",
        "database": database,
        "name": trash_name,
        "format": fmt,
        "location": location,
        "droppedAt": iso(now),
        "purgeAfter": iso(now + days * 86_400),
        "trashDays": days,
        "spec": spec,
        **({"lastCommit": last_commit} if last_commit else {}),
        **({"declaredIn": declared_in} if declared_in else {}),
        "rowCount": rows,
        "replacedBy": "rebuild",
    }
