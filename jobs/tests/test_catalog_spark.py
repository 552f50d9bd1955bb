"""catalog.py against a local Spark: a metastore entry read in few JVM calls (its parameters as one
JSON text, its columns from the schema's) says what the entry has, and None when there is none; a
directory's names come back joined in one call, and a name with a line break in it still comes back."""

import os

import pytest

pyspark = pytest.importorskip("pyspark")

from lakeform_jobs.catalog import Catalog, Storage  # noqa: E402
from lakeform_jobs.types import Table  # noqa: E402


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[1]").appName("lakeform-catalog-test")
        .config("spark.ui.enabled", "false").config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("wh")))
        .getOrCreate()
    )
    yield s
    s.stop()


def table(name: str) -> Table:
    return Table(name=name, database="default", format="hudi", location=f"s3a://w/default/{name}", primary_key=["id"])


def test_an_entry_is_its_parameters_and_columns_and_none_when_there_is_none(spark):
    spark.sql("CREATE TABLE leads (id INT, `full name` STRING, v DOUBLE) USING parquet TBLPROPERTIES ('last_commit_time_sync' = '20261204', 'note' = 'a, b -> {\"c\": 1}')")
    catalog = Catalog(spark)
    props, columns = catalog.entry(table("leads"))
    assert props["last_commit_time_sync"] == "20261204"
    assert props["note"] == 'a, b -> {"c": 1}'
    assert columns == ["id", "full name", "v"]
    assert catalog.has(table("leads"))
    assert catalog.entry(table("nowhere")) is None
    assert not catalog.has(table("nowhere"))


def test_names_of_a_directory_in_one_call_and_a_line_break_in_a_name(spark, tmp_path):
    storage = Storage(spark)
    for n in ["20261204101010000.commit", "20261204101010000.commit.requested", "hoodie.properties"]:
        (tmp_path / n).write_text("x")
    os.mkdir(tmp_path / "archived")
    uri = "file://" + str(tmp_path)
    assert sorted(storage.list_names(uri)) == ["20261204101010000.commit", "20261204101010000.commit.requested", "archived", "hoodie.properties"]
    # Joined by the JVM (not the name-by-name fallback).
    path, fs = storage.path(uri)
    assert sorted(storage._joined_names(fs.listStatus(path))) == sorted(storage.list_names(uri))
    (tmp_path / "odd\nname").write_text("x")
    assert "odd\nname" in storage.list_names(uri)
    assert storage.list_names(uri + "/missing") == []
    # The same FileSystem serves every path of one scheme and authority.
    assert storage.path(uri)[1] is storage.path(uri + "/archived")[1]
