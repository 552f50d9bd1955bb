"""The job server's side of the contract (lake/jobServerContract.ts, generated into
lakeform_jobs/contract/ by `npm run schema`): Python's request types read exactly the fields the
schema declares and its replies carry exactly the reply's, requests are validated against it
naming the field, and the constants Python acts on are the contract's."""

import dataclasses
import json

import pytest

from lakeform_jobs import contract, doctor, errors, journal, rebuild, replies, requests, types
from lakeform_jobs.contract import CONSTANTS, check, request_schema
from lakeform_jobs.errors import BadRequest
from lakeform_jobs.lease import Fence
from lakeform_jobs.server import operations
from lakeform_jobs.requests import Warehouse

# A JSON field's name where camelCase of the attribute isn't it.
JSON_NAMES = {"target_file_size_mb": "targetFileSizeMB"}

# Which request type parses each operation's body (server.py's operation table).
REQUEST_TYPES = {
    "write": requests.WriteRequest,
    "observe": requests.TableRequest,
    "maintain": requests.TableRequest,
    "register": requests.TableRequest,
    "resync": requests.TableRequest,
    "evolve_partitions": requests.TableRequest,
    "drop": requests.LocationRequest,
    "forget_catalog": requests.LocationRequest,
    "clear_leftovers": requests.LocationRequest,
    "travel": requests.TravelRequest,
    "count": requests.CountRequest,
    "changes": requests.ChangesRequest,
    "doctor": doctor.DoctorRequest,
    "rebuild": rebuild.RebuildRequest,
}


def json_fields(cls) -> set[str]:
    return {JSON_NAMES.get(f.name, types.camel(f.name)) for f in dataclasses.fields(cls)}


def properties(schema) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(properties(s) for s in schema["anyOf"]))
    return set(schema["properties"])


class FakeJobs:
    """What operations() reads of Jobs: one handler per operation."""

    def __getattr__(self, name):
        return lambda req: req


def test_every_operation_of_the_server_has_a_request_in_the_contract_and_its_type_is_the_one_listed():
    table = operations(FakeJobs(), Warehouse("lakeform-warehouse"))
    assert set(table) == set(contract.SCHEMA["definitions"]) == set(REQUEST_TYPES)


