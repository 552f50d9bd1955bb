"""Iceberg writes with pyiceberg, in the job server's Python process: no Spark job.

The same tables the Spark path makes (formats/iceberg.py): format v2 at the table's location,
partitionBy's fields (identity, or Iceberg's transforms: partitioning.py), the same table properties (merge-on-read for Spark's MERGE,
the target file size), in the same Hive catalog on the same metastore. Every write is one
metadata commit holding one snapshot whose summary carries Lakeform's keys (lakeform.source_hash,
lakeform.generation, lakeform.spec, the rows inserted/updated/deleted, lakeform.path = arrow):
  - a new table: created with its first snapshot (an append) in one commit;
  - only new keys, nothing to delete: an append;
  - otherwise an overwrite: every data file holding a key of the batch is read (its delete files
    applied) and rewritten without those keys, and the batch's rows are added, in one snapshot
    (pyiceberg's own upsert commits two or three snapshots for one upsert).
pyiceberg's Hive catalog commits under the metastore's table lock, as Spark's Iceberg catalog and
Trino do, and refuses a commit whose base moved (another writer committed in between) or, under
serializable isolation, that another writer's files conflict with: the write is then planned
again on the table as it is then and committed again, up to COMMIT_ATTEMPTS times.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pyarrow as pa

    from ..types import Table

log = logging.getLogger("lakeform.jobs")

COMMIT_ATTEMPTS = 5
KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class LakeConf:
    """Where the catalog and the object store are: the job server's own Spark settings (one place
    renders them for every engine: components/connection.ts)."""

    metastore_uri: str
    s3_endpoint: str
    s3_region: str
    access_key: str
    secret_key: str

    @staticmethod
    def from_spark_conf(get: Callable[[str, str], str]) -> "LakeConf":
        return LakeConf(
            metastore_uri=get("spark.hadoop.hive.metastore.uris", ""),
            s3_endpoint=get("spark.hadoop.fs.s3a.endpoint", ""),
            s3_region=get("spark.hadoop.fs.s3a.endpoint.region", "us-east-1"),
            access_key=get("spark.hadoop.fs.s3a.access.key", ""),
            secret_key=get("spark.hadoop.fs.s3a.secret.key", ""),
        )

    def catalog_properties(self) -> dict[str, str]:
        return {
            "uri": self.metastore_uri,
            # Hive 2.3's metastore: timestamps as Hive 2 knows them.
            "hive.hive2-compatible": "true",
            "s3.endpoint": self.s3_endpoint,
            "s3.region": self.s3_region,
            "s3.access-key-id": self.access_key,
            "s3.secret-access-key": self.secret_key,
            "s3.force-virtual-addressing": "false",
        }


@dataclass
class ArrowPlan:
    """What one write does (the operation decided it, as WritePlan for the Spark path)."""

    keys: list[str]
    meta: dict[str, str]  # snapshot summary keys, lakeform.* already prefixed
    new_cols: list[str]
    flag: str | None  # boolean column: the row deletes its key (deleteWhen)
    properties: dict[str, str]  # table properties the table must have
    partition_by: list[str]
    location: str


@dataclass
class Outcome:
    commit: str
    counts: dict[str, int]
    bulk: bool
    rewritten_files: int
    attempts: int


def key_of(table: "pa.Table", keys: list[str], to: list["pa.DataType"] | None = None) -> "pa.Array":
    """One comparable value per row for the key columns: the column itself for one key, else the
    columns' text joined by a separator no CSV value holds. `to`: cast each key column first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for i, k in enumerate(keys):
        c = table.column(k)
        if to is not None and c.type != to[i]:
            c = pc.cast(c, to[i])
        cols.append(c)
    if len(cols) == 1:
        return pa.chunked_array(cols[0]).combine_chunks() if isinstance(cols[0], pa.ChunkedArray) else cols[0]
    text = [pc.cast(c, pa.string()) for c in cols]
    out = pc.binary_join_element_wise(*text, KEY_SEPARATOR)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


