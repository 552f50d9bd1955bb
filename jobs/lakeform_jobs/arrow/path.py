"""The Arrow write path: an Iceberg write of a batch that fits the job server's memory, read by
pyarrow and committed by pyiceberg in this process, with no Spark job (issue 20, item 1).

It is the Spark path's write (operations.py Jobs.write) with the same guarantees, in the same
place: under the table's write lock, the same progress entry, the lease checked before it starts
and right before the commit, the repair-first check and `once` answered before it (Jobs.write
does both for either path), and the commit journaled after. Its rules are the Spark path's:
- the source (CSV, TSV, plain or gzip'd or bzip2'd, Parquet) named, typed and checked as the
  Spark path's readers read it (arrow/reader.py); a source it can't promise to read the same way
  is handed to the Spark path (Decline) before anything is written;
- every key, partition and ordering column must be in the header (else the Spark path, which
  names a bad record first, refuses it), and under schemaPolicy strict no new column
  (SCHEMA_REFUSED); a column the table has keeps its type;
- an empty key is refused with its line (BAD_CSV) before any commit; a key twice in the batch
  keeps the row with the largest orderingField, else the last in the file (dedupe);
- expectations (arrow/expect.py): every rule and action as expectations_spark.py evaluates them,
  before dedupe; a fail rule refuses the write, quarantined rows are upserted into
  <table>__quarantine (arrow/quarantine.py) before the table's commit, the lease checked first;
- deleteWhen's rows delete their key in the same commit;
- the commit's summary carries the lakeform.* keys, so the reconciler's observe and its
  applied-once check see it as any other, and lakeform.path = arrow says which path wrote it.
A batch larger than the path's budget (ArrowPath.max_bytes), a Hudi table, a change document or
a request that asks for Spark takes the Spark path.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any, Callable

from ..errors import SchemaRefused
from ..formats.base import META_PREFIX
from ..names import sanitize_column
from ..partitioning import has_pyiceberg_core, pyiceberg_writes
from ..progress import profile_line
from ..readers.detect import ReadOptions
from . import expect as arrow_expect
from . import quarantine as arrow_quarantine
from . import reader as readers
from .iceberg import ArrowPlan, IcebergWriter, LakeConf
from .reader import Decline

if TYPE_CHECKING:
    import pyarrow as pa

    from ..requests import WriteRequest
    from ..types import Table

log = logging.getLogger("lakeform.jobs")

# The stack's budget for one Arrow batch (components/spark: arrowPathMaxMB), else a share of the
# job server's memory: pyarrow holds the file, its text columns and the typed ones at once
# (about four times the file), beside the JVM's heap.
MAX_BYTES_CONF = "spark.lakeform.arrowPath.maxBytes"
MEMORY_SHARE = 4
MIN_DEFAULT = 64 << 20
PATH_KEY = META_PREFIX + "path"


def memory_bytes(text: str) -> int | None:
    """A JVM memory setting (2g, 1536m, 512k) in bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", (text or "").lower())
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]