@pytest.mark.parametrize("cls", sorted(set(REQUEST_TYPES.values()), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_a_request_type_reads_exactly_the_fields_of_the_operations_it_parses(cls):
    ops = [op for op, c in REQUEST_TYPES.items() if c is cls]
    declared = set().union(*(properties(request_schema(op)) for op in ops))
    assert json_fields(cls) == declared


@pytest.mark.parametrize("op", sorted(op for op in REQUEST_TYPES if op != "doctor"))
def test_the_nested_types_read_exactly_the_contracts_fields(op):
    props = request_schema(op)["properties"]
    assert json_fields(types.Table) == properties(props["table"])
    table = props["table"]["properties"]
    assert json_fields(types.DeleteWhen) == properties(table["deleteWhen"])
    assert json_fields(types.Retain) == properties(table["retain"])
    if "source" in props:
        assert json_fields(types.Source) == properties(props["source"])
    if "lease" in props:
        assert json_fields(Fence) == properties(props["lease"])


# Which response type answers each operation (operations.py).
REPLY_TYPES = {
    "write": replies.WriteResult,
    "observe": replies.Observation,
    "maintain": replies.MaintainResult,
    "register": replies.RegisterResult,
    "resync": replies.ResyncResult,
    "evolve_partitions": replies.EvolveResult,
    "drop": replies.DropResult,
    "forget_catalog": replies.ForgetResult,
    "clear_leftovers": replies.ClearResult,
    "travel": replies.TravelResult,
    "count": replies.CountResult,
    "changes": replies.ChangesResult,
    "doctor": doctor.DoctorResult,
    "rebuild": rebuild.RebuildResult,
}


@pytest.mark.parametrize("op", sorted(REPLY_TYPES))
def test_a_reply_carries_exactly_the_contracts_fields(op):
    reply = contract.SCHEMA["replies"][op]
    assert json_fields(REPLY_TYPES[op]) == properties(reply)
    if op == "observe":
        commit = reply["properties"]["commits"]["items"]
        assert json_fields(replies.Commit) == properties(commit)
        items = reply["properties"]["journal"]["items"]
        assert set(journal.FIELDS) | set(journal.OPTIONAL_FIELDS) == properties(items)
        assert set(journal.FIELDS) == set(items["required"])
        assert {f.name for f in dataclasses.fields(journal.JournalEntry)} == properties(items)


TABLE = {"name": "leads", "database": "default", "format": "hudi", "primaryKey": ["id"], "partitionBy": [], "schemaPolicy": "addColumns", "location": "s3a://lakeform-warehouse/default/leads"}


def test_requests_as_the_client_sends_them_are_in_the_contract():
    check("write", {"table": TABLE, "source": {"uri": "s3a://b/x.csv", "hash": "h", "name": "x.csv", "once": True}, "generation": "3", "mustExist": True, "lease": {"key": "_lakeform/leases/default/leads.json", "generation": 2}})
    check("observe", {"table": TABLE, "rows": False})
    check("drop", {"table": {k: TABLE[k] for k in ("name", "database", "format", "location")}, "purge": True})
    check("travel", {"table": TABLE, "asOf": "20261124194100791", "filter": {"op": "cmp", "cmp": "=", "left": {"column": "id"}, "right": {"value": 1}}, "limit": 10})
    check("changes", {"table": TABLE, "since": None, "until": None, "limit": 100})


@pytest.mark.parametrize(
    "op,body,field",
    [
        ("travel", {"table": TABLE, "asOf": "1", "filter": {"column": "id"}}, "request.filter"),
        ("write", {"table": {**TABLE, "format": "delta"}, "source": {"uri": "s3a://b/x", "hash": "h"}, "generation": "1"}, "request.table.format"),
        ("observe", {"table": {**TABLE, "targetFileSizeMB": 0}}, "request.table.targetFileSizeMB"),
        ("count", {"table": TABLE}, "request"),
    ],
)
def test_a_request_outside_the_contract_is_a_bad_request_naming_the_field(op, body, field):
    with pytest.raises(BadRequest, match=rf"^field {field}: "):
        check(op, body)


def test_the_server_checks_what_its_parser_lets_through():
    table = operations(FakeJobs(), Warehouse("lakeform-warehouse"))
    with pytest.raises(BadRequest, match=r"field request.filter: 'op' is a required property"):
        table["travel"].parse({"table": TABLE, "asOf": "1", "filter": {"column": "id"}})


def test_the_constants_python_acts_on_are_the_contracts():
    assert types.IMMUTABLE_FIELDS == ("format", "primaryKey", "partitionBy") == tuple(CONSTANTS["immutableFields"])
    assert types.DEFAULT_RETAIN == types.Retain(days=float(CONSTANTS["defaultRetain"]["days"]))
    assert types.DEFAULT_TARGET_FILE_SIZE_MB == CONSTANTS["defaultTargetFileSizeMB"]
    assert journal.FIELDS == tuple(CONSTANTS["journal"]["fields"]) and journal.PREFIX == "_lakeform/journal"
    assert journal.OPTIONAL_FIELDS == tuple(CONSTANTS["journal"]["optionalFields"])
    assert errors.CODES == CONSTANTS["errorCodes"]


# ------------------------------------------------------------------ strict: no field the contract doesn't name

MINIMAL = {
    "write": {"table": TABLE, "source": {"uri": "s3a://b/x.csv", "hash": "h"}, "generation": "1"},
    "observe": {"table": TABLE},
    "maintain": {"table": TABLE},
    "register": {"table": TABLE},
    "resync": {"table": TABLE},
    "drop": {"table": TABLE, "purge": False},
    "forget_catalog": {"table": TABLE},
    "clear_leftovers": {"table": TABLE},
    "travel": {"table": TABLE, "asOf": "1"},
    "count": {"table": TABLE, "filter": {"op": "bool", "value": {"bool": True}}},
    "changes": {"table": TABLE},
}


@pytest.mark.parametrize("op", sorted(MINIMAL))
def test_a_request_with_a_field_the_contract_doesnt_name_is_refused_naming_it(op):
    check(op, MINIMAL[op])
    with pytest.raises(BadRequest, match=r"^field request: .*'shard' was unexpected"):
        check(op, {**MINIMAL[op], "shard": 3})
    with pytest.raises(BadRequest, match=r"^field request.table: .*'owner' was unexpected"):
        check(op, {**MINIMAL[op], "table": {**TABLE, "owner": "x"}})


def test_a_source_or_a_lease_with_an_unknown_field_is_refused_but_a_filter_tree_is_filter_pys_to_check():
    with pytest.raises(BadRequest, match=r"^field request.source: .*'size' was unexpected"):
        check("write", {**MINIMAL["write"], "source": {"uri": "s3a://b/x.csv", "hash": "h", "size": 3}})
    with pytest.raises(BadRequest, match=r"^field request.lease: .*'holder' was unexpected"):
        check("observe", {"table": TABLE, "lease": {"key": "_lakeform/leases/default/leads.json", "generation": 1, "holder": "me"}})
    check("count", {"table": TABLE, "filter": {"op": "cmp", "cmp": "=", "left": {"col": "id"}, "right": {"num": "1"}}})


REPLIES = {
    "write": replies.WriteResult(commit="1", rows_written=2, renamed={}, columns=["id"], added_columns=[], duration_ms=5, operation="bulk").to_json(),
    "drop": replies.DropResult(dropped=True).to_json(),
    "count": replies.CountResult(rows=4).to_json(),
    "register": replies.RegisterResult(registered=True).to_json(),
    "clear_leftovers": replies.ClearResult(cleared=False).to_json(),
    "travel": replies.TravelResult(columns=["id"], types=["int"], rows=[[1]]).to_json(),
}


@pytest.mark.parametrize("op", sorted(REPLIES))
def test_a_reply_is_the_contracts_and_one_with_an_unknown_field_is_refused(op):
    assert contract.reply_refusal(op, REPLIES[op]) is None
    why = contract.reply_refusal(op, {**REPLIES[op], "extra": 1})
    assert why is not None and "'extra' was unexpected" in why


def test_the_get_replies_progress_and_healthz_are_the_contracts():
    from lakeform_jobs.progress import WriteProgress

    w = WriteProgress(table="default.leads", source="a.csv", bytes_total=100, stages=[("writing", 0.0)]).to_json({"bytesRead": 50, "tasks": 4})
    assert contract.reply_refusal("progress", {"writes": [w]}) is None
    assert "'eta' was unexpected" in (contract.reply_refusal("progress", {"writes": [{**w, "eta": 3}]}) or "")
    health = {"spark": "3.5.3", "hudiUpsertIndex": "BLOOM", "sparkJobs": None}
    assert contract.reply_refusal("healthz", health) is None
    assert "'uptime' was unexpected" in (contract.reply_refusal("healthz", {**health, "uptime": 1}) or "")


def test_a_change_document_with_an_unknown_field_is_refused():
    from lakeform_jobs.crud import ChangeDocument

    base = {"lakeformChange": 1, "op": "delete", "where": "id = 1", "requestedAt": "2026-12-03T10:00:00Z"}
    assert ChangeDocument.parse(json.dumps(base)).where == "id = 1"
    with pytest.raises(BadRequest, match=r"^field change document: .*'by' was unexpected"):
        ChangeDocument.parse(json.dumps({**base, "by": "me"}))
