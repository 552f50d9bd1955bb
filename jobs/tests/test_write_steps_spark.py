"""A write's data steps with a local Spark (write.py's Writes, no table format): the batch opened,
its keys counted, its rows planned (write_plan.plan_write) and shaped as the plan says: one row per
key, deleteWhen's rows left out or flagged, the counts of the commit."""

import os
from types import SimpleNamespace

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs.batch_rows import key_counts, key_stats  # noqa: E402
from lakeform_jobs.catalog import Storage  # noqa: E402
from lakeform_jobs.crud import DELETE_FLAG  # noqa: E402
from lakeform_jobs.csv_source import CsvSource  # noqa: E402
from lakeform_jobs.requests import WriteRequest  # noqa: E402
from lakeform_jobs.types import DeleteWhen, Source, Table  # noqa: E402
from lakeform_jobs.write import Writes  # noqa: E402
from lakeform_jobs.write_plan import Target  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[1]").appName("lakeform-write-steps-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield s
    s.stop()


TABLE = Table(name="leads", database="default", format="iceberg", location="s3a://w/default/leads", primary_key=["id"], ordering_field="v", delete_when=DeleteWhen(column="op", equals=("d",)))
FMT = SimpleNamespace(checks_new_keys=True, exact_commit_counts=False)
PROGRESS = SimpleNamespace(stage=lambda *a, **k: None, rows=lambda n: None, p=SimpleNamespace(bytes_total=0))


def steps(spark, tmp_path, text: str, target_rows=None, table=TABLE):
    p = os.path.join(tmp_path, "b.csv")
    with open(p, "w") as f:
        f.write(text)
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, CsvSource(spark, Storage(spark)))
    req = WriteRequest(table, Source(uri="file://" + p, hash="h", name="b.csv"), "g1")
    current = spark.createDataFrame(target_rows, "id int, name string, v int") if target_rows is not None else None
    target = Target(exists=current is not None, current=current, visible=["id", "name", "v"] if current is not None else [])
    batch = w._open_batch(req, target, PROGRESS)
    rows = w.csv.rows(batch.r, batch.keys, batch.r.multiline, position=True)
    stats = key_stats(key_counts(rows, batch.keys), batch.keys, target.current)
    df, plan, _, stats = w._rows(req, FMT, target, batch, rows, stats, batch.r.multiline)
    return stats, df, plan


def test_a_new_table_takes_the_bulk_path_one_row_per_key_and_marked_rows_left_out(spark, tmp_path):
    stats, df, plan = steps(spark, tmp_path, "id,name,v,op\n1,a,1,\n1,b,2,\n2,c,1,\n3,x,1,d\n")
    assert (stats["rows"], stats["keys"], stats["maxPerKey"], stats["overlap"]) == (4, 3, 2, 0)
    assert (plan.bulk, plan.deduped, plan.delete_flag, plan.counts) == (True, True, None, None)
    # The ordering field chose v=2 for key 1; key 3's row deletes nothing in a new table.
    assert sorted(tuple(r) for r in df.select("id", "name", "v").collect()) == [(1, "b", 2), (2, "c", 1)]
    assert DELETE_FLAG not in df.columns


def test_an_upsert_into_a_table_flags_its_deletes_and_counts_them_from_the_rows(spark, tmp_path):
    stats, df, plan = steps(spark, tmp_path, "id,name,v,op\n1,a2,5,\n2,,9,d\n4,new,1,\n", target_rows=[(1, "a", 1), (2, "b", 1)])
    assert (stats["overlap"], plan.bulk, plan.delete_flag) == (2, False, DELETE_FLAG)
    assert plan.counts == {"rows_inserted": 1, "rows_updated": 1, "rows_deleted": 1}
    assert plan.meta["rows_deleted"] == "1" and plan.meta["source_hash"] == "h"
    assert sorted((r["id"], r[DELETE_FLAG]) for r in df.collect()) == [(1, False), (2, True), (4, False)]


def test_an_upsert_without_deletes_counts_from_the_key_statistics(spark, tmp_path):
    stats, df, plan = steps(spark, tmp_path, "id,name,v\n1,a2,5\n7,n,1\n", target_rows=[(1, "a", 1), (2, "b", 1)])
    assert (plan.bulk, plan.deduped, plan.delete_flag) == (False, False, None)
    assert plan.counts == {"rows_inserted": 1, "rows_updated": 1, "rows_deleted": 0}


def test_expectations_leave_rows_out_before_dedupe_and_the_plan_counts_the_rows_kept(spark, tmp_path):
    import json
    from dataclasses import replace

    from lakeform_jobs.expectations import parse_all

    rules = parse_all([
        {"name": "positive", "rule": "range", "column": "v", "min": "0", "action": "drop"},
        {"name": "named", "rule": "not_null", "column": "name", "action": "warn"},
    ])
    t = replace(TABLE, expect=rules)
    # Key 1's later row breaks positive: it is left out before dedupe, so the earlier row is kept.
    stats, df, plan = steps(spark, tmp_path, "id,name,v,op\n1,a,1,\n1,b,-2,\n2,,1,\n", table=t)
    assert sorted(tuple(r) for r in df.select("id", "name", "v").collect()) == [(1, "a", 1), (2, None, 1)]
    assert (stats["rows"], stats["keys"], stats["maxPerKey"]) == (2, 2, 1)
    assert (plan.bulk, plan.deduped) == (True, False)
    assert json.loads(plan.meta["expectations"]) == {"named": {"action": "warn", "failed": 1}, "positive": {"action": "drop", "failed": 1}}


