"""The job server's operations: each takes a parsed request (requests.py) and returns a reply
(replies.py). A write's steps are write.py's, its plan write_plan.py's. Format-specific work is the
table's Format's (formats/); this module never asks which one."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from . import crud
from . import filter as filters
from .csv_source import CsvSource
from .progress import Progress, Tracker
from .asof import parse_as_of
from .catalog import Catalog, Storage
from .errors import BadRequest, JobFailure
from .formats import Context, Format, format_for
from .journal import Journal
from .lease import LeaseGuard
from .names import sanitize_column
from .observed import COLUMNS, DATA_FILES, ROWS, KnownTables, decide
from .placement import Placements
from .rebuild import Rebuilds
from .write import Writes
from .arrow import ArrowPath
from .types import Table, s3a_uri
from .requests import ChangesRequest, CountRequest, LocationRequest, TableRequest, TravelRequest, WriteRequest
from .replies import (
    ChangesResult,
    ClearResult,
    CountResult,
    DropResult,
    ForgetResult,
    MaintainResult,
    Observation,
    RegisterResult,
    ResyncResult,
    EvolveResult,
    TravelResult,
    WriteResult,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("lakeform.jobs")


class Jobs:
    # The Arrow write path (arrow/path.py), or None: every write takes the Spark path.
    arrow: "ArrowPath | None" = None
    # Rebuilds into a new layout and where a rebuilt table lives (set by __init__; stand-ins in tests have none).
    rebuilds: "Rebuilds | None" = None
    placements: "Placements | None" = None

    def __init__(self, spark: "SparkSession"):
        self.spark = spark
        self.ctx = Context(spark=spark, storage=Storage(spark), catalog=Catalog(spark))
        self.journal = Journal(self.ctx.storage)
        self.progress = Progress(spark)
        self.writes = Writes(spark, self.ctx, self.journal, CsvSource(spark, self.ctx.storage))
        # When pyarrow and pyiceberg are installed (not in every image).
        self.arrow = ArrowPath.create(lambda k, d: spark.conf.get(k, d))
        # What Spark last told of each table (rows, columns, data files), by the table's head.
        self.known = KnownTables()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.rebuilds = Rebuilds(self)
        self.placements = Placements(self.ctx.storage, lambda t: self.rebuilds.metastore.location(t.database, t.name))

    def placed(self, req: Any) -> Any:
        """The request with its table where it lives (placement.py): server.py resolves every request's."""
        t = getattr(req, "table", None)
        return dataclasses.replace(req, table=self.placements.resolve(t)) if isinstance(t, Table) and self.placements else req

    def rebuild(self, req: Any) -> Any:
        return self.rebuilds.rebuild(req)

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
        """Upserts one CSV source into a table, or applies a change document (a delete or an update
        made by hand), under the table's write lock, its progress tracked and its lease watched.
        The CSV is read once by the write itself (see csv_source); before it only a sample and the
        key columns are read, which decide the types, whether the batch needs deduplicating and
        (Iceberg) whether any key is already in the table: a new table, or a batch of new keys into
        an Iceberg table, takes the bulk path (Hudi bulk_insert, Iceberg append); the rest is an
        upsert (Hudi upsert with its BLOOM index, Iceberg MERGE, merge-on-read). The repair-first
        check here, the steps in write.py, the plan in write_plan.py."""
        t, source = req.table, req.source
        fmt = self.format(t)
        started = time.time()
        with self.lock(t), self.progress.track(t.key, source.name or source.uri) as progress, self._fenced(req, progress) as guard:
            progress.stage("preparing")
            change = crud.is_change_document(source.uri)
            self._repair_before_write(t, fmt, req.must_exist, change)
            if not self.ctx.storage.exists(source.uri):
                raise JobFailure("SOURCE_UNREADABLE", f"the source {source.name or source.uri} is not at {source.uri}")
            if change:
                return self.writes.apply_change(req, fmt, started, guard)
            # An Iceberg batch within the Arrow path's budget: pyarrow + pyiceberg, no Spark job (arrow/path.py).
            done = self.arrow.write_if_taken(self.writes, req, fmt, progress, guard, started) if self.arrow else None
            return done if done is not None else self.writes.write_source(req, fmt, progress, guard, started)

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
        t, files = self._live_format(req.table)
        fmt = self.format(t)
        with self.ctx.catalog.observing(t), fmt.observing(t):
            in_catalog = self.ctx.catalog.has(t)
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
                # A rebuilt table's history begins with its rebuild: the writes before it are the journal's.
                rebuilt = bool(listed and (listed[0].source or "").startswith("rebuild:"))
                expired = rebuilt or len(commits) < len(listed) or fmt.history_expired(t, commits)
            drift = fmt.catalog_drift(t, listed) if exists else []
            partition_spec = fmt.partition_spec(t) if exists else None
        if expired:
            # Writes whose commits were expired are still in the table: the journal remembers
            # their sources, so the reconciler doesn't apply them again.
            kept = {c.source_hash for c in commits}
            hashes = [c.source_hash for c in listed if c not in commits] + [e.get("sourceHash") for e in self.journal.read(t)]
            expired_hashes = sorted({h for h in hashes if h and h not in kept})
        # A table without files is (re)built: the journal says what it held, if it ever existed. So
        # is one whose newest commit is a rebuild's replay short of that rebuild's last entry (it
        # stopped partway): the reconciler replays the rest.
        newest = commits[-1] if commits else None
        unfinished = bool(newest and newest.replay_of and newest.replay_last and newest.replay_of != newest.replay_last)
        journal = self.journal.read(t) if not files or unfinished else []
        return Observation(
            exists=exists, in_catalog=in_catalog, files_exist=files, commits=[c.to_json() for c in commits], row_count=row_count, columns=columns, journal=journal,
            history_expired=expired, expired_source_hashes=expired_hashes, data_files=data_files, catalog_drift=drift, spark_asked=asked,
            format=t.format, rebuild=self.rebuilds.pending(t) if self.rebuilds else None, partition_spec=partition_spec, location=t.location,
            replaces_whole=self.rebuilds.metastore.replaces_whole() if exists and self.rebuilds else None,
        )

    def _live_format(self, t: Table) -> tuple[Table, bool]:
        """The table in the format its files have, and whether it has files: one whose tables.yaml
        now says another format is observed as it is (its commits say its layout, so the plan sees
        the change). The other format is asked only when the table's own has no files."""
        if self.format(t).files_exist(t):
            return t, True
        other = dataclasses.replace(t, format="iceberg" if t.format == "hudi" else "hudi")
        return (other, True) if self.format(other).files_exist(other) else (t, False)

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

    def evolve_partitions(self, req: TableRequest) -> EvolveResult:
        """Iceberg partition evolution to the table's partitionBy (Format.evolve_partitions): the
        spec changes in the table's metadata, files written before keep theirs, nothing is
        rewritten. Under the table's write lock, so no write lands between its steps. Idempotent:
        a table whose spec is the declared one is left as it is."""
        t = req.table
        fmt = self.format(t)
        with self.lock(t):
            self.guard(req).check()
            if not (self.ctx.catalog.has(t) and fmt.files_exist(t)):
                raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake to evolve its partitioning")
            before = fmt.partition_spec(t) or []
            if sorted(before) == sorted(t.partition_by):
                return EvolveResult(evolved=False, before=before, after=before, dropped=[], added=[])
            dropped, added = fmt.evolve_partitions(t)
            after = fmt.partition_spec(t) or []
            log.info("table=%s: partition spec evolved from %s to %s (no data file rewritten)", t.key, before, after)
            return EvolveResult(evolved=True, before=before, after=after, dropped=dropped, added=added)

    def drop(self, req: LocationRequest) -> DropResult:
        t = req.table
        fmt = self.format(t)
        with self.lock(t):
            self.guard(req).check()
            self.spark.sql(fmt.drop_statement(t, req.purge))
            if req.purge:
                self.ctx.storage.delete(t.location, recursive=True)
                self.journal.remove(t)
                if self.placements:
                    self.placements.remove(t)
        return DropResult(dropped=True)


def jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
