"""Both write paths read a CSV the same (issue 20): the Spark path's reader (csv_source.CsvSource,
in a local Spark) and the Arrow path's (arrow/reader.py) give the same column names, types and
rows for RFC 4180's cases, and the Arrow path declines the files whose values only Spark reads."""

import os
import time

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyiceberg")
pytest.importorskip("pyspark")

from lakeform_jobs.arrow.reader import Decline, read_source  # noqa: E402

SPARK_NAMES = {"int": "int", "bigint": "bigint", "double": "double", "boolean": "boolean", "timestamp": "timestamp", "string": "string"}

FILES = {
    "rfc4180": '\ufeffID,First Name,Note,Amount\r\n1,"Smith, J","two\r\nlines",10\r\n2,,"say ""hi""",\r\n3,"",x,30\r\n',
    "types": "id,small,big,ratio,flag,at,name\n1,5,2147483648,1.5,true,2024-01-15 10:30:00,a\n2,-7,-3,1e5,FALSE,2024-01-15T10:30:00.123+01:00,\n3,+2,0,.5,True,2024-01-15T10:30:00Z,c\n",
    "blank lines": "id,v\n1,a\n\n2,b\n",
    "mixed numbers": "id,v\n1,1\n2,2.5\n3,\n",
    # In an LF file a CRLF inside quotes stays; in a CRLF file it becomes LF; a lone CR stays.
    "line breaks in an LF file": 'id,v\n1,"a\r\nb"\n2,"c\rd"\n3,"e\nf"\n',
    "line breaks in a CRLF file": 'id,v\r\n1,"a\nb"\r\n2,"c\rd"\r\n3,"e\r\nf"\r\n',
}


@pytest.fixture(scope="module")
def spark():
    os.environ["TZ"] = "UTC"
    time.tzset()
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[1]").appName("lakeform-parity").config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "1").getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def spark_read(spark, path):
    from lakeform_jobs.catalog import Storage
    from lakeform_jobs.csv_source import CsvSource

    src = CsvSource(spark, Storage(spark))
    r = src.open("file://" + path)
    df = src.rows(r, [r.names[0]], r.multiline)
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    return r.names, types, [row.asDict() for row in df.collect()]


def arrow_rows(table):
    out = []
    for row in table.to_pylist():
        out.append({k: (v.replace(tzinfo=None) if hasattr(v, "tzinfo") and v is not None and getattr(v, "tzinfo", None) else v) for k, v in row.items()})
    return out


@pytest.mark.parametrize("name", sorted(FILES))
def test_both_paths_read_the_file_alike(spark, tmp_path, name):
    path = tmp_path / "f.csv"
    path.write_bytes(FILES[name].encode())
    names, types, rows = spark_read(spark, str(path))
    r = read_source(path.read_bytes(), {})
    assert r.names == names
    assert {n: SPARK_NAMES[t] for n, t in r.types.items()} == types
    assert sorted(arrow_rows(r.table), key=lambda x: x[names[0]]) == sorted(rows, key=lambda x: x[names[0]])


@pytest.mark.parametrize("value,spark_type", [("2024-01-15", "date"), ("99999999999999999999", "decimal(20,0)"), ("5.", "decimal(1,0)"), ("10:30:00", "timestamp")])
def test_what_spark_reads_otherwise_is_declined(spark, tmp_path, value, spark_type):
    path = tmp_path / "f.csv"
    path.write_bytes(f"id,v\n1,{value}\n".encode())
    _, types, _ = spark_read(spark, str(path))
    assert types["v"] == spark_type
    with pytest.raises(Decline):
        read_source(path.read_bytes(), {})


# ------------------------------------------------------------------------------- other formats
# Each file is read by the Spark path's readers (readers/source.py Readers: CsvSource for CSV and
# TSV, FrameSource for Parquet) and by the Arrow path's (arrow/reader.py read), from the same bytes.

import bz2  # noqa: E402
import datetime as dt  # noqa: E402
import gzip  # noqa: E402
from decimal import Decimal  # noqa: E402

from lakeform_jobs.arrow.reader import read as arrow_read  # noqa: E402
from lakeform_jobs.readers.detect import ReadOptions  # noqa: E402

# Spark reads Parquet's INT(8), INT(16) and UINT(8) as tinyint and smallint; an Iceberg table holds
# them as int (Iceberg's SparkTypeToType), which is what the Arrow path makes of them.
ICEBERG = {"tinyint": "int", "smallint": "int"}


def spark_read_as(spark, path, read):
    from lakeform_jobs.catalog import Storage
    from lakeform_jobs.readers.source import Readers

    src = Readers(spark, Storage(spark))
    r = src.open("file://" + path, read=read)
    df = src.rows(r, [r.names[0]], getattr(r, "multiline", False))
    types = {f.name: ICEBERG.get(f.dataType.simpleString(), f.dataType.simpleString()) for f in df.schema.fields}
    return r.names, types, [row.asDict() for row in df.collect()]


