"""schemaPolicy discardColumns and strict with declared columns (tables.yaml columns:), on a
local Spark (write.py's Writes opening the batch, readers/ reading it; no table format): columns
beyond the schema (new to a table, or with columns declared, neither in the table nor declared)
are left out of the rows under discardColumns, and refused naming them under strict; key,
partition and ordering columns, declared columns and the table's own columns are never beyond.
Skipped where pyspark isn't installed (the job server's virtualenv has it)."""

import decimal
import os
from types import SimpleNamespace

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs.catalog import Storage  # noqa: E402
from lakeform_jobs.errors import SchemaRefused  # noqa: E402
from lakeform_jobs.readers.source import Readers  # noqa: E402
from lakeform_jobs.requests import WriteRequest  # noqa: E402
from lakeform_jobs.types import Source, Table  # noqa: E402
from lakeform_jobs.write import Writes  # noqa: E402
from lakeform_jobs.write_plan import Target  # noqa: E402

PROGRESS = SimpleNamespace(stage=lambda *a, **k: None, rows=lambda n: None, p=SimpleNamespace(bytes_total=0))


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[1]").appName("lakeform-schema-policy-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def writes(spark):
    readers = Readers(spark, Storage(spark))
    return Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, readers), readers


def table(policy: str, columns=None) -> Table:
    body = {"name": "t", "format": "iceberg", "location": "s3a://w/default/t", "primaryKey": ["id"], "schemaPolicy": policy}
    return Table.parse({**body, **({"columns": columns} if columns else {})})


def open_batch(spark, writes, tmp_path, name: str, text: str, t: Table, target_rows=None, target_schema="id int, amount decimal(12,2), note string", fmt="csv"):
    w, _ = writes
    p = os.path.join(tmp_path, name)
    with open(p, "w") as f:
        f.write(text)
    current = spark.createDataFrame(target_rows, target_schema) if target_rows is not None else None
    visible = [f.name for f in current.schema.fields] if current is not None else []
    target = Target(exists=current is not None, current=current, visible=visible)
    return w._open_batch(WriteRequest(t, Source(uri="file://" + p, hash="h", name=name, format=fmt), "g1"), target, PROGRESS)


def test_discard_columns_with_declared_columns_leaves_out_the_undeclared_of_a_new_table(spark, writes, tmp_path):
    t = table("discardColumns", {"amount": "decimal(12,2)"})
    b = open_batch(spark, writes, tmp_path, "new.csv", "id,amount,junk,extra\n1,12.5,a,x\n2,4,b,y\n", t)
    assert b.r.dropped == ["junk", "extra"]
    df = writes[1].rows(b.r, b.keys, b.r.multiline)
    assert df.columns == ["id", "amount"]
    assert [f.dataType.simpleString() for f in df.schema.fields] == ["int", "decimal(12,2)"]
    assert sorted(tuple(r) for r in df.collect()) == [(1, decimal.Decimal("12.50")), (2, decimal.Decimal("4.00"))]


def test_discard_columns_into_a_table_keeps_its_own_columns_and_leaves_out_the_new_one(spark, writes, tmp_path):
    t = table("discardColumns", {"amount": "decimal(12,2)"})
    b = open_batch(spark, writes, tmp_path, "more.csv", "id,amount,note,extra\n3,1.25,n,z\n", t, target_rows=[(1, decimal.Decimal("1.00"), "a")])
    assert (b.r.dropped, b.new_cols) == (["extra"], [])
    df = writes[1].rows(b.r, b.keys, b.r.multiline)
    assert df.columns == ["id", "amount", "note"]
    assert [tuple(r) for r in df.collect()] == [(3, decimal.Decimal("1.25"), "n")]


def test_discard_columns_leaves_out_a_flattened_json_lines_column(spark, writes, tmp_path):
    t = table("discardColumns", {"customer_name": "string"})
    b = open_batch(spark, writes, tmp_path, "c.jsonl", '{"id": 1, "customer": {"name": "Ann", "address": {"city": "Oslo"}}}\n', t, fmt="jsonl")
    assert b.r.dropped == ["customer_address_city"]
    df = writes[1].rows(b.r, b.keys, False)
    assert sorted(df.columns) == ["customer_name", "id"]
    assert [r.asDict() for r in df.collect()] == [{"customer_name": "Ann", "id": 1}]


def test_strict_with_declared_columns_refuses_an_undeclared_column_of_a_new_table_naming_it(spark, writes, tmp_path):
    t = table("strict", {"amount": "decimal(12,2)"})
    with pytest.raises(SchemaRefused) as e:
        open_batch(spark, writes, tmp_path, "s.csv", "id,amount,extra\n1,2,x\n", t)
    assert "schemaPolicy is strict and the source has column(s) neither in the table nor declared: extra" in e.value.message
    # Only the key and the declared columns: nothing beyond, nothing left out.
    ok = open_batch(spark, writes, tmp_path, "ok.csv", "id,amount\n1,2\n", t)
    assert ok.r.dropped == []


def test_strict_with_declared_columns_into_a_table_accepts_its_columns_and_refuses_a_new_one(spark, writes, tmp_path):
    t = table("strict", {"amount": "decimal(12,2)"})
    rows = [(1, decimal.Decimal("1.00"), "a")]
    b = open_batch(spark, writes, tmp_path, "in.csv", "id,amount,note\n2,3,b\n", t, target_rows=rows)  # note: the table's, not declared
    assert (b.r.dropped, b.new_cols) == ([], [])
    with pytest.raises(SchemaRefused) as e:
        open_batch(spark, writes, tmp_path, "new.csv", "id,amount,note,extra\n2,3,b,x\n", t, target_rows=rows)
    assert "neither in the table nor declared: extra" in e.value.message
