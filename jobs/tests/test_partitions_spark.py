"""partitionBy on a local Spark (write.py's batch opening, no table format): a source without a
partition transform's column is refused naming the column, the transform and the table; the
fields become DataFrameWriterV2 transforms (truncate, which Spark lacks, is None: the Iceberg
format makes such a table by SQL). Skipped where pyspark isn't installed (the job server's
virtualenv has it)."""

import os
from types import SimpleNamespace

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs.catalog import Storage  # noqa: E402
from lakeform_jobs.errors import BadCsv  # noqa: E402
from lakeform_jobs.readers.source import Readers  # noqa: E402
from lakeform_jobs.requests import WriteRequest  # noqa: E402
from lakeform_jobs.types import Source, Table  # noqa: E402
from lakeform_jobs.write import Writes  # noqa: E402
from lakeform_jobs.write_plan import Target  # noqa: E402

PROGRESS = SimpleNamespace(stage=lambda *a, **k: None, rows=lambda n: None, p=SimpleNamespace(bytes_total=0))


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = SparkSession.builder.master("local[1]").appName("lakeform-partitions-test").config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC").getOrCreate()
    yield s
    s.stop()


def table(partition_by) -> Table:
    return Table.parse({"name": "events", "format": "iceberg", "location": "s3a://w/default/events", "primaryKey": ["id"], "partitionBy": partition_by})


def test_a_source_without_the_transform_s_column_is_refused_naming_it_and_the_table(spark, tmp_path):
    readers = Readers(spark, Storage(spark))
    w = Writes(spark, SimpleNamespace(spark=spark, storage=Storage(spark), catalog=None), None, readers)
    p = os.path.join(tmp_path, "e.csv")
    with open(p, "w") as f:
        f.write("id,created\n1,2024-01-01 10:00:00\n")
    t = table(["day(ts)", "bucket(4, id)"])
    with pytest.raises(BadCsv, match=r"column\(s\) ts \(partitionBy day\(ts\)\) named in tables.yaml for table default.events are not in the CSV header \(columns: id, created\)"):
        w._open_batch(WriteRequest(t, Source(uri="file://" + p, hash="h", name="e.csv"), "g1"), Target(exists=False, current=None, visible=[]), PROGRESS)


def test_fields_become_dataframewriterv2_transforms(spark):
    cols = [f.spark_column() for f in table(["region", "day(ts)", "month(ts)", "year(ts)", "hour(ts)", "bucket(16, id)", "truncate(4, code)"]).partition_fields]
    assert [str(c) if c is not None else None for c in cols] == [
        "Column<'region'>", "Column<'days(ts)'>", "Column<'months(ts)'>", "Column<'years(ts)'>", "Column<'hours(ts)'>", "Column<'bucket(id)'>", None,
    ]
    # Spark prints a bucket transform without its count: the count is in the expression.
    assert str(cols[5]._jc.expr().numBuckets()) == "16"