def both(spark, tmp_path, name, data, body=None):
    """The file written as name, read by both paths: (Spark's names, types, rows), Arrow's ArrowRead."""
    path = tmp_path / name
    path.write_bytes(data)
    read = ReadOptions.parse(body or {}, str(path))
    assert read.arrow_refusal(str(path)) is None, read.arrow_refusal(str(path))
    spark_side = spark_read_as(spark, str(path), read)
    return spark_side, (lambda: arrow_read(path.read_bytes(), {}, read))


def assert_alike(spark_side, r):
    names, types, rows = spark_side
    assert r.names == names
    assert dict(r.types) == types
    assert sorted(arrow_rows(r.table), key=lambda x: str(x[names[0]])) == sorted(rows, key=lambda x: str(x[names[0]]))


# Realistic text: mixed types, empty fields, quoted delimiters, doubled quotes, a quoted line break, unicode.
TEXT_ROWS = [
    ["order_id", "Customer Name", "amount", "qty", "paid", "created_at", "note"],
    ["1001", "Zoë Müller", "19.99", "2", "true", "2024-03-01 09:15:00", "first order"],
    ["1002", "O'Brien, Seán", "5", "", "FALSE", "2024-03-01T10:00:00Z", '"fragile" – handle with care'],
    ["1003", "", "", "1", "", "", ""],
    ["1004", "李小龙", "1e3", "3000000000", "True", "2024-03-02T11:30:00.5+02:00", "line one\nline two"],
    ["1005", "tab\tinside", "-0.5", "-7", "false", "2024-03-03 00:00:00", "emoji 🚀 and ; | , delimiters"],
]


def text_file(sep: str, rows=TEXT_ROWS, crlf: bool = False) -> bytes:
    def field(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in (sep, '"', "\n", "\r")) else v

    end = "\r\n" if crlf else "\n"
    return end.join(sep.join(field(v) for v in r) for r in rows).encode() + end.encode()


TEXT_FILES = {
    "tsv": ("orders.tsv", lambda: text_file("\t"), None),
    "tsv, CRLF": ("orders.tsv", lambda: text_file("\t", crlf=True), None),
    "gzip'd csv": ("orders.csv.gz", lambda: gzip.compress(text_file(",")), None),
    "gzip'd tsv": ("orders.tsv.gz", lambda: gzip.compress(text_file("\t")), None),
    "bzip2'd csv": ("orders.csv.bz2", lambda: bz2.compress(text_file(",")), None),
    "bzip2'd tsv, CRLF": ("orders.tsv.bz2", lambda: bz2.compress(text_file("\t", crlf=True)), None),
    "semicolons": ("orders.csv", lambda: text_file(";"), {"csv": {"delimiter": ";"}}),
    "pipes, gzip'd": ("orders.csv.gz", lambda: gzip.compress(text_file("|")), {"csv": {"delimiter": "|"}}),
    "a .txt-less tsv declared": ("orders.tsv", lambda: text_file("\t"), {"format": "tsv"}),
    "no header line": ("orders.csv", lambda: text_file(",", TEXT_ROWS[1:]), {"csv": {"header": False}}),
    "a large gzip'd tsv": ("big.tsv.gz", lambda: gzip.compress(text_file("\t", [TEXT_ROWS[0]] + [[str(i), f"n{i}", f"{i}.25", str(i % 7), "true", "2024-03-01 09:15:00", "x"] for i in range(20000)])), None),
}


@pytest.mark.parametrize("name", sorted(TEXT_FILES))
def test_both_paths_read_text_formats_alike(spark, tmp_path, name):
    file, make, body = TEXT_FILES[name]
    spark_side, arrow_side = both(spark, tmp_path, file, make(), body)
    assert_alike(spark_side, arrow_side())


def test_a_gzip_file_of_several_members_is_left_to_spark(tmp_path):
    # Spark's sample is the first member's (zlib stops there), Hadoop reads them all: declined.
    data = gzip.compress(b"id,v\n1,a\n") + gzip.compress(b"2,b\n")
    with pytest.raises(Decline):
        arrow_read(data, {}, ReadOptions.parse({}, "x.csv.gz"))


def parquet_bytes(table, **kw) -> bytes:
    import io

    import pyarrow.parquet as pq

    b = io.BytesIO()
    pq.write_table(table, b, **kw)
    return b.getvalue()


