"""Lakeform's Spark job server: one warm Spark driver serving the reconciler's requests.

A JVM start costs tens of seconds on a small machine, so instead of one spark-submit per CSV,
this program keeps a SparkSession and answers JSON requests over HTTP on 127.0.0.1:

  GET  /healthz               the driver is up
  POST /v1/write              upsert one CSV source into a table (Hudi or Iceberg)
  POST /v1/observe            what the table holds: commits with their Lakeform metadata, rows, columns
  POST /v1/travel             rows of a table as of a commit or a time
  POST /v1/drop               drop a table (and its files with purge)
  POST /v1/register           put a table whose files are intact back into the metastore

Writes to one table are serialised here (Hudi without a lock provider must never see two writers).
Every write records the source's content hash and the spec generation in the commit itself
(Hudi extra metadata, Iceberg snapshot summary): the lake is the reconciler's only state.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from names import sanitize_column
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

log = logging.getLogger("lakeform.jobs")

META_PREFIX = "lakeform."
HUDI_TABLE_VERSION = "6"  # Trino 476's Hudi connector reads table versions 6 and 8; Hudi 1.x writes 8 by default.


class JobFailure(Exception):
    """A failure with a kind the reconciler understands (BadCsv, SchemaRefused, BadRequest, SparkError)."""

    def __init__(self, kind: str, message: str, detail: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


# ------------------------------------------------------------------ names


IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str, what: str) -> str:
    if not IDENT.match(name or ""):
        raise JobFailure("BadRequest", f"{what} {name!r} is not a valid identifier")
    return name


def spark_error_line(err: BaseException) -> str:
    """The line of a Spark/JVM error that says what went wrong, not the stack trace:
    the innermost exception's message of the first exception line."""
    text = str(err)
    for line in text.splitlines():
        line = line.strip().lstrip(": ")
        if not line or line.startswith(("at ", "JVM stacktrace", "...", "An error occurred while calling")):
            continue
        parts = [p for p in re.split(r"(?:[\w$]+\.)+[\w$]*(?:Exception|Error)(?::\s*|$)", line) if p.strip()]
        return (parts[-1] if parts else line)[:500]
    return text[:500]


# ------------------------------------------------------------------ the server's work


