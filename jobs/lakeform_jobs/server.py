"""Lakeform's Spark job server: one warm Spark driver serving the reconciler's requests.

A JVM start costs tens of seconds on a small machine, so instead of one spark-submit per CSV,
this program keeps a SparkSession and answers JSON requests over HTTP on 127.0.0.1:

  GET  /healthz               the driver is up (the index its Hudi upserts use, how many Spark jobs it ran)
  GET  /progress[?table=db.t] the writes in flight: stage, rows and bytes done (see progress.py)
  POST /v1/write              upsert one CSV source into a table (Hudi or Iceberg), or apply a
                              landed change document (a delete or an update made by hand)
  POST /v1/observe            what the table holds: commits with their Lakeform metadata, rows, columns
  POST /v1/travel             rows of a table as of a commit or a time (filtered by a filter tree)
  POST /v1/count              how many current rows a filter tree matches (a delete's dry run)
  POST /v1/changes            rows inserted/updated and keys deleted between two commits, each with its commit
  POST /v1/maintain           retention (expire history), orphan files, compaction towards the target size
  POST /v1/drop               drop a table (and its files with purge)
  POST /v1/register           put a table whose files are intact back into the metastore
  POST /v1/resync             sync a metastore entry that lags the table's latest commit again
  POST /v1/evolve_partitions  Iceberg partition evolution to the table's partitionBy (metadata only, nothing rewritten)
  POST /v1/forget_catalog     forget a metastore entry whose table files are gone
  POST /v1/clear_leftovers    move aside files left where no table is, so a new one can be made
  POST /v1/rebuild            rewrite a table into a new layout (key, partitioning, format) and swap it in (rebuild.py)
  POST /v1/doctor             what Spark runs (Spark, Scala, the Hudi and Iceberg bundles) and whether it
                              reaches S3 (a canary) and the metastore: `lakeform doctor`'s Spark side

The same operation table answers one-shot mode (`--request '{"op": "write", ...}'`).

Who may ask (the trust boundary: loopback is not one, every other user of the machine and every
web page a browser on it opens is a stranger):
  - every request but GET /healthz carries `Authorization: Bearer <secret>`, the stack's
    jobServerSecret, given to the server in its environment (LAKEFORM_JOB_SERVER_SECRET, set by
    the Spark component's plan: never on a command line, where ps shows it to every user). Without
    it, or with another, 401 UNAUTHORIZED; `--serve` refuses to start without a secret;
  - a request with an Origin header (a browser's; Lakeform's clients send none), or whose Host
    isn't 127.0.0.1, localhost or this server's own host name (DNS rebinding), is refused (403);
  - a POST body is `application/json` (else 415) of at most 1 MiB (else 413);
  - every table is in the warehouse bucket (LAKEFORM_WAREHOUSE_BUCKET), sources are s3a:// URIs
    (requests.py: Warehouse; types.py: Table.parse, Source.parse).
One-shot mode is a local process run by the stack's user: it needs no secret.

Errors answer {"ok": false, "error": {"code", "message", "detail"}} with the code's HTTP status
(lake/errorCodes.json).

Writes to one table are serialised here (Hudi without a lock provider must never see two writers).
Every write records the source's content hash and the spec generation in the commit itself
(Hudi extra metadata, Iceberg snapshot summary): the lake is the reconciler's only state.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import re
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from .contract import checked
from .doctor import Doctor, DoctorRequest
from .errors import BadRequest, JobFailure, classify
from .formats.hudi import UPSERT_INDEX
from .rebuild import RebuildRequest
from .replies import Response
from .requests import ChangesRequest, CountRequest, LocationRequest, TableRequest, TravelRequest, Warehouse, WriteRequest

if TYPE_CHECKING:
    from .operations import Jobs

log = logging.getLogger("lakeform.jobs")

# Where the server's configuration comes from (the Spark component's plan sets them).
SECRET_ENV = "LAKEFORM_JOB_SERVER_SECRET"
BUCKET_ENV = "LAKEFORM_WAREHOUSE_BUCKET"
# More names this server answers to besides loopback and its own host name (comma-separated).
HOSTS_ENV = "LAKEFORM_JOB_SERVER_HOSTS"
# Requests are a table's layout and a URI, or a filter tree: far below this.
MAX_BODY_BYTES = 1024 * 1024
# A shorter secret is one set by hand that someone could guess (generated ones are 32 characters).
MIN_SECRET_CHARS = 16


@dataclass(frozen=True)
class Operation:
    """One entry of the operation table: how to parse its request, and what answers it."""

    name: str
    parse: Callable[[dict[str, Any]], Any]
    run: Callable[[Any], Response]


def operations(jobs: "Jobs", warehouse: Warehouse) -> dict[str, Operation]:
    """The one operation table: name -> (request parser, handler). HTTP and one-shot mode both use
    it; every parser checks the request against the contract (contract/) and admits only tables
    in the warehouse bucket."""

    def admit(op: str, parse: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        # Then the table where it lives: a rebuilt table's files are no longer at its home (placement.py).
        admitted = warehouse.parser(checked(op, parse))
        return lambda body: placed(admitted(body))

    # Jobs.placed (stand-ins for Jobs in tests have none: their tables are where they say).
    method = getattr(type(jobs), "placed", None)
    placed: Callable[[Any], Any] = (lambda req: method(jobs, req)) if method else (lambda req: req)

    return {
        op.name: op
        for op in [
            Operation("write", admit("write", WriteRequest.parse), jobs.write),
            Operation("observe", admit("observe", TableRequest.parse), jobs.observe),
            Operation("travel", admit("travel", TravelRequest.parse), jobs.travel),
            Operation("count", admit("count", CountRequest.parse), jobs.count),
            Operation("changes", admit("changes", ChangesRequest.parse), jobs.changes),
            Operation("maintain", admit("maintain", TableRequest.parse), jobs.maintain),
            Operation("drop", admit("drop", LocationRequest.parse), jobs.drop),
            Operation("register", admit("register", TableRequest.parse), jobs.register),
            Operation("resync", admit("resync", TableRequest.parse), jobs.resync),
            Operation("evolve_partitions", admit("evolve_partitions", TableRequest.parse), jobs.evolve_partitions),
            Operation("forget_catalog", admit("forget_catalog", LocationRequest.parse), jobs.forget_catalog),
            # `lakeform doctor`'s Spark side: no table; read-only but its S3 canary (doctor.py).
            Operation("doctor", checked("doctor", DoctorRequest.parse), lambda req: Doctor(jobs.spark, warehouse.bucket).run(req)),
            Operation("clear_leftovers", admit("clear_leftovers", LocationRequest.parse), jobs.clear_leftovers),
            # A rebuild into a new layout resolves its tables itself (rebuild.py).
            Operation("rebuild", warehouse.parser(checked("rebuild", RebuildRequest.parse)), jobs.rebuild),
        ]
    }


def spark_jobs_run(spark: Any) -> int | None:
    """How many Spark jobs the driver has run since it started (job ids count up from 0; the
    status store lists the newest first): what shows an observe ran none. None if unreadable."""
    try:
        it = spark.sparkContext._jsc.sc().statusStore().jobsList(None).iterator()
        return int(it.next().jobId()) + 1 if it.hasNext() else 0
    except Exception:
        return None


class ConfigError(Exception):
    """The server can't serve as configured (no secret, no warehouse bucket): said at start, not per request."""


