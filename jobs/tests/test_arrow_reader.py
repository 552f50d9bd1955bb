"""The Arrow path's CSV reader (lakeform_jobs/arrow/reader.py) and its write rules (dedupe,
deleteWhen, the budget), without Spark; test_arrow_parity.py reads the same files with the Spark
path's reader and compares."""

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyiceberg")

from lakeform_jobs.arrow import path as arrow_path  # noqa: E402
from lakeform_jobs.arrow.reader import Decline, infer_type, read_source, record_lines, refuse_empty_keys  # noqa: E402
from lakeform_jobs.errors import JobFailure  # noqa: E402
from lakeform_jobs.types import Table  # noqa: E402


def rows(data: str, table_types=None):
    r = read_source(data.encode(), table_types or {})
    return r, r.table.to_pylist()


def test_rfc4180_bom_crlf_quoted_line_breaks_and_doubled_quotes():
    r, got = rows('\ufeffID,First Name,note\r\n1,"a, b","line1\r\nline2"\r\n2,,""\r\n3,"x""y",z\r\n')
    assert r.names == ["id", "first_name", "note"]
    assert r.renamed == {"ID": "id", "First Name": "first_name"}
    assert r.multiline
    assert got == [
        {"id": 1, "first_name": "a, b", "note": "line1\nline2"},  # as Spark reads a CRLF file
        {"id": 2, "first_name": None, "note": None},
        {"id": 3, "first_name": 'x"y', "note": "z"},
    ]


