"""The job server's operations: each takes a parsed request (types.py) and returns a response.
Format-specific work is the table's Format's (formats/); this module never asks which one."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from . import crud
from . import filter as filters
from .csv_source import POSITION, CsvSource
from .progress import Progress, Tracker, profile_line
from .asof import parse_as_of
from .catalog import Catalog, Storage
from .errors import BadCsv, BadRequest, JobFailure, SchemaRefused, spark_error_line
from .formats import Context, Format, WritePlan, format_for
from .journal import Journal
from .lease import LeaseGuard
from .names import sanitize_column
from .observed import COLUMNS, DATA_FILES, ROWS, KnownTables, decide
from .types import (
    ChangesRequest,
    ChangesResult,
    ClearResult,
    CountRequest,
    CountResult,
    DropResult,
    ForgetResult,
    LocationRequest,
    MaintainResult,
    Observation,
    RegisterResult,
    ResyncResult,
    Table,
    TableRequest,
    TravelRequest,
    TravelResult,
    WriteRequest,
    WriteResult,
    s3a_uri,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("lakeform.jobs")


class Jobs:
    def __init__(self, spark: "SparkSession"):
        self.spark = spark
        self.ctx = Context(spark=spark, storage=Storage(spark), catalog=Catalog(spark))
        self.journal = Journal(self.ctx.storage)
        self.csv = CsvSource(spark, self.ctx.storage)
        self.progress = Progress(spark)
        # What Spark last told of each table (rows, columns, data files), by the table's head.
        self.known = KnownTables()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def lock(self, t: Table) -> threading.Lock:
        """Writes to one table are serialised (Hudi without a lock provider must never see two writers)."""
        with self._locks_guard:
            return self._locks.setdefault(t.key, threading.Lock())

    def format(self, t: Table) -> Format:
        return format_for(t, self.ctx)

    def guard(self, req: Any) -> LeaseGuard:
        """The request's lease check (lease.py), reading the lease object from the table's bucket."""
        t = req.table
        storage = self.ctx.storage
        # A lease object is a few hundred bytes (lake/lease.ts's record): more is not one.
        read = lambda uri: storage.read_head(uri, 64 * 1024).decode("utf-8", "replace") if storage.exists(uri) else None  # noqa: E731
        return LeaseGuard(req.lease, s3a_uri(t.location, "table.location")[0], t.key, read)

    @contextmanager
    def _fenced(self, req: WriteRequest, progress: Tracker) -> Iterator[LeaseGuard]:
        """A write's lease: checked before it starts, watched while it runs (a lost lease cancels
        its Spark jobs, the current stage's job group), and checked again by the write right
        before its Spark write action."""
        guard = self.guard(req)
        guard.check()
        with guard.watch(lambda: progress.p.group and self.spark.sparkContext.cancelJobGroup(progress.p.group)):
            yield guard

    def _lost(self, guard: LeaseGuard, err: Exception, what: str) -> None:
        """A write that failed without committing: LEASE_LOST when its lease was lost (the watchdog
        cancelled it, or the lease is gone now), else the failure is what it was."""
        why = guard.lost
        if why is None:
            try:
                why = guard.why_lost()
            except Exception:
                why = None
        if why:
            raise guard.failure(why, what) from err

    def _committed_after_loss(self, guard: LeaseGuard, commit: str) -> None:
        """The window lease.py describes: the lease was lost after the last check, while the format
        committed. The commit is whole and is journaled like any; it is said loudly."""
        try:
            why = guard.lost or guard.why_lost()
        except Exception:
            return
        if why:
            log.error("table=%s: commit %s landed after the writer's lease was lost (%s): kept and journaled", guard.table_key, commit, why)

    # ---------------------------------------------------------------------------- repairs

    def forget_catalog(self, req: LocationRequest) -> ForgetResult:
        """Forgets a metastore entry whose table files are gone (without loading the table,
        which would fail). Idempotent; a table whose files are there is left alone."""
        t = req.table
        with self.lock(t):
            self.guard(req).check()
            if self.format(t).files_exist(t):
                return ForgetResult(forgotten=False)
            return ForgetResult(forgotten=self.ctx.catalog.forget(t))

    def clear_leftovers(self, req: LocationRequest) -> ClearResult:
        """Makes room for a new table where no table is: files left there are moved aside, empty
        directories removed. Idempotent; a location holding a table is left alone."""
        t = req.table
        with self.lock(t):
            self.guard(req).check()
            if self.format(t).files_exist(t):
                return ClearResult(cleared=False)
            where = self.ctx.storage.clear_leftovers(t.location)
            return ClearResult(cleared=where is not None, moved_to=where if where and where != t.location else None)

    def _repair_before_write(self, t: Table, fmt: Format, must_exist: bool, change: bool = False) -> None:
        """A write never makes a new table over one that is there, or was: a table whose files
        are there without its catalog entry must be re-registered first (written as a new table,
        Iceberg would create a table over its snapshots, orphaning them, and Hudi bulk-insert into
        its live timeline, duplicating keys); one the caller saw (must_exist) whose files are gone
        must be rebuilt from its journal first. Both are refused (REPAIR_PENDING, retryable: the
        reconciler repairs them). A delete or an update (change) makes no table, nor room for one:
        without files it is TABLE_MISSING. Otherwise a location whose table files were removed
        outside Lakeform is made ready for a new table, as it always was (the reconciler's rebuild
        asks for forget and clear_leftovers itself first)."""
        files = fmt.files_exist(t)
        if files and not self.ctx.catalog.has(t):
            raise JobFailure(
                "REPAIR_PENDING",
                f"table {t.key} has its files at {t.location} but no metastore entry: it must be re-registered (the reconciler's register) before it is written, not written as a new table over them",
            )
        if not files and must_exist:
            raise JobFailure(
                "REPAIR_PENDING",
                f"table {t.key}'s files are gone from {t.location}: it must be rebuilt from its write journal (the reconciler's rebuild) before it is written, not made a new table",
            )
        if not files and change:
            raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake yet")
        if not files:
            if self.ctx.catalog.has(t):
                self.ctx.catalog.forget(t)
            self.ctx.storage.clear_leftovers(t.location)

    # ---------------------------------------------------------------------------- write

    def write(self, req: WriteRequest) -> WriteResult:
        """Upserts one CSV source into a table. The CSV is read once by the write itself (see
        csv_source); before it only a sample and the key columns are read, which decide the types,
        whether the batch needs deduplicating and (Iceberg) whether any key is already in the
        table: a new table, or a batch of new keys into an Iceberg table, takes the bulk path
        (Hudi bulk_insert, Iceberg append); the rest is an upsert (Hudi upsert with its BLOOM
        index, Iceberg MERGE, merge-on-read).

        The steps, each a method below: the repair-first check; the table as it is (_target);
        a source already applied answers at once (_already_applied); the batch opened and its
        columns checked against the spec (_open_batch); the batch written (_write_batch: its keys
        checked, the write planned and sent, read again as multi-line when its records span
        lines); the commit journaled."""
        t, source = req.table, req.source
        fmt = self.format(t)
        started = time.time()
        with self.lock(t), self.progress.track(t.key, source.name or source.uri) as progress, self._fenced(req, progress) as guard:
            progress.stage("preparing")
            self._repair_before_write(t, fmt, req.must_exist, crud.is_change_document(source.uri))
            if not self.ctx.storage.exists(source.uri):
                raise JobFailure("SOURCE_UNREADABLE", f"the source {source.name or source.uri} is not at {source.uri}")
            if crud.is_change_document(source.uri):
                return self._apply_change(req, fmt, started, guard)
            target = self._target(t, fmt)
            done = self._already_applied(req, fmt, target, started)
            if done is not None:
                return done
            batch = self._open_batch(req, target, progress)
            written = self._write_batch(req, fmt, target, batch, progress, guard, started)
            progress.stage("journaling")
            if source.journal:
                self.journal.append(t, commit=written.commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation)
            profile = progress.profile()
        log.info("table=%s: %s written in %.1f s: %s", t.key, source.name or source.uri, time.time() - started, profile_line(profile))
        return WriteResult(
            commit=written.commit,
            rows_written=written.rows,
            renamed=batch.r.renamed,
            columns=[c for c in batch.r.names if c != batch.marker],
            added_columns=batch.new_cols,
            duration_ms=int((time.time() - started) * 1000),
            operation=("bulk" if written.plan.bulk else "upsert") + (", deduplicated" if written.plan.deduped else "") + (", multi-line" if written.multiline else ""),
            profile=profile,
            **(written.counts or {}),
        )

    def _target(self, t: Table, fmt: Format) -> "_Target":
        """The table the batch goes into: whether it is there (catalog entry and files), its rows and its visible columns."""
        exists = self.ctx.catalog.has(t) and fmt.files_exist(t)
        current = self.spark.table(fmt.qualified(t)) if exists else None
        return _Target(exists=exists, current=current, visible=fmt.user_columns(current) if current is not None else [])

    def _already_applied(self, req: WriteRequest, fmt: Format, target: "_Target", started: float) -> WriteResult | None:
        """A source asked for once (`once`) that a commit of the table already carries: its answer, nothing written.
        Checked under the table's write lock: a second request for the same source (a reconciler
        restarted while its first request still ran here) finds it applied."""
        t, source = req.table, req.source
        if not (source.once and target.exists):
            return None
        done = [c for c in fmt.commits(t, True, True) if c.source_hash == source.hash]
        if not done:
            return None
        log.info("source %s already applied to %s in commit %s: not written again", source.name or source.uri, t.key, done[-1].commit)
        # Its commit landed but its journal record didn't (the write failed loudly then): written now.
        if source.journal and not self.journal.has(t, done[-1].commit):
            log.warning("table=%s: commit %s of %s had no journal record: journaled now", t.key, done[-1].commit, source.name or source.uri)
            self.journal.append(t, commit=done[-1].commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation)
        return WriteResult(commit=done[-1].commit, rows_written=0, renamed={}, columns=target.visible, added_columns=[], duration_ms=int((time.time() - started) * 1000), operation="already applied")

    def _open_batch(self, req: WriteRequest, target: "_Target", progress: Tracker) -> "_Batch":
        """The CSV sampled (types from the table's columns it has), and its header checked against
        the spec: every key, partition and ordering column there (else BAD_CSV, a bad record named
        first: a ragged file's header may be what lacks the column), and no new column under a
        strict schemaPolicy (SCHEMA_REFUSED)."""
        t, source = req.table, req.source
        current, visible = target.current, target.visible
        table_types = {f.name: f.dataType for f in current.schema.fields if f.name in visible} if current is not None else {}
        progress.stage("sampling")
        r = self.csv.open(source.uri, table_types)
        progress.p.bytes_total = r.bytes_total
        keys = [sanitize_column(k) for k in t.primary_key]
        named = keys + t.partition_by + ([t.ordering_field] if t.ordering_field else [])
        missing = [k for k in named if k not in r.names]
        if missing:
            progress.stage("diagnosing")
            bad = self.csv.diagnose(r, [k for k in keys if k in r.names], r.multiline)
            raise bad or BadCsv(f"column(s) {', '.join(missing)} named in tables.yaml are not in the CSV header (columns: {', '.join(r.names)})")
        marker = t.delete_when.column if t.delete_when and t.delete_when.column in r.names else None
        new_cols = [c for c in r.names if target.exists and c not in visible and c != marker]
        if new_cols and t.schema_policy == "strict":
            raise SchemaRefused(f"schemaPolicy is strict and the CSV has new column(s): {', '.join(new_cols)}; the table was left as it was")
        return _Batch(r=r, keys=keys, marker=marker, new_cols=new_cols)

    def _write_batch(self, req: WriteRequest, fmt: Format, target: "_Target", batch: "_Batch", progress: Tracker, guard: LeaseGuard, started: float) -> "_Written":
        """The batch written as it was opened; a source read line by line whose records span
        lines (a key found empty, or a write failing) is read again as multi-line CSV and
        written from the start, once (a multi-line read is never read again)."""
        written = self._write_attempt(req, fmt, target, batch, progress, guard, started, batch.r.multiline)
        if written is None:
            written = self._write_attempt(req, fmt, target, batch, progress, guard, started, True)
        assert written is not None  # a multi-line read is never asked to read again (_spans_lines)
        return written

    def _write_attempt(self, req: WriteRequest, fmt: Format, target: "_Target", batch: "_Batch", progress: Tracker, guard: LeaseGuard, started: float, multiline: bool) -> "_Written | None":
        """One read of the batch: its keys checked, its write planned and sent to the format.
        None when the source must be read again as multi-line (_spans_lines) before anything is refused."""
        t, r, keys = req.table, batch.r, batch.keys
        progress.stage("checking keys")
        stats = self._key_stats(r, keys, multiline, target.current if fmt.checks_new_keys else None)
        progress.rows(stats["rows"])
        if stats["nulls"]:
            # A line of a record that spans lines, read as a record of its own, can lack its key.
            if self._spans_lines(t, r, multiline):
                return None
            raise self.csv.diagnose(r, keys, multiline) or BadCsv(f"{stats['nulls']} row(s) have an empty primary key ({', '.join(keys)})")
        df, plan, counts = self._plan_write(req, fmt, target, batch, stats, multiline)
        # What a failed first write may remove is only what it made (_undo_new_table).
        before = None if target.exists else self._before_new_table(t)
        progress.stage("writing", r.bytes_total)
        # The last check before the format's write action, which commits as it ends (lease.py).
        guard.check()
        try:
            commit = fmt.write(t, df, plan)
        except Exception as e:
            if target.exists and self._journal_if_committed(t, fmt, req, started):
                raise
            if not target.exists:
                self._undo_new_table(t, before)
            self._lost(guard, e, "the write was cancelled before it committed; nothing was written")
            progress.stage("diagnosing")
            if self._spans_lines(t, r, multiline):
                return None
            failure = self.csv.diagnose(r, keys, multiline)
            if failure is not None:
                raise failure from e
            raise
        self._committed_after_loss(guard, commit)
        return _Written(commit=commit, rows=stats["rows"], plan=plan, counts=counts, multiline=multiline)

    def _plan_write(self, req: WriteRequest, fmt: Format, target: "_Target", batch: "_Batch", stats: dict[str, int], multiline: bool) -> tuple["DataFrame", WritePlan, dict[str, int] | None]:
        """The rows to write and how (WritePlan): the bulk path for a new table or a batch of new
        keys (formats that check them), deduplicated when a key has more than one record (the
        ordering field choosing), deleteWhen's rows flagged, and the rows inserted, updated and
        deleted counted for the commit's metadata when the format can't tell them itself."""
        t, source, keys = req.table, req.source, batch.keys
        exists, current = target.exists, target.current
        bulk = not exists or (fmt.checks_new_keys and stats["overlap"] == 0)
        dedupe_needed = stats["maxPerKey"] > 1
        df = self.csv.rows(batch.r, keys, multiline, position=dedupe_needed)
        # deleteWhen: flag the rows that delete their key, before dedupe, so the ordering
        # field chooses between a delete and an update of the same key.
        df, any_deletes = crud.delete_flag(df, t)
        if dedupe_needed:
            df = dedupe(df, keys, t.ordering_field)
        flag = crud.DELETE_FLAG if crud.DELETE_FLAG in df.columns else None
        if flag and not (exists and any_deletes and not bulk):
            # Nothing to delete: no table yet, no row marked, or none of the keys is in it.
            df = df.where(~df[flag]).drop(flag)
            flag = None
        meta = {"source_hash": source.hash, "source": source.name, "generation": req.generation, "spec": t.spec_json()}
        counts = None
        if exists and (flag or not fmt.exact_commit_counts):
            # From the key count when nothing is deleted: no pass over the rows.
            counts = crud.count_changes(current, df, keys, flag) if flag else {
                "rows_inserted": stats["keys"] - stats["overlap"], "rows_updated": stats["overlap"], "rows_deleted": 0}
            meta.update({k: str(v) for k, v in counts.items()})
        plan = WritePlan(keys=keys, meta=meta, exists=exists, existing_cols=target.visible, new_cols=batch.new_cols, delete_flag=flag, bulk=bulk, deduped=dedupe_needed)
        return df, plan, counts

    def _spans_lines(self, t: Table, r, multiline: bool) -> bool:
        """Whether a source read line by line has records that span lines, so it must be read
        again as multi-line CSV (never asked of a multi-line read)."""
        if multiline or not self.csv.needs_multiline(r):
            return False
        log.info("table=%s: %s has records that span lines: reading it again as multi-line CSV", t.key, r.uri)
        return True

    def _journal_if_committed(self, t: Table, fmt: Format, req: WriteRequest, started: float) -> bool:
        """A write that failed after its commit completed (Hudi's hive sync runs after the
        commit: the metastore went away between the two) still wrote its rows: it is journaled
        like any write, so a rebuild replays it, and the failure is reported as it is (the
        catalog's lag is repaired by a resync). Whether that was the case."""
        from datetime import datetime

        try:
            landed = [
                c for c in fmt.commits(t, True, True)
                if c.source_hash == req.source.hash and datetime.fromisoformat(c.time.replace("Z", "+00:00")).timestamp() >= started - 1
            ]
            if not landed:
                return False
            log.warning("table=%s: commit %s of %s completed before the write failed: journaled", t.key, landed[-1].commit, req.source.name or req.source.uri)
            if req.source.journal:
                self.journal.append(t, commit=landed[-1].commit, source=req.source.name, source_hash=req.source.hash, uri=req.source.uri, generation=req.generation)
            return True
        except Exception:
            log.exception("table=%s: could not tell whether the failed write committed", t.key)
            return False

    def _key_stats(self, r, keys: list[str], multiline: bool, current) -> dict[str, int]:
        """One aggregation over the batch's keys: records, records with an empty key, the most
        records one key has, distinct keys, and how many of them the table already holds."""
        from pyspark.sql import functions as F

        counts = self.csv.key_counts(r, keys, multiline)
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

    def _before_new_table(self, t: Table) -> dict[str, Any] | None:
        """What is at a new table's location before its first write: the files there (none, once
        cleared of leftovers) and whether the metastore has an entry; None when it can't be told."""
        try:
            return {"files": self.ctx.storage.file_paths(t.location), "in_catalog": self.ctx.catalog.has(t)}
        except Exception:
            log.exception("table=%s: could not list %s before a first write", t.key, t.location)
            return None

    def _undo_new_table(self, t: Table, before: dict[str, Any] | None) -> None:
        """A failed first write leaves nothing behind but never takes what was there before it:
        the files it wrote are removed (the whole location only when it held none before), and a
        catalog entry it made is forgotten. When what was there can't be told, nothing is
        removed (a failed write's files are harmless, another commit's are not)."""
        if before is None:
            log.warning("table=%s: a failed first write's files at %s are left: what was there before it is not known", t.key, t.location)
            return
        try:
            if self.ctx.catalog.has(t) and not before["in_catalog"]:
                self.ctx.catalog.forget(t)
            kept: set[str] = before["files"]
            if not kept:
                self.ctx.storage.delete(t.location, recursive=True)
                return
            made = self.ctx.storage.file_paths(t.location) - kept
            log.warning("table=%s: %d file(s) were at %s before a failed first write: only its %d own file(s) are removed", t.key, len(kept), t.location, len(made))
            for f in sorted(made):
                self.ctx.storage.delete(f, recursive=False)
        except Exception:
            log.exception("table=%s: could not remove what a failed first write left at %s", t.key, t.location)

    def _apply_change(self, req: WriteRequest, fmt: Format, started: float, guard: LeaseGuard) -> WriteResult:
        """A delete or an update made by hand (the table's write lock is held): one commit with
        Lakeform's metadata, journaled like an ingest. Nothing matched: no commit."""
        t, source = req.table, req.source
        doc = crud.ChangeDocument.parse(self.ctx.storage.read_text(source.uri))
        if not (self.ctx.catalog.has(t) and fmt.files_exist(t)):
            raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake yet")
        keys = [sanitize_column(k) for k in t.primary_key]
        current = self.spark.table(fmt.qualified(t))
        cols = fmt.user_columns(current)
        if doc.op == "delete":
            rows = crud.rows_to_delete(self.spark, fmt, t, current, doc, keys).localCheckpoint()
            counts = {"rows_inserted": 0, "rows_updated": 0, "rows_deleted": rows.count()}
            affected = counts["rows_deleted"]
        else:
            rows = crud.updated_rows(fmt, current, doc).localCheckpoint()
            counts = {"rows_inserted": 0, "rows_updated": rows.count(), "rows_deleted": 0}
            affected = counts["rows_updated"]
        if affected == 0:
            return WriteResult(commit="", rows_written=0, renamed={}, columns=cols, added_columns=[], duration_ms=int((time.time() - started) * 1000), operation=doc.op, **counts)
        meta = {"source_hash": source.hash, "source": source.name, "generation": req.generation, "spec": t.spec_json(), **{k: str(v) for k, v in counts.items()}}
        plan = WritePlan(keys=keys, meta=meta, exists=True, existing_cols=cols, new_cols=[])
        guard.check()
        try:
            commit = fmt.delete(t, rows, plan) if doc.op == "delete" else fmt.write(t, rows, plan)
        except Exception as e:
            if not self._journal_if_committed(t, fmt, req, started):
                self._lost(guard, e, f"the {doc.op} was cancelled before it committed; nothing was changed")
            raise
        self._committed_after_loss(guard, commit)
        if source.journal:
            self.journal.append(t, commit=commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation)
        return WriteResult(
            commit=commit, rows_written=affected, renamed={}, columns=cols, added_columns=[],
            duration_ms=int((time.time() - started) * 1000), operation=doc.op, **counts,
        )

    def changes(self, req: ChangesRequest) -> ChangesResult:
        """Rows inserted or updated and keys deleted after `since` up to `until`, each with its commit."""
        t = req.table
        fmt = self.format(t)
        if not (self.ctx.catalog.has(t) and fmt.files_exist(t)):
            raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake yet")
        commits = [c.commit for c in fmt.commits(t, True, True)]
        keys = [sanitize_column(k) for k in t.primary_key]
        out = crud.changes_between(fmt, t, commits, req.since, req.until, keys, req.limit)
        return ChangesResult(columns=out["columns"], rows=out["rows"], truncated=out["truncated"])

    # ---------------------------------------------------------------------------- observe

    def observe(self, req: TableRequest) -> Observation:
        """What the table holds. Its catalog entry, files and commits are read from the metastore
        and the object store on every observe (no Spark job); the rows, columns and data files
        only when the table's head moved since Spark last told them (observed.py)."""
        t = req.table
        fmt = self.format(t)
        with fmt.observing(t):
            in_catalog = self.ctx.catalog.has(t)
            files = fmt.files_exist(t)
            listed = fmt.commits(t, in_catalog, files)
            exists = in_catalog and files
            # Commits beyond the table's retention are not listed: travel and changes can't reach them.
            commits = fmt.retained(t, listed) if exists else listed
            row_count, columns, data_files = None, [], None
            expired, expired_hashes = False, []
            asked: list[str] = []
            if exists:
                key = (t.key, t.location, t.format, str(t.target_bytes))
                head = fmt.head(t, listed)
                decision = decide(self.known.get(key), head, want_rows=req.rows, has_data_files=fmt.has_data_files, metadata_rows=lambda: fmt.rows_from_metadata(t))
                told: dict[str, Any] = {}
                if decision.ask_spark & {ROWS, COLUMNS}:
                    df = self.spark.table(fmt.qualified(t))
                    if COLUMNS in decision.ask_spark:
                        keep = set(fmt.user_columns(df))
                        told[COLUMNS] = [{"name": f.name, "type": f.dataType.simpleString()} for f in df.schema.fields if f.name in keep]
                    if ROWS in decision.ask_spark:
                        told[ROWS] = df.count()
                if DATA_FILES in decision.ask_spark:
                    told[DATA_FILES] = fmt.data_files(t)
                self.known.told(key, head, told)
                facts = {**decision.known, **told}
                row_count, columns, data_files = facts.get(ROWS), facts.get(COLUMNS, []), facts.get(DATA_FILES)
                asked = sorted(decision.ask_spark)
                expired = len(commits) < len(listed) or fmt.history_expired(t, commits)
            drift = fmt.catalog_drift(t, listed) if exists else []
        if expired:
            # Writes whose commits were expired are still in the table: the journal remembers
            # their sources, so the reconciler doesn't apply them again.
            kept = {c.source_hash for c in commits}
            hashes = [c.source_hash for c in listed if c not in commits] + [e.get("sourceHash") for e in self.journal.read(t)]
            expired_hashes = sorted({h for h in hashes if h and h not in kept})
        # A table without files is (re)built: the journal says what it held, if it ever existed.
        journal = [] if files else self.journal.read(t)
        return Observation(
            exists=exists, in_catalog=in_catalog, files_exist=files, commits=[c.to_json() for c in commits], row_count=row_count, columns=columns, journal=journal,
            history_expired=expired, expired_source_hashes=expired_hashes, data_files=data_files, catalog_drift=drift, spark_asked=asked,
        )

    def maintain(self, req: TableRequest) -> MaintainResult:
        """Retention and compaction, between writes: under the table's write lock."""
        t = req.table
        fmt = self.format(t)
        started = time.time()
        with self.lock(t):
            self.guard(req).check()
            if not (self.ctx.catalog.has(t) and fmt.files_exist(t)):
                raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake yet")
            before = fmt.retained(t, fmt.commits(t, True, True))
            files_before = fmt.data_files(t)
            actions = fmt.maintain(t)
            after = fmt.retained(t, fmt.commits(t, True, True))
            files_after = fmt.data_files(t)
        return MaintainResult(
            actions=actions,
            commits_before=len(before),
            commits_after=len(after),
            data_files_before=files_before["count"] if files_before else None,
            data_files_after=files_after["count"] if files_after else None,
            oldest_commit=after[0].commit if after else None,
            duration_ms=int((time.time() - started) * 1000),
        )

    # ---------------------------------------------------------------------------- travel, register, drop

    def travel(self, req: TravelRequest) -> TravelResult:
        t = req.table
        fmt = self.format(t)
        df = fmt.read_as_of(t, parse_as_of(req.as_of))
        if req.filter is not None:
            df = df.where(filters.to_column(req.filter, filters.kinds_of(df.schema, fmt.user_columns(df))))
        rows = df.limit(req.limit).collect()
        return TravelResult(columns=list(df.columns), types=[f.dataType.simpleString() for f in df.schema.fields], rows=[[jsonable(v) for v in r] for r in rows])

    def count(self, req: CountRequest) -> CountResult:
        """The table's current rows a filter matches (a delete's dry run): the same selection as
        the delete itself, nothing written."""
        t = req.table
        fmt = self.format(t)
        if not (self.ctx.catalog.has(t) and fmt.files_exist(t)):
            raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake yet")
        current = self.spark.table(fmt.qualified(t))
        doc = crud.ChangeDocument("delete", filter=req.filter)
        return CountResult(rows=crud.rows_to_delete(self.spark, fmt, t, current, doc, []).count())

    def register(self, req: TableRequest) -> RegisterResult:
        """Puts a table whose files are intact back into the metastore, history and all: nothing
        is rewritten."""
        t = req.table
        fmt = self.format(t)
        with self.lock(t):
            self.guard(req).check()
            if self.ctx.catalog.has(t):
                return RegisterResult(registered=False)
            if not fmt.files_exist(t):
                raise BadRequest(f"no table files at {t.location} to register")
            self.ctx.catalog.ensure_database(t.database)
            out = fmt.register(t)
            return RegisterResult(registered=bool(out["registered"]), metadata_file=out.get("metadataFile"))

    def resync(self, req: TableRequest) -> ResyncResult:
        """Syncs a metastore entry that lags the table (a commit whose hive sync didn't happen:
        the metastore was down between the two) from the table's latest commit: columns, types,
        the instant last synced. Nothing is rewritten. Under the table's write lock, so never
        in the middle of a write's own sync. What still lags afterwards is an error."""
        t = req.table
        fmt = self.format(t)
        with self.lock(t):
            self.guard(req).check()
            if not (self.ctx.catalog.has(t) and fmt.files_exist(t)):
                raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake (catalog and files) to resync")
            commits = fmt.commits(t, True, True)
            drift = fmt.catalog_drift(t, commits)
            if not drift:
                return ResyncResult(resynced=False, drift=[])
            log.warning("table=%s: the metastore lags the table (%s): syncing it again", t.key, "; ".join(drift))
            fmt.resync(t)
            # Spark's session caches the relation (its schema) of the entry as it was.
            self.spark.catalog.refreshTable(fmt.qualified(t))
            left = fmt.catalog_drift(t, commits)
            if left:
                raise JobFailure("SPARK_ERROR", f"the metastore still lags table {t.name} after syncing it again: {'; '.join(left)}")
            return ResyncResult(resynced=True, drift=drift)

    def drop(self, req: LocationRequest) -> DropResult:
        t = req.table
        fmt = self.format(t)
        with self.lock(t):
            self.guard(req).check()
            self.spark.sql(fmt.drop_statement(t, req.purge))
            if req.purge:
                self.ctx.storage.delete(t.location, recursive=True)
                self.journal.remove(t)
        return DropResult(dropped=True)


def dedupe(df: "DataFrame", keys: list[str], ordering: str | None) -> "DataFrame":
    """One row per key: the one with the largest ordering value, else the last one in the file
    (the rows carry their position in the file: csv_source.rows(position=True))."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    order = [F.col(f"`{ordering}`").desc_nulls_last()] if ordering else []
    w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(*order, F.col(POSITION).desc())
    return df.withColumn("__lf_rank", F.row_number().over(w)).where("__lf_rank = 1").drop("__lf_rank", POSITION)


def jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


@dataclass(frozen=True)
class _Target:
    """The table a write goes into, as it is before the write (Jobs._target)."""

    exists: bool  # in the catalog with its files
    current: Any  # its rows (a DataFrame) when it exists
    visible: list[str]  # its user columns


@dataclass(frozen=True)
class _Batch:
    """A CSV source opened for a write, its header checked against the spec (Jobs._open_batch)."""

    r: Any  # the csv_source reader
    keys: list[str]  # the primary key's column names as the table has them
    marker: str | None  # deleteWhen's column when the CSV has it (not written)
    new_cols: list[str]  # columns the table doesn't have yet


@dataclass(frozen=True)
class _Written:
    """A batch's committed write (Jobs._write_attempt)."""

    commit: str
    rows: int
    plan: WritePlan
    counts: dict[str, int] | None
    multiline: bool
