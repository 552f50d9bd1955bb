"""The job server's HTTP edge, over real HTTP to a server on 127.0.0.1 (an ephemeral port) with a
stand-in for the operations (no Spark): who may ask, what a body may be, where a table may be."""

import http.client
import json
import threading

import pytest

from lakeform_jobs import server
from lakeform_jobs.server import ConfigError, Guard, main
from lakeform_jobs.requests import Warehouse
from lakeform_jobs.replies import DropResult, MaintainResult

SECRET = "lakeform-jobs-0123456789abcdefghij"
BUCKET = "warehouse"
TABLE = {"name": "leads", "database": "default", "format": "iceberg", "primaryKey": ["id"], "location": f"s3a://{BUCKET}/default/leads"}


class FakeJobs:
    """The operations the server would run: records what reached them."""

    class spark:
        version = "3.5.5"

    class progress:
        @staticmethod
        def snapshot(table):
            return [{"table": table or "default.leads", "stage": "writing"}]

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def op(req):
            self.calls.append((name, req))
            if name == "maintain":
                return MaintainResult(actions=["expire"], commits_before=3, commits_after=1, data_files_before=None, data_files_after=None, oldest_commit=None, duration_ms=1)
            return DropResult(True)

        return op


@pytest.fixture(scope="module")
def running():
    jobs = FakeJobs()
    httpd = server.serve(jobs, Warehouse(BUCKET), Guard.create(SECRET), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield jobs, httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def srv(running):
    """The module's server, with no operation run yet."""
    running[0].calls.clear()
    return running


def call(port, method, path, body=None, *, secret=SECRET, headers=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"content-type": "application/json"} if method == "POST" else {}
    if secret is not None:
        h["authorization"] = f"Bearer {secret}"
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn.request(method, path, body=data, headers={k: v for k, v in h.items() if v is not None})
    res = conn.getresponse()
    out = res.status, json.loads(res.read() or b"{}"), res.msg
    conn.close()
    return out


def test_without_the_secret_a_drop_is_401_and_never_reaches_the_operation(srv):
    jobs, port = srv
    status, reply, headers = call(port, "POST", "/v1/drop", {"table": TABLE, "purge": True}, secret=None)
    assert status == 401 and reply["error"]["code"] == "UNAUTHORIZED"
    assert (headers.get("WWW-Authenticate") or "").startswith("Bearer")
    assert jobs.calls == []


def test_a_wrong_secret_is_401_whatever_its_length(srv):
    jobs, port = srv
    for wrong in ["x", SECRET[:-1], SECRET + "x", SECRET.upper(), ""]:
        status, reply, _ = call(port, "POST", "/v1/maintain", {"table": {**TABLE, "retain": {"commits": 1}}}, secret=wrong)
        assert (status, reply["error"]["code"]) == (401, "UNAUTHORIZED"), wrong
    # Another scheme with the right secret isn't the bearer token either.
    status, _, _ = call(port, "POST", "/v1/maintain", {"table": TABLE}, secret=None, headers={"authorization": f"Basic {SECRET}"})
    assert status == 401
    assert jobs.calls == []


def test_progress_needs_the_secret_too(srv):
    _, port = srv
    assert call(port, "GET", "/progress", secret=None)[0] == 401
    status, reply, _ = call(port, "GET", "/progress?table=default.leads")
    assert status == 200 and reply["writes"][0]["table"] == "default.leads"


def test_healthz_answers_without_the_secret_and_tells_no_secret(srv):
    _, port = srv
    status, reply, _ = call(port, "GET", "/healthz", secret=None)
    assert status == 200 and reply == {"ok": True, "spark": "3.5.5", "hudiUpsertIndex": reply["hudiUpsertIndex"], "sparkJobs": reply["sparkJobs"]}
    assert SECRET not in json.dumps(reply) and BUCKET not in json.dumps(reply)


def test_the_right_secret_reaches_the_operation(srv):
    jobs, port = srv
    status, reply, _ = call(port, "POST", "/v1/maintain", {"table": {**TABLE, "retain": {"commits": 2}}})
    assert status == 200 and reply["ok"] is True and reply["commitsAfter"] == 1
    assert [c[0] for c in jobs.calls] == ["maintain"]
    assert jobs.calls[0][1].table.retain.commits == 2
    # A kept-alive connection serves the next request too.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(2):
        conn.request("POST", "/v1/drop", body=json.dumps({"table": TABLE, "purge": True}), headers={"content-type": "application/json; charset=utf-8", "authorization": f"Bearer {SECRET}"})
        res = conn.getresponse()
        assert res.status == 200 and json.loads(res.read())["dropped"] is True
    conn.close()
    assert [c[0] for c in jobs.calls] == ["maintain", "drop", "drop"]


def test_text_plain_is_415_even_with_the_secret(srv):
    jobs, port = srv
    # What a web page can post to 127.0.0.1 without a CORS preflight.
    status, reply, _ = call(port, "POST", "/v1/drop", {"table": TABLE, "purge": True}, headers={"content-type": "text/plain"})
    assert status == 415 and reply["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    status, _, _ = call(port, "POST", "/v1/drop", {"table": TABLE, "purge": True}, headers={"content-type": None})
    assert status == 415
    assert jobs.calls == []


def test_a_request_with_an_origin_header_is_refused(srv):
    jobs, port = srv
    status, reply, _ = call(port, "POST", "/v1/drop", {"table": TABLE, "purge": True}, headers={"origin": "http://127.0.0.1:8998"})
    assert status == 403 and reply["error"]["code"] == "FORBIDDEN"
    assert call(port, "GET", "/healthz", secret=None, headers={"origin": "null"})[0] == 403
    assert jobs.calls == []


def test_a_host_header_of_another_name_is_refused_dns_rebinding(srv):
    jobs, port = srv
    status, reply, _ = call(port, "POST", "/v1/observe", {"table": TABLE}, headers={"host": f"attacker.example:{port}"})
    assert status == 403 and reply["error"]["code"] == "FORBIDDEN"
    assert call(port, "GET", "/healthz", secret=None, headers={"host": "rebind.example"})[0] == 403
    for ok in [f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}"]:
        assert call(port, "GET", "/healthz", secret=None, headers={"host": ok})[0] == 200, ok
    assert jobs.calls == []


def test_a_body_over_the_cap_is_413_without_being_read(srv):
    jobs, port = srv
    big = json.dumps({"table": TABLE, "pad": "x" * (server.MAX_BODY_BYTES + 1)}).encode()
    status, reply, headers = call(port, "POST", "/v1/observe", raw=big)
    assert status == 413 and reply["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert headers.get("Connection") == "close"
    assert jobs.calls == []


@pytest.mark.parametrize(
    "location,words",
    [
        ("file:/tmp/leads", "not s3a://"),
        ("file:///etc", "not s3a://"),
        ("hdfs://nn/warehouse/default/leads", "not s3a://"),
        ("s3://warehouse/default/leads", "not s3a://"),
        ("/tmp/leads", "not s3a://"),
        ("s3a://other-bucket/default/leads", "outside the warehouse bucket"),
        ("s3a://warehouse/default/../../other/leads", "'..'"),
        ("s3a://warehouse/default/./leads", "'..'"),
        ("s3a://warehouse//leads", "'..'"),
        ("s3a://warehouse/default/%2e%2e", "'..'"),
        ("s3a://warehouse/_lakeform/journal", "Lakeform's own files"),
    ],
)
def test_a_table_outside_the_warehouse_bucket_is_400_naming_the_field(srv, location, words):
    jobs, port = srv
    table = {**TABLE, "location": location}
    bodies = {
        "observe": {"table": table},
        "write": {"table": table, "source": {"uri": f"s3a://{BUCKET}/_lakeform/landing/a.csv", "hash": "h"}, "generation": "1"},
        "drop": {"table": table, "purge": True},
        "maintain": {"table": table},
    }
    for op, body in bodies.items():
        status, reply, _ = call(port, "POST", f"/v1/{op}", body)
        assert status == 400 and reply["error"]["code"] == "BAD_REQUEST", (op, location, reply)
        assert "table.location" in reply["error"]["message"] and words in reply["error"]["message"], reply
    assert jobs.calls == []


def test_a_purge_removes_only_a_tables_own_location(srv):
    jobs, port = srv
    whole_db = {**TABLE, "location": f"s3a://{BUCKET}/default"}
    status, reply, _ = call(port, "POST", "/v1/drop", {"table": whole_db, "purge": True})
    assert status == 400 and "a purge removes only a table's own location" in reply["error"]["message"]
    assert call(port, "POST", "/v1/drop", {"table": TABLE, "purge": True})[0] == 200
    assert [(c[0], c[1].table.location, c[1].purge) for c in jobs.calls] == [("drop", TABLE["location"], True)]


@pytest.mark.parametrize(
    "source,words",
    [
        ({"uri": "file:/etc/passwd", "hash": "h"}, "source.uri"),
        ({"uri": "/etc/passwd", "hash": "h"}, "source.uri"),
        ({"uri": "s3a://any/../x.csv", "hash": "h"}, "source.uri"),
    ],
)
def test_a_write_reads_only_s3a_sources(srv, source, words):
    jobs, port = srv
    status, reply, _ = call(port, "POST", "/v1/write", {"table": TABLE, "source": source, "generation": "1"})
    assert status == 400 and words in reply["error"]["message"]
    # Any bucket: a table's declared s3:// sources are read where they are.
    status, _, _ = call(port, "POST", "/v1/write", {"table": TABLE, "source": {"uri": "s3a://their-bucket/in/x.csv", "hash": "h"}, "generation": "1"})
    assert status == 200
    assert [c[0] for c in jobs.calls] == ["write"]


@pytest.mark.parametrize(
    "table,words",
    [
        ({"primaryKey": ["id; DROP TABLE x"]}, "table.primaryKey"),
        ({"partitionBy": ["a b"]}, "table.partitionBy"),
        ({"orderingField": "`x`"}, "table.orderingField"),
        ({"deleteWhen": {"column": "x)", "equals": ["1"]}}, "table.deleteWhen.column"),
        ({"retain": {"commits": 0}}, "table.retain"),
        ({"retain": {"days": -1}}, "table.retain"),
        ({"targetFileSizeMB": 0}, "table.targetFileSizeMB"),
        ({"targetFileSizeMB": 4097}, "table.targetFileSizeMB"),
    ],
)
def test_a_tables_fields_are_checked(srv, table, words):
    jobs, port = srv
    status, reply, _ = call(port, "POST", "/v1/maintain", {"table": {**TABLE, **table}})
    assert status == 400 and words in reply["error"]["message"], reply
    assert jobs.calls == []


def test_nan_and_infinity_are_not_json(srv):
    jobs, port = srv
    raw = json.dumps({"table": {**TABLE, "retain": {"days": 1}}}).replace('"days": 1', '"days": Infinity').encode()
    status, reply, _ = call(port, "POST", "/v1/maintain", raw=raw)
    assert status == 400 and "not JSON" in reply["error"]["message"]
    assert jobs.calls == []


def test_an_empty_or_short_secret_never_serves():
    for secret in [None, "", "   ", "short"]:
        with pytest.raises(ConfigError):
            Guard.create(secret)


def test_serve_mode_refuses_to_start_without_a_secret(monkeypatch, capsys):
    monkeypatch.delenv(server.SECRET_ENV, raising=False)
    monkeypatch.setenv(server.BUCKET_ENV, BUCKET)
    # Returns before Spark starts: the configuration is checked first.
    assert main(["--serve", "--port", "0"]) == 2
    assert server.SECRET_ENV in capsys.readouterr().err
    monkeypatch.setenv(server.SECRET_ENV, "")
    assert main(["--serve", "--port", "0"]) == 2
    monkeypatch.setenv(server.SECRET_ENV, SECRET)
    monkeypatch.delenv(server.BUCKET_ENV)
    assert main(["--serve", "--port", "0"]) == 2
    assert server.BUCKET_ENV in capsys.readouterr().err