@dataclass(frozen=True)
class Guard:
    """Who may ask: the bearer secret, the Host names this server answers to. Checked for every
    request before its body is read."""

    secret: bytes
    hosts: frozenset[str]

    @staticmethod
    def create(secret: str | None, extra_hosts: Iterable[str] = ()) -> "Guard":
        if secret is None or not secret.strip():
            raise ConfigError(f"no job server secret: set {SECRET_ENV} (the stack's jobServerSecret); the job server never serves without one")
        if len(secret.strip()) < MIN_SECRET_CHARS:
            raise ConfigError(f"the job server secret ({SECRET_ENV}) is shorter than {MIN_SECRET_CHARS} characters: too easy to guess")
        names = {"127.0.0.1", "localhost", "::1", socket.gethostname(), *extra_hosts}
        return Guard(secret.strip().encode(), frozenset(n.strip().lower() for n in names if n and n.strip()))

    def refusal(self, headers: Any, *, authenticate: bool) -> JobFailure | None:
        """Why a request with these headers is refused, or None. `authenticate=False` for GET /healthz."""
        if headers.get("origin") is not None:
            return JobFailure("FORBIDDEN", "requests from a web page (with an Origin header) are refused")
        host = host_name(headers.get("host"))
        if host is None or host not in self.hosts:
            return JobFailure("FORBIDDEN", "the request's Host header doesn't name this job server")
        if authenticate and not self.authorized(headers.get("authorization")):
            return JobFailure("UNAUTHORIZED", "the job server needs the stack's secret: Authorization: Bearer <jobServerSecret>")
        return None

    def authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").strip().partition(" ")
        # compare_digest's time doesn't depend on where a wrong token differs from the secret.
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.secret)


