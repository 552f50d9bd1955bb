"""Real files read by a local Spark (no Hudi, no Iceberg: the readers only): a gzip'd CSV, a
semicolon CSV with comma decimals in a declared decimal column, a TSV, a JSON Lines file with
nested objects, a Parquet file written by pyarrow. A value that doesn't fit a declared type is
refused naming the file, the line and the column; under discard it is left out and counted.
Skipped where pyspark isn't installed (the job server's virtualenv has it)."""

import bz2
import datetime
import decimal
import gzip
import os

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs.catalog import Storage  # noqa: E402
from lakeform_jobs.errors import JobFailure  # noqa: E402
from lakeform_jobs.readers import ReadOptions  # noqa: E402
from lakeform_jobs.readers.source import Readers  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[1]").appName("lakeform-readers-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def readers(spark):
    return Readers(spark, Storage(spark))


def write(tmp_path, name, data: bytes) -> str:
    p = os.path.join(tmp_path, name)
    with open(p, "wb") as f:
        f.write(data)
    return "file://" + p


def rows(df):
    return sorted(tuple(r) for r in df.collect())


def test_a_gzipd_and_a_bzip2d_csv_are_read_by_extension_with_types_inferred(tmp_path, readers):
    text = b"id,name,score\r\n1,\"a, b\",1.5\r\n2,c,2\r\n"
    for name, data in (("s.csv.gz", gzip.compress(text)), ("s.csv.bz2", bz2.compress(text))):
        uri = write(tmp_path, name, data)
        r = readers.open(uri, read=ReadOptions.parse({}, uri))
        assert [f.dataType.simpleString() for f in r.schema.fields] == ["int", "string", "double"]
        assert rows(readers.rows(r, ["id"], r.multiline)) == [(1, "a, b", 1.5), (2, "c", 2.0)]


def test_a_semicolon_csv_with_comma_decimals_into_declared_decimal_and_timestamp(tmp_path, readers):
    uri = write(tmp_path, "de.csv", "id;amount;created_at;zip\n1;1.234,56;2024-03-01 10:00:00;01234\n2;7,5;2024-03-02 11:30:00;99999\n".encode())
    read = ReadOptions.parse({"csv": {"delimiter": ";", "locale": "de-DE"}}, uri)
    declared = {"amount": "decimal(12,2)", "created_at": "timestamp", "zip": "string"}
    r = readers.open(uri, read=read, declared=declared, label="de.csv")
    assert [f.dataType.simpleString() for f in r.schema.fields] == ["int", "decimal(12,2)", "timestamp", "string"]
    got = rows(readers.rows(r, ["id"], r.multiline))
    assert got[0][1] == decimal.Decimal("1234.56") and got[1][1] == decimal.Decimal("7.50")
    assert got[0][2] == datetime.datetime(2024, 3, 1, 10, 0) and got[0][3] == "01234"


def test_a_value_that_doesnt_fit_a_declared_type_is_refused_naming_file_line_and_column_or_discarded_and_counted(tmp_path, readers):
    uri = write(tmp_path, "bad.tsv", b"id\tamount\n1\t12.50\n2\tabc\n3\t4\n")
    read = ReadOptions.parse({}, uri)
    r = readers.open(uri, read=read, declared={"amount": "decimal(12,2)"}, label="bad.tsv")
    with pytest.raises(Exception):
        readers.rows(r, ["id"], r.multiline).collect()  # the guard fails the read's own tasks
    failure = readers.diagnose(r, ["id"], r.multiline)
    assert failure is not None and failure.code == "SCHEMA_REFUSED"
    assert "bad.tsv, line 3, column amount: value 'abc' doesn't fit the declared type decimal(12,2)" in failure.message
    d = readers.discarded(r, ["id"], r.multiline)
    assert d.rows == 1 and "line 3" in d.first
    assert rows(readers.rows(r, ["id"], r.multiline, discard=True)) == [(1, decimal.Decimal("12.50")), (3, decimal.Decimal("4.00"))]
    assert rows(readers.key_counts(r, ["id"], r.multiline, discard=True)) == [(1, 1), (3, 1)]


def test_json_lines_with_nested_objects_are_flattened_and_a_bad_line_is_named(tmp_path, readers):
    uri = write(tmp_path, "j.jsonl", b'{"id": 1, "customer": {"name": "Ann", "address": {"city": "Oslo"}}, "tags": ["x", "y"]}\n\n{"id": 2, "customer": {"name": "Bo"}, "late": true}\n')
    r = readers.open(uri, read=ReadOptions.parse({}, uri), label="j.jsonl")
    assert r.names == ["customer_address_city", "customer_name", "id", "late", "tags"]
    assert [tuple(x) for x in readers.rows(r, ["id"], False).orderBy("id").collect()] == [("Oslo", "Ann", 1, None, '["x","y"]'), (None, "Bo", 2, True, None)]
    bad = write(tmp_path, "b.jsonl", b'{"id": 1}\n{"id": 2\n{"id": 3}\n')
    rb = readers.open(bad, read=ReadOptions.parse({}, bad), label="b.jsonl")
    failure = readers.diagnose(rb, ["id"], False)
    assert failure is not None and "b.jsonl, line 2 is not a JSON object" in failure.message


