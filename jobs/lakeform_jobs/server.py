"""Lakeform's Spark job server: one warm Spark driver serving the reconciler's requests.

A JVM start costs tens of seconds on a small machine, so instead of one spark-submit per CSV,
this program keeps a SparkSession and answers JSON requests over HTTP on 127.0.0.1:

  GET  /healthz               the driver is up (and the index its Hudi upserts use)
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
  POST /v1/forget_catalog     forget a metastore entry whose table files are gone
  POST /v1/clear_leftovers    move aside files left where no table is, so a new one can be made

The same operation table answers one-shot mode (`--request '{"op": "write", ...}'`).
Errors answer {"ok": false, "error": {"code", "message", "detail"}} with the code's HTTP status
(lake/errorCodes.json).

Writes to one table are serialised here (Hudi without a lock provider must never see two writers).
Every write records the source's content hash and the spec generation in the commit itself
(Hudi extra metadata, Iceberg snapshot summary): the lake is the reconciler's only state.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .errors import BadRequest, JobFailure, classify
from .formats.hudi import UPSERT_INDEX
from .types import ChangesRequest, CountRequest, LocationRequest, Operation, TableRequest, TravelRequest, WriteRequest

if TYPE_CHECKING:
    from .operations import Jobs

log = logging.getLogger("lakeform.jobs")


def operations(jobs: "Jobs") -> dict[str, Operation]:
    """The one operation table: name -> (request parser, handler). HTTP and one-shot mode both use it."""
    return {
        op.name: op
        for op in [
            Operation("write", WriteRequest.parse, jobs.write),
            Operation("observe", TableRequest.parse, jobs.observe),
            Operation("travel", TravelRequest.parse, jobs.travel),
            Operation("count", CountRequest.parse, jobs.count),
            Operation("changes", ChangesRequest.parse, jobs.changes),
            Operation("maintain", TableRequest.parse, jobs.maintain),
            Operation("drop", LocationRequest.parse, jobs.drop),
            Operation("register", TableRequest.parse, jobs.register),
            Operation("resync", TableRequest.parse, jobs.resync),
            Operation("forget_catalog", LocationRequest.parse, jobs.forget_catalog),
            Operation("clear_leftovers", LocationRequest.parse, jobs.clear_leftovers),
        ]
    }



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


def make_handler(jobs: "Jobs", table: dict[str, Operation]):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/healthz":
                self.reply(200, {"ok": True, "spark": jobs.spark.version, "hudiUpsertIndex": UPSERT_INDEX})
            elif url.path == "/progress":
                table = parse_qs(url.query).get("table", [None])[0]
                self.reply(200, {"ok": True, "writes": jobs.progress.snapshot(table)})
            else:
                self.reply(404, JobFailure("NOT_FOUND", f"no such path {self.path}").reply())

        def do_POST(self) -> None:
            # The body is read first, whatever the path: left unread, it would be parsed as the
            # next request on a kept-alive connection.
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            m = re.match(r"^/v1/(\w+)$", self.path)
            if not m:
                self.reply(404, JobFailure("NOT_FOUND", f"no such path {self.path}").reply())
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError as e:
                self.reply(400, BadRequest(f"the request body is not JSON: {e}").reply())
                return
            self.reply(*run(table, m.group(1), body))

    return Handler


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Lakeform's Spark job server")
    ap.add_argument("--serve", action="store_true", help="run the HTTP job server")
    ap.add_argument("--port", type=int, default=8998)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--request", help="one-shot: a JSON request {op, ...}; prints the JSON response")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    from pyspark.sql import SparkSession

    from .operations import Jobs

    spark = SparkSession.builder.appName("lakeform-jobs").enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    jobs = Jobs(spark)
    table = operations(jobs)
    if args.request:
        req = json.loads(args.request)
        status, reply = run(table, str(req.pop("op", "")), req)
        print(json.dumps(reply))
        return 0 if status == 200 else 1
    server = ThreadingHTTPServer((args.host, args.port), make_handler(jobs, table))
    log.info("Lakeform job server listening on http://%s:%d (Spark %s)", args.host, args.port, spark.version)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        spark.stop()
    return 0