def test_a_ragged_record_in_a_table_with_expectations_is_refused_as_bad_csv_naming_its_line_not_retried_as_a_spark_error(spark, tmp_path):
    from dataclasses import replace

    from lakeform_jobs.errors import BadCsv
    from lakeform_jobs.expectations import parse_all

    t = replace(TABLE, expect=parse_all([{"name": "named", "rule": "not_null", "column": "name", "action": "warn"}]))
    p = os.path.join(tmp_path, "ragged.csv")
    with open(p, "w") as f:
        f.write("id,name,v,op\n1,a,1,\n2,only\n")
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, CsvSource(spark, Storage(spark)))
    req = WriteRequest(t, Source(uri="file://" + p, hash="h", name="ragged.csv"), "g1")
    target = Target(exists=False, current=None, visible=[])
    batch = w._open_batch(req, target, PROGRESS)
    fmt = SimpleNamespace(checks_new_keys=True, exact_commit_counts=False, write=lambda *a: pytest.fail("nothing may be written"))
    guard = SimpleNamespace(check=lambda: None, lost=None, why_lost=lambda: None)
    with pytest.raises(BadCsv, match=r"line 3"):
        w._write_attempt(req, fmt, target, batch, PROGRESS, guard, 0.0, batch.r.multiline)


def bytes_read(spark) -> int:
    """What Hadoop's local file system has read in this JVM so far (the tasks' reads included: local[1])."""
    st = spark._jvm.org.apache.hadoop.fs.FileSystem.getGlobalStorageStatistics().get("file")
    return 0 if st is None else int(st.getLong("bytesRead"))


def persisted(spark) -> int:
    """How many RDDs Spark keeps persisted (a write's kept parse among them while it runs)."""
    return int(spark.sparkContext._jsc.sc().getPersistentRDDs().size())


def test_a_new_tables_write_parses_its_csv_once_its_key_check_and_its_write_from_that_one_parse(spark, tmp_path):
    p = os.path.join(tmp_path, "big.csv")
    with open(p, "w") as f:
        f.write("id,name,v\n")
        for i in range(60_000):
            f.write(f"{i % 50_000},name {i},{i}\n")  # 10,000 keys twice: deduplicated
    size = os.path.getsize(p)
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, CsvSource(spark, Storage(spark)))
    t = Table(name="big", database="default", format="iceberg", location="s3a://w/default/big", primary_key=["id"], ordering_field="v")
    req = WriteRequest(t, Source(uri="file://" + p, hash="h", name="big.csv"), "g1")
    target = Target(exists=False, current=None, visible=[])
    batch = w._open_batch(req, target, PROGRESS)  # its sample: the file's head, read before
    written = {}

    def write(t, df, plan):
        written["rows"], written["deduped"] = df.count(), plan.deduped
        return "c1"

    fmt = SimpleNamespace(checks_new_keys=True, exact_commit_counts=False, write=write)
    guard = SimpleNamespace(check=lambda: None, lost=None, why_lost=lambda: None)
    before, kept = bytes_read(spark), persisted(spark)
    done = w._write_attempt(req, fmt, target, batch, PROGRESS, guard, 0.0, batch.r.multiline)
    read = bytes_read(spark) - before
    assert done is not None and done.rows == 60_000 and written == {"rows": 50_000, "deduped": True}
    # The file read once: the key check and the write (and the write's own count) from one parse
    # (the key check read it again before: 2x its size).
    assert size <= read < 1.5 * size, (read, size)
    # And that parse released once written.
    assert persisted(spark) <= kept  # nothing of its own left persisted (another test's may be cleaned meanwhile)


def test_an_empty_key_is_refused_naming_its_line_before_anything_is_written_and_the_parse_is_released(spark, tmp_path):
    from lakeform_jobs.errors import BadCsv

    p = os.path.join(tmp_path, "nokey.csv")
    with open(p, "w") as f:
        f.write("id,name,v\n1,a,1\n,b,2\n3,c,3\n")
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, CsvSource(spark, Storage(spark)))
    t = Table(name="nokey", database="default", format="iceberg", location="s3a://w/default/nokey", primary_key=["id"])
    req = WriteRequest(t, Source(uri="file://" + p, hash="h", name="nokey.csv"), "g1")
    target = Target(exists=False, current=None, visible=[])
    batch = w._open_batch(req, target, PROGRESS)
    fmt = SimpleNamespace(checks_new_keys=True, exact_commit_counts=False, write=lambda *a: pytest.fail("nothing may be written"))
    guard = SimpleNamespace(check=lambda: None, lost=None, why_lost=lambda: None)
    kept = persisted(spark)
    with pytest.raises(BadCsv, match=r"nokey.csv, line 3 has an empty primary key \(id\)"):
        w._write_attempt(req, fmt, target, batch, PROGRESS, guard, 0.0, batch.r.multiline)
    assert persisted(spark) <= kept  # nothing of its own left persisted (another test's may be cleaned meanwhile)