def test_parquet_keeps_its_own_types_and_a_declared_cast_that_fails_names_its_row(tmp_path, readers):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    p = os.path.join(tmp_path, "p.parquet")
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 3], pa.int32()),
        "at": pa.array([datetime.datetime(2024, 1, 1), None, datetime.datetime(2024, 1, 3)], pa.timestamp("us")),
        "code": pa.array(["7", "8", "x9"]),
        "price": pa.array([decimal.Decimal("1.10"), decimal.Decimal("2.20"), None], pa.decimal128(10, 2)),
    }), p)
    uri = "file://" + p
    r = readers.open(uri, read=ReadOptions.parse({}, uri), label="p.parquet")
    assert [t.simpleString() for t in r.types] == ["int", "timestamp", "string", "decimal(10,2)"]  # pyarrow's timestamp without a zone, written as a timestamp
    assert tuple(readers.rows(r, ["id"], False).orderBy("id").first()) == (1, datetime.datetime(2024, 1, 1), "7", decimal.Decimal("1.10"))
    r2 = readers.open(uri, read=ReadOptions.parse({}, uri), declared={"code": "int"}, label="p.parquet")
    failure = readers.diagnose(r2, ["id"], False)
    assert isinstance(failure, JobFailure) and "p.parquet, row 3, column code: value 'x9' doesn't fit the declared type int" in failure.message


def test_several_null_texts_are_nulls_in_every_column_and_only_a_real_misfit_is_bad(tmp_path, readers):
    text = b"id,score,name,day\n1,1.5,NA,2024-01-01\n2,n/a,-,n/a\n3,-,Cy,NA\n4,lots,Di,2024-01-04\n"
    for name, extra in (("nulls.csv", {}), ("nulls-multi.csv", {"escape": "\\"})):
        uri = write(tmp_path, name, text)
        read = ReadOptions.parse({"csv": {"nullValues": ["NA", "n/a", "-"], **extra}}, uri)
        assert read.csv.null_values == ("NA", "n/a", "-")
        r = readers.open(uri, read=read, declared={"score": "double"}, label=name)
        # The inference saw n/a and - as nulls: day is a date, not text.
        assert [f.dataType.simpleString() for f in r.schema.fields] == ["int", "double", "string", "date"]
        assert r.multiline == bool(extra)
        got = rows(readers.rows(r, ["id"], r.multiline, discard=True))
        assert got == [(1, 1.5, None, datetime.date(2024, 1, 1)), (2, None, None, None), (3, None, "Cy", None)]
        failure = readers.diagnose(r, ["id"], r.multiline)
        assert failure is not None and f"{name}, line 5, column score: value 'lots'" in failure.message
        assert readers.discarded(r, ["id"], r.multiline).rows == 1


def test_a_json_file_is_json_lines_or_one_document_an_array_or_a_pretty_printed_object(tmp_path, readers):
    docs = {
        "lines.json": b'{"id": 1, "v": {"a": 1.5}}\n{"id": 2, "v": {"a": 2}}\n',
        "array.json": b'[\n  {"id": 1, "v": {"a": 1.5}},\n  {"id": 2,\n   "v": {"a": 2}}\n]\n',
        "one-line-array.json": b'[{"id": 1, "v": {"a": 1.5}}, {"id": 2, "v": {"a": 2}}]',
        "array.json.gz": gzip.compress(b'\xef\xbb\xbf  [{"id": 1, "v": {"a": 1.5}},\n{"id": 2, "v": {"a": 2}}]'),
    }
    for name, data in docs.items():
        uri = write(tmp_path, name, data)
        read = ReadOptions.parse({}, uri)
        assert read.format == "jsonl"
        r = readers.open(uri, read=read, label=name)
        assert r.names == ["id", "v_a"] and r.document == (name != "lines.json")
        assert rows(readers.rows(r, ["id"], r.multiline)) == [(1, 1.5), (2, 2.0)], name
    pretty = write(tmp_path, "one.json", b'{\n  "id": 7,\n  "v": {"a": 0.5}\n}\n')
    r = readers.open(pretty, read=ReadOptions.parse({}, pretty), label="one.json")
    assert r.document and rows(readers.rows(r, ["id"], r.multiline)) == [(7, 0.5)]
    # A record of a document that doesn't fit is named by its place in the array.
    bad = write(tmp_path, "bad.json", b'[{"id": 1, "n": "1"},\n {"id": 2, "n": "two"}]')
    r = readers.open(bad, read=ReadOptions.parse({}, bad), declared={"n": "int"}, label="bad.json")
    failure = readers.diagnose(r, ["id"], r.multiline)
    assert failure is not None and "bad.json, record 2, column n: value 'two'" in failure.message
