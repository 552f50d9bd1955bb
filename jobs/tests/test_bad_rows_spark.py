"""Bad rows quarantined, not refused (bad_rows.py), through write.py's Writes on a local Spark:
the good rows reach the format's write, each bad row (ragged, a quote left open, a value that
doesn't fit its declared type, an empty key, a malformed JSON line) goes to the quarantine write
with its line, its values as text and why, and the commit counts them under _bad_row. strict and
the default request ("refuse") still refuse the source. The table format is a recorder: what it
was asked to write is what is checked."""

import json
import os
from dataclasses import replace
from types import SimpleNamespace

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs import expectations_spark  # noqa: E402
from lakeform_jobs.catalog import Storage  # noqa: E402
from lakeform_jobs.errors import BadCsv, SchemaRefused  # noqa: E402
from lakeform_jobs.readers.source import Readers  # noqa: E402
from lakeform_jobs.requests import WriteRequest  # noqa: E402
from lakeform_jobs.types import Source, Table  # noqa: E402
from lakeform_jobs.write import Writes  # noqa: E402
from lakeform_jobs.write_plan import Target  # noqa: E402

PROGRESS = SimpleNamespace(stage=lambda *a, **k: None, rows=lambda n: None, p=SimpleNamespace(bytes_total=0))
GUARD = SimpleNamespace(check=lambda: None, lost=None, why_lost=lambda: None)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[2]").appName("lakeform-bad-rows-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield s
    s.stop()


class Recorder:
    """A table format that keeps what it was asked to write."""

    checks_new_keys = True
    exact_commit_counts = False

    def __init__(self):
        self.written = None
        self.plan = None

    def write(self, t, df, plan):
        self.written = sorted(tuple(r) for r in df.collect())
        self.ids = sorted(r["id"] for r in df.collect())
        self.plan = plan
        return "c1"


@pytest.fixture
def quarantined(monkeypatch):
    got = {}

    def fake(ctx, fmt, t, rows, meta):
        got["rows"] = sorted((r.asDict() for r in rows.collect()), key=lambda r: r["_line"])
        got["meta"] = meta
        return "q1"

    monkeypatch.setattr(expectations_spark, "write_quarantine", fake)
    return got


def table(policy="addColumns", columns=None) -> Table:
    body = {"name": "t", "format": "iceberg", "location": "s3a://w/default/t", "primaryKey": ["id"], "schemaPolicy": policy}
    return Table.parse({**body, **({"columns": columns} if columns else {})})


def write(spark, tmp_path, name, text, t, bad_rows="quarantine", fmt_name="csv"):
    p = os.path.join(tmp_path, name)
    with open(p, "w") as f:
        f.write(text)
    readers = Readers(spark, Storage(spark))
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, readers)
    req = replace(WriteRequest(t, Source(uri="file://" + p, hash="0123456789abcdef99", name=name, format=fmt_name), "g1"), bad_rows=bad_rows)
    target = Target(exists=False, current=None, visible=[])
    batch = w._open_batch(req, target, PROGRESS)
    fmt = Recorder()
    written = w._write_batch(req, fmt, target, batch, PROGRESS, GUARD, 0.0)
    return fmt, written


CSV = "id,amount,note\n1,12.50,ok\n2,lots,bad amount\n3,1.00\n,4.00,no key\n4,5.25,\"quoted, fine\"\n5,6.00,last\n"


def test_the_good_rows_are_written_and_each_bad_one_is_quarantined_with_its_line_text_and_reason(spark, tmp_path, quarantined):
    import decimal

    fmt, written = write(spark, tmp_path, "mixed.csv", CSV, table(columns={"amount": "decimal(12,2)"}))
    assert fmt.written == [(1, decimal.Decimal("12.50"), "ok"), (4, decimal.Decimal("5.25"), "quoted, fine"), (5, decimal.Decimal("6.00"), "last")]
    rows = quarantined["rows"]
    assert [(r["_line"], r["_rule"], r["_source"]) for r in rows] == [(3, "_bad_row", "mixed.csv"), (4, "_bad_row", "mixed.csv"), (5, "_bad_row", "mixed.csv")]
    assert rows[0]["_reason"] == "column amount: value 'lots' doesn't fit the declared type decimal(12,2)"
    assert (rows[0]["id"], rows[0]["amount"], rows[0]["note"]) == ("2", "lots", "bad amount")
    assert rows[1]["_reason"] == "a different number of fields than the header (3)"
    assert rows[2]["_reason"] == "an empty primary key (id)"
    assert [r["_qkey"] for r in rows] == ["0123456789abcdef:3", "0123456789abcdef:4", "0123456789abcdef:5"]
    # Counted in the commit and the reply; the quarantine commit is tagged apart from the table's.
    assert json.loads(fmt.plan.meta["expectations"]) == {"_bad_row": {"action": "quarantine", "failed": 3}}
    assert fmt.plan.meta["rows_quarantined"] == "3"
    assert quarantined["meta"]["source_hash"] != fmt.plan.meta["source_hash"]
    assert written.bad.rows == 3 and written.bad.samples[0].startswith("mixed.csv, line 3")


