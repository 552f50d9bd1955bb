"""Apache Hudi, copy-on-write: upserts by key, registered in the metastore by Hudi's hive sync."""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Any

from ..replies import Commit
from ..expectations import counts_from_meta as expectation_counts
from .base import META_PREFIX, Format, WritePlan, counts_from_meta, write_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from ..asof import AsOf
    from ..types import Table

# Trino 476's Hudi connector reads table versions 6 and 8; Hudi 1.x writes 8 by default, and
# >= 1.1 writes 9, which it can't read.
HUDI_TABLE_VERSION = "6"

# How an upsert finds the files holding its keys (see write_options).
UPSERT_INDEX = os.environ.get("LAKEFORM_HUDI_INDEX", "BLOOM")

# For bench/ingest.ts's second job server only: a JSON file of Hudi write options laid over
# write_options' own, read at each write (the bench rewrites it between variants it measures).
BENCH_OPTIONS_FILE = os.environ.get("LAKEFORM_HUDI_OPTIONS_FILE")

COMPLETED = re.compile(r"^(\d+)(?:_\d+)?\.(commit|replacecommit)$")

# A completed instant's file is written once: its parsed body is kept by its path, so an observe
# reads only the instants it hasn't seen (one listing of .hoodie/ for an unchanged table).
_BODIES: dict[str, dict[str, Any]] = {}
_BODIES_LIMIT = 20_000
_BODIES_GUARD = threading.Lock()
# catalog_drift's answers, by what they depend on: the table's newest commit and the metastore
# entry's own marks of change (the instant last synced, the time of its last DDL). The same
# state gives the same answer, so an unchanged table's observe opens no sync client.
_DRIFT: dict[tuple[str, ...], list[str]] = {}
_DRIFT_LIMIT = 10_000


def key_generator(keys: list[str], partition_by: list[str]) -> str:
    if len(keys) > 1 or len(partition_by) > 1:
        return "org.apache.hudi.keygen.ComplexKeyGenerator"
    if partition_by:
        return "org.apache.hudi.keygen.SimpleKeyGenerator"
    if len(keys) == 1:
        return "org.apache.hudi.keygen.NonpartitionedKeyGenerator"
    return "org.apache.hudi.keygen.ComplexKeyGenerator"


def hudi_instant_time(instant: str) -> str:
    """A Hudi instant (yyyyMMddHHmmss[SSS], UTC: see hoodie.table.timeline.timezone) as ISO-8601."""
    ts = instant.ljust(17, "0")
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}.{ts[14:17]}Z"


def commit_from_timeline(instant: str, body: dict[str, Any]) -> Commit:
    """A commit as recorded in a completed .commit / .replacecommit file of the timeline."""
    extra = body.get("extraMetadata", {}) or {}
    stats = [s for ps in (body.get("partitionToWriteStats") or {}).values() for s in ps]
    counts = counts_from_meta(extra) or {
        "rows_inserted": sum(int(s.get("numInserts", 0)) for s in stats),
        "rows_updated": sum(int(s.get("numUpdateWrites", 0)) for s in stats),
        "rows_deleted": sum(int(s.get("numDeletes", 0)) for s in stats),
    }
    return Commit(
        commit=instant,
        time=hudi_instant_time(instant),
        operation=body.get("operationType"),
        source_hash=extra.get(META_PREFIX + "source_hash"),
        source=extra.get(META_PREFIX + "source"),
        generation=extra.get(META_PREFIX + "generation"),
        spec=extra.get(META_PREFIX + "spec"),
        replay_of=extra.get(META_PREFIX + "replay_of"),
        replay_last=extra.get(META_PREFIX + "replay_last"),
        expectations=expectation_counts(extra, META_PREFIX),
        path=write_path(extra),
        **counts,
    )


def retention_options(t: "Table") -> dict[str, str]:
    """Hudi's cleaner and archival run inline after each commit, under the write's lock, set
    from the table's retention; new rows go into files smaller than the small-file limit until
    they reach the target size (Hudi's own small-file handling on copy-on-write)."""
    keep = t.retention
    target = t.target_bytes
    opts = {
        "hoodie.clean.automatic": "true",
        "hoodie.archive.automatic": "true",
        "hoodie.parquet.max.file.size": str(target),
        "hoodie.parquet.small.file.limit": str(int(target * 0.75)),
    }
    if keep.commits:
        opts.update({
            "hoodie.cleaner.policy": "KEEP_LATEST_COMMITS",
            "hoodie.cleaner.commits.retained": str(keep.commits),
            # Archival must keep more than the cleaner retains; Lakeform lists only the newest N.
            "hoodie.keep.min.commits": str(keep.commits + 1),
            "hoodie.keep.max.commits": str(keep.commits + 2),
        })
    else:
        opts.update({"hoodie.cleaner.policy": "KEEP_LATEST_BY_HOURS", "hoodie.cleaner.hours.retained": str(max(1, math.ceil((keep.days or 0) * 24)))})
    return opts