def parquet_orders():
    utc = dt.timezone.utc
    n = 7
    return pa.table({
        "Order ID": pa.array(range(1, n + 1), pa.int64()),
        "tiny": pa.array([1, -2, None, 4, 5, 6, 127], pa.int8()),
        "small": pa.array([300, None, -300, 4, 5, 6, 7], pa.int16()),
        "qty": pa.array([1, 2, 3, None, 5, 6, 2147483647], pa.int32()),
        "ratio": pa.array([0.5, None, 1e-3, 3.25, -1.0, 2.0, 7.75], pa.float32()),
        "amount": pa.array([19.99, 5.0, None, 1e20, -0.5, 3.14159, float("nan")], pa.float64()),
        "price": pa.array([Decimal("19.99"), Decimal("-5.00"), None, Decimal("1234567890.12"), Decimal("0.01"), Decimal("0"), Decimal("7.10")], pa.decimal128(12, 2)),
        "paid": pa.array([True, False, None, True, True, False, True]),
        "customer": pa.array(["Zoë Müller", "O'Brien, Seán", None, "李小龙", 'say "hi"', "line\nbreak", ""]),
        "channel": pa.array(["web", "store", "web", None, "web", "app", "store"]).dictionary_encode(),
        "ordered_on": pa.array([dt.date(2024, 3, 1), None, dt.date(1999, 12, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 5), dt.date(2100, 1, 1), dt.date(1970, 1, 1)], pa.date32()),
        "created_at": pa.array([dt.datetime(2024, 3, 1, 9, 15, tzinfo=utc), None, dt.datetime(2024, 3, 1, 23, 59, 59, 999999, tzinfo=utc), dt.datetime(1970, 1, 1, tzinfo=utc),
                                dt.datetime(2024, 3, 2, tzinfo=utc), dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=utc), dt.datetime(2024, 3, 3, 12, tzinfo=utc)], pa.timestamp("us", tz="UTC")),
        "local_at": pa.array([dt.datetime(2024, 3, 1, 9, 15), dt.datetime(2024, 3, 31, 2, 30), None, dt.datetime(2024, 10, 27, 2, 30), dt.datetime(2000, 1, 1), dt.datetime(2024, 3, 3), dt.datetime(2024, 3, 4, 5, 6, 7, 123000)], pa.timestamp("ms")),
        "u8": pa.array([0, 255, None, 1, 2, 3, 4], pa.uint8()),
        "u16": pa.array([0, 65535, None, 1, 2, 3, 4], pa.uint16()),
        "u32": pa.array([0, 4294967295, None, 1, 2, 3, 4], pa.uint32()),
        "blob": pa.array([b"\x00\x01", b"", None, "ü".encode(), b"\xff", b"x" * 100, b"z"], pa.binary()),
        "paris_at": pa.array([dt.datetime(2024, 3, 1, 9, 15, tzinfo=utc)] * 6 + [None], pa.timestamp("us", tz="Europe/Paris")),
    })


def parquet_nested():
    return pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "Customer": pa.array([
            {"First Name": "Ann", "address": {"city": "Zürich", "zip": "8001"}},
            None,
            {"First Name": None, "address": None},
            {"First Name": "Bo", "address": {"city": None, "zip": "1000"}},
        ]),
        "customer_first_name": pa.array(["dup", None, "dup", "dup"]),
    })


def parquet_lists():
    # Spark keeps lists and maps as its to_json text (frames.py): escapes, nulls, nesting, structs in lists.
    return pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "tags": [["a", 'b"q\\\n\t\x01\x1f\x08\x0c/é🚀'], None, [], ["x"]],
        "nums": pa.array([[1, None, 3], [], None, [-(1 << 63)]], pa.list_(pa.int64())),
        "small": pa.array([[1], [2], None, [-5]], pa.list_(pa.int16())),
        "flags": [[True, False], [None], None, []],
        "attrs": pa.array([[("k", 1), ("z", None)], [], None, [("k", 2), ("k", 3)]], pa.map_(pa.string(), pa.int64())),
        "lines": pa.array([[{"sku": "A-1", "qty": 2}, {"sku": None, "qty": 1}, None], None, [], [{"sku": "ü", "qty": None}]]),
        "nested": pa.array([[["a"], []], [None], None, [[None, "b"]]]),
        "order": pa.array([{"no": 1, "labels": ["gift", "rush"]}, None, {"no": None, "labels": None}, {"no": 4, "labels": []}]),
        "big": pa.array([["x"] * 3, ["y"], None, None], pa.large_list(pa.string())),
    })


PARQUET_FILES = {
    "lists, maps and structs in lists": lambda: parquet_bytes(parquet_lists()),
    "flat types": lambda: parquet_bytes(parquet_orders()),
    "row groups, no dictionary, gzip inside": lambda: parquet_bytes(parquet_orders(), row_group_size=2, use_dictionary=False, compression="gzip"),
    "old writer format (1.0)": lambda: parquet_bytes(parquet_orders().drop_columns(["local_at"]), version="1.0"),
    "nested structs": lambda: parquet_bytes(parquet_nested()),
}


