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


def _round_trips(spark, fn) -> int:
    """How many commands fn sends to the JVM through py4j."""
    client = spark.sparkContext._gateway._gateway_client
    sent = 0
    send = client.send_command

    def counted(*a, **k):
        nonlocal sent
        sent += 1
        return send(*a, **k)

    client.send_command = counted
    try:
        fn()
    finally:
        client.send_command = send
    return sent


def test_an_entry_and_a_listing_resolve_jvm_names_once_not_one_round_trip_per_dotted_step(spark, tmp_path):
    spark.sql("CREATE TABLE IF NOT EXISTS trips (id INT) USING parquet TBLPROPERTIES ('a' = 'b')")
    catalog, storage = Catalog(spark), Storage(spark)
    (tmp_path / "x").write_text("x")
    uri = "file://" + str(tmp_path)
    catalog.entry(table("trips"))
    storage.list_names(uri)
    # Warm: getTable, properties, mapAsJavaMap, writeValueAsString, schema, json: 6 (with each
    # dotted name resolved step by step on every call, as before JvmNames: 10).
    assert _round_trips(spark, lambda: catalog.entry(table("trips"))) <= 7
    # Path (the directory's glob), globStatus, getLength, new_array, arraycopy, stat2Paths,
    # genericWrapArray, mkString: 8 (before JvmNames: 31).
    assert _round_trips(spark, lambda: storage.list_names(uri)) <= 9


def test_a_missing_directory_lists_as_none_without_a_java_exception(spark, tmp_path):
    """PySpark converts a Java exception by asking the JVM what it is, class by class: a listing
    of a missing folder (Hudi's archive, on every observe) must not raise one."""
    storage = Storage(spark)
    uri = "file://" + str(tmp_path)
    storage.list_names(uri + "/missing")
    # Path, globStatus, getLength (an exception and its conversion: over 20).
    assert _round_trips(spark, lambda: storage.list_names(uri + "/missing")) <= 4
    assert storage.list_names(uri + "/missing/deeper") == []
    # A directory whose name a glob would read as a pattern is listed as it is.
    odd = tmp_path / "a [b] {c}*?"
    odd.mkdir()
    (odd / "x").write_text("x")
    (tmp_path / "a b c").mkdir()
    assert storage.list_names("file://" + str(odd)) == ["x"]
    assert storage.list_names("file://" + str(odd) + "/missing") == []
    # Hidden names come back too (Hudi's .hoodie, .aux, .temp).
    (tmp_path / ".hidden").write_text("x")
    assert ".hidden" in storage.list_names(uri)


def test_an_observe_reads_the_entry_once_has_and_entry_answer_from_it_in_its_thread_only(spark):
    import threading

    spark.sql("CREATE TABLE IF NOT EXISTS seen (id INT) USING parquet")
    catalog = Catalog(spark)
    with catalog.observing(table("seen")):
        assert _round_trips(spark, lambda: (catalog.has(table("seen")), catalog.entry(table("seen")), catalog.entry(table("seen")))) == 0
        assert catalog.has(table("seen")) and catalog.entry(table("seen"))[1] == ["id"]
        # Another table, and another thread, ask the metastore.
        assert not catalog.has(table("nowhere"))
        other: list = []
        th = threading.Thread(target=lambda: other.append(_round_trips(spark, lambda: catalog.has(table("seen")))))
        th.start()
        th.join()
        assert other[0] >= 1
    with catalog.observing(table("nowhere")):
        assert not catalog.has(table("nowhere")) and catalog.entry(table("nowhere")) is None
    # After the observe, asked again.
    assert _round_trips(spark, lambda: catalog.has(table("seen"))) >= 1