def retained_window(t: "Table", commits: list[Commit], now_ms: int) -> list[Commit]:
    """The newest N commits, or those of the last D days (always the newest one)."""
    keep = t.retention
    if not commits:
        return commits
    if keep.commits:
        return commits[-keep.commits :]
    cutoff = now_ms - int((keep.days or 0) * 86_400_000)
    recent = [c for c in commits if instant_millis(c.commit) >= cutoff]
    return recent or commits[-1:]


def instant_millis(instant: str) -> int:
    from datetime import datetime, timezone

    ts = instant.ljust(17, "0")
    return int(datetime.strptime(ts[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc).timestamp() * 1000) + int(ts[14:17])


class Hudi(Format):
    name = "hudi"
    exact_commit_counts = True
    checks_new_keys = False

    def qualified(self, t: "Table") -> str:
        return f"spark_catalog.{t.database}.{t.name}"

    def files_exist(self, t: "Table") -> bool:
        return self.ctx.storage.exists(t.location + "/.hoodie/hoodie.properties")

    def user_columns(self, df: "DataFrame") -> list[str]:
        return [c for c in df.columns if not c.startswith("_hoodie_")]

    def hive_sync_options(self, t: "Table") -> dict[str, str]:
        """How a Hudi table is registered in the metastore: by every write, and by register()."""
        return {
            "hoodie.datasource.hive_sync.enable": "true",
            "hoodie.datasource.hive_sync.mode": "hms",
            "hoodie.datasource.hive_sync.metastore.uris": self.ctx.catalog.metastore_uris(),
            "hoodie.datasource.hive_sync.database": t.database,
            "hoodie.datasource.hive_sync.table": t.name,
            "hoodie.datasource.hive_sync.partition_fields": ",".join(t.partition_by),
            "hoodie.datasource.hive_sync.partition_extractor_class": (
                "org.apache.hudi.hive.MultiPartKeysValueExtractor" if t.partition_by else "org.apache.hudi.hive.NonPartitionedExtractor"
            ),
            "hoodie.datasource.meta.sync.enable": "true",
        }

    def write_options(self, t: "Table", plan: WritePlan) -> dict[str, str]:
        opts = {
            "hoodie.table.name": t.name,
            "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
            # New table: bulk_insert (row writer, no index, no sort). A table that exists: upsert
            # (the index tells new keys from existing ones; new rows are packed into the table's
            # small files, so many small ingests don't leave a file each).
            "hoodie.datasource.write.operation": "bulk_insert" if plan.bulk and not plan.exists else "upsert",
            "hoodie.datasource.write.recordkey.field": ",".join(plan.keys),
            "hoodie.datasource.write.partitionpath.field": ",".join(t.partition_by),
            "hoodie.datasource.write.keygenerator.class": key_generator(plan.keys, t.partition_by),
            "hoodie.datasource.write.hive_style_partitioning": "true",
            "hoodie.write.table.version": HUDI_TABLE_VERSION,
            "hoodie.table.timeline.timezone": "UTC",
            "hoodie.datasource.write.reconcile.schema": "true",
            "hoodie.schema.on.read.enable": "false",
            **self.hive_sync_options(t),
            "hoodie.metadata.enable": "false",
            # Hudi 1.0 writes gzip by default: zstd (Iceberg's default, and what Trino reads
            # fastest of the two) takes a copy-on-write rewrite of 2M rows from 13.7 s to 10.5 s
            # and a bulk insert from 11.7 s to 6.5 s (one run each on 2 cores, warm).
            "hoodie.parquet.compression.codec": "zstd",
            # Each write task reads and writes its records in its own thread, instead of a
            # reader thread feeding a writer through a queue: two cores, two tasks, no handoff.
            "hoodie.write.executor.type": "SIMPLE",
            # The embedded timeline server (Javalin) listens on every interface with no setting
            # for the address: off, so nothing of the job server's listens beyond loopback
            # (the writer reads the timeline from storage instead; e2e 08-sockets checks).
            "hoodie.embed.timeline.server": "false",
            "hoodie.upsert.shuffle.parallelism": "4",
            "hoodie.insert.shuffle.parallelism": "4",
            "hoodie.bulkinsert.shuffle.parallelism": "4",
            "hoodie.datasource.write.commitmeta.key.prefix": META_PREFIX,
            # The batch arrives with one row per key (the job server dedupes only a batch that has
            # duplicates): Hudi's own combine would be a second shuffle of every row.
            "hoodie.combine.before.insert": "false",
            "hoodie.combine.before.upsert": "false",
        }
        opts.update(retention_options(t))
        if plan.bulk and not plan.exists:
            # New rows only: the row writer straight from the DataFrame, no index lookup, no sort.
            opts.update({"hoodie.datasource.write.row.writer.enable": "true", "hoodie.bulkinsert.sort.mode": "NONE"})
        else:
            # BLOOM: each incoming key probed against the bloom filters in the files' footers,
            # then checked in the files that may hold it. Measured against SIMPLE (the incoming
            # keys joined with the key column of every file) by bench/ingest.ts on zstd files:
            # the index lookup of a 10k-row upsert into 2M rows took 1.6 s against 4.6 s.
            opts["hoodie.index.type"] = UPSERT_INDEX
        if t.ordering_field:
            opts["hoodie.datasource.write.precombine.field"] = t.ordering_field
            opts["hoodie.table.precombine.field"] = t.ordering_field
        for k, v in plan.meta.items():
            opts[META_PREFIX + k] = v
        if BENCH_OPTIONS_FILE:
            with open(BENCH_OPTIONS_FILE, encoding="utf-8") as f:
                opts.update({str(k): str(v) for k, v in json.load(f).items()})
        return opts

    def write(self, t: "Table", df: "DataFrame", plan: WritePlan) -> str:
        self.ctx.catalog.ensure_database(t.database)
        opts = self.write_options(t, plan)
        if plan.delete_flag:
            # Hudi's own delete marker: a row with _hoodie_is_deleted = true removes its key in
            # this same upsert commit (the payload honours it; the ordering field already chose
            # one row per key). An upsert, whatever the write would otherwise have been.
            # The field must be nullable: the table's existing records don't have it.
            from pyspark.sql import functions as F

            flag = F.col(plan.delete_flag)
            df = df.withColumn("_hoodie_is_deleted", F.when(flag.isNull(), F.lit(None).cast("boolean")).otherwise(flag)).drop(plan.delete_flag)
            opts["hoodie.datasource.write.operation"] = "upsert"
        df.write.format("hudi").options(**opts).mode("append").save(t.location)
        return self.commits(t, True, True)[-1].commit

    def delete(self, t: "Table", rows: "DataFrame", plan: WritePlan) -> str:
        """Hudi's delete operation: one commit removing these rows' keys."""
        opts = self.write_options(t, plan)
        opts["hoodie.datasource.write.operation"] = "delete"
        rows.write.format("hudi").options(**opts).mode("append").save(t.location)
        return self.commits(t, True, True)[-1].commit

    def retained(self, t: "Table", commits: list[Commit]) -> list[Commit]:
        return retained_window(t, commits, int(time.time() * 1000))

    def maintain(self, t: "Table") -> list[str]:
        """Hudi cleans, archives and fills small files inline with each write (retention_options),
        under the same lock: nothing is left for a separate pass."""
        return []

    def history_expired(self, t: "Table", commits: list[Commit]) -> bool:
        """Commits archived out of the active timeline (or cleaned: retention) are gone for
        time travel: the archive folder holds them."""
        # One listing: a folder that isn't there lists as none.
        return len(self.ctx.storage.list_names(t.location + "/.hoodie/archived")) > 0

    def rows_written(self, t: "Table", prev_commit: str | None, commit: str, before: "DataFrame | None", after: "DataFrame") -> "DataFrame":
        """Hudi's incremental query: the rows this commit wrote (begin is exclusive, end inclusive)."""
        df = (
            self.spark.read.format("hudi")
            .option("hoodie.datasource.query.type", "incremental")
            .option("hoodie.datasource.read.begin.instanttime", prev_commit or "000")
            .option("hoodie.datasource.read.end.instanttime", commit)
            .load(t.location)
        )
        return df.select(*[c for c in after.columns])

    def commits(self, t: "Table", in_catalog: bool, files: bool) -> list[Commit]:
        if not files:
            return []
        timeline = t.location + "/.hoodie"
        storage = self.ctx.storage
        names = sorted(n for n in storage.list_names(timeline) if COMPLETED.match(n))
        out = []
        for n in names:
            path = f"{timeline}/{n}"
            with _BODIES_GUARD:
                body = _BODIES.get(path)
            if body is None:
                try:
                    body = json.loads(storage.read_text(path))
                except ValueError:
                    body = {}
                else:
                    with _BODIES_GUARD:
                        if len(_BODIES) >= _BODIES_LIMIT:
                            _BODIES.clear()
                        _BODIES[path] = body
            out.append(commit_from_timeline(COMPLETED.match(n).group(1), body))  # type: ignore[union-attr]
        return out

    def _sync_client(self, t: "Table"):
        """Hudi's own hive sync client for the table (what its hive sync compares and alters
        with): the table's schema as its latest commit has it, the metastore's columns and the
        instant last synced. The caller closes it."""
        jvm = self.spark._jvm
        conf = self.spark._jsc.hadoopConfiguration()
        props = jvm.java.util.Properties()
        for k, v in {**self.hive_sync_options(t), "hoodie.datasource.meta.sync.base.path": t.location}.items():
            props.setProperty(k, v)
        config = jvm.org.apache.hudi.hive.HiveSyncConfig(props, conf)
        meta = (
            jvm.org.apache.hudi.common.table.HoodieTableMetaClient.builder()
            .setConf(jvm.org.apache.hudi.hadoop.fs.HadoopFSUtils.getStorageConfWithCopy(conf))
            .setBasePath(t.location)
            .build()
        )
        return jvm.org.apache.hudi.hive.HoodieHiveSyncClient(config, meta)

    def catalog_drift(self, t: "Table", commits: list[Commit]) -> list[str]:
        """How the metastore's entry lags the table's latest commit, compared the way Hudi's
        hive sync compares them (so what is reported here is what a sync fixes): the instant
        last synced (last_commit_time_sync) behind the newest completed commit means a commit
        whose sync didn't happen (the metastore was down between the two); columns the latest
        commit's schema has that the metastore lacks, or has with another type, say what it
        left behind. Columns only the metastore has are not drift: a sync never drops them."""
        entry = self.ctx.catalog.entry(t) if commits else None
        if entry is None:
            return []
        props = entry[0]
        key = (t.key, t.location, commits[-1].commit, props.get("last_commit_time_sync", ""), props.get("transient_lastDdlTime", ""), ",".join(entry[1]))
        with _BODIES_GUARD:
            known = _DRIFT.get(key)
        if known is not None:
            return list(known)
        drift = self._drift(t, commits)
        with _BODIES_GUARD:
            if len(_DRIFT) >= _DRIFT_LIMIT:
                _DRIFT.clear()
            _DRIFT[key] = drift
        return list(drift)

    def _drift(self, t: "Table", commits: list[Commit]) -> list[str]:
        jvm = self.spark._jvm
        client = self._sync_client(t)
        try:
            synced_opt = client.getLastCommitTimeSynced(t.name)
            synced = str(synced_opt.get()) if synced_opt.isPresent() else ""
            storage = client.getStorageSchema()
            metastore = client.getMetastoreSchema(t.name)
            partition_fields = jvm.java.util.ArrayList()
            for f in t.partition_by:
                partition_fields.add(f)
            diff = jvm.org.apache.hudi.hive.util.HiveSchemaUtil.getSchemaDifference(storage, metastore, partition_fields, False)
            # Hudi quotes the names it compares (`city`).
            added = {str(k).strip("`"): str(v) for k, v in dict(diff.getAddColumnTypes()).items()}
            changed = {str(k).strip("`"): str(v) for k, v in dict(diff.getUpdateColumnTypes()).items()}
            had = {str(k).strip("`").lower(): str(v) for k, v in dict(metastore).items()}
        finally:
            client.close()
        drift = []
        newest = commits[-1].commit
        if synced < newest:
            drift.append(f"metastore synced at commit {synced or 'none'}, table's newest commit is {newest}")
        if added:
            drift.append(f"column(s) {', '.join(f'{k} {v}' for k, v in added.items())} missing from the metastore")
        if changed:
            drift.append("column type(s) behind the table: " + ", ".join(f"{k} is {had.get(k.lower(), '?')} in the metastore, {v} in the table" for k, v in changed.items()))
        return drift

    def resync(self, t: "Table") -> None:
        """Hudi's hive sync again, on the table as it is: the metastore's columns, types and
        last synced commit brought up to the latest commit. Nothing is rewritten."""
        self.register(t)

    def register(self, t: "Table") -> dict[str, Any]:
        """Runs Hudi's hive sync on the existing timeline: nothing is rewritten."""
        jvm = self.spark._jvm
        props = jvm.java.util.Properties()
        for k, v in self.hive_sync_options(t).items():
            props.setProperty(k, v)
        props.setProperty("hoodie.datasource.meta.sync.base.path", t.location)
        tool = jvm.org.apache.hudi.hive.HiveSyncTool(props, self.spark._jsc.hadoopConfiguration())
        try:
            tool.syncHoodieTable()
        finally:
            tool.close()
        return {"registered": True}

    def read_as_of(self, t: "Table", as_of: "AsOf") -> "DataFrame":
        df = self.spark.read.format("hudi").option("as.of.instant", as_of.hudi_instant).load(t.location)
        return df.select(*self.user_columns(df))