@pytest.mark.parametrize("name", sorted(PARQUET_FILES))
def test_both_paths_read_parquet_alike(spark, tmp_path, name):
    spark_side, arrow_side = both(spark, tmp_path, "orders.parquet", PARQUET_FILES[name]())
    r = arrow_side()
    # NaN is NaN on both (and never equal): compared as text.
    fix = lambda rows: [{k: ("NaN" if isinstance(v, float) and v != v else v) for k, v in x.items()} for x in rows]  # noqa: E731
    names, types, rows = spark_side
    assert r.names == names and dict(r.types) == types
    key = lambda x: x[names[0]]  # noqa: E731
    assert sorted(fix(arrow_rows(r.table)), key=key) == sorted(fix(rows), key=key)


def test_parquet_struct_names_flatten_as_the_spark_paths():
    r = arrow_read(parquet_bytes(parquet_nested()), {}, ReadOptions.parse({}, "x.parquet"))
    assert r.names == ["id", "customer_first_name", "customer_address_city", "customer_address_zip", "customer_first_name_2"]


PARQUET_DECLINED = {
    # Spark keeps a list as its to_json text: doubles in it are Java's Double.toString, dates Spark's format.
    "a list of doubles": (lambda: pa.table({"id": [1], "xs": [[1.5, 1e20]]}), "string"),
    "a list of dates": (lambda: pa.table({"id": [1], "ds": pa.array([[dt.date(2024, 1, 1)]], pa.list_(pa.date32()))}), "string"),
    "a map keyed by ints": (lambda: pa.table({"id": [1], "m": pa.array([[(1, "a")]], pa.map_(pa.int64(), pa.string()))}), "string"),
    # UINT_64 is decimal(20,0) to Spark.
    "a 64-bit unsigned int": (lambda: pa.table({"id": [1], "n": pa.array([1], pa.uint64())}), "decimal(20,0)"),
    # Spark 3.5 refuses these (None: the read raises).
    "nanoseconds": (lambda: pa.table({"id": [1], "t": pa.array([1], pa.timestamp("ns"))}), None),
    "a date before the Gregorian switch": (lambda: pa.table({"id": [1], "d": pa.array([dt.date(1500, 1, 1)], pa.date32())}), None),
    "names that differ only in case": (lambda: pa.table({"id": [1], "ID": [2]}), None),
}


@pytest.mark.parametrize("name", sorted(PARQUET_DECLINED))
def test_parquet_the_spark_path_reads_otherwise_or_refuses_is_declined(spark, tmp_path, name):
    make, spark_type = PARQUET_DECLINED[name]
    path = tmp_path / "x.parquet"
    path.write_bytes(parquet_bytes(make()))
    read = ReadOptions.parse({}, str(path))
    if spark_type is None:
        with pytest.raises(Exception):
            spark_read_as(spark, str(path), read)[2]
    else:
        assert list(spark_read_as(spark, str(path), read)[1].values())[1] == spark_type
    with pytest.raises(Decline):
        arrow_read(path.read_bytes(), {}, read)


def big_csv(tail: str) -> bytes:
    """A CSV past the sample (csv_source.SAMPLE_BYTES of content): integers in v, then `tail`."""
    from lakeform_jobs.csv_source import SAMPLE_BYTES

    rows, size, i = ["id,v,name"], 0, 0
    while size < SAMPLE_BYTES + (1 << 20):
        line = f"{i},{i % 1000},name {i} ü"
        rows.append(line)
        size += len(line.encode()) + 1
        i += 1
    rows.append(f"{i},{tail},last")
    return ("\n".join(rows) + "\n").encode()


def test_a_gzipd_csv_past_the_sample_is_typed_by_the_same_sample(spark, tmp_path):
    # The sample is the first SAMPLE_BYTES of the content on both paths (decompress_head): v is int.
    spark_side, arrow_side = both(spark, tmp_path, "big.csv.gz", gzip.compress(big_csv("7")))
    names, types, rows = spark_side
    r = arrow_side()
    assert r.names == names and dict(r.types) == types == {"id": "int", "v": "int", "name": "string"}
    assert r.table.num_rows == len(rows)
    assert sum(r.table.column("v").to_pylist()) == sum(x["v"] for x in rows)


def test_a_value_past_the_sample_its_type_doesnt_take_is_left_to_spark(spark, tmp_path):
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(big_csv("1.5")))
    read = ReadOptions.parse({}, str(path))
    with pytest.raises(Exception):
        spark_read_as(spark, str(path), read)  # the Spark path refuses it (diagnose names the line)
    with pytest.raises(Decline):
        arrow_read(path.read_bytes(), {}, read)
