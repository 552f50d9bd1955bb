"""The operation table and the reply shapes, with a stand-in for the operations (no Spark)."""

from lakeform_jobs.errors import BadCsv
from lakeform_jobs.server import operations, run
from lakeform_jobs.requests import Warehouse
from lakeform_jobs.replies import ClearResult, DropResult, ForgetResult

TABLE = {"name": "leads", "database": "default", "format": "iceberg", "primaryKey": ["id"], "location": "s3a://w/default/leads"}
WAREHOUSE = Warehouse("w")


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def op(req):
            self.calls.append((name, req))
            if name == "write":
                raise BadCsv("line 3 has a different number of fields than the header (2)")
            if name == "observe":
                raise RuntimeError("boom")
            return {"drop": DropResult(True), "forget_catalog": ForgetResult(False), "clear_leftovers": ClearResult(False)}.get(name, DropResult(True))

        return op


def test_one_table_with_every_operation_for_both_modes():
    assert sorted(operations(Recorder(), WAREHOUSE)) == sorted(["write", "observe", "travel", "count", "changes", "maintain", "drop", "register", "resync", "evolve_partitions", "forget_catalog", "clear_leftovers", "doctor", "rebuild"])


def test_a_repair_takes_where_the_table_is_and_no_field_its_operation_doesnt_read():
    rec = Recorder()
    table = operations(rec, WAREHOUSE)
    for op, body in (("forget_catalog", {"table": TABLE}), ("clear_leftovers", {"table": TABLE}), ("drop", {"table": TABLE, "purge": False})):
        status, reply = run(table, op, body)
        assert status == 200 and reply["ok"] is True, reply
    assert [c[0] for c in rec.calls] == ["forget_catalog", "clear_leftovers", "drop"]
    assert rec.calls[0][1].table.location == "s3a://w/default/leads"
    # The contract's requests are strict: drop's purge is not forget_catalog's.
    status, reply = run(table, "forget_catalog", {"table": TABLE, "purge": False})
    assert status == 400 and reply["error"]["code"] == "BAD_REQUEST" and "'purge' was unexpected" in reply["error"]["message"], reply
    assert len(rec.calls) == 3


def test_failures_reply_with_code_and_its_http_status():
    table = operations(Recorder(), WAREHOUSE)
    status, reply = run(table, "write", {"table": TABLE, "source": {"uri": "s3a://w/_lakeform/landing/u.csv", "hash": "h"}, "generation": "1"})
    assert status == 400 and reply["error"]["code"] == "BAD_CSV" and "line 3" in reply["error"]["message"]
    status, reply = run(table, "observe", {"table": TABLE})
    assert status == 500 and reply["error"]["code"] == "SPARK_ERROR" and reply["error"]["detail"]
    status, reply = run(table, "observe", {})
    assert status == 400 and reply["error"]["code"] == "BAD_REQUEST" and "request.table" in reply["error"]["message"]
    status, reply = run(table, "compact", {"table": TABLE})
    assert status == 404 and reply["error"]["code"] == "NOT_FOUND"
    status, reply = run(table, "drop", [1, 2])
    assert status == 400 and reply["error"]["code"] == "BAD_REQUEST"
