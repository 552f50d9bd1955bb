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
