"""A write of one source into a table: Jobs.write's steps once it holds the table's write lock, its
progress and its lease (operations.py). A CSV source (write_source): the table as it is, a source
already applied answered at once, the batch opened and its header checked against the spec, its
rows parsed once (batch_rows.py: persisted, its keys checked over that parse and written from it),
the write planned (write_plan.py, pure) and sent to the table's format, read again as multi-line
CSV when its records span lines, the commit journaled. A change document
(apply_change): a delete or an update made by hand. A failed write removes only what it made and
says LEASE_LOST when its lease was lost."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import bad_rows, crud
from . import expectations_spark as expect
from .batch_rows import dedupe, key_counts, key_stats, parsed_once
from .csv_source import POSITION, CsvRead, CsvSource
from .readers.source import Discarded, Readers
from .errors import BadCsv, JobFailure, SchemaRefused
from .formats import Context, Format, WritePlan
from .journal import Journal, commit_time
from .lease import LeaseGuard, raise_if_lost, warn_if_committed_after_loss
from .names import sanitize_column
from .progress import Tracker, profile_line
from .replies import WriteResult
from .requests import WriteRequest
from .types import Table
from .write_plan import Batch, Target, describe, needs_dedupe, plan_write, with_counts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("lakeform.jobs")


class Writes:
    """The job server's writes (one per Jobs); each call is one write, its table's lock held by the caller."""

    def __init__(self, spark: "SparkSession", ctx: Context, journal: Journal, csv: "Readers | CsvSource"):
        self.spark = spark
        self.ctx = ctx
        self.journal = journal
        # Reads any source format (readers/source.py) with CsvSource's methods.
        self.csv = csv if isinstance(csv, Readers) else Readers(spark, ctx.storage)

    def write_source(self, req: WriteRequest, fmt: Format, progress: Tracker, guard: LeaseGuard, started: float) -> WriteResult:
        """Upserts one CSV source into the table, its steps each a method below: the table as it is
        (_target); a source already applied answers at once (_already_applied); the batch opened and
        its columns checked against the spec (_open_batch); the batch written (_write_batch: its keys
        checked, the write planned and sent, read again as multi-line when its records span lines);
        the commit journaled."""
        t, source = req.table, req.source
        target = self._target(t, fmt)
        done = self._already_applied(req, fmt, target, started)
        if done is not None:
            return done
        batch = self._open_batch(req, target, progress)
        written = self._write_batch(req, fmt, target, batch, progress, guard, started)
        if req.quarantine_keys:
            expect.remove_replayed(self.ctx, fmt, req)
        progress.stage("journaling")
        if source.journal:
            self.journal.append(t, commit=written.commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation, read=source.read)
        profile = progress.profile()
        log.info("table=%s: %s written in %.1f s: %s", t.key, source.name or source.uri, time.time() - started, profile_line(profile))
        return WriteResult(
            commit=written.commit,
            rows_written=written.rows,
            renamed=batch.r.renamed,
            columns=[c for c in batch.r.names if c != batch.marker and c not in batch.r.dropped],
            added_columns=batch.new_cols,
            duration_ms=int((time.time() - started) * 1000),
            operation=describe(written.plan, written.multiline),
            profile=profile,
            rows_discarded=written.discarded.rows if written.discarded else None,
            discarded=written.discarded.first if written.discarded else None,
            discarded_columns=list(batch.r.dropped) or None,
            expectations=bad_rows.results(written.expectations, written.bad),
            **(written.plan.counts or {}),
        )

    def _target(self, t: Table, fmt: Format) -> Target:
        """The table the batch goes into: whether it is there (catalog entry and files), its rows and its visible columns."""
        exists = self.ctx.catalog.has(t) and fmt.files_exist(t)
        current = self.spark.table(fmt.qualified(t)) if exists else None
        return Target(exists=exists, current=current, visible=fmt.user_columns(current) if current is not None else [])

    def _already_applied(self, req: WriteRequest, fmt: Format, target: Target, started: float) -> WriteResult | None:
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
            self.journal.append(t, commit=done[-1].commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation, read=source.read, at=commit_time(done[-1].time))
        return WriteResult(commit=done[-1].commit, rows_written=0, renamed={}, columns=target.visible, added_columns=[], duration_ms=int((time.time() - started) * 1000), operation="already applied")

    def _open_batch(self, req: WriteRequest, target: Target, progress: Tracker) -> Batch:
        """The CSV sampled (types from the table's columns it has), and its header checked against
        the spec: every key, partition and ordering column there (else BAD_CSV, a bad record named
        first: a ragged file's header may be what lacks the column), and no new column under a
        strict schemaPolicy (SCHEMA_REFUSED)."""
        t, source = req.table, req.source
        current, visible = target.current, target.visible
        table_types = {f.name: f.dataType for f in current.schema.fields if f.name in visible} if current is not None else {}
        progress.stage("sampling")
        declared = t.columns
        declared.check_against(table_types)
        r = self.csv.open(source.uri, table_types, read=source.read, declared=declared.types, label=source.name or source.uri.rsplit("/", 1)[-1])
        progress.p.bytes_total = r.bytes_total
        keys = [sanitize_column(k) for k in t.primary_key]
        named = keys + t.partition_columns + ([t.ordering_field] if t.ordering_field else [])
        missing = [k for k in named if k not in r.names]
        if missing:
            progress.stage("diagnosing")
            bad = self.csv.diagnose(r, [k for k in keys if k in r.names], r.multiline)
            role = {f.column: f" (partitionBy {f.text})" for f in t.partition_fields if f.transform != "identity"}
            raise bad or BadCsv(f"column(s) {', '.join(k + role.get(k, '') for k in missing)} named in tables.yaml for table {t.key} are not in the CSV header (columns: {', '.join(r.names)})")
        marker = t.delete_when.column if t.delete_when and t.delete_when.column in r.names else None
        new_cols = [c for c in r.names if target.exists and c not in visible and c != marker]
        # Beyond the schema: new columns of a table that exists, and with columns declared, any
        # column not declared (of a new table too); strict refuses them, discardColumns leaves them out.
        beyond = [c for c in r.names if c != marker and c not in named and c not in visible and (target.exists or declared) and c not in declared.types]
        if beyond and t.schema_policy == "strict":
            what = "new column(s)" if target.exists and not declared else "column(s) neither in the table nor declared"
            raise SchemaRefused(f"schemaPolicy is strict and the source has {what}: {', '.join(beyond)}; the table was left as it was")
        if beyond and t.schema_policy == "discardColumns":
            r.dropped = beyond
            new_cols = [c for c in new_cols if c not in beyond]
            log.warning("table=%s: schemaPolicy discardColumns: %s left out of %s", t.key, ", ".join(beyond), source.name or source.uri)
        return Batch(r=r, keys=keys, marker=marker, new_cols=new_cols)

    def _write_batch(self, req: WriteRequest, fmt: Format, target: Target, batch: Batch, progress: Tracker, guard: LeaseGuard, started: float) -> "_Written":
        """The batch written as it was opened; a source read line by line whose records span
        lines (a key found empty, or a write failing) is read again as multi-line CSV and
        written from the start, once (a multi-line read is never read again)."""
        written = self._write_attempt(req, fmt, target, batch, progress, guard, started, batch.r.multiline)
        if written is None:
            written = self._write_attempt(req, fmt, target, batch, progress, guard, started, True)
        assert written is not None  # a multi-line read is never asked to read again (_spans_lines)
        return written

    def _write_attempt(self, req: WriteRequest, fmt: Format, target: Target, batch: Batch, progress: Tracker, guard: LeaseGuard, started: float, multiline: bool) -> "_Written | None":
        """One read of the batch: its rows parsed once (batch_rows.parsed_once), their keys
        checked and their write planned and sent to the format, all from that parse. None when the
        source must be read again as multi-line (_spans_lines) before anything is refused."""
        t, r, keys = req.table, batch.r, batch.keys
        # discardRows: bad records are left out and counted, not refused; a file whose records
        # span lines is read multi-line first (its lines would look like bad records).
        discard = t.schema_policy == "discardRows"
        if discard and self._spans_lines(t, r, multiline):
            return None
        # Bad rows quarantined (bad_rows.py): flagged as they are parsed, not refused.
        flag = req.bad_rows == "quarantine" and t.schema_policy in ("addColumns", "discardColumns")
        with parsed_once(self.csv.rows(r, keys, multiline, position=True, discard=discard, flag=flag)) as rows:
            return self._checked_write(req, fmt, target, batch, progress, guard, started, multiline, rows)

    def _checked_write(self, req: WriteRequest, fmt: Format, target: Target, batch: Batch, progress: Tracker, guard: LeaseGuard, started: float, multiline: bool, rows: "DataFrame") -> "_Written | None":
        """_write_attempt over the batch's persisted rows: the key check (its first action, which
        parses the file: a bad record or an empty key fails it, before anything is written), then
        the rows planned and written."""
        t, r, keys = req.table, batch.r, batch.keys
        flagged, bad_count = (rows if bad_rows.flagged(rows) else None), 0
        if flagged is not None:
            rows = bad_rows.good(flagged)
        progress.stage("checking keys")
        try:
            stats = key_stats(key_counts(rows, keys), keys, target.current if fmt.checks_new_keys else None)
        except JobFailure:
            raise
        except Exception as e:  # the guard met a bad record (or an empty key) as the rows were parsed
            return self._bad_record(t, r, keys, multiline, e)
        progress.rows(stats["rows"])
        if flagged is not None:
            bad_count = bad_rows.count(flagged)
            # A line of a record that spans lines looks bad read alone: read multi-line first.
            if bad_count and self._spans_lines(t, r, multiline):
                return None
        discarded = self.csv.discarded(r, keys, multiline) if t.schema_policy == "discardRows" else None
        if discarded:
            log.warning("table=%s: schemaPolicy discardRows: %d row(s) of %s left out, the first: %s", t.key, discarded.rows, req.source.name or req.source.uri, discarded.first)
        if stats["nulls"]:
            # A line of a record that spans lines, read as a record of its own, can lack its key.
            if self._spans_lines(t, r, multiline):
                return None
            raise self.csv.diagnose(r, keys, multiline) or BadCsv(f"{stats['nulls']} row(s) have an empty primary key ({', '.join(keys)})")
        try:
            df, plan, outcome, stats = self._rows(req, fmt, target, batch, rows, stats, multiline, discarded, guard)
        except JobFailure:
            raise
        except Exception as e:  # a bad record met by Spark's actions over the rows (expectations' counts), before the write
            return self._bad_record(t, r, keys, multiline, e)
        bad = None
        if bad_count:
            # Kept before the table's write (after a fail rule had its say): never lost, a retry upserts the same keys.
            lines = self.csv.csv.lines(r) if not multiline and isinstance(r, CsvRead) else None
            bad = bad_rows.quarantine(self.ctx, fmt, req, self.csv, r, flagged, bad_count, lines, guard)
            plan = replace(plan, meta={**plan.meta, **bad_rows.meta(plan.meta, bad)})
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
            raise_if_lost(guard, e, "the write was cancelled before it committed; nothing was written")
            progress.stage("diagnosing")
            return self._bad_record(t, r, keys, multiline, e)
        warn_if_committed_after_loss(guard, commit)
        return _Written(commit=commit, rows=stats["rows"], plan=plan, multiline=multiline, discarded=discarded, expectations=outcome, bad=bad)

    def _bad_record(self, t: Table, r, keys: list[str], multiline: bool, e: Exception) -> None:
        """After Spark failed over the batch: None when it must be read again multi-line, else the CSV's own refusal (BAD_CSV naming the line) or the failure as it was."""
        if self._spans_lines(t, r, multiline):
            return None
        failure = self.csv.diagnose(r, keys, multiline)
        if failure is not None:
            raise failure from e
        raise e

    def _rows(self, req: WriteRequest, fmt: Format, target: Target, batch: Batch, rows: "DataFrame", stats: dict[str, int], multiline: bool, discarded: Discarded | None = None, guard: LeaseGuard | None = None) -> tuple["DataFrame", WritePlan, "expect.Outcome | None", dict[str, int]]:
        """The rows to write (the batch's parsed rows, with their POSITION) and how (plan_write):
        deleteWhen's rows flagged before dedupe, so the ordering field chooses between a delete and
        an update of the same key; the rows
        deduplicated when the plan says; marked rows left out when they delete nothing (no table
        yet, none marked, a bulk write: none of the keys is in it); and, when they delete, the
        rows inserted, updated and deleted counted from the rows for the commit's metadata."""
        t = req.table
        rules = t.expect
        # Their position in the file only for dedupe and for naming the rows expectations find.
        df = rows if needs_dedupe(stats) or rules else rows.drop(POSITION)
        outcome = None
        if rules:
            df, outcome, stats = self._expectations(req, fmt, target, batch, df, multiline, guard)
        df, marked = crud.delete_flag(df, t)
        plan = plan_write(t, req.source, req.generation, target, batch, stats, checks_new_keys=fmt.checks_new_keys, exact_commit_counts=fmt.exact_commit_counts, marked=marked)
        if discarded:
            # Never silently lost: the commit says how many rows schemaPolicy left out.
            plan = replace(plan, meta={**plan.meta, "rows_discarded": str(discarded.rows)})
        if outcome is not None:
            plan = replace(plan, meta={**plan.meta, **outcome.meta()})
        if plan.deduped:
            df = dedupe(df, plan.keys, t.ordering_field)
        if crud.DELETE_FLAG in df.columns and plan.delete_flag is None:
            df = df.where(~df[crud.DELETE_FLAG]).drop(crud.DELETE_FLAG)
        if plan.delete_flag is not None:
            plan = with_counts(plan, crud.count_changes(target.current, df, plan.keys, plan.delete_flag))
        return df, plan, outcome, stats

    def _expectations(self, req: WriteRequest, fmt: Format, target: Target, batch: Batch, df: "DataFrame", multiline: bool, guard: LeaseGuard | None) -> tuple["DataFrame", "expect.Outcome", dict[str, int]]:
        """tables.yaml's expectations (expectations_spark.apply); key statistics again over the rows kept."""
        text_lines = self.csv.csv.lines(batch.r) if not multiline and isinstance(batch.r, CsvRead) else None
        kept, outcome = expect.apply(self.ctx, fmt, req, df, text_lines, guard)
        stats = key_stats(key_counts(kept, batch.keys), batch.keys, target.current if fmt.checks_new_keys else None)
        if not needs_dedupe(stats):
            kept = kept.drop(POSITION)
        return kept, outcome, stats

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
        try:
            landed = [
                c for c in fmt.commits(t, True, True)
                if c.source_hash == req.source.hash and commit_time(c.time) >= started - 1
            ]
            if not landed:
                return False
            log.warning("table=%s: commit %s of %s completed before the write failed: journaled", t.key, landed[-1].commit, req.source.name or req.source.uri)
            if req.source.journal:
                self.journal.append(t, commit=landed[-1].commit, source=req.source.name, source_hash=req.source.hash, uri=req.source.uri, generation=req.generation, read=req.source.read, at=commit_time(landed[-1].time))
            return True
        except Exception:
            log.exception("table=%s: could not tell whether the failed write committed", t.key)
            return False

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

    def apply_change(self, req: WriteRequest, fmt: Format, started: float, guard: LeaseGuard) -> WriteResult:
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
        meta = {"source_hash": source.hash, "source": source.name, "generation": req.generation, "spec": t.spec_json(), **source.replay_meta(), **{k: str(v) for k, v in counts.items()}}
        plan = WritePlan(keys=keys, meta=meta, exists=True, existing_cols=cols, new_cols=[])
        guard.check()
        try:
            commit = fmt.delete(t, rows, plan) if doc.op == "delete" else fmt.write(t, rows, plan)
        except Exception as e:
            if not self._journal_if_committed(t, fmt, req, started):
                raise_if_lost(guard, e, f"the {doc.op} was cancelled before it committed; nothing was changed")
            raise
        warn_if_committed_after_loss(guard, commit)
        if source.journal:
            self.journal.append(t, commit=commit, source=source.name, source_hash=source.hash, uri=source.uri, generation=req.generation, read=source.read)
        return WriteResult(
            commit=commit, rows_written=affected, renamed={}, columns=cols, added_columns=[],
            duration_ms=int((time.time() - started) * 1000), operation=doc.op, **counts,
        )


@dataclass(frozen=True)
class _Written:
    """A batch's committed write (Writes._write_attempt)."""

    commit: str
    rows: int
    plan: WritePlan  # its counts, when the operation counted them, in it
    multiline: bool
    discarded: Discarded | None = None  # rows schemaPolicy discardRows left out
    expectations: "expect.Outcome | None" = None  # what tables.yaml's expectations found
    bad: "bad_rows.BadRows | None" = None  # bad rows quarantined (badRows "quarantine")