class Lake:
    def __init__(self, spark: SparkSession):
        self.spark = spark
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def lock(self, table: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(table, threading.Lock())

    # -------------------------------------------------------------- reading sources

    def read_csv(self, uri: str) -> tuple[DataFrame, dict[str, str]]:
        """Reads a CSV with its header; FAILFAST so a ragged row fails the write instead of becoming nulls."""
        raw = self.spark.read.option("header", "true").option("mode", "FAILFAST").option("inferSchema", "true") \
            .option("enforceSchema", "false").option("multiLine", "false").csv(uri)
        renamed: dict[str, str] = {}
        names: list[str] = []
        for c in raw.columns:
            new = sanitize_column(c)
            base, n = new, 2
            while new in names:
                new = f"{base}_{n}"
                n += 1
            names.append(new)
            if new != c:
                renamed[c] = new
        df = raw.toDF(*names)
        return df, renamed

    def validate_rows(self, uri: str) -> None:
        """Finds the first ragged line before Spark parses the file, so the error names it
        (Spark's FAILFAST message doesn't say which line)."""
        import csv

        lines = self.spark.sparkContext.textFile(uri).zipWithIndex()
        first = lines.take(1)
        if not first or not first[0][0].strip():
            raise JobFailure("BadCsv", "the CSV is empty or has no header line")
        expected = len(next(csv.reader([first[0][0]])))

        def bad(pair: tuple[str, int]) -> bool:
            line, _ = pair
            if not line.strip():
                return False
            try:
                return len(next(csv.reader([line]))) != expected
            except Exception:
                return True

        found = lines.filter(bad).take(1)
        if found:
            line, idx = found[0]
            raise JobFailure("BadCsv", f"line {idx + 1} has a different number of fields than the header ({expected}): {line[:200]!r}")

    # -------------------------------------------------------------- catalog helpers

    @staticmethod
    def qualified(t: dict[str, Any]) -> str:
        db = ident(t["database"], "database")
        name = ident(t["name"], "table")
        return f"iceberg.{db}.{name}" if t["format"] == "iceberg" else f"spark_catalog.{db}.{name}"

    def fs_path(self, uri: str):
        """A Hadoop Path for an s3a:// URI, with the FileSystem that serves it."""
        path = self.spark._jvm.org.apache.hadoop.fs.Path(uri)
        return path, path.getFileSystem(self.spark._jsc.hadoopConfiguration())

    def read_text(self, uri: str) -> str:
        path, fs = self.fs_path(uri)
        stream = fs.open(path)
        try:
            return self.spark._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()

    def in_catalog(self, t: dict[str, Any]) -> bool:
        """Whether the metastore has an entry for the table, asked of the metastore itself: Hudi's
        and Iceberg's catalogs would load the table, which fails when its files are gone."""
        return bool(self.spark._jsparkSession.sharedState().externalCatalog().tableExists(t["database"], t["name"]))

    def files_exist(self, t: dict[str, Any]) -> bool:
        """Whether the table's own files are there: Hudi's hoodie.properties, or an Iceberg metadata
        file. Not just the directory: S3 servers with a filer (SeaweedFS) keep empty directories
        after every object under them was deleted."""
        if t["format"] == "hudi":
            path, fs = self.fs_path(t["location"] + "/.hoodie/hoodie.properties")
            return bool(fs.exists(path))
        # Runs on every observe: stop at the first metadata file rather than list them all.
        return next(self.iceberg_metadata_files(t), None) is not None

    def ensure_database(self, t: dict[str, Any]) -> None:
        db = ident(t["database"], "database")
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS spark_catalog.{db}")

    # -------------------------------------------------------------- write

    def write(self, req: dict[str, Any]) -> dict[str, Any]:
        t, source, generation = req["table"], req["source"], req["generation"]
        started = time.time()
        with self.lock(f"{t['database']}.{t['name']}"):
            if not self.files_exist(t):
                if self.in_catalog(t):
                    # The table's files were removed outside Lakeform: forget the dangling catalog
                    # entry (without loading the table, which would fail) so this write creates it.
                    self.forget_catalog_entry(t)
                self.clear_leftovers(t)
            self.validate_rows(source["uri"])
            df, renamed = self.read_csv(source["uri"])
            keys = [sanitize_column(k) for k in t["primaryKey"]]
            missing = [k for k in keys + t.get("partitionBy", []) + ([t["orderingField"]] if t.get("orderingField") else []) if k not in df.columns]
            if missing:
                raise JobFailure("BadCsv", f"column(s) {', '.join(missing)} named in tables.yaml are not in the CSV header (columns: {', '.join(df.columns)})")
            nulls = df.filter(" OR ".join(f"`{k}` IS NULL" for k in keys)).count()
            if nulls:
                raise JobFailure("BadCsv", f"{nulls} row(s) have an empty primary key ({', '.join(keys)})")
            try:
                rows = df.count()
            except Exception as e:  # FAILFAST parse errors surface here
                raise JobFailure("BadCsv", f"the CSV can't be parsed: {spark_error_line(e)}") from e
            df = dedupe(df, keys, t.get("orderingField"))
            exists = self.in_catalog(t)
            existing = [f for f in self.spark.table(self.qualified(t)).schema.fields if not f.name.startswith("_hoodie_")] if exists else []
            existing_cols = [f.name for f in existing]
            if existing:
                df = align_types(df, {f.name: f.dataType for f in existing})
            new_cols = [c for c in df.columns if exists and c not in existing_cols]
            if new_cols and t.get("schemaPolicy") == "strict":
                raise JobFailure("SchemaRefused", f"schemaPolicy is strict and the CSV has new column(s): {', '.join(new_cols)}; the table was left as it was")
            meta = {
                "source_hash": source["hash"],
                "source": source.get("name", ""),
                "generation": generation,
                "spec": json.dumps({"format": t["format"], "primaryKey": t["primaryKey"], "partitionBy": t.get("partitionBy", [])}),
            }
            try:
                if t["format"] == "hudi":
                    commit = self.write_hudi(t, df, keys, meta, exists)
                else:
                    commit = self.write_iceberg(t, df, keys, meta, exists, existing_cols, new_cols)
            except JobFailure:
                raise
            except Exception as e:
                msg = spark_error_line(e)
                if "Incompatible" in msg or "schema" in msg.lower() and "cast" in msg.lower():
                    raise JobFailure("SchemaRefused", f"incompatible schema change: {msg}") from e
                raise JobFailure("SparkError", msg, traceback.format_exc()[-4000:]) from e
            self.append_journal(t, {"commit": commit, "source": source.get("name", ""), "sourceHash": source["hash"], "uri": source["uri"], "generation": generation})
        return {
            "commit": commit,
            "rowsWritten": rows,
            "renamed": renamed,
            "columns": df.columns,
            "addedColumns": new_cols,
            "durationMs": int((time.time() - started) * 1000),
        }

    def hive_sync_options(self, t) -> dict[str, str]:
        """How a Hudi table is registered in the metastore: by every write, and by register()."""
        return {
            "hoodie.datasource.hive_sync.enable": "true",
            "hoodie.datasource.hive_sync.mode": "hms",
            "hoodie.datasource.hive_sync.metastore.uris": self.spark.conf.get("spark.hadoop.hive.metastore.uris"),
            "hoodie.datasource.hive_sync.database": t["database"],
            "hoodie.datasource.hive_sync.table": t["name"],
            "hoodie.datasource.hive_sync.partition_fields": ",".join(t.get("partitionBy", [])),
            "hoodie.datasource.hive_sync.partition_extractor_class": (
                "org.apache.hudi.hive.MultiPartKeysValueExtractor" if t.get("partitionBy") else "org.apache.hudi.hive.NonPartitionedExtractor"
            ),
            "hoodie.datasource.meta.sync.enable": "true",
        }

    def write_hudi(self, t, df: DataFrame, keys: list[str], meta: dict[str, str], exists: bool) -> str:
        db, name = t["database"], t["name"]
        self.ensure_database(t)
        ordering = t.get("orderingField")
        opts = {
            "hoodie.table.name": name,
            "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
            "hoodie.datasource.write.operation": "upsert",
            "hoodie.datasource.write.recordkey.field": ",".join(keys),
            "hoodie.datasource.write.partitionpath.field": ",".join(t.get("partitionBy", [])),
            "hoodie.datasource.write.keygenerator.class": (
                "org.apache.hudi.keygen.ComplexKeyGenerator" if len(keys) > 1 or len(t.get("partitionBy", [])) > 1
                else "org.apache.hudi.keygen.SimpleKeyGenerator" if t.get("partitionBy")
                else "org.apache.hudi.keygen.NonpartitionedKeyGenerator" if len(keys) == 1
                else "org.apache.hudi.keygen.ComplexKeyGenerator"
            ),
            "hoodie.datasource.write.hive_style_partitioning": "true",
            "hoodie.write.table.version": HUDI_TABLE_VERSION,
            "hoodie.table.timeline.timezone": "UTC",
            "hoodie.datasource.write.reconcile.schema": "true",
            "hoodie.schema.on.read.enable": "false",
            **self.hive_sync_options(t),
            "hoodie.metadata.enable": "false",
            "hoodie.upsert.shuffle.parallelism": "4",
            "hoodie.insert.shuffle.parallelism": "4",
            "hoodie.datasource.write.commitmeta.key.prefix": META_PREFIX,
        }
        if ordering:
            opts["hoodie.datasource.write.precombine.field"] = ordering
            opts["hoodie.table.precombine.field"] = ordering
        for k, v in meta.items():
            opts[META_PREFIX + k] = v
        df.write.format("hudi").options(**opts).mode("append").save(t["location"])
        return self.hudi_commits(t)[-1]["commit"]

    def commit_properties(self, props: dict[str, str]):
        """Sets Iceberg's per-thread commit properties (what CommitMetadata.withCommitProperties does,
        without needing a JVM callback into Python): every snapshot this thread commits carries them."""
        jvm = self.spark._jvm
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        field = jvm.java.lang.Class.forName("org.apache.iceberg.spark.CommitMetadata", True, loader).getDeclaredField("COMMIT_PROPERTIES")
        field.setAccessible(True)
        local = field.get(None)
        jmap = jvm.java.util.HashMap()
        for k, v in props.items():
            jmap.put(k, v)
        lake = self

        class Scope:
            def __enter__(self):
                local.set(jmap)

            def __exit__(self, *exc):
                local.set(jvm.java.util.HashMap())

        return Scope()

    def write_iceberg(self, t, df: DataFrame, keys, meta, exists: bool, existing_cols: list[str], new_cols: list[str]) -> str:
        fq = self.qualified(t)
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{ident(t['database'], 'database')}")
        props = {META_PREFIX + k: v for k, v in meta.items()}
        if not exists:
            parts = t.get("partitionBy", [])
            writer = df.writeTo(fq).using("iceberg").tableProperty("format-version", "2") \
                .tableProperty("location", t["location"]).tableProperty("write.merge.mode", "copy-on-write") \
                .tableProperty("write.update.mode", "copy-on-write").tableProperty("write.delete.mode", "copy-on-write")
            if parts:
                writer = writer.partitionedBy(*[F.col(p) for p in parts])
            with self.commit_properties(props):
                writer.create()
        else:
            if new_cols:
                types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
                cols = ", ".join(f"`{c}` {types[c]}" for c in new_cols)
                self.spark.sql(f"ALTER TABLE {fq} ADD COLUMNS ({cols})")
            target_cols = existing_cols + new_cols
            table_types = {f.name: f.dataType for f in self.spark.table(fq).schema.fields}
            csv_cols = list(df.columns)
            # Columns this CSV doesn't have: null for new rows, and left as they are on updates.
            full = df.select(*[F.col(f"`{c}`") if c in csv_cols else F.lit(None).cast(table_types[c]).alias(c) for c in target_cols])
            view = f"lakeform_src_{meta['source_hash'][:16]}"
            # Materialised: MERGE needs a deterministic source, and dedupe's row positions aren't.
            full.localCheckpoint().createOrReplaceTempView(view)
            on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
            sets = ", ".join(f"t.`{c}` = s.`{c}`" for c in csv_cols)
            cols = ", ".join(f"`{c}`" for c in target_cols)
            vals = ", ".join(f"s.`{c}`" for c in target_cols)
            try:
                with self.commit_properties(props):
                    self.spark.sql(
                        f"MERGE INTO {fq} t USING {view} s ON {on} "
                        f"WHEN MATCHED THEN UPDATE SET {sets} WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({vals})"
                    )
            finally:
                self.spark.catalog.dropTempView(view)
        return self.iceberg_commits(t)[-1]["commit"]

    # -------------------------------------------------------------- observe

    def hudi_commits(self, t) -> list[dict[str, Any]]:
        base = t["location"]
        timeline_dir, fs = self.fs_path(base + "/.hoodie")
        if not fs.exists(timeline_dir):
            return []
        statuses = fs.listStatus(timeline_dir)
        files = sorted(str(s.getPath().getName()) for s in statuses if s.isFile())
        completed = [f for f in files if re.match(r"^\d+\.(commit|replacecommit)$", f) or re.match(r"^\d+_\d+\.(commit|replacecommit)$", f)]
        out = []
        for f in completed:
            data = self.read_text(base + "/.hoodie/" + f)
            try:
                body = json.loads(data)
            except ValueError:
                body = {}
            extra = body.get("extraMetadata", {}) or {}
            stats = [s for ps in (body.get("partitionToWriteStats") or {}).values() for s in ps]
            instant = f.split(".")[0].split("_")[0]
            out.append({
                "commit": instant,
                "time": hudi_instant_time(instant),
                "operation": body.get("operationType"),
                "sourceHash": extra.get(META_PREFIX + "source_hash"),
                "source": extra.get(META_PREFIX + "source"),
                "generation": extra.get(META_PREFIX + "generation"),
                "spec": extra.get(META_PREFIX + "spec"),
                "rowsInserted": sum(int(s.get("numInserts", 0)) for s in stats),
                "rowsUpdated": sum(int(s.get("numUpdateWrites", 0)) for s in stats),
            })
        return out

    def iceberg_commits(self, t) -> list[dict[str, Any]]:
        fq = self.qualified(t)
        rows = self.spark.sql(f"SELECT snapshot_id, committed_at, operation, summary FROM {fq}.snapshots ORDER BY committed_at").collect()
        out = []
        for r in rows:
            s = r["summary"] or {}
            out.append({
                "commit": str(r["snapshot_id"]),
                "time": r["committed_at"].isoformat(timespec="milliseconds") + "Z",  # session time zone is UTC
                "operation": r["operation"],
                "sourceHash": s.get(META_PREFIX + "source_hash"),
                "source": s.get(META_PREFIX + "source"),
                "generation": s.get(META_PREFIX + "generation"),
                "spec": s.get(META_PREFIX + "spec"),
                "rowsInserted": int(s.get("added-records", 0)) - int(s.get("deleted-records", 0)) if s.get("added-records") else 0,
                "rowsUpdated": int(s.get("deleted-records", 0)),
            })
        return out

    def observe(self, req: dict[str, Any]) -> dict[str, Any]:
        t = req["table"]
        in_catalog = self.in_catalog(t)
        files = self.files_exist(t)
        if t["format"] == "hudi":
            commits = self.hudi_commits(t) if files else []
        else:
            commits = self.iceberg_commits(t) if in_catalog and files else []
        exists = in_catalog and files
        row_count, columns = None, []
        if exists:
            df = self.spark.table(self.qualified(t))
            row_count = df.count()
            columns = [{"name": f.name, "type": f.dataType.simpleString()} for f in df.schema.fields if not f.name.startswith("_hoodie_")]
        # A table without files is (re)built: the journal says what it held, if it ever existed.
        journal = [] if files else self.read_journal(t)
        return {"exists": exists, "inCatalog": in_catalog, "filesExist": files, "commits": commits, "rowCount": row_count, "columns": columns, "journal": journal}

    # -------------------------------------------------------------- travel / drop

    def travel(self, req: dict[str, Any]) -> dict[str, Any]:
        t, as_of, where, limit = req["table"], str(req["asOf"]), req.get("where"), int(req.get("limit", 1000))
        if t["format"] == "hudi":
            if not re.match(r"^\d{8,17}$|^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$", as_of):
                raise JobFailure("BadRequest", f"asOf {as_of!r} is neither a Hudi instant nor a timestamp")
            df = self.spark.read.format("hudi").option("as.of.instant", as_of.replace("T", " ")).load(t["location"])
            df = df.select(*[c for c in df.columns if not c.startswith("_hoodie_")])
        else:
            reader = self.spark.read.format("iceberg")
            if re.match(r"^\d+$", as_of) and len(as_of) > 13:
                reader = reader.option("snapshot-id", as_of)
            else:
                ms = self.spark.sql(f"SELECT CAST(unix_millis(TIMESTAMP '{as_of.replace('T', ' ')}') AS BIGINT) AS ms").first()["ms"] \
                    if not re.match(r"^\d+$", as_of) else int(as_of)
                reader = reader.option("as-of-timestamp", str(ms))
            df = reader.load(self.qualified(t))
        if where:
            df = df.where(where)
        rows = df.limit(limit).collect()
        return {"columns": df.columns, "types": [f.dataType.simpleString() for f in df.schema.fields], "rows": [[jsonable(v) for v in r] for r in rows]}

    def register(self, req: dict[str, Any]) -> dict[str, Any]:
        """Puts a table whose files are intact back into the metastore, history and all: Hudi by
        running its hive sync on the existing timeline, Iceberg by registering its newest
        metadata file. Nothing is rewritten."""
        t = req["table"]
        with self.lock(f"{t['database']}.{t['name']}"):
            if self.in_catalog(t):
                return {"registered": False}
            if not self.files_exist(t):
                raise JobFailure("BadRequest", f"no table files at {t['location']} to register")
            self.ensure_database(t)
            jvm = self.spark._jvm
            if t["format"] == "hudi":
                props = jvm.java.util.Properties()
                for k, v in self.hive_sync_options(t).items():
                    props.setProperty(k, v)
                props.setProperty("hoodie.datasource.meta.sync.base.path", t["location"])
                tool = jvm.org.apache.hudi.hive.HiveSyncTool(props, self.spark._jsc.hadoopConfiguration())
                try:
                    tool.syncHoodieTable()
                finally:
                    tool.close()
                return {"registered": True}
            metadata = self.latest_iceberg_metadata(t)
            self.spark.sql(
                f"CALL iceberg.system.register_table(table => '{ident(t['database'], 'database')}.{ident(t['name'], 'table')}', "
                f"metadata_file => '{metadata}')"
            )
            return {"registered": True, "metadataFile": metadata}

    def iceberg_metadata_files(self, t):
        """Yields (version, path) of each <version>-<uuid>.metadata.json under the table's
        metadata/, as the listing pages in (callers that need one can stop early)."""
        path, fs = self.fs_path(t["location"] + "/metadata")
        try:
            it = fs.listStatusIterator(path)
            while it.hasNext():
                st = it.next()
                m = re.match(r"^(\d+)-.*\.metadata\.json$", st.getPath().getName())
                if m:
                    yield int(m.group(1)), st.getPath().toString()
        except Py4JJavaError as e:  # FileNotFoundException: no metadata directory at all
            if e.java_exception.getClass().getName() != "java.io.FileNotFoundException":
                raise

    def latest_iceberg_metadata(self, t) -> str:
        """The newest metadata file: the table's state at its last commit."""
        files = sorted(self.iceberg_metadata_files(t))
        if not files:
            raise JobFailure("BadRequest", f"no Iceberg metadata file under {t['location']}/metadata")
        return files[-1][1]

    def clear_leftovers(self, t) -> None:
        """Makes room for a new table at a location that holds no table. Files someone left there
        are moved aside to <location>.orphaned-<time>, not deleted. Empty directories are removed
        deepest first: S3 servers with a filer (SeaweedFS) keep a folder after its last object is
        deleted, refuse to delete a folder that has sub-folders, and Hudi takes an empty .hoodie/
        for a table whose properties it can't read."""
        path, fs = self.fs_path(t["location"])
        if not fs.exists(path):
            return
        if fs.listFiles(path, True).hasNext():
            aside = self.spark._jvm.org.apache.hadoop.fs.Path(f"{t['location']}.orphaned-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
            fs.rename(path, aside)
            log.warning("moved files left at %s (no table there) aside to %s", t["location"], aside.toString())

        def dirs_deepest_first(p):
            try:
                children = [st.getPath() for st in fs.listStatus(p) if st.isDirectory()]
            except Exception:  # FileNotFoundException: already gone
                return []
            return [d for c in children for d in dirs_deepest_first(c)] + [p]

        for d in dirs_deepest_first(path):
            try:
                fs.delete(d, False)
            except Exception as e:  # not empty after all: leave it, and say so
                log.warning("could not remove leftover directory %s: %s", d.toString(), e)

    def forget_catalog_entry(self, t) -> None:
        """Removes a table's metastore entry only, through Spark's Hive client: neither Hudi's
        nor Iceberg's catalog is asked to load a table whose files are gone."""
        self.spark._jsparkSession.sharedState().externalCatalog().dropTable(t["database"], t["name"], True, False)
        # Spark still caches the old relation (and its file listing) for the name.
        self.spark._jsparkSession.sessionState().catalog().invalidateAllCachedTables()

    def drop(self, req: dict[str, Any]) -> dict[str, Any]:
        t, purge = req["table"], bool(req.get("purge"))
        with self.lock(f"{t['database']}.{t['name']}"):
            self.spark.sql(f"DROP TABLE IF EXISTS {self.qualified(t)}{' PURGE' if purge and t['format'] == 'iceberg' else ''}")
            if purge:
                for loc in (t["location"], self.journal_dir(t)):
                    p, fs = self.fs_path(loc)
                    if fs.exists(p):
                        fs.delete(p, True)
        return {"dropped": True}

    # -------------------------------------------------------------- journal
    # Every successful write also leaves a small record beside the landed CSVs:
    # _lakeform/journal/<db>/<table>/<utc time>-<commit>.json. The commits themselves stay the
    # source of truth; the journal is only read when a table's files were deleted, to rebuild it
    # with every write it had, in order (API ingests included), not just its declared sources.

    def journal_dir(self, t) -> str:
        m = re.match(r"^(s3a://[^/]+)/", t["location"])
        if not m:
            raise JobFailure("BadRequest", f"table location {t['location']!r} is not s3a://bucket/...")
        return f"{m.group(1)}/_lakeform/journal/{t['database']}/{t['name']}"

    def append_journal(self, t, entry: dict[str, Any]) -> None:
        now = time.time()  # one reading: the seconds and the milliseconds must agree
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}"
        path, fs = self.fs_path(f"{self.journal_dir(t)}/{stamp}-{entry['commit']}.json")
        out = fs.create(path, True)
        try:
            out.write(bytearray(json.dumps({**entry, "time": stamp}).encode()))
        finally:
            out.close()

    def read_journal(self, t) -> list[dict[str, Any]]:
        path, fs = self.fs_path(self.journal_dir(t))
        try:
            listing = sorted(st.getPath().toString() for st in fs.listStatus(path) if st.getPath().getName().endswith(".json"))
        except Exception:  # no journal yet
            return []
        return [json.loads(self.read_text(p)) for p in listing]


def align_types(df: DataFrame, table_types: dict) -> DataFrame:
    """Casts the CSV's columns to the table's types (CSV inference can differ between files).
    A value that doesn't fit the table's type is an incompatible schema change, not a silent null."""
    casts = []
    for c in df.columns:
        if c in table_types and df.schema[c].dataType != table_types[c]:
            casts.append(c)
    if not casts:
        return df
    out = df.select(*[F.col(f"`{c}`").cast(table_types[c]).alias(c) if c in casts else F.col(f"`{c}`") for c in df.columns])
    for c in casts:
        lost = df.select(F.col(f"`{c}`").alias("v")).where(F.col("v").isNotNull() & F.col("v").cast(table_types[c]).isNull()).limit(1).collect()
        if lost:
            raise JobFailure(
                "SchemaRefused",
                f"column {c}: value {lost[0]['v']!r} doesn't fit the table's type {table_types[c].simpleString()}; the table was left as it was",
            )
    return out


def dedupe(df: DataFrame, keys: list[str], ordering: str | None) -> DataFrame:
    """One row per key: the one with the largest ordering value, else the last one in the file."""
    from pyspark.sql.window import Window

    order = [F.col(f"`{ordering}`").desc_nulls_last()] if ordering else []
    w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(*order, F.col("__lakeform_pos").desc())
    return df.withColumn("__lakeform_pos", F.monotonically_increasing_id()) \
        .withColumn("__lakeform_rank", F.row_number().over(w)) \
        .where("__lakeform_rank = 1").drop("__lakeform_rank", "__lakeform_pos")


def hudi_instant_time(instant: str) -> str:
    """A Hudi instant (yyyyMMddHHmmss[SSS], UTC: see hoodie.table.timeline.timezone) as ISO-8601."""
    ts = instant.ljust(17, "0")
    return f"{ts[0:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}.{ts[14:17]}Z"


def jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


# ------------------------------------------------------------------ HTTP


def make_handler(lake: Lake):
    ops = {"write": lake.write, "observe": lake.observe, "travel": lake.travel, "drop": lake.drop, "register": lake.register}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self.reply(200, {"ok": True, "spark": lake.spark.version})
            else:
                self.reply(404, {"ok": False, "error": {"kind": "BadRequest", "message": f"no such path {self.path}"}})

        def do_POST(self) -> None:
            m = re.match(r"^/v1/(\w+)$", self.path)
            op = ops.get(m.group(1)) if m else None
            if not op:
                self.reply(404, {"ok": False, "error": {"kind": "BadRequest", "message": f"no such operation {self.path}"}})
                return
            try:
                length = int(self.headers.get("content-length", "0"))
                req = json.loads(self.rfile.read(length) or b"{}")
                started = time.time()
                result = op(req)
                log.info("op=%s table=%s took %.1fs", m.group(1), req.get("table", {}).get("name"), time.time() - started)
                self.reply(200, {"ok": True, **result})
            except JobFailure as e:
                log.warning("op=%s failed: %s: %s", m.group(1), e.kind, e.message)
                self.reply(422, {"ok": False, "error": {"kind": e.kind, "message": e.message, "detail": e.detail}})
            except KeyError as e:
                self.reply(400, {"ok": False, "error": {"kind": "BadRequest", "message": f"missing field {e}"}})
            except Exception as e:  # a Spark failure: report its key line, keep serving
                log.error("op=%s crashed: %s", m.group(1), traceback.format_exc())
                self.reply(500, {"ok": False, "error": {"kind": "SparkError", "message": spark_error_line(e), "detail": traceback.format_exc()[-4000:]}})

    return Handler


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", action="store_true", help="run the HTTP job server")
    ap.add_argument("--port", type=int, default=8998)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--request", help="one-shot: a JSON request {op, ...}; prints the JSON response")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    spark = SparkSession.builder.appName("lakeform-jobs").enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    lake = Lake(spark)
    if args.request:
        req = json.loads(args.request)
        op = {"write": lake.write, "observe": lake.observe, "travel": lake.travel, "drop": lake.drop}[req.pop("op")]
        try:
            print(json.dumps({"ok": True, **op(req)}))
            return 0
        except JobFailure as e:
            print(json.dumps({"ok": False, "error": {"kind": e.kind, "message": e.message}}))
            return 1
    server = ThreadingHTTPServer((args.host, args.port), make_handler(lake))
    log.info("Lakeform job server listening on http://%s:%d (Spark %s)", args.host, args.port, spark.version)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