def host_name(host: str | None) -> str | None:
    """The name in a Host header, without its port: '127.0.0.1:8998' -> '127.0.0.1', '[::1]:8998' -> '::1'."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def json_body(raw: bytes) -> Any:
    """A request body as JSON: NaN and Infinity are not JSON (Python's parser takes them by default)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON value")

    return json.loads(raw or b"{}", parse_constant=refuse)



def run(table: dict[str, Operation], name: str, body: Any) -> tuple[int, dict[str, Any]]:
    """Runs one operation on a JSON body: (HTTP status, JSON reply). Never raises."""
    op = table.get(name)
    if op is None:
        return 404, JobFailure("NOT_FOUND", f"no such operation {name!r} (operations: {', '.join(table)})").reply()
    started = time.time()
    table_name = body.get("table", {}).get("name") if isinstance(body, dict) and isinstance(body.get("table"), dict) else None
    try:
        if not isinstance(body, dict):
            raise BadRequest("the request must be a JSON object")
        result = op.run(op.parse(body))
        log.info("op=%s table=%s took %.1fs", name, table_name, time.time() - started)
        return 200, {"ok": True, **result.to_json()}
    except Exception as e:  # reported with its code; the server keeps serving
        failure = classify(e, traceback.format_exc())
        if failure is e:
            log.warning("op=%s table=%s failed: %s: %s", name, table_name, failure.code, failure.message)
        else:
            log.error("op=%s table=%s crashed: %s", name, table_name, traceback.format_exc())
        return failure.http_status, failure.reply()


def make_handler(jobs: "Jobs", table: dict[str, Operation], guard: Guard):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def reply(self, status: int, body: dict[str, Any], *, close: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if status == 401:
                self.send_header("www-authenticate", 'Bearer realm="lakeform-jobs"')
            if close:
                # A body left unread would be parsed as the next request on a kept-alive connection.
                self.send_header("connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            if close:
                self.linger()

        def linger(self) -> None:
            """Reads and drops what the client still sends (at most a bounded while and size) after
            the reply: a socket closed with unread data answers with a reset, and the client would
            see ECONNRESET instead of the reply."""
            try:
                declared = int(self.headers.get("content-length") or "0")
            except ValueError:
                declared = 0
            left = min(max(declared, 0), 2 * MAX_BODY_BYTES)
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(1.0)
                deadline = time.monotonic() + 2.0
                while left > 0 and time.monotonic() < deadline:
                    chunk = self.connection.recv(min(65536, left))
                    if not chunk:
                        break
                    left -= len(chunk)
            except OSError:
                pass

        def refuse(self, failure: JobFailure, *, close: bool = False) -> None:
            log.warning("refused %s %s from %s: %s %s", self.command, urlsplit(self.path).path, self.address_string(), failure.code, failure.message)
            self.reply(failure.http_status, failure.reply(), close=close)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            refusal = guard.refusal(self.headers, authenticate=url.path != "/healthz")
            if refusal:
                self.refuse(refusal)
            elif url.path == "/healthz":
                # The process health check: nothing in it is a secret or a table's.
                self.reply(200, {"ok": True, "spark": jobs.spark.version, "hudiUpsertIndex": UPSERT_INDEX, "sparkJobs": spark_jobs_run(jobs.spark)})
            elif url.path == "/progress":
                name = parse_qs(url.query).get("table", [None])[0]
                self.reply(200, {"ok": True, "writes": jobs.progress.snapshot(name)})
            else:
                self.reply(404, JobFailure("NOT_FOUND", f"no such path {url.path}").reply())

        def do_POST(self) -> None:
            # Every refusal before the body is read closes the connection: a stranger's body is never read.
            refusal = guard.refusal(self.headers, authenticate=True)
            if refusal:
                self.refuse(refusal, close=True)
                return
            media = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
            if media != "application/json":
                self.refuse(JobFailure("UNSUPPORTED_MEDIA_TYPE", f"a request body is application/json, not {media or 'untyped'}"), close=True)
                return
            if self.headers.get("transfer-encoding") is not None:
                self.refuse(BadRequest("a request body has a content-length (no transfer-encoding)"), close=True)
                return
            try:
                length = int(self.headers.get("content-length") or "0")
            except ValueError:
                length = -1
            if length < 0:
                self.refuse(BadRequest("the content-length is not a number of bytes"), close=True)
                return
            if length > MAX_BODY_BYTES:
                self.refuse(JobFailure("PAYLOAD_TOO_LARGE", f"a request body is at most {MAX_BODY_BYTES} bytes, this one {length}"), close=True)
                return
            # Read whatever the path: left unread, it would be parsed as the next request.
            raw = self.rfile.read(length)
            m = re.match(r"^/v1/(\w+)$", self.path)
            if not m:
                self.reply(404, JobFailure("NOT_FOUND", f"no such path {urlsplit(self.path).path}").reply())
                return
            try:
                body = json_body(raw)
            except ValueError as e:
                self.reply(400, BadRequest(f"the request body is not JSON: {e}").reply())
                return
            self.reply(*run(table, m.group(1), body))

    return Handler


def serve(jobs: "Jobs", warehouse: Warehouse, guard: Guard, host: str, port: int) -> ThreadingHTTPServer:
    """The HTTP server (not yet serving: call serve_forever)."""
    return ThreadingHTTPServer((host, port), make_handler(jobs, operations(jobs, warehouse), guard))


def warehouse_from_env() -> Warehouse:
    bucket = os.environ.get(BUCKET_ENV, "").strip()
    if not bucket:
        raise ConfigError(f"no warehouse bucket: set {BUCKET_ENV} (requests may name tables only in it)")
    try:
        return Warehouse(bucket)
    except ValueError as e:
        raise ConfigError(f"{BUCKET_ENV}: {e}") from e


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Lakeform's Spark job server")
    ap.add_argument("--serve", action="store_true", help=f"run the HTTP job server (needs {SECRET_ENV} and {BUCKET_ENV} in the environment)")
    ap.add_argument("--port", type=int, default=8998)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--request", help=f"one-shot: a JSON request {{op, ...}}; prints the JSON response (needs {BUCKET_ENV})")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    # The configuration is checked before Spark starts: a job server without a secret never serves.
    try:
        warehouse = warehouse_from_env()
        guard = None if args.request else Guard.create(os.environ.get(SECRET_ENV), os.environ.get(HOSTS_ENV, "").split(","))
    except ConfigError as e:
        print(f"lakeform job server: {e}", file=sys.stderr)
        return 2
    # Nothing this process starts needs it.
    os.environ.pop(SECRET_ENV, None)
    from pyspark.sql import SparkSession

    from .operations import Jobs

    spark = SparkSession.builder.appName("lakeform-jobs").enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    jobs = Jobs(spark)
    if args.request or guard is None:
        req = json_body((args.request or "{}").encode())
        status, reply = run(operations(jobs, warehouse), str(req.pop("op", "")) if isinstance(req, dict) else "", req)
        print(json.dumps(reply))
        return 0 if status == 200 else 1
    server = serve(jobs, warehouse, guard, args.host, args.port)
    log.info("Lakeform job server listening on http://%s:%d (Spark %s, warehouse s3a://%s/)", args.host, args.port, spark.version, warehouse.bucket)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        spark.stop()
    return 0
