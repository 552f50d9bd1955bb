"""The job server's side of partitionBy (partitioning.py): the canonical entries lake/partitioning.ts
sends, parsed strictly (nothing else reaches SQL), said to Spark SQL and pyiceberg from their parts,
read back from an Iceberg metadata file's partition spec, and checked against column types."""

import pytest

from lakeform_jobs.errors import BadRequest, JobFailure
from lakeform_jobs.partitioning import PartitionField, check_types, parse_field, parse_fields, spec_from_metadata
from lakeform_jobs.types import Table

BODY = {"name": "events", "format": "iceberg", "location": "s3a://w/default/events", "primaryKey": ["id"]}


def test_canonical_entries_parse_and_say_themselves_back():
    for text, field in [
        ("region", PartitionField("identity", "region")),
        ("day(ts)", PartitionField("day", "ts")),
        ("month(ts)", PartitionField("month", "ts")),
        ("bucket(16, id)", PartitionField("bucket", "id", 16)),
        ("truncate(4, code)", PartitionField("truncate", "code", 4)),
    ]:
        assert parse_field(text, "f") == field
        assert field.text == text


def test_spark_sql_is_built_from_the_parts():
    assert [parse_field(t, "f").spark_sql() for t in ["region", "day(ts)", "hour(ts)", "year(ts)", "bucket(16, id)", "truncate(4, code)"]] == [
        "`region`", "days(`ts`)", "hours(`ts`)", "years(`ts`)", "bucket(16, `id`)", "truncate(4, `code`)",
    ]
    assert [parse_field(t, "f").iceberg_name for t in ["region", "day(ts)", "bucket(16, id)", "truncate(4, code)"]] == ["region", "ts_day", "id_bucket", "code_trunc"]


@pytest.mark.parametrize(
    "text",
    ["day(ts); DROP TABLE x", "day(`ts`)", "bucket(id)", "day(4, ts)", "bucket(0, id)", "dya(ts)", "day( ts)", "day(ts)\n", "bucket(99999999, id)", "ts-x"],
)
def test_anything_else_is_a_bad_request_naming_the_field(text):
    with pytest.raises(BadRequest, match=r"field table\.partitionBy\[0\]"):
        Table.parse({**BODY, "partitionBy": [text]})


def test_a_hudi_table_takes_columns_only_and_no_field_twice():
    with pytest.raises(BadRequest, match="a Hudi table partitions by columns only, not day\\(ts\\)"):
        Table.parse({**BODY, "format": "hudi", "partitionBy": ["day(ts)"]})
    with pytest.raises(BadRequest, match="twice"):
        parse_fields(["id", "id"], "iceberg", "table.partitionBy")
    t = Table.parse({**BODY, "partitionBy": ["day(ts)", "bucket(4, id)", "ts"]})
    assert t.partition_by == ["day(ts)", "bucket(4, id)", "ts"]
    assert t.partition_columns == ["ts", "id"]
    # The recorded spec carries the canonical entries: what the reconciler compares.
    assert '"partitionBy": ["day(ts)", "bucket(4, id)", "ts"]' in t.spec_json()


def test_the_current_spec_is_read_from_an_evolved_metadata_file():
    meta = {
        "current-schema-id": 1,
        "schemas": [
            {"schema-id": 0, "fields": [{"id": 1, "name": "id"}, {"id": 2, "name": "ts"}]},
            {"schema-id": 1, "fields": [{"id": 1, "name": "id"}, {"id": 2, "name": "ts"}, {"id": 3, "name": "code"}]},
        ],
        "default-spec-id": 1,
        "partition-specs": [
            {"spec-id": 0, "fields": [{"name": "ts_day", "transform": "day", "source-id": 2, "field-id": 1000}, {"name": "id_bucket", "transform": "bucket[4]", "source-id": 1, "field-id": 1001}]},
            {"spec-id": 1, "fields": [{"name": "ts_month", "transform": "month", "source-id": 2, "field-id": 1002}, {"name": "code_trunc", "transform": "truncate[4]", "source-id": 3, "field-id": 1003}, {"name": "x", "transform": "void", "source-id": 1, "field-id": 1004}]},
        ],
    }
    assert spec_from_metadata(meta) == ["month(ts)", "truncate(4, code)"]
    assert spec_from_metadata({**meta, "default-spec-id": 0}) == ["day(ts)", "bucket(4, id)"]
    assert spec_from_metadata({"schemas": []}) is None


def test_types_are_checked_before_iceberg_is_asked_naming_table_field_and_type():
    fields = parse_fields(["day(ts)", "bucket(4, id)", "truncate(2, code)"], "iceberg", "p")
    check_types(fields, {"ts": "timestamp", "id": "int", "code": "string"}, "default.events")
    with pytest.raises(JobFailure, match=r"table default\.events: partitionBy day\(ts\): column ts is string, and day takes a date or timestamp column") as e:
        check_types(fields, {"ts": "string", "id": "int", "code": "string"}, "default.events")
    assert e.value.code == "SCHEMA_REFUSED"
    with pytest.raises(JobFailure, match=r"partitionBy hour\(d\): column d is date"):
        check_types(parse_fields(["hour(d)"], "iceberg", "p"), {"d": "date"}, "default.events")
    with pytest.raises(JobFailure, match=r"names column code, which the table and its source don't have"):
        check_types(fields, {"ts": "timestamp", "id": "int"}, "default.events")


def test_pyiceberg_spec_has_the_transforms_and_spark_s_field_names():
    pytest.importorskip("pyiceberg")
    from pyiceberg.schema import Schema
    from pyiceberg.types import IntegerType, NestedField, StringType, TimestampType

    from lakeform_jobs.partitioning import pyiceberg_spec

    schema = Schema(NestedField(1, "id", IntegerType()), NestedField(2, "ts", TimestampType()), NestedField(3, "code", StringType()))
    spec = pyiceberg_spec(parse_fields(["day(ts)", "bucket(16, id)", "truncate(4, code)", "code"], "iceberg", "p"), schema)
    assert [(f.name, str(f.transform), f.source_id, f.field_id) for f in spec.fields] == [
        ("ts_day", "day", 2, 1000), ("id_bucket", "bucket[16]", 1, 1001), ("code_trunc", "truncate[4]", 3, 1002), ("code", "identity", 3, 1003),
    ]