def budget(get: Callable[[str, str], str]) -> int:
    """The largest source the Arrow path takes: the stack's setting, else a quarter of the driver's memory."""
    given = get(MAX_BYTES_CONF, "")
    if given.strip():
        return max(0, int(given))
    mem = memory_bytes(get("spark.driver.memory", "1g")) or (1 << 30)
    return max(MIN_DEFAULT, mem // MEMORY_SHARE)


def available() -> str | None:
    """Why the Arrow path can't run here (pyiceberg or pyarrow not installed), or None."""
    try:
        import pyarrow  # noqa: F401
        import pyiceberg.catalog.hive  # noqa: F401
    except Exception as e:  # an image without them: every write takes the Spark path
        return f"{type(e).__name__}: {e}"
    return None


class ArrowPath:
    def __init__(self, conf: LakeConf, max_bytes: int):
        self.writer = IcebergWriter(conf)
        self.max_bytes = max_bytes

    @staticmethod
    def create(get: Callable[[str, str], str]) -> "ArrowPath | None":
        why = available()
        if why:
            log.warning("the Arrow write path is off (%s): every write takes the Spark path", why)
            return None
        return ArrowPath(LakeConf.from_spark_conf(get), budget(get))

    def refusal(self, t: "Table", size: int, asked: str) -> str | None:
        """Why this write takes the Spark path, or None when the Arrow path takes it."""
        if asked == "spark":
            return "the request asked for the Spark path"
        if t.format != "iceberg":
            return "Hudi tables are written by Spark"
        if size > self.max_bytes:
            return f"the source ({size} bytes) is over the Arrow path's budget ({self.max_bytes} bytes)"
        return None

    def write_if_taken(self, writes: Any, req: "WriteRequest", fmt: Any, progress: Any, guard: Any, started: float) -> Any | None:
        """The write on the Arrow path when it takes it (refusal, Decline); None: the Spark path
        writes it (Writes.write_source). A source already applied (`once`) is answered as the Spark
        path answers it, before either reads it."""
        t, source = req.table, req.source
        why = self.refusal(t, writes.ctx.storage.size(source.uri), getattr(req, "path", "auto") or "auto")
        why = why or spark_only(req)
        if why:
            log.info("table=%s: %s takes the Spark path: %s", t.key, source.name or source.uri, why)
            return None
        target = writes._target(t, fmt)
        done = writes._already_applied(req, fmt, target, started)
        if done is not None:
            return done
        try:
            return self.write(writes, req, fmt, target.exists, progress, guard, started)
        except Decline as e:
            log.info("table=%s: %s takes the Spark path: %s", t.key, source.name or source.uri, e)
            progress.p.path = "spark"
            return None

    # ---------------------------------------------------------------------------- the write

    def write(self, writes: Any, req: "WriteRequest", fmt: Any, target_exists: bool, progress: Any, guard: Any, started: float) -> Any:
        """The write (see the module's doc); Decline before anything is written when the Spark path
        must take it. `writes`: the Spark path's Writes, whose undo, journal and lease steps it shares."""
        from ..replies import WriteResult
        from ..lease import raise_if_lost, warn_if_committed_after_loss

        t, source = req.table, req.source
        progress.p.path = "arrow"
        progress.stage("reading")
        try:
            existing = self.writer.load(t) if target_exists else None
        except Exception as e:
            raise failure(e) from e
        if target_exists and existing is None:
            raise Decline("the table is in the catalog but pyiceberg can't load it")
        if existing is not None and any(str(f.transform) != "identity" for f in existing.spec().fields) and not has_pyiceberg_core():
            raise Decline("the table's partition spec has Iceberg transforms, which pyiceberg writes only with pyiceberg-core")
        visible = [f.name for f in existing.schema().fields] if existing is not None else []
        table_types = {f.name: f.type for f in existing.schema().as_arrow()} if existing is not None else {}
        try:
            data = self.writer.read_bytes(source.uri)
        except OSError as e:
            raise Decline(f"pyarrow could not read the source ({e})") from e
        progress.p.bytes_total = len(data)
        r = readers.read(data, table_types, source.read, max_bytes=self.max_bytes)
        if t.expect and any(r.types.get(e.column, "string") not in readers.CSV_KINDS for e in t.expect):
            raise Decline("an expectation names a column of a type (float, date, decimal) whose comparisons are Spark's")
        keys = [sanitize_column(k) for k in t.primary_key]
        named = keys + t.partition_columns + ([t.ordering_field] if t.ordering_field else [])
        if any(k not in r.names for k in named):
            raise Decline("a column named in tables.yaml is not in the header: the Spark path names the bad record")
        if any(r.types.get(k) in ("double", "float") for k in keys):
            raise Decline("a floating-point key: the Spark path's MERGE matches -0.0, 0.0 and NaN its own way")
        if t.ordering_field and r.types.get(t.ordering_field) in ("double", "float") and has_nan(r.table.column(t.ordering_field)):
            raise Decline("a NaN orderingField: Spark orders NaN above every number, pyarrow's sort with the nulls")
        marker = t.delete_when.column if t.delete_when and t.delete_when.column in r.names else None
        new_cols = [c for c in r.names if target_exists and c not in visible and c != marker]
        if new_cols and t.schema_policy == "strict":
            raise SchemaRefused(f"schemaPolicy is strict and the CSV has new column(s): {', '.join(new_cols)}; the table was left as it was")
        if len(r.table) == 0:
            raise Decline("a source without rows: the Spark path writes its commit")
        progress.stage("checking keys")
        progress.rows(len(r.table))
        if req.bad_rows == "quarantine" and readers.first_empty_key(r.table, keys) is not None:
            raise Decline("a row with an empty key: the Spark path quarantines it (bad_rows.py)")
        readers.refuse_empty_keys(r, keys)
        batch, outcome, quarantined = r.table, None, None
        label = source.name or source.uri.rsplit("/", 1)[-1]
        if t.expect:
            # Before dedupe, as on the Spark path: a row a drop rule broke never wins its key.
            checked = arrow_expect.check_all(t.expect, r, label, source.hash, arrow_quarantine.JavaText(getattr(writes, "spark", None)))
            batch, outcome, quarantined = checked.kept, checked.outcome, checked.quarantine
            refused = outcome.failure()
            if refused is not None:
                raise refused
        rows, deduped = dedupe(batch, keys, t.ordering_field)
        rows, flag = delete_flag(rows, t, marker, r.types)
        meta = {META_PREFIX + k: v for k, v in {"source_hash": source.hash, "source": source.name, "generation": req.generation, "spec": t.spec_json(), **source.replay_meta()}.items()}
        meta[PATH_KEY] = "arrow"
        if outcome is not None:
            meta.update({META_PREFIX + k: v for k, v in outcome.meta().items()})
        plan = ArrowPlan(keys=keys, meta=meta, new_cols=new_cols, flag=flag, properties=fmt.table_properties(t), partition_by=t.partition_by, location=t.location)
        if quarantined is not None:
            # Kept before the table's commit, the lease checked first (expectations_spark.apply).
            guard.check()
            try:
                qcommit = arrow_quarantine.write(self.writer, fmt, t, quarantined, {"source_hash": source.hash, "source": source.name, "generation": req.generation}, before_commit=guard.check)
            except Exception as e:
                raise_if_lost(guard, e, "the write was cancelled before it committed; nothing was written")
                raise failure(e) from e
            log.warning("table=%s: %d row(s) of %s quarantined in %s__quarantine by the Arrow path (commit %s)", t.key, outcome.quarantined if outcome else 0, label, t.key, qcommit)
        before = None if target_exists else writes._before_new_table(t)
        progress.stage("writing")
        try:
            out = self.writer.write(t, rows, plan, target_exists, before_commit=lambda: (progress.stage("committing"), guard.check()))
        except Exception as e:
            if target_exists and writes._journal_if_committed(t, fmt, req, started):
                raise
            if not target_exists:
                writes._undo_new_table(t, before)
            raise_if_lost(guard, e, "the write was cancelled before it committed; nothing was written")
            raise failure(e) from e
        warn_if_committed_after_loss(guard, out.commit)
        progress.stage("journaling")
        if source.journal:
            writes.journal.append(t, commit=out.commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation, read=source.read)
        profile = progress.profile()
        what = ("bulk" if out.bulk else f"upsert ({out.rewritten_files} data file(s) rewritten)") + (", deduplicated" if deduped else "")
        log.info("table=%s: %s written by the Arrow path in %.1f s (%s, commit attempts %d): %s", t.key, source.name or source.uri, time.time() - started, what, out.attempts, profile_line(profile))
        return WriteResult(
            commit=out.commit,
            rows_written=len(batch),
            renamed=r.renamed,
            columns=[c for c in r.names if c != marker],
            added_columns=new_cols,
            duration_ms=int((time.time() - started) * 1000),
            operation=f"arrow: {what}",
            profile=profile,
            expectations=outcome.results() if outcome is not None else None,
            **out.counts,
        )


def spark_only(req: "WriteRequest") -> str | None:
    """What of a request only the Spark path reads (a source the Arrow reader can't read alike:
    readers/detect.py arrow_refusal; declared column types, a schemaPolicy that discards): the
    Arrow path reads CSV, TSV and Parquet with the table's and inferred (or Parquet's) types, and
    adds columns or refuses them."""
    t, source = req.table, req.source
    read = getattr(source, "read", None) or ReadOptions()
    why = read.arrow_refusal(source.uri)
    if why:
        return why
    declared = getattr(t, "columns", None)
    if declared and getattr(declared, "types", declared):
        return "the table declares column types"
    if getattr(req, "quarantine_keys", ()):
        return "a quarantine replay removes its rows from <table>__quarantine on the Spark path"
    if getattr(t, "expect", ()):
        # Every rule and action (arrow/expect.py); a pattern RE2 reads otherwise than Java: Spark's.
        why = arrow_expect.refusal(t.expect)
        if why:
            return why
    if t.schema_policy not in ("addColumns", "strict"):
        return f"schemaPolicy {t.schema_policy}"
    if not pyiceberg_writes(t.partition_fields):
        return "the table is partitioned by Iceberg transforms, which pyiceberg writes only with pyiceberg-core"
    return None


def failure(e: Exception) -> Exception:
    """A failure of pyiceberg, pyarrow or the metastore's client as the job server's codes say it
    (classify() would take a Python ValueError for the caller's bad request): the object store's
    OBJECT_STORE_ERROR, anything else SPARK_ERROR (the job server's failure, retryable)."""
    from ..errors import JobFailure

    if isinstance(e, (JobFailure, Decline)):
        return e
    what = f"{type(e).__name__}: {str(e)[:400]}"
    if isinstance(e, OSError) and not type(e).__module__.startswith("thrift"):
        return JobFailure("OBJECT_STORE_ERROR", f"the Arrow path's write failed in the object store: {what}")
    return JobFailure("SPARK_ERROR", f"the Arrow path's write failed before it committed: {what}")


def dedupe(table: "pa.Table", keys: list[str], ordering: str | None) -> tuple["pa.Table", bool]:
    """One row per key: the one with the largest ordering value (nulls last), else the last one
    in the file (operations.dedupe's rule). Whether any key had more than one row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .iceberg import key_of

    k = key_of(table, keys)
    if pc.count_distinct(k).as_py() == len(table):
        return table, False
    pos = "__lf_pos"
    t = table.append_column(pos, pa.array(range(len(table)), type=pa.int64()))
    order = ([(ordering, "descending", "at_end")] if ordering else []) + [(pos, "descending", "at_end")]
    t = t.take(pc.sort_indices(t, sort_keys=order))
    rank = "__lf_rank"
    t = t.append_column(rank, pa.array(range(len(t)), type=pa.int64()))
    t = t.append_column("__lf_key", key_of(t, keys))
    firsts = t.group_by("__lf_key", use_threads=False).aggregate([(rank, "min")]).column(f"{rank}_min")
    out = t.take(firsts).drop_columns([pos, rank, "__lf_key"])
    return out, True


def has_nan(col: "pa.ChunkedArray") -> bool:
    import pyarrow.compute as pc

    return bool(pc.any(pc.is_nan(col)).as_py())


FLAG = "__lakeform_delete"


def delete_flag(table: "pa.Table", t: "Table", marker: str | None, types: dict[str, str]) -> tuple["pa.Table", str | None]:
    """deleteWhen: a boolean FLAG column (the marker's value, trimmed and lower-cased, is one of
    the values), the marker column dropped (crud.delete_flag's rule). No marker column: no flag."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if marker is None or t.delete_when is None:
        return table, None
    if types.get(marker) not in ("string", "int", "bigint", "boolean"):
        raise Decline(f"deleteWhen's column {marker} has a type whose text the Spark path decides")
    text = pc.utf8_lower(pc.utf8_trim(pc.cast(table.column(marker), pa.string()), characters=" "))
    flag = pc.fill_null(pc.is_in(text, value_set=pa.array(list(t.delete_when.equals))), False)
    return table.drop_columns([marker]).append_column(FLAG, flag), FLAG