def test_types_as_spark_infers_them():
    r, got = rows("i,l,d,b,ts,s\n1,2147483648,1.5,true,2024-01-15 10:30:00,x\n+2,-3,1e5,FALSE,2024-01-15T10:30:00.123+01:00,\n")
    assert r.types == {"i": "int", "l": "bigint", "d": "double", "b": "boolean", "ts": "timestamp", "s": "string"}
    assert [x["i"] for x in got] == [1, 2]
    assert [x["b"] for x in got] == [True, False]
    assert str(r.table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert [x["ts"].isoformat() for x in got] == ["2024-01-15T10:30:00+00:00", "2024-01-15T09:30:00.123000+00:00"]
    assert [x["s"] for x in got] == ["x", None]


@pytest.mark.parametrize(
    "value,kind",
    [("5", "int"), ("+5", "int"), ("2147483648", "bigint"), ("1.5", "double"), (".5", "double"), ("1e5", "double"), ("true", "boolean"),
     ("abc", "string"), ("1,5", "string"), ("99999999999999999999", "unsure"), ("5.", "unsure"), ("NaN", "unsure"), ("Inf", "unsure"),
     (" 1.5", "unsure"), ("1d", "unsure"), ("0x1p3", "unsure"), ("2024-01-15", "unsure"), ("10:30:00", "unsure"), ("2024-01", "unsure"), ("T10:30", "unsure"),
     ("+1-555-0001", "string"), ("12-05", "string"), ("12 Main St", "string"), ("Information", "string"), ("\u0665", "unsure")],
)
def test_a_value_is_typed_as_spark_types_it_or_left_to_spark(value, kind):
    # What Spark 3.5's CSV inference gives each (measured: test_arrow_parity.py checks the sure ones).
    assert infer_type([value]) == kind


def test_columns_merge_as_spark_merges_them():
    assert infer_type(["1", "2147483648"]) == "bigint"
    assert infer_type(["1", "1.5"]) == "double"
    assert infer_type(["1", "true"]) == "string"
    assert infer_type(["", ""]) == "string"
    assert infer_type(["2024-01-15 10:30:00", "5"]) == "unsure"


def test_the_tables_types_win_over_the_samples():
    r, got = rows("id,amount\n1,5\n", {"id": pa.int64(), "amount": pa.float64()})
    assert r.table.schema.field("id").type == pa.int64() and got == [{"id": 1, "amount": 5.0}]


@pytest.mark.parametrize(
    "data",
    [
        "id,v\n1,5\n2,\"x\"\n",  # fits no type the sample gave: declined past the sample? here the sample has it: string
    ],
)
def test_a_string_column(data):
    r, _ = rows(data)
    assert r.types["v"] == "string"


@pytest.mark.parametrize(
    "data,table_types",
    [
        ("id,v\n1,2\n2,3,4\n", {}),  # ragged
        ("id,v\n1,2024-01-15\n", {}),  # a date: Spark's to type
        ("id,v\n1,x\n", {"v": "int"}),  # a value the table's type doesn't take
    ],
)
def test_what_the_spark_path_must_read_or_name_is_declined(data, table_types):
    types = {k: {"int": pa.int32()}[v] for k, v in table_types.items()}
    with pytest.raises(Decline):
        read_source(data.encode(), types)


def test_an_empty_key_is_refused_with_its_line():
    r = read_source(b'id,note\n1,"a\nb"\n\n,x\n', {})
    with pytest.raises(JobFailure) as e:
        refuse_empty_keys(r, ["id"])
    assert e.value.code == "BAD_CSV" and "line 5 has an empty primary key (id)" in e.value.message


def test_record_lines_skip_empty_lines_and_follow_quoted_breaks():
    assert record_lines(b'h\n\n"a\nb"\nc\n', 5) == [1, 3, 5]


def t(**kw):
    return Table(name="t", database="default", format="iceberg", location="s3a://w/default/t", primary_key=["id"], **kw)


def test_dedupe_keeps_the_largest_ordering_value_else_the_last_row():
    table = pa.table({"id": [1, 2, 1, 1], "v": ["a", "b", "c", "d"], "o": [5, 1, 9, None]})
    out, deduped = arrow_path.dedupe(table, ["id"], "o")
    assert deduped and sorted(out.to_pylist(), key=lambda r: r["id"]) == [{"id": 1, "v": "c", "o": 9}, {"id": 2, "v": "b", "o": 1}]
    out, _ = arrow_path.dedupe(table, ["id"], None)
    assert sorted(out.to_pylist(), key=lambda r: r["id"])[0]["v"] == "d"
    same, deduped = arrow_path.dedupe(pa.table({"id": [1, 2]}), ["id"], None)
    assert not deduped and same.num_rows == 2


def test_delete_when_flags_trimmed_lower_cased_values():
    from lakeform_jobs.types import DeleteWhen

    table = pa.table({"id": [1, 2, 3], "op": [" D ", "u", None]})
    out, flag = arrow_path.delete_flag(table, t(delete_when=DeleteWhen("op", ("d",))), "op", {"op": "string"})
    assert flag and out.column_names == ["id", flag] and out.column(flag).to_pylist() == [True, False, False]


def test_the_budget_is_the_stacks_else_a_share_of_the_driver_memory():
    assert arrow_path.budget(lambda k, d: {"spark.driver.memory": "2g"}.get(k, d)) == 512 << 20
    assert arrow_path.budget(lambda k, d: {arrow_path.MAX_BYTES_CONF: "1000"}.get(k, d)) == 1000
    assert arrow_path.budget(lambda k, d: {"spark.driver.memory": "100m"}.get(k, d)) == 64 << 20


def test_which_writes_take_the_arrow_path():
    from lakeform_jobs.arrow.iceberg import LakeConf
    from lakeform_jobs.requests import WriteRequest
    from lakeform_jobs.types import Source

    p = arrow_path.ArrowPath(LakeConf("thrift://127.0.0.1:9083", "http://127.0.0.1:8333", "us-east-1", "k", "s"), max_bytes=100)
    assert p.refusal(t(), 100, "auto") is None
    assert "budget" in p.refusal(t(), 101, "auto")
    assert "Spark path" in p.refusal(t(), 1, "spark")
    hudi = Table(name="t", database="default", format="hudi", location="s3a://w/default/t", primary_key=["id"])
    assert "Hudi" in p.refusal(hudi, 1, "auto")
    req = lambda uri, **kw: WriteRequest(t(**kw), Source(uri=uri, hash="h"), "1")  # noqa: E731
    assert arrow_path.spark_only(req("s3a://w/_lakeform/landing/ab/abc.csv")) is None
    assert arrow_path.spark_only(req("s3a://w/_lakeform/landing/ab/abc.parquet"))
    assert arrow_path.spark_only(req("s3a://w/_lakeform/landing/ab/abc.csv.gz"))


def test_a_boolean_column_with_empty_fields_is_read():
    # pyarrow's is_in answers false for a null: such a column used to decline.
    r, got = rows("id,paid\n1,true\n2,\n3,FALSE\n")
    assert r.types["paid"] == "boolean" and [x["paid"] for x in got] == [True, None, False]


@pytest.mark.parametrize(
    "uri,body,taken",
    [
        ("s3a://w/l/ab/abc.csv", {}, True),
        ("s3a://w/l/ab/abc.tsv", {}, True),
        ("s3a://w/l/ab/abc.csv.gz", {}, True),
        ("s3a://w/l/ab/abc.tsv.gz", {}, True),
        ("s3a://w/l/ab/abc.tsv.bz2", {}, True),
        ("s3a://w/l/ab/abc.parquet", {}, True),
        ("s3a://w/l/ab/abc.pq", {}, True),
        ("s3a://w/l/ab/abc.csv", {"csv": {"delimiter": ";"}}, True),
        ("s3a://w/l/ab/abc.csv", {"csv": {"delimiter": "|", "header": False}}, True),
        ("s3a://w/l/ab/abc.tsv", {"format": "tsv", "compression": "none"}, True),
        # JSON Lines: Spark's inference and flattening (README).
        ("s3a://w/l/ab/abc.jsonl", {}, False),
        ("s3a://w/l/ab/abc.ndjson.gz", {}, False),
        # The name doesn't say how Hadoop would read it (its codec is the name's).
        ("s3a://w/l/ab/abc.txt", {"format": "tsv"}, False),
        ("s3a://w/l/ab/abc.csv", {"compression": "gzip"}, False),
        ("s3a://w/l/ab/abc.csv.gz", {"compression": "none"}, False),
        ("s3a://w/l/ab/abc.csv", {"format": "tsv"}, False),
        ("s3a://w/l/ab/abc.csv.zst", {}, False),
        # Dialects only the Spark path reads.
        ("s3a://w/l/ab/abc.csv", {"csv": {"quote": "'"}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"escape": "\\"}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"nullValues": ["NA"]}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"encoding": "iso-8859-1"}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"locale": "de-DE"}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"delimiter": " "}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"delimiter": "."}}, False),
        ("s3a://w/l/ab/abc.csv", {"csv": {"delimiter": "x"}}, False),
    ],
)
def test_which_sources_the_arrow_reader_takes(uri, body, taken):
    from lakeform_jobs.arrow.iceberg import LakeConf  # noqa: F401
    from lakeform_jobs.requests import WriteRequest
    from lakeform_jobs.types import Source

    src = Source.parse({"uri": uri, "hash": "h", **body})
    why = arrow_path.spark_only(WriteRequest(t(), src, "1"))
    assert (why is None) == taken, why


