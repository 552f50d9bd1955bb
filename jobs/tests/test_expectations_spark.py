"""Expectations on the Spark path (expectations_spark.py) over a real CSV read by the job server's
readers and a local Spark: each rule counted, drop and quarantine rows left out, a filter in the
API's grammar bound as data, line numbers as in the file, the quarantine table's rows as text.
Skipped where pyspark isn't installed (the job server's virtualenv has it)."""

import os

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs import expectations_spark as expect  # noqa: E402
from lakeform_jobs.catalog import Storage  # noqa: E402
from lakeform_jobs.errors import JobFailure  # noqa: E402
from lakeform_jobs.expectations import parse_all  # noqa: E402
from lakeform_jobs.readers import ReadOptions  # noqa: E402
from lakeform_jobs.readers.source import Readers  # noqa: E402

CSV = b"id,amount,region,zip,status\n1,10.5,EU,12345,ok\n2,-3,US,1234,ok\n3,7,MARS,54321,void\n4,,EU,99999,ok\n5,8,EU,12345,ok\n"


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[1]").appName("lakeform-expect-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def batch(spark, tmp_path_factory):
    p = os.path.join(tmp_path_factory.mktemp("expect"), "orders.csv")
    with open(p, "wb") as f:
        f.write(CSV)
    uri = "file://" + p
    readers = Readers(spark, Storage(spark))
    r = readers.open(uri, read=ReadOptions.parse({}, uri))
    return readers, r


def run(batch, rules):
    readers, r = batch
    df = readers.rows(r, ["id"], False, position=True)
    return expect.check(parse_all(rules), df, "orders.csv", readers.csv.lines(r))


def test_each_rule_counts_the_rows_that_break_it_and_warn_keeps_them(batch):
    kept, q, out = run(batch, [
        {"name": "has_amount", "rule": "not_null", "column": "amount", "action": "warn"},
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "warn"},
        {"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "warn"},
        {"name": "zip5", "rule": "matches", "column": "zip", "pattern": "[0-9]{5}", "action": "warn"},
        {"name": "zip_unique", "rule": "unique", "column": "zip", "action": "warn"},
        {"name": "live", "rule": "filter", "filter": "status <> 'void' AND id < 100", "action": "warn"},
    ])
    assert out.failed == {"has_amount": 1, "region": 1, "positive": 1, "zip5": 1, "zip_unique": 2, "live": 1}
    assert q is None and out.left_out == 0 and kept.count() == 5
    # Samples name the file's line (the header is line 1).
    assert out.samples["positive"] == ["orders.csv, line 3: id=2, amount=-3.0, region='US', zip=1234, status='ok'"]
    assert [s.split(":")[0] for s in out.samples["zip_unique"]] == ["orders.csv, line 2", "orders.csv, line 6"]


def test_drop_and_quarantine_leave_rows_out_and_quarantine_keeps_them_as_text(batch):
    kept, q, out = run(batch, [
        {"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "drop"},
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"},
    ])
    assert sorted(r["id"] for r in kept.collect()) == [1, 4, 5]
    assert out.failed == {"positive": 1, "region": 1} and out.left_out == 2 and out.quarantined == 1
    rows = expect.quarantine_rows(parse_all([{"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "drop"}, {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "quarantine"}]), q, ["id", "amount", "region", "zip", "status"], "ab" * 32, "orders.csv").collect()
    assert [r.asDict() for r in rows] == [{
        "_qkey": "abababababababab:4", "id": "3", "amount": "7.0", "region": "MARS", "zip": "54321", "status": "void",
        "_rule": "region", "_reason": "broke region in (EU, US)", "_source": "orders.csv", "_line": 4,
    }]


def test_fail_is_expectation_failed_with_the_count_and_samples(batch):
    _, _, out = run(batch, [{"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "fail"}])
    f = out.failure()
    assert f is not None and f.code == "EXPECTATION_FAILED" and "1 row(s)" in f.message and "line 4" in f.message and "MARS" in f.message


def test_a_filter_is_data_and_a_bad_one_names_the_problem(batch):
    _, _, out = run(batch, [{"name": "quoted", "rule": "filter", "filter": "region = 'EU'' OR ''1''=''1'", "action": "warn"}])
    assert out.failed == {"quoted": 5}
    with pytest.raises(JobFailure, match="expectation bad: filter 'nope > 1': .*not a column"):
        run(batch, [{"name": "bad", "rule": "filter", "filter": "nope > 1", "action": "warn"}])
    with pytest.raises(JobFailure, match="column ghost is not in the source"):
        run(batch, [{"name": "ghost", "rule": "not_null", "column": "ghost", "action": "warn"}])
    with pytest.raises(JobFailure, match="is not a number"):
        run(batch, [{"name": "r", "rule": "range", "column": "amount", "min": "zero", "action": "warn"}])
