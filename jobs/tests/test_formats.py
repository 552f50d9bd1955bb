import pytest

from lakeform_jobs.formats import Context, format_for
from lakeform_jobs.formats.base import META_PREFIX
from lakeform_jobs.formats.hudi import HUDI_TABLE_VERSION, Hudi, commit_from_timeline, hudi_instant_time, key_generator
from lakeform_jobs.formats.iceberg import Iceberg, commit_from_snapshot
from lakeform_jobs.types import Table


def table(fmt):
    return Table(name="leads", database="default", format=fmt, location="s3a://w/default/leads", primary_key=["id"])


def test_hudi_writes_a_table_version_trino_reads():
    # Trino 476's Hudi connector reads table versions 6 and 8; Hudi >= 1.1 writes 9 by default.
    assert HUDI_TABLE_VERSION == "6"


def test_the_factory_is_the_only_branch_on_format():
    ctx = Context(spark=None, storage=None, catalog=None)
    assert isinstance(format_for(table("hudi"), ctx), Hudi)
    assert isinstance(format_for(table("iceberg"), ctx), Iceberg)
    assert format_for(table("hudi"), ctx).qualified(table("hudi")) == "spark_catalog.default.leads"
    assert format_for(table("iceberg"), ctx).qualified(table("iceberg")) == "iceberg.default.leads"
    assert format_for(table("iceberg"), ctx).drop_statement(table("iceberg"), True).endswith(" PURGE")
    assert not format_for(table("hudi"), ctx).drop_statement(table("hudi"), True).endswith(" PURGE")


@pytest.mark.parametrize(
    "keys,parts,cls",
    [(["id"], [], "NonpartitionedKeyGenerator"), (["id"], ["region"], "SimpleKeyGenerator"), (["a", "b"], [], "ComplexKeyGenerator"), (["id"], ["a", "b"], "ComplexKeyGenerator")],
)
def test_hudi_key_generators(keys, parts, cls):
    assert key_generator(keys, parts).endswith("." + cls)


def test_hudi_commit_metadata_is_read_from_the_timeline():
    body = {
        "operationType": "UPSERT",
        "extraMetadata": {META_PREFIX + "source_hash": "h", META_PREFIX + "generation": "2", META_PREFIX + "source": "a.csv", META_PREFIX + "spec": "{}"},
        "partitionToWriteStats": {"": [{"numInserts": 3, "numUpdateWrites": 1}, {"numInserts": 2}]},
    }
    c = commit_from_timeline("20261124194100791", body).to_json()
    assert c == {
        "commit": "20261124194100791",
        "time": "2026-11-24T19:41:00.791Z",
        "operation": "UPSERT",
        "sourceHash": "h",
        "source": "a.csv",
        "generation": "2",
        "spec": "{}",
        "rowsInserted": 5,
        "rowsUpdated": 1,
        "rowsDeleted": 0,
        "path": "spark",
    }
    assert hudi_instant_time("20261124194100") == "2026-11-24T19:41:00.000Z"


def test_iceberg_commit_metadata_is_read_from_the_snapshot_summary():
    c = commit_from_snapshot(5372811453871062939, "2026-11-24T19:41:00.791Z", "overwrite", {"added-records": "10", "deleted-records": "4", META_PREFIX + "source_hash": "h"})
    assert (c.commit, c.rows_inserted, c.rows_updated, c.source_hash) == ("5372811453871062939", 6, 4, "h")


def test_lakeform_counts_in_the_commit_win_over_the_formats_statistics():
    meta = {META_PREFIX + "rows_inserted": "1", META_PREFIX + "rows_updated": "2", META_PREFIX + "rows_deleted": "3"}
    c = commit_from_snapshot(1, "2026-11-24T19:41:00.791Z", "overwrite", {"added-records": "100", "deleted-records": "100", **meta})
    assert (c.rows_inserted, c.rows_updated, c.rows_deleted) == (1, 2, 3)
    h = commit_from_timeline("20261124194100791", {"extraMetadata": meta, "partitionToWriteStats": {"": [{"numInserts": 9}]}})
    assert (h.rows_inserted, h.rows_updated, h.rows_deleted) == (1, 2, 3)