def test_a_record_spanning_lines_is_read_multi_line_and_written_only_the_ragged_one_quarantined(spark, tmp_path, quarantined):
    text = 'id,amount,note\n1,1.00,"two\nlines"\n2,2.00\n3,3.00,plain\n'
    fmt, written = write(spark, tmp_path, "span.csv", text, table(columns={"amount": "decimal(12,2)"}))
    assert [r[0] for r in fmt.written] == [1, 3]
    assert [r[2] for r in fmt.written] == ["two\nlines", "plain"]
    assert [r["_reason"] for r in quarantined["rows"]] == ["a different number of fields than the header (3)"]
    assert written.multiline


def test_no_bad_row_no_quarantine_write_and_no_count(spark, tmp_path, quarantined):
    fmt, written = write(spark, tmp_path, "clean.csv", "id,amount\n1,2\n2,3\n", table())
    assert [r[0] for r in fmt.written] == [1, 2]
    assert "rows" not in quarantined
    assert "expectations" not in fmt.plan.meta and written.bad is None


def test_the_default_request_and_strict_still_refuse_the_source_naming_the_line(spark, tmp_path, quarantined):
    with pytest.raises(SchemaRefused, match=r"line 3, column amount: value 'lots'"):
        write(spark, tmp_path, "refused.csv", CSV, table(columns={"amount": "decimal(12,2)"}), bad_rows="refuse")
    with pytest.raises((BadCsv, SchemaRefused), match=r"line 3"):
        write(spark, tmp_path, "strict.csv", CSV, table("strict", columns={"amount": "decimal(12,2)", "note": "string"}))
    assert "rows" not in quarantined


def test_json_lines_a_malformed_line_and_a_misfit_value_are_quarantined(spark, tmp_path, quarantined):
    text = '{"id": 1, "amount": "1.50"}\n{"id": 2, "amount": "many"}\n{not json\n{"id": 3, "amount": "2"}\n'
    fmt, _ = write(spark, tmp_path, "events.jsonl", text, table(columns={"amount": "decimal(12,2)"}), fmt_name="jsonl")
    assert fmt.ids == [1, 3]
    reasons = sorted(r["_reason"] for r in quarantined["rows"])
    assert reasons[0] == "column amount: value 'many' doesn't fit the declared type decimal(12,2)"
    assert reasons[1].startswith("not a JSON object: '{not json")
    misfit = next(r for r in quarantined["rows"] if r["_reason"].startswith("column"))
    assert (misfit["id"], misfit["amount"]) == ("2", "many")


def test_with_several_null_texts_the_reason_names_the_real_misfit_not_a_null_text(spark, tmp_path, quarantined):
    p = os.path.join(tmp_path, "tokens.csv")
    with open(p, "w") as f:
        f.write("id,a,b\n1,-,2\n2,n/a,oops\n")
    t = Table.parse({"name": "t", "format": "iceberg", "location": "s3a://w/default/t", "primaryKey": ["id"], "columns": {"a": "int", "b": "int"}})
    readers = Readers(spark, Storage(spark))
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, readers)
    read = Source.parse({"uri": "s3a://w/l/tokens.csv", "hash": "0123456789abcdef", "name": "tokens.csv", "csv": {"nullValues": ["NA", "n/a", "-"]}})
    req = replace(WriteRequest(t, replace(read, uri="file://" + p), "g1"), bad_rows="quarantine")
    target = Target(exists=False, current=None, visible=[])
    fmt = Recorder()
    w._write_batch(req, fmt, target, w._open_batch(req, target, PROGRESS), PROGRESS, GUARD, 0.0)
    assert fmt.written == [(1, None, 2)]
    assert [(r["_line"], r["_reason"], r["a"], r["b"]) for r in quarantined["rows"]] == [(3, "column b: value 'oops' doesn't fit the declared type int", "n/a", "oops")]
