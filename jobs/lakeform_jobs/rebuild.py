"""A table rebuilt into a new layout (tables.yaml onIncompatibleChange: rebuild): a key change,
a partitioning change, Hudi ↔ Iceberg. POST /v1/rebuild.

  1. the table's current rows are read through Spark (API writes and deletes are only there, not
     in the sources), a new key that two rows share is refused with the count and sample keys;
  2. a shadow table is written from them at a location of its own, s3a://<bucket>/<db>/<name>-r<stamp>,
     with a metastore entry of its own (<name>__rebuild_<stamp>), its one commit recording the new
     layout and the commit it was rebuilt from;
  3. verified: rows, distinct keys and the sums of key and row hashes, on both tables in Spark;
  4. swapped in with one metastore call: the table's entry is replaced by the shadow's (Hive's
     alter_table: location, columns, format parameters, Iceberg's metadata_location), so a reader
     resolving the name gets the old entry or the new one, never none; the shadow's entry goes.
     Into a partitioned Hudi table the entry's partition keys change, which alter_table can't:
     Lakeform's metastore replaces the entry whole in one call instead (the table renamed to its
     trash name, the shadow to the table's, under its write lock); a metastore of the user's own
     that can't is refused before anything is written. Away from a partitioned Hudi table is
     refused on every metastore: Trino reads its entry and lists its partitions in two calls, so a
     query straddling the swap would list the new table's partitions (or none) and miss rows;
  5. the replaced table stays where it was, in the trash under <name>__before_<stamp> (a tombstone
     and a placement record), until its trash period ends: `lakeform trash` lists it, undrop
     registers it under that name, purge removes its files.

Its journal is the table's placement record (placement.py): stage "writing" while the shadow is
written and verified, "swapping" around the swap. A rebuild killed anywhere is settled by the next
one: before the swap the shadow is removed and the old table keeps serving (and the rebuild starts
over); after it the bookkeeping (trash, record) is finished.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterator

from . import rebuild_core as core
from .errors import BadRequest, JobFailure
from .formats.base import WritePlan
from .lease import Fence
from .names import sanitize_column
from .placement import bucket_of, home
from .replies import Response
from .types import FORMATS, Table, column, field_of, str_list

if TYPE_CHECKING:
    from .operations import Jobs

log = logging.getLogger("lakeform.jobs")


@dataclass(frozen=True)
class RebuildRequest:
    table: Table  # the new layout, at its home location
    previous: dict[str, Any]  # the layout it has: format, primaryKey, partitionBy
    generation: str
    trash_days: float = 7.0
    # The tables.yaml whose reconciler purges the replaced table after its trash period (its tombstone's declaredIn).
    declared_in: str | None = None
    lease: Fence | None = None

    @staticmethod
    def parse(body: dict[str, Any]) -> "RebuildRequest":
        t = Table.parse(field_of(body, "table", dict, "request"))
        prev = field_of(body, "previous", dict, "request")
        fmt = field_of(prev, "format", str, "request.previous")
        if fmt not in FORMATS:
            raise BadRequest(f"field request.previous.format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        previous = {
            "format": fmt,
            "primaryKey": [column(c, "request.previous.primaryKey") for c in str_list(prev, "primaryKey", "request.previous")],
            "partitionBy": [column(c, "request.previous.partitionBy") for c in str_list(prev, "partitionBy", "request.previous", [])],
        }
        days = field_of(body, "trashDays", (int, float), "request", 7)
        if not days > 0:
            raise BadRequest("field request.trashDays must be more than 0")
        declared = field_of(body, "declaredIn", str, "request", None)
        return RebuildRequest(t, previous, str(field_of(body, "generation", (str, int), "request")), float(days), declared, Fence.parse(body, t.database, t.name))


@dataclass
class RebuildResult(Response):
    OMIT_NONE = ("commit", "shadow", "trash_table", "purge_after", "settled")
    rebuilt: bool
    change: str
    rows: int
    keys: int
    checksum: str
    bytes: int
    duration_ms: int
    commit: str | None = None
    shadow: str | None = None
    trash_table: str | None = None
    purge_after: str | None = None
    # What a rebuild killed earlier left, and what became of it: "cleaned" (before its swap) or "finished" (after).
    settled: str | None = None


class Metastore:
    """The one call a swap is: Hive's alter_table with another entry's content or, where partition
    keys are involved, Lakeform's metastore's whole replace; through a metastore client of its own
    (Spark's catalog would rewrite the entry as it sees tables)."""

    def __init__(self, jobs: "Jobs"):
        self.spark = jobs.spark
        self.uris = jobs.ctx.catalog.metastore_uris
        self._whole: bool | None = None

    @contextmanager
    def _client(self) -> Iterator[Any]:
        """A metastore client of its own for one call, closed after it."""
        jvm = self.spark._jvm
        conf = jvm.org.apache.hadoop.hive.conf.HiveConf()
        conf.set("hive.metastore.uris", self.uris())
        c = jvm.org.apache.hadoop.hive.metastore.HiveMetaStoreClient(conf)
        try:
            yield c
        finally:
            c.close()

    def location(self, database: str, name: str) -> str | None:
        with self._client() as c:
            if not c.tableExists(database, name):
                return None
            return str(c.getTable(database, name).getSd().getLocation()).rstrip("/")

    def partition_keys(self, database: str, name: str) -> list[str]:
        with self._client() as c:
            return [str(k.getName()) for k in c.getTable(database, name).getPartitionKeys()]

    def replaces_whole(self) -> bool:
        """Whether the metastore replaces an entry by another with its partitions in one call
        (Lakeform's own, MetastoreServer.java 3.): it answers getMetaConf of lakeform.replace,
        which a stock metastore refuses. Asked once per job server process."""
        if self._whole is None:
            with self._client() as c:
                try:
                    self._whole = str(c.getMetaConf("lakeform.replace")) == "1"
                except Exception:  # "Invalid configuration key": a metastore of the user's own
                    self._whole = False
        return self._whole

    def _alter(self, database: str, name: str, content_of: str, named: str, context: dict[str, str] | None = None) -> None:
        """alter_table of entry `name` with entry `content_of`'s content under the name `named`
        (`named` ≠ `name` renames it), with an environment context when given."""
        with self._client() as c:
            entry = c.getTable(database, content_of)
            entry.setTableName(named)
            if context is None:
                c.alter_table(database, name, entry)
                return
            ctx = self.spark._jvm.org.apache.hadoop.hive.metastore.api.EnvironmentContext()
            for k, v in context.items():
                ctx.putToProperties(k, v)
            c.alter_table_with_environmentContext(database, name, entry, ctx)

    def replace(self, database: str, name: str, by: str) -> None:
        """The entry `name` becomes entry `by`'s (its storage, columns, partition keys, parameters)."""
        self._alter(database, name, by, name)

    def replace_whole(self, database: str, name: str, by: str, keep: str) -> None:
        """One call, on a metastore that replaces_whole: `name` is renamed `keep` and `by` is renamed
        `name`, partitions and all (a reader finds one or the other entry under `name`, never none)."""
        self._alter(database, name, by, name, {"lakeform.replace.from": by, "lakeform.replace.keep": keep})

    def rename(self, database: str, name: str, to: str) -> None:
        self._alter(database, name, name, to)

    def drop(self, database: str, name: str) -> None:
        """Removes an entry only (never its files)."""
        with self._client() as c:
            if c.tableExists(database, name):
                c.dropTable(database, name, False, True)


class Rebuilds:
    def __init__(self, jobs: "Jobs"):
        self.jobs = jobs
        self.metastore = Metastore(jobs)

    def pending(self, t: Table) -> dict[str, str] | None:
        """A rebuild under way (or killed) on the table: its stage, shadow location and change."""
        rb = (self.jobs.placements.read(t) or {}).get("rebuild")
        return {k: str(rb.get(k, "")) for k in ("stage", "shadow", "change")} if rb else None

    def _refresh(self, *tables: Table) -> None:
        session = self.jobs.spark._jsparkSession.sessionState().catalog()
        session.invalidateAllCachedTables()
        for t in tables:
            try:
                self.jobs.spark.catalog.refreshTable(self.jobs.format(t).qualified(t))
            except Exception:  # not there (any more): nothing cached
                pass

    def _drop_shadow(self, t: Table, rb: dict[str, Any]) -> None:
        self.metastore.drop(t.database, rb["shadowName"])
        self.jobs.ctx.storage.delete(rb["shadow"], recursive=True)
        self._refresh()

    def settle(self, t: Table) -> str | None:
        """What a rebuild killed earlier left: its shadow removed if it wasn't swapped in ("cleaned"),
        its bookkeeping finished if it was ("finished"); None when no rebuild was under way."""
        places = self.jobs.placements
        rec = places.read(t)
        rb = (rec or {}).get("rebuild")
        if not rb:
            return None
        ms = self.metastore
        if rb.get("trashName") and ms.location(t.database, t.name) is None and ms.location(t.database, rb["trashName"]) is not None:
            # A whole replace (two renames in the metastore) stopped between them: the table's entry comes back first.
            ms.rename(t.database, rb["trashName"], t.name)
            log.warning("table=%s: a rebuild's swap stopped halfway in the metastore: the table's entry is back under its name", t.key)
        if rb.get("stage") == "swapping" and self.metastore.location(t.database, t.name) == rb["shadow"]:
            self._finish(t, rec, rb)
            return "finished"
        self._drop_shadow(t, rb)
        rest = {k: v for k, v in rec.items() if k != "rebuild"}
        if rest.get("location") and rest["location"] != home(t):
            places.write(t, rest)
        else:
            places.remove(t)
        log.warning("table=%s: a rebuild stopped before its swap: its shadow %s removed, the table as it was keeps serving", t.key, rb["shadow"])
        return "cleaned"

    def _finish(self, t: Table, rec: dict[str, Any], rb: dict[str, Any]) -> None:
        """After the swap: the shadow's entry goes, the replaced table is put in the trash under its
        trash name (tombstone, placement record), the table's record names its new place."""
        self.metastore.drop(t.database, rb["shadowName"])
        # A whole replace kept the old entry under the trash name: the trash registers it again on undrop.
        self.metastore.drop(t.database, rb["trashName"])
        storage = self.jobs.ctx.storage
        trash = Table(name=rb["trashName"], database=t.database, format=rb["from"]["format"], location=f"{bucket_of(t)}/{t.database}/{rb['trashName']}")
        self.jobs.placements.write(trash, {"location": rb["from"]["location"], "format": rb["from"]["format"]})
        storage.write_text(f"{bucket_of(t)}/_lakeform/trash/{t.database}/{rb['trashName']}.json", json.dumps(rb["tombstone"], indent=2))
        self.jobs.placements.write(t, {"location": rb["shadow"], "format": rb["format"]})
        self._refresh(t)

    def rebuild(self, req: RebuildRequest) -> RebuildResult:
        started = time.time()
        t = req.table
        with self.jobs.lock(t):
            guard = self.jobs.guard(req)
            guard.check()
            settled = self.settle(t)
            old = self.jobs.placements.resolve(replace(t, format=req.previous["format"], primary_key=req.previous["primaryKey"], partition_by=req.previous["partitionBy"]))
            old_fmt = self.jobs.format(old)
            if not (self.jobs.ctx.catalog.has(old) and old_fmt.files_exist(old)):
                raise JobFailure("TABLE_MISSING", f"table {t.key} is not in the lake (catalog and files) to rebuild")
            commits = old_fmt.commits(old, True, True)
            before = core.layout(next((c.spec for c in reversed(commits) if c.spec), None)) or {**req.previous, "format": old.format}
            before["format"] = old.format
            after = core.layout(t.spec_json())
            change = core.describe_change(before, after)
            if before == after:
                return RebuildResult(rebuilt=False, change=change, rows=0, keys=0, checksum="", bytes=0, duration_ms=int((time.time() - started) * 1000), settled=settled)
            # Refused before anything is written (rebuild_core): a swap away from a partitioned Hudi table,
            # and one into a partitioned Hudi table unless the metastore replaces entries whole (Lakeform's own).
            # The partition keys the old entry has (what readers and the metastore see), not what a spec says.
            was = {**before, "partitionBy": self.metastore.partition_keys(t.database, t.name)} if old.format == "hudi" else before
            now = {**after, "partitionBy": [sanitize_column(p) for p in t.partition_by]}
            refusal = core.refuse_partitioned_hudi_swap(t.key, was, now, self.metastore.replaces_whole)
            if refusal:
                raise refusal
            # Into a partitioned Hudi table: its entry is replaced whole, partitions and all; else alter_table swaps it.
            whole = bool(core.metastore_partition_keys(now))
            current = self.jobs.spark.table(old_fmt.qualified(old))
            cols = old_fmt.user_columns(current)
            rows = current.select(*[f"`{c}`" for c in cols])
            keys = [sanitize_column(k) for k in t.primary_key]
            missing = [k for k in keys + [sanitize_column(p) for p in t.partition_by] if k not in cols]
            if missing:
                raise core.unsupported(t.key, f"the table has no column {', '.join(missing)}")
            from pyspark.sql import functions as F

            nulls = rows.where(" OR ".join(f"`{k}` IS NULL" for k in keys)).count()
            if nulls:
                raise core.refuse_null_keys(t.key, keys, nulls)
            dup = rows.groupBy(*[F.col(f"`{k}`") for k in keys]).count().where(F.col("count") > 1)
            n = dup.count()
            if n:
                raise core.refuse_collapse(t.key, keys, n, [[r[k] for k in keys] for r in dup.limit(core.SAMPLE_KEYS).collect()])
            # The old table's fingerprint, once its rows are known to fit the new key.
            want = core.fingerprint(rows, keys, cols)
            names = core.Names.of(t.name, home(t))
            newest = commits[-1] if commits else None
            rb = {
                "stage": "writing", "startedAt": names.stamp, "format": t.format, "shadow": names.shadow_location, "shadowName": names.shadow_name,
                "trashName": names.trash_name, "from": {"location": old.location, "format": old.format}, "change": change,
                "tombstone": core.tombstone(
                    t.database, names.trash_name, old.format, old.location,
                    {"format": old.format, "primaryKey": before.get("primaryKey"), "partitionBy": before.get("partitionBy"), "schemaPolicy": old.schema_policy},
                    {"id": newest.commit, "time": newest.time} if newest else None, want.rows, req.trash_days, declared_in=req.declared_in,
                ),
            }
            places = self.jobs.placements
            prior = places.read(t) or {}
            places.write(t, {"location": old.location, "format": old.format, **{k: v for k, v in prior.items() if k not in ("location", "format", "rebuild")}, "rebuild": rb})
            shadow = replace(t, name=names.shadow_name, location=names.shadow_location)
            meta = {"source_hash": "", "source": f"rebuild:{newest.commit if newest else ''}", "generation": req.generation, "spec": t.spec_json(), "rebuilt_from": newest.commit if newest else ""}
            plan = WritePlan(keys=keys, meta=meta, exists=False, existing_cols=[], new_cols=cols, bulk=True)
            commit = self._write_shadow(t, shadow, rows, plan, name_taken=old.format != shadow.format)
            shadow_fmt = self.jobs.format(shadow)
            got = core.fingerprint(self.jobs.spark.table(shadow_fmt.qualified(shadow)).select(*[f"`{c}`" for c in cols]), keys, cols)
            bad = want.mismatch(got)
            if bad:
                self.settle(t)
                raise JobFailure("SPARK_ERROR", f"the rebuild of {t.key} was not swapped in: its shadow table doesn't hold the table's rows ({bad}); the table is unchanged")
            rb["stage"] = "swapping"
            places.write(t, {**places.read(t), "rebuild": rb})
            guard.check()
            # The swap: one metastore call.
            if whole:
                self.metastore.replace_whole(t.database, t.name, names.shadow_name, names.trash_name)
            else:
                self.metastore.replace(t.database, t.name, names.shadow_name)
            log.info("table=%s: rebuilt (%s): %d rows, swapped in from %s", t.key, change, want.rows, names.shadow_location)
            self._finish(t, places.read(t), rb)
            size = sum(int(st.getLen()) for st in self._files(names.shadow_location))
            return RebuildResult(
                rebuilt=True, change=change, rows=want.rows, keys=want.keys, checksum=want.checksum, bytes=size, duration_ms=int((time.time() - started) * 1000),
                commit=commit, shadow=names.shadow_location, trash_table=f"{t.database}.{names.trash_name}", purge_after=rb["tombstone"]["purgeAfter"], settled=settled,
            )

    def _files(self, uri: str):
        path, fs = self.jobs.ctx.storage.path(uri)
        it = fs.listFiles(path, True)
        while it.hasNext():
            yield it.next()

    def _write_shadow(self, t: Table, shadow: Table, rows: Any, plan: WritePlan, *, name_taken: bool) -> str:
        """The shadow table, written in one commit with the new layout. Hudi's keeps the table's
        own name in its properties (a later write under that name must match it) and is synced
        to the metastore under the shadow's name (its sync tool, as register does); Iceberg's is created as the shadow."""
        fmt = self.jobs.format(shadow)
        self.jobs.ctx.catalog.ensure_database(t.database)
        if shadow.format == "hudi":
            opts = fmt.write_options(replace(shadow, name=t.name), plan)
            # Synced by hand under the shadow's name: Hudi's own sync would refresh Spark's table
            # of hoodie.table.name afterwards, which is the old table (an Iceberg one can't be).
            opts.update({"hoodie.datasource.hive_sync.enable": "false", "hoodie.datasource.meta.sync.enable": "false"})
            if name_taken:
                # Hudi's reader looks its own name up in Spark's catalog (hoodie.database.name, else the
                # current database) and refuses a table of that name that isn't Hudi: until the swap the
                # name is the old Iceberg table's. A database no table is in keeps the lookup empty.
                opts["hoodie.database.name"] = core.NO_DATABASE
            rows.write.format("hudi").options(**opts).mode("append").save(shadow.location)
            fmt.register(shadow)
            return fmt.commits(shadow, True, True)[-1].commit
        return fmt.write(shadow, rows, plan)
