"""Apache Iceberg, format v2, in Spark's `iceberg` catalog on the same metastore: upserts by
MERGE INTO, registered by register_table on the newest metadata file."""

from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import BadRequest
from ..partitioning import PartitionField, check_types, parse_field, spec_from_metadata
from ..replies import Commit
from ..expectations import counts_from_meta as expectation_counts
from .base import META_PREFIX, Format, WritePlan, counts_from_meta, write_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from ..asof import AsOf
    from ..types import Table

# How MERGE writes updated rows: merge-on-read (position deletes, which Trino reads) rewrites no
# data file; copy-on-write rewrites every file holding an updated key. Measured in bench/ingest.ts.
ICEBERG_ROW_MODE = os.environ.get("LAKEFORM_ICEBERG_ROW_MODE", "merge-on-read")

METADATA_FILE = re.compile(r"^(\d+)-.*\.metadata\.json$")

# Metadata files never change once written (each commit writes a new one): what was read of one
# is kept, by its location, so an unchanged table's observe reads nothing of it again.
_METADATA: dict[str, dict[str, Any]] = {}
_METADATA_LIMIT = 4096
_METADATA_GUARD = threading.Lock()


def millis_iso(ms: int) -> str:
    """Epoch milliseconds as Spark's snapshots table prints committed_at (UTC, milliseconds)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def commits_from_metadata(meta: dict[str, Any]) -> list[Commit]:
    """Every snapshot of a metadata file, oldest first: what `<table>.snapshots` lists."""
    snaps = sorted(meta.get("snapshots") or [], key=lambda s: int(s.get("timestamp-ms", 0)))
    out = []
    for s in snaps:
        summary = dict(s.get("summary") or {})
        operation = summary.pop("operation", None)
        out.append(commit_from_snapshot(int(s["snapshot-id"]), millis_iso(int(s["timestamp-ms"])), operation, summary))
    return out


def oldest_has_parent(meta: dict[str, Any], oldest: str) -> bool:
    """Whether the snapshot has a parent: older snapshots existed and were expired."""
    for s in meta.get("snapshots") or []:
        if str(s.get("snapshot-id")) == oldest:
            return s.get("parent-snapshot-id") is not None
    return False


def rows_from_metadata(meta: dict[str, Any]) -> int | None:
    """The current snapshot's row count from its summary, when the summary tells it exactly:
    total-records counts the rows of the data files, so it is the table's rows only when no
    delete file (position or equality) hides some of them. None otherwise (Spark counts)."""
    current = meta.get("current-snapshot-id")
    if current is None or int(current) == -1:
        return 0 if not meta.get("snapshots") else None
    snap = next((s for s in meta.get("snapshots") or [] if int(s.get("snapshot-id", -2)) == int(current)), None)
    summary = (snap or {}).get("summary") or {}
    try:
        deletes = int(summary.get("total-position-deletes", "")) + int(summary.get("total-equality-deletes", ""))
        records = int(summary["total-records"])
    except (KeyError, ValueError):
        return None
    return records if deletes == 0 else None


def commit_from_snapshot(snapshot_id: int, committed_at_iso: str, operation: str | None, summary: dict[str, str] | None) -> Commit:
    s = summary or {}
    # Lakeform's own counts when it recorded them: copy-on-write rewrites whole files, so the
    # summary's added/deleted records count the rewritten files' rows, not the rows changed.
    counts = counts_from_meta(s) or ({"rows_inserted": 0, "rows_updated": 0, "rows_deleted": 0} if operation == "replace" else None) or {
        "rows_inserted": int(s.get("added-records", 0)) - int(s.get("deleted-records", 0)) if s.get("added-records") else 0,
        "rows_updated": int(s.get("deleted-records", 0)) if s.get("added-records") else 0,
        "rows_deleted": 0 if s.get("added-records") else int(s.get("deleted-records", 0)),
    }
    return Commit(
        commit=str(snapshot_id),
        time=committed_at_iso,
        operation=operation,
        source_hash=s.get(META_PREFIX + "source_hash"),
        source=s.get(META_PREFIX + "source"),
        generation=s.get(META_PREFIX + "generation"),
        spec=s.get(META_PREFIX + "spec"),
        replay_of=s.get(META_PREFIX + "replay_of"),
        replay_last=s.get(META_PREFIX + "replay_last"),
        expectations=expectation_counts(s, META_PREFIX),
        path=write_path(s),
        **counts,
    )


class Iceberg(Format):
    name = "iceberg"
    has_data_files = True

    def qualified(self, t: "Table") -> str:
        return f"iceberg.{t.database}.{t.name}"

    def metadata_files(self, t: "Table") -> Iterator[tuple[int, str]]:
        """(version, path) of each <version>-<uuid>.metadata.json under the table's metadata/."""
        for st in self.ctx.storage.iter_files(t.location + "/metadata"):
            m = METADATA_FILE.match(str(st.getPath().getName()))
            if m:
                yield int(m.group(1)), str(st.getPath().toString())

    def latest_metadata(self, t: "Table") -> str:
        """The newest metadata file: the table's state at its last commit."""
        files = sorted(self.metadata_files(t))
        if not files:
            raise BadRequest(f"no Iceberg metadata file under {t.location}/metadata")
        return files[-1][1]

    def files_exist(self, t: "Table") -> bool:
        # Runs on every observe: stop at the first metadata file rather than list them all.
        return next(self.metadata_files(t), None) is not None

    _pinned: tuple[str, str | None] | None = None

    @contextmanager
    def observing(self, t: "Table") -> Iterator[None]:
        # One observe asks the metastore where the metadata file is once (commits, expiry, head
        # and rows all read that file): nothing in it writes.
        self._pinned = (t.key, self._metadata_location(t))
        try:
            yield
        finally:
            self._pinned = None

    def metadata_location(self, t: "Table") -> str | None:
        """Where the metastore's entry says the table's current metadata file is (its
        metadata_location parameter, which every commit swaps), or None when it says nothing."""
        if self._pinned is not None and self._pinned[0] == t.key:
            return self._pinned[1]
        return self._metadata_location(t)

    def _metadata_location(self, t: "Table") -> str | None:
        entry = self.ctx.catalog.entry(t)
        return entry[0].get("metadata_location") if entry else None

    def metadata(self, t: "Table") -> dict[str, Any] | None:
        """The table's current metadata file, parsed: snapshots with their summaries, schemas.
        Read from the object store once per metadata file. None when the metastore doesn't say
        where it is."""
        location = self.metadata_location(t)
        if not location:
            return None
        with _METADATA_GUARD:
            meta = _METADATA.get(location)
        if meta is None:
            meta = json.loads(self.ctx.storage.read_text(location))
            with _METADATA_GUARD:
                if len(_METADATA) >= _METADATA_LIMIT:
                    _METADATA.clear()
                _METADATA[location] = meta
        return meta

    def head(self, t: "Table", commits: list[Commit]) -> str | None:
        # Every change (a snapshot, a schema change, a property) writes a new metadata file.
        return self.metadata_location(t) or super().head(t, commits)

    def rows_from_metadata(self, t: "Table") -> int | None:
        meta = self.metadata(t)
        return rows_from_metadata(meta) if meta is not None else None

    def commits(self, t: "Table", in_catalog: bool, files: bool) -> list[Commit]:
        if not (in_catalog and files):
            return []
        # The metadata file the metastore points at lists every snapshot: no Spark job.
        meta = self.metadata(t)
        if meta is not None:
            return commits_from_metadata(meta)
        rows = self.spark.sql(f"SELECT snapshot_id, committed_at, operation, summary FROM {self.qualified(t)}.snapshots ORDER BY committed_at").collect()
        # The session time zone is UTC.
        return [commit_from_snapshot(r["snapshot_id"], r["committed_at"].isoformat(timespec="milliseconds") + "Z", r["operation"], r["summary"]) for r in rows]

    def drop_statement(self, t: "Table", purge: bool) -> str:
        return f"DROP TABLE IF EXISTS {self.qualified(t)}{' PURGE' if purge else ''}"

    def table_properties(self, t: "Table") -> dict[str, str]:
        props = {f"write.{op}.mode": ICEBERG_ROW_MODE for op in ("merge", "update", "delete")}
        props["write.target-file-size-bytes"] = str(t.target_bytes)
        return props

    def write(self, t: "Table", df: "DataFrame", plan: WritePlan) -> str:
        from pyspark.sql import functions as F

        fq = self.qualified(t)
        self.spark.sql(f"CREATE NAMESPACE IF NOT EXISTS iceberg.{t.database}")
        props = {META_PREFIX + k: v for k, v in plan.meta.items()}
        if not plan.exists:
            fields = t.partition_fields
            check_types(fields, {f.name: f.dataType.simpleString() for f in df.schema.fields}, t.key)
            transforms = [f.spark_column() for f in fields]
            if any(c is None for c in transforms):
                # DataFrameWriterV2 has no truncate: the table is made by SQL, its first snapshot appended.
                self._create_by_sql(t, df, fields)
                with self.ctx.catalog.iceberg_commit_properties(props):
                    df.writeTo(fq).append()
                return self.commits(t, True, True)[-1].commit
            writer = df.writeTo(fq).using("iceberg").tableProperty("format-version", "2").tableProperty("location", t.location)
            for k, v in self.table_properties(t).items():
                writer = writer.tableProperty(k, v)
            if transforms:
                writer = writer.partitionedBy(*transforms)
            with self.ctx.catalog.iceberg_commit_properties(props):
                writer.create()
            return self.commits(t, True, True)[-1].commit
        if plan.new_cols:
            types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
            cols = ", ".join(f"`{c}` {types[c]}" for c in plan.new_cols)
            self.spark.sql(f"ALTER TABLE {fq} ADD COLUMNS ({cols})")
        table = self.spark.table(fq)
        # Tables made before merge-on-read was chosen take it (and the file size) at their next write.
        current = {r["key"]: r["value"] for r in self.spark.sql(f"SHOW TBLPROPERTIES {fq}").collect()}
        wanted = {k: v for k, v in self.table_properties(t).items() if current.get(k) != v}
        if wanted:
            pairs = ", ".join(f"'{k}'='{v}'" for k, v in wanted.items())
            self.spark.sql(f"ALTER TABLE {fq} SET TBLPROPERTIES ({pairs})")
        target_cols = plan.existing_cols + plan.new_cols
        table_types = {f.name: f.dataType for f in table.schema.fields}
        flag = plan.delete_flag
        csv_cols = [c for c in df.columns if c != flag]
        # Columns this CSV doesn't have: null for new rows, and left as they are on updates.
        full = df.select(
            *[F.col(f"`{c}`") if c in csv_cols else F.lit(None).cast(table_types[c]).alias(c) for c in target_cols],
            *([F.col(flag)] if flag else []),
        )
        if plan.bulk and not flag:
            with self.ctx.catalog.iceberg_commit_properties(props):
                full.writeTo(fq).append()
            return self.commits(t, True, True)[-1].commit
        view = f"lakeform_src_{plan.meta['source_hash'][:16]}"
        # Materialised: MERGE may read its source more than once, and the source must not change
        # between reads (dedupe's positions, the guard's checks).
        full.localCheckpoint().createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in plan.keys)
        sets = ", ".join(f"t.`{c}` = s.`{c}`" for c in csv_cols)
        cols = ", ".join(f"`{c}`" for c in target_cols)
        vals = ", ".join(f"s.`{c}`" for c in target_cols)
        try:
            with self.ctx.catalog.iceberg_commit_properties(props):
                # Rows marked by deleteWhen delete their key in the same MERGE (one snapshot).
                self.spark.sql(
                    f"MERGE INTO {fq} t USING {view} s ON {on} "
                    + (f"WHEN MATCHED AND s.`{flag}` THEN DELETE " if flag else "")
                    + f"WHEN MATCHED THEN UPDATE SET {sets} "
                    + f"WHEN NOT MATCHED{f' AND NOT s.`{flag}`' if flag else ''} THEN INSERT ({cols}) VALUES ({vals})"
                )
        finally:
            self.spark.catalog.dropTempView(view)
        return self.commits(t, True, True)[-1].commit

    def _create_by_sql(self, t: "Table", df: "DataFrame", fields: list[PartitionField]) -> None:
        """An empty table of df's columns with these partition fields: identifiers and types from
        the DataFrame (sanitised names), the fields from their parsed parts, the location a
        checked s3a:// URI (types.s3a_uri), the properties Lakeform's own."""
        cols = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in df.schema.fields)
        props = ", ".join(f"'{k}'='{v}'" for k, v in {"format-version": "2", **self.table_properties(t)}.items())
        parts = ", ".join(f.spark_sql() for f in fields)
        self.spark.sql(f"CREATE TABLE {self.qualified(t)} ({cols}) USING iceberg PARTITIONED BY ({parts}) LOCATION '{t.location}' TBLPROPERTIES ({props})")

    def partition_spec(self, t: "Table") -> list[str] | None:
        meta = self.metadata(t)
        return spec_from_metadata(meta) if meta is not None else None

    def evolve_partitions(self, t: "Table") -> tuple[list[str], list[str]]:
        """Partition evolution to the table's partitionBy: the current spec's fields it doesn't
        name dropped, its new ones added (Spark SQL's ALTER TABLE ... DROP/ADD PARTITION FIELD,
        the Iceberg extensions'), each a metadata commit; no data file is rewritten, files keep
        the spec they were written with. Returns (dropped, added), canonical."""
        before = self.partition_spec(t)
        if before is None:
            raise BadRequest(f"table {t.key}'s metadata doesn't tell its partition spec")
        want = t.partition_fields
        types = {f.name: f.dataType.simpleString() for f in self.spark.table(self.qualified(t)).schema.fields}
        check_types(want, types, t.key)
        texts = [f.text for f in want]
        drop = [f for f in (parse_field(p, "partition spec") for p in before) if f.text not in texts]
        add = [f for f in want if f.text not in before]
        fq = self.qualified(t)
        for f in drop:
            self.spark.sql(f"ALTER TABLE {fq} DROP PARTITION FIELD {f.spark_sql()}")
        for f in add:
            self.spark.sql(f"ALTER TABLE {fq} ADD PARTITION FIELD {f.spark_sql()}")
        return [f.text for f in drop], [f.text for f in add]

    def delete(self, t: "Table", rows: "DataFrame", plan: WritePlan) -> str:
        """One MERGE … WHEN MATCHED THEN DELETE by key: one snapshot with Lakeform's metadata."""
        fq = self.qualified(t)
        props = {META_PREFIX + k: v for k, v in plan.meta.items()}
        view = f"lakeform_del_{plan.meta['source_hash'][:16]}"
        rows.select(*[f"`{k}`" for k in plan.keys]).distinct().localCheckpoint().createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in plan.keys)
        try:
            with self.ctx.catalog.iceberg_commit_properties(props):
                self.spark.sql(f"MERGE INTO {fq} t USING {view} s ON {on} WHEN MATCHED THEN DELETE")
        finally:
            self.spark.catalog.dropTempView(view)
        return self.commits(t, True, True)[-1].commit

    def history_expired(self, t: "Table", commits: list[Commit]) -> bool:
        """The oldest snapshot still there has a parent: older ones were expired."""
        if not commits:
            return False
        meta = self.metadata(t)
        if meta is not None:
            return oldest_has_parent(meta, commits[0].commit)
        row = self.spark.sql(f"SELECT parent_id FROM {self.qualified(t)}.snapshots WHERE snapshot_id = {int(commits[0].commit)}").first()
        return bool(row is not None and row["parent_id"] is not None)

    def data_files(self, t: "Table") -> dict[str, int] | None:
        target = t.target_bytes
        r = self.spark.sql(
            f"SELECT count(*) AS n, coalesce(sum(CASE WHEN file_size_in_bytes < {int(target * 0.75)} THEN 1 ELSE 0 END), 0) AS small, "
            f"coalesce(sum(file_size_in_bytes), 0) AS bytes FROM {self.qualified(t)}.files WHERE content = 0"
        ).first()
        return {"count": int(r["n"]), "small": int(r["small"]), "bytes": int(r["bytes"]), "targetBytes": target}

    def maintain(self, t: "Table") -> list[str]:
        """Compaction (rewrite_data_files towards the target size), then snapshot expiry by the
        retention, then orphan files older than a day (nothing a write in flight could own)."""
        from datetime import datetime, timedelta, timezone

        name = f"{t.database}.{t.name}"
        stamp = lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # noqa: E731 (session time zone is UTC)
        actions: list[str] = []
        files = self.data_files(t)
        if files and files["small"] >= 2:
            r = self.spark.sql(
                f"CALL iceberg.system.rewrite_data_files(table => '{name}', "
                f"options => map('target-file-size-bytes', '{t.target_bytes}', 'min-input-files', '2'))"
            ).first()
            if r and r["rewritten_data_files_count"]:
                actions.append(f"compacted {r['rewritten_data_files_count']} data files into {r['added_data_files_count']}")
        before = len(self.commits(t, True, True))
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        keep = t.retention
        older_than, retain_last = (now + timedelta(seconds=1), keep.commits) if keep.commits else (now - timedelta(days=keep.days or 0), 1)
        self.spark.sql(f"CALL iceberg.system.expire_snapshots(table => '{name}', older_than => TIMESTAMP '{stamp(older_than)}', retain_last => {retain_last})").collect()
        after = len(self.commits(t, True, True))
        if after < before:
            actions.append(f"expired {before - after} snapshot(s)")
        # Iceberg refuses an interval under 24 hours (a write in flight may own newer files).
        orphans = self.spark.sql(f"CALL iceberg.system.remove_orphan_files(table => '{name}', older_than => TIMESTAMP '{stamp(now - timedelta(hours=24, minutes=1))}')").collect()
        if orphans:
            actions.append(f"removed {len(orphans)} orphan file(s)")
        return actions

    def register(self, t: "Table") -> dict[str, Any]:
        """register_table on the newest metadata file: nothing is rewritten."""
        metadata = self.latest_metadata(t)
        self.spark.sql(f"CALL iceberg.system.register_table(table => '{t.database}.{t.name}', metadata_file => '{metadata}')")
        return {"registered": True, "metadataFile": metadata}

    def read_as_of(self, t: "Table", as_of: "AsOf") -> "DataFrame":
        reader = self.spark.read.format("iceberg")
        if as_of.kind == "commit" and len(as_of.input) > 13:
            reader = reader.option("snapshot-id", as_of.input)
        else:
            # A short number is milliseconds since the epoch (as before); otherwise the timestamp.
            ms = int(as_of.input) if as_of.kind == "commit" else as_of.millis
            reader = reader.option("as-of-timestamp", str(ms))
        return reader.load(self.qualified(t))