def test_declared_columns_locale_and_discarding_policies_stay_on_spark():
    from lakeform_jobs.readers import DeclaredColumns
    from lakeform_jobs.requests import WriteRequest
    from lakeform_jobs.types import Source

    src = Source.parse({"uri": "s3a://w/l/ab/abc.parquet", "hash": "h"})
    assert "declares column types" in arrow_path.spark_only(WriteRequest(t(columns=DeclaredColumns({"amount": "decimal(12,2)"})), src, "1"))
    assert "schemaPolicy" in arrow_path.spark_only(WriteRequest(t(schema_policy="discardRows"), src, "1"))


def test_a_compressed_source_over_the_budget_once_decompressed_is_declined():
    import gzip

    from lakeform_jobs.arrow.reader import read
    from lakeform_jobs.readers.detect import ReadOptions

    data = gzip.compress(b"id,v\n" + b"1,aaaaaaaaaaaaaaaaaaaa\n" * 1000)
    assert len(data) < 1000
    with pytest.raises(Decline, match="budget"):
        read(data, {}, ReadOptions.parse({}, "x.csv.gz"), max_bytes=10_000)
    assert read(data, {}, ReadOptions.parse({}, "x.csv.gz"), max_bytes=100_000).table.num_rows == 1000


def test_a_parquet_key_is_named_by_its_row():
    import io

    import pyarrow.parquet as pq

    from lakeform_jobs.arrow.reader import read
    from lakeform_jobs.readers.detect import ReadOptions

    b = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, None], "v": ["a", "b", "c"]}), b)
    r = read(b.getvalue(), {}, ReadOptions.parse({}, "x.parquet"))
    with pytest.raises(JobFailure) as e:
        refuse_empty_keys(r, ["id"])
    assert "row 3 has an empty primary key (id)" in e.value.message


def test_a_parquet_column_keeps_the_tables_type_or_is_declined():
    import io

    import pyarrow.parquet as pq

    from lakeform_jobs.arrow.reader import read
    from lakeform_jobs.readers.detect import ReadOptions

    b = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1], pa.int32()), "f": pa.array([1.5], pa.float32()), "s": ["7"]}), b)
    opts = ReadOptions.parse({}, "x.parquet")
    r = read(b.getvalue(), {"id": pa.int64(), "f": pa.float64(), "s": pa.large_string()}, opts)
    assert r.types == {"id": "bigint", "f": "double", "s": "string"} and r.table.schema.field("id").type == pa.int64()
    with pytest.raises(Decline):
        read(b.getvalue(), {"s": pa.int64()}, opts)  # Spark's cast decides "7" (or names the value)


def test_nan_is_found_in_an_ordering_column():
    assert arrow_path.has_nan(pa.chunked_array([pa.array([1.0, float("nan"), None])]))
    assert not arrow_path.has_nan(pa.chunked_array([pa.array([1.0, None], pa.float32())]))


@pytest.mark.parametrize(
    "columns,kw,why",
    [
        ({"id": [1.5, 2.0], "v": [1, 2]}, {}, "floating-point key"),
        ({"id": [1, 2], "v": [1.0, float("nan")]}, {"ordering_field": "v"}, "NaN orderingField"),
    ],
)
def test_what_the_spark_paths_merge_orders_its_own_way_is_declined_before_a_write(columns, kw, why):
    import io
    from types import SimpleNamespace

    import pyarrow.parquet as pq

    from lakeform_jobs.requests import WriteRequest
    from lakeform_jobs.types import Source

    b = io.BytesIO()
    pq.write_table(pa.table(columns), b)
    p = arrow_path.ArrowPath.__new__(arrow_path.ArrowPath)
    p.writer, p.max_bytes = SimpleNamespace(read_bytes=lambda uri: b.getvalue()), 1 << 20
    progress = SimpleNamespace(p=SimpleNamespace(path=None, bytes_total=0), stage=lambda *a: None, rows=lambda *a: None)
    req = WriteRequest(t(**kw), Source.parse({"uri": "s3a://w/l/ab/abc.parquet", "hash": "h"}), "1")
    with pytest.raises(Decline, match=why):
        p.write(None, req, None, False, progress, None, 0.0)
