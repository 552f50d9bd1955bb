import json

import pytest

from lakeform_jobs.errors import BadRequest, JobFailure
from lakeform_jobs.types import Table
from lakeform_jobs.requests import LocationRequest, TravelRequest, WriteRequest
from lakeform_jobs.replies import ClearResult, Commit, RegisterResult, WriteResult

TABLE = {
    "name": "leads",
    "database": "default",
    "format": "hudi",
    "primaryKey": ["Index"],
    "orderingField": "updated_at",
    "partitionBy": [],
    "schemaPolicy": "addColumns",
    "location": "s3a://lakeform-warehouse/default/leads",
}


def write_body(**over):
    return {"table": {**TABLE, **over.pop("table", {})}, "source": {"uri": "s3a://b/_lakeform/landing/x.csv", "hash": "abc", "name": "leads.csv"}, "generation": "3", **over}


def test_a_write_request_parses_into_types():
    req = WriteRequest.parse(write_body())
    assert req.table == Table(
        name="leads", database="default", format="hudi", location="s3a://lakeform-warehouse/default/leads", primary_key=["Index"], ordering_field="updated_at", partition_by=[], schema_policy="addColumns"
    )
    assert req.source.hash == "abc" and req.generation == "3"
    assert req.table.key == "default.leads"
    assert json.loads(req.table.spec_json()) == {"format": "hudi", "primaryKey": ["Index"], "partitionBy": []}


def test_optional_fields_take_their_defaults():
    body = write_body()
    for k in ("orderingField", "partitionBy", "schemaPolicy", "database"):
        del body["table"][k]
    t = WriteRequest.parse(body).table
    assert (t.ordering_field, t.partition_by, t.schema_policy, t.database) == (None, [], "addColumns", "default")


@pytest.mark.parametrize(
    "body,code,words",
    [
        ({"source": {"uri": "u", "hash": "h"}, "generation": "1"}, "BAD_REQUEST", "missing field request.table"),
        (write_body(table={"format": "delta"}), "BAD_REQUEST", "table.format"),
        (write_body(table={"name": "Leads; DROP"}), "BAD_TABLE_NAME", "not a valid identifier"),
        # A pattern's `$` matches before a final newline: names and paths are matched whole.
        (write_body(table={"name": "leads\n"}), "BAD_TABLE_NAME", "not a valid identifier"),
        (write_body(table={"database": "default\n"}), "BAD_REQUEST", "database"),
        (write_body(table={"primaryKey": ["Index\n"]}), "BAD_REQUEST", "column name"),
        (write_body(table={"location": "s3a://warehouse/default/leads\n"}), "BAD_REQUEST", "table.location"),
        (write_body(table={"database": "a.b"}), "BAD_REQUEST", "database"),
        (write_body(table={"primaryKey": [1]}), "BAD_REQUEST", "list of strings"),
        (write_body(table={"location": "/tmp/x"}), "BAD_REQUEST", "s3a://"),
        (write_body(table={"schemaPolicy": "loose"}), "BAD_REQUEST", "schemaPolicy"),
        (write_body(generation=None), "BAD_REQUEST", "missing field request.generation"),
        (write_body(source={"uri": "u"}), "BAD_REQUEST", "source.hash"),
    ],
)
def test_bad_requests_name_the_field(body, code, words):
    with pytest.raises(JobFailure) as e:
        WriteRequest.parse(body)
    assert e.value.code == code
    assert words in e.value.message


def test_drop_needs_only_the_location():
    req = LocationRequest.parse({"table": {"name": "leads", "database": "default", "format": "iceberg", "location": "s3a://w/default/leads"}, "purge": True})
    assert req.purge is True and req.table.primary_key == []


def test_travel_request():
    tree = {"op": "cmp", "cmp": ">", "left": {"col": "index"}, "right": {"num": "3"}}
    req = TravelRequest.parse({"table": TABLE, "asOf": 20261124194100791, "filter": tree})
    assert (req.as_of, req.filter, req.limit) == ("20261124194100791", tree, 1000)
    # Filter text is never taken: Spark's parser would read it as SQL.
    with pytest.raises(BadRequest, match="not taken"):
        TravelRequest.parse({"table": TABLE, "asOf": "20261124194100791", "where": "index > 3"})
    with pytest.raises(JobFailure):
        TravelRequest.parse({"table": TABLE, "asOf": "x", "limit": -1})


def test_responses_are_the_json_the_client_reads():
    assert WriteResult(commit="1", rows_written=2, renamed={"A": "a"}, columns=["a"], added_columns=[], duration_ms=5, operation="upsert").to_json() == {
        "commit": "1",
        "rowsWritten": 2,
        "renamed": {"A": "a"},
        "columns": ["a"],
        "addedColumns": [],
        "durationMs": 5,
        "operation": "upsert",
    }
    assert RegisterResult(registered=False).to_json() == {"registered": False}
    assert RegisterResult(registered=True, metadata_file="m").to_json() == {"registered": True, "metadataFile": "m"}
    assert ClearResult(cleared=False).to_json() == {"cleared": False}
    assert Commit(commit="1", time="t", source_hash="h").to_json()["sourceHash"] == "h"