class IcebergWriter:
    def __init__(self, conf: LakeConf):
        self.conf = conf
        self._local = threading.local()

    def catalog(self) -> Any:
        """The Hive catalog, one per thread: its metastore client holds one transport, which
        the job server's threads (writes to different tables at once) must not share."""
        cat = getattr(self._local, "catalog", None)
        if cat is None:
            from pyiceberg.catalog.hive import HiveCatalog

            cat = self._local.catalog = HiveCatalog("lakeform", **self.conf.catalog_properties())
        return cat

    def io(self) -> Any:
        """The catalog's file IO (pyarrow's S3 file system): what the source is read with too."""
        from pyiceberg.io.pyarrow import PyArrowFileIO

        return PyArrowFileIO(self.conf.catalog_properties())

    def read_bytes(self, uri: str) -> bytes:
        with self.io().new_input(uri).open() as f:
            return f.read()

    def load(self, t: "Table") -> Any | None:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog().load_table((t.database, t.name))
        except NoSuchTableError:
            return None

    def write(self, t: "Table", rows: "pa.Table", plan: ArrowPlan, exists: bool, before_commit: Callable[[], None]) -> Outcome:
        """Commits the batch (one row per key; plan.flag marks deletes). A commit refused because
        another writer committed first is planned again on the table as it is then."""
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        wait = 0.2
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                if not exists:
                    return self._create(t, rows, plan, before_commit, attempt)
                return self._upsert(t, rows, plan, before_commit, attempt)
            # CommitFailedException: the base moved; ValidationException: pyiceberg's own retry
            # found files added or deleted since the plan read the table (serializable isolation).
            except (CommitFailedException, ValidationException) as e:
                if attempt == COMMIT_ATTEMPTS:
                    raise
                log.warning("table=%s: another writer committed first (%s): planning the write again (attempt %d of %d)", t.key, e, attempt + 1, COMMIT_ATTEMPTS)
                time.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------------------ new table

    def _create(self, t: "Table", rows: "pa.Table", plan: ArrowPlan, before_commit: Callable[[], None], attempt: int) -> Outcome:
        from ..partitioning import parse_field, pyiceberg_spec

        upserts = rows.filter(_not(rows.column(plan.flag))).drop_columns([plan.flag]) if plan.flag else rows
        schema = new_table_schema(upserts.schema)
        spec = pyiceberg_spec([parse_field(p, "table.partitionBy") for p in plan.partition_by], schema)
        cat = self.catalog()
        cat.create_namespace_if_not_exists(t.database)
        tx = cat.create_table_transaction((t.database, t.name), schema=schema, location=plan.location, partition_spec=spec, properties={"format-version": "2", **plan.properties})
        counts = {"rows_inserted": len(upserts), "rows_updated": 0, "rows_deleted": 0}
        tx.append(upserts.cast(tx.table_metadata.schema().as_arrow()), snapshot_properties=_props(plan.meta, counts))
        before_commit()
        table = tx.commit_transaction()
        return Outcome(commit=str(table.current_snapshot().snapshot_id), counts=counts, bulk=True, rewritten_files=0, attempts=attempt)

    # ------------------------------------------------------------------------------ upsert

    def _upsert(self, t: "Table", rows: "pa.Table", plan: ArrowPlan, before_commit: Callable[[], None], attempt: int) -> Outcome:
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyiceberg.expressions import AlwaysTrue
        from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
        from pyiceberg.io.pyarrow import schema_to_pyarrow
        from pyiceberg.table import upsert_util

        table = self.load(t)
        if table is None:
            from ..errors import JobFailure

            raise JobFailure("TABLE_MISSING", f"table {t.name} is not in the lake any more")
        tx = table.transaction()
        if plan.new_cols:
            from pyiceberg.catalog import Catalog

            added = Catalog._convert_schema_if_needed(pa.schema([rows.schema.field(c) for c in plan.new_cols]))
            with tx.update_schema() as us:
                for f in added.fields:
                    us.add_column(f.name, f.field_type)
        current = tx.table_metadata.properties
        wanted = {k: v for k, v in plan.properties.items() if current.get(k) != v}
        if wanted:
            tx.set_properties(wanted)
        schema = tx.table_metadata.schema()
        target = schema_to_pyarrow(schema, include_field_ids=False)
        csv_cols = [c for c in rows.column_names if c != plan.flag]
        missing = [f.name for f in target if f.name not in csv_cols]
        key_types = [rows.schema.field(k).type for k in plan.keys]
        batch_keys = key_of(rows, plan.keys)
        flags = rows.column(plan.flag).combine_chunks() if plan.flag else pa.array([False] * len(rows))

        # The data files that may hold a key of the batch (by their partition and column bounds).
        match = upsert_util.create_match_filter(rows.select(plan.keys), plan.keys)
        tasks = list(tx._scan(row_filter=match).plan_files())
        commit_uuid = uuid.uuid4()
        counter = itertools.count(0)
        replaced: list[tuple[Any, list[Any]]] = []
        old_rows: list[pa.Table] = []  # the matched rows' key and the columns the CSV lacks
        for task in tasks:
            old = ArrowScan(table_metadata=tx.table_metadata, io=table.io, projected_schema=schema, row_filter=AlwaysTrue()).to_table(tasks=[task])
            hit = pc.is_in(key_of(old, plan.keys, key_types), value_set=batch_keys)
            n_hit = pc.sum(hit).as_py() or 0
            if n_hit == 0:
                continue
            kept = old.filter(pc.invert(hit))
            old_rows.append(old.filter(hit).select(plan.keys + missing))
            files = list(_dataframe_to_data_files(io=table.io, df=kept, table_metadata=tx.table_metadata, write_uuid=commit_uuid, counter=counter)) if len(kept) else []
            replaced.append((task.file, files))
        matched = pa.concat_tables(old_rows) if old_rows else None
        matched_keys = key_of(matched, plan.keys, key_types) if matched is not None else pa.array([], type=batch_keys.type)
        found = pc.is_in(batch_keys, value_set=matched_keys)
        upsert_mask = pc.invert(flags)
        counts = {
            "rows_inserted": int(pc.sum(pc.and_(upsert_mask, pc.invert(found))).as_py() or 0),
            "rows_updated": int(pc.sum(pc.and_(upsert_mask, found)).as_py() or 0),
            "rows_deleted": int(pc.sum(pc.and_(flags, found)).as_py() or 0),
        }
        upserts = rows.filter(upsert_mask).select(csv_cols)
        # Columns the CSV doesn't have: null for new rows, kept as they were on updated ones.
        if missing:
            if matched is not None and len(matched):
                keep = matched.rename_columns([f"__lf_old_{c}" if c in missing else c for c in matched.column_names])
                keep = keep.cast(pa.schema([pa.field(f.name, rows.schema.field(f.name).type) if f.name in plan.keys else f for f in keep.schema]))
                joined = upserts.join(keep, keys=plan.keys, join_type="left outer", use_threads=True)
                upserts = joined
                for c in missing:
                    upserts = upserts.append_column(c, upserts.column(f"__lf_old_{c}")).drop_columns([f"__lf_old_{c}"])
            else:
                for c in missing:
                    upserts = upserts.append_column(c, pa.nulls(len(upserts), type=target.field(c).type))
        upserts = upserts.select([f.name for f in target]).cast(target)
        props = _props(plan.meta, counts)
        bulk = not replaced
        if bulk:
            tx.append(upserts, snapshot_properties=props)
        else:
            with tx.update_snapshot(snapshot_properties=props).overwrite(commit_uuid=commit_uuid) as ow:
                for original, files in replaced:
                    ow.delete_data_file(original)
                    for f in files:
                        ow.append_data_file(f)
                if len(upserts):
                    for f in _dataframe_to_data_files(io=table.io, df=upserts, table_metadata=tx.table_metadata, write_uuid=commit_uuid, counter=counter):
                        ow.append_data_file(f)
        before_commit()
        committed = tx.commit_transaction()
        return Outcome(commit=str(committed.current_snapshot().snapshot_id), counts=counts, bulk=bulk, rewritten_files=len(replaced), attempts=attempt)


def _not(col: Any) -> Any:
    import pyarrow.compute as pc

    return pc.invert(pc.fill_null(col, False))


def _props(meta: dict[str, str], counts: dict[str, int]) -> dict[str, str]:
    from ..formats.base import META_PREFIX

    return {**meta, **{META_PREFIX + k: str(v) for k, v in counts.items()}}


def new_table_schema(arrow_schema: "pa.Schema") -> Any:
    """A new table's pyiceberg schema from Arrow's, with its field ids (1, 2, ...) as the table will
    number them: pyiceberg converts an Arrow schema with every id -1, and a partition spec built
    over that one sources every field from the first column (an identity partition is refused)."""
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import assign_fresh_schema_ids

    return assign_fresh_schema_ids(Catalog._convert_schema_if_needed(arrow_schema))
