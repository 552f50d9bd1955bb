"""Expectations on the Arrow path (arrow/expect.py, pyarrow.compute): the rules it evaluates count
as the Spark path's do on the same file (test_expectations_spark.py's), drop leaves rows out, fail
names the line, and a rule it can't promise to evaluate alike hands the table to the Spark path."""

import pytest

pa = pytest.importorskip("pyarrow")

from lakeform_jobs.arrow import expect  # noqa: E402
from lakeform_jobs.arrow.reader import read_source  # noqa: E402
from lakeform_jobs.errors import JobFailure  # noqa: E402
from lakeform_jobs.expectations import parse_all  # noqa: E402

CSV = b"id,amount,region,zip,status\n1,10.5,EU,12345,ok\n2,-3,US,1234,ok\n3,7,MARS,54321,void\n4,,EU,99999,ok\n5,8,EU,12345,ok\n"


def run(rules):
    return expect.check(parse_all(rules), read_source(CSV, {}), "orders.csv")


def test_counts_as_the_spark_path_counts_them():
    kept, out = run([
        {"name": "has_amount", "rule": "not_null", "column": "amount", "action": "warn"},
        {"name": "region", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "warn"},
        {"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "warn"},
        {"name": "zip_unique", "rule": "unique", "column": "zip", "action": "warn"},
        {"name": "small", "rule": "range", "column": "id", "max": "4.5", "action": "warn"},
    ])
    assert out.failed == {"has_amount": 1, "region": 1, "positive": 1, "zip_unique": 2, "small": 1}
    assert len(kept) == 5 and out.left_out == 0
    assert out.samples["positive"] == ["orders.csv, line 3: id=2, amount=-3.0, region='US', zip=1234, status='ok'"]
    assert [s.split(":")[0] for s in out.samples["zip_unique"]] == ["orders.csv, line 2", "orders.csv, line 6"]


def test_drop_leaves_rows_out_and_fail_names_the_line():
    kept, out = run([{"name": "positive", "rule": "range", "column": "amount", "min": "0", "action": "drop"}, {"name": "known", "rule": "in", "column": "region", "values": ["EU", "US"], "action": "drop"}])
    assert kept.column("id").to_pylist() == [1, 4, 5] and out.left_out == 2
    _, out = run([{"name": "id_small", "rule": "range", "column": "id", "max": "2", "action": "fail"}])
    f = out.failure()
    assert f is not None and f.code == "EXPECTATION_FAILED" and "3 row(s)" in f.message and "orders.csv, line 4" in f.message


def test_what_the_arrow_path_hands_to_spark():
    assert expect.refusal(parse_all([{"name": "a", "rule": "not_null", "column": "x", "action": "drop"}])) is None
    assert "Spark" in expect.refusal(parse_all([{"name": "a", "rule": "matches", "column": "x", "pattern": "[0-9]+"}]))
    assert "Spark" in expect.refusal(parse_all([{"name": "a", "rule": "filter", "filter": "x > 1"}]))
    assert "quarantine" in expect.refusal(parse_all([{"name": "a", "rule": "not_null", "column": "x", "action": "quarantine"}]))


def test_a_value_that_is_no_value_of_the_column_is_refused():
    with pytest.raises(JobFailure, match="expectation r"):
        run([{"name": "r", "rule": "range", "column": "amount", "min": "zero", "action": "warn"}])