def test_which_write_path_made_a_commit():
    arrow = commit_from_snapshot(1, "2026-11-24T19:41:00.791Z", "append", {META_PREFIX + "source_hash": "h", META_PREFIX + "path": "arrow"})
    spark = commit_from_snapshot(2, "2026-11-24T19:41:00.791Z", "overwrite", {META_PREFIX + "source_hash": "h"})
    trino = commit_from_snapshot(3, "2026-11-24T19:41:00.791Z", "append", {"added-records": "1"})
    assert (arrow.to_json()["path"], spark.to_json()["path"], "path" in trino.to_json()) == ("arrow", "spark", False)
    hudi = commit_from_timeline("20261124194100791", {"extraMetadata": {META_PREFIX + "source_hash": "h"}})
    assert hudi.path == "spark"


def test_hudi_counts_deletes_from_its_write_stats():
    h = commit_from_timeline("20261124194100791", {"operationType": "DELETE", "partitionToWriteStats": {"": [{"numDeletes": 2}, {"numDeletes": 1}]}})
    assert (h.operation, h.rows_deleted) == ("DELETE", 3)


def test_an_iceberg_delete_snapshot_without_lakeform_counts_reports_its_deleted_records():
    c = commit_from_snapshot(1, "2026-11-24T19:41:00.791Z", "delete", {"deleted-records": "4"})
    assert (c.rows_inserted, c.rows_updated, c.rows_deleted) == (0, 0, 4)


def test_hudi_catalog_drift_is_asked_of_a_sync_client_once_per_table_and_metastore_state():
    # An unchanged table's observe opens no sync client: the answer is kept by the table's newest
    # commit and the metastore entry's marks of change, and asked again when either moves.
    from lakeform_jobs.replies import Commit

    class Catalog:
        props = {"last_commit_time_sync": "1", "transient_lastDdlTime": "100"}

        def entry(self, t):
            return dict(self.props), ["id", "name"]

    catalog = Catalog()
    hudi = Hudi(Context(spark=None, storage=None, catalog=catalog))
    asked = []
    hudi._drift = lambda t, commits: asked.append(commits[-1].commit) or []
    t = Table(name=f"drift_{id(asked)}", database="default", format="hudi", location="s3a://w/default/drift", primary_key=["id"])
    one, two = [Commit(commit="1", time="t")], [Commit(commit="1", time="t"), Commit(commit="2", time="t")]
    for _ in range(3):
        assert hudi.catalog_drift(t, one) == []
    assert asked == ["1"]
    hudi.catalog_drift(t, two)  # a new commit
    catalog.props = {**catalog.props, "transient_lastDdlTime": "101"}  # an ALTER outside Lakeform
    hudi.catalog_drift(t, two)
    hudi.catalog_drift(t, two)
    assert asked == ["1", "2", "2"]
    assert hudi.catalog_drift(t, []) == [] and asked == ["1", "2", "2"]


def test_hudi_bench_options_file_is_laid_over_the_write_options(tmp_path, monkeypatch):
    # bench/ingest.ts's second job server compares write options through this file; unset, nothing changes.
    from types import SimpleNamespace

    from lakeform_jobs.formats import hudi as hudi_mod
    from lakeform_jobs.formats.base import WritePlan

    ctx = Context(spark=None, storage=None, catalog=SimpleNamespace(metastore_uris=lambda: "thrift://127.0.0.1:9083"))
    plan = WritePlan(keys=["id"], meta={"generation": "1"}, exists=True, existing_cols=["id"], new_cols=[])
    base = Hudi(ctx).write_options(table("hudi"), plan)
    assert base["hoodie.index.type"] == hudi_mod.UPSERT_INDEX and base[META_PREFIX + "generation"] == "1"
    f = tmp_path / "opts.json"
    f.write_text('{"hoodie.index.type": "SIMPLE", "hoodie.parquet.max.file.size": 16777216}')
    monkeypatch.setattr(hudi_mod, "BENCH_OPTIONS_FILE", str(f))
    over = Hudi(ctx).write_options(table("hudi"), plan)
    assert over["hoodie.index.type"] == "SIMPLE" and over["hoodie.parquet.max.file.size"] == "16777216"
    assert {k: v for k, v in over.items() if k not in ("hoodie.index.type", "hoodie.parquet.max.file.size")} == {k: v for k, v in base.items() if k not in ("hoodie.index.type", "hoodie.parquet.max.file.size")}
