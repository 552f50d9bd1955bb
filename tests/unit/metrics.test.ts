/**
 * GET /metrics without a lakehouse: the status report, tables.yaml, the job server's progress and
 * the reconciler's report mapped to Prometheus metrics (read back with a real parser), labels
 * bounded to the API's tables, both writers' writes counted through the one JobClient call and
 * merged into one scrape, and the route behind the read token.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Registry } from "prom-client";
import { metricsRegistry, reportedTables, scrapeMetrics, syncReason, type ScrapeInput } from "../../api/metrics";
import { buildApi } from "../../api/server";
import { LakeService } from "../../api/service";
import type { Condition } from "../../lake/conditions";
import { LakeformError } from "../../lake/errors";
import type { JobTable, WriteProgress } from "../../lake/jobClient";
import { MeteredJobClient, readMetricsReport, reconcilerMetricsFile, WriteMetrics } from "../../lake/metrics";
import { s3Client } from "../../lake/outputs";
import { Sources } from "../../lake/sources";
import type { LakeStatus, TableStatus } from "../../lake/status";
import { ReconcilerMetrics } from "../../reconciler/metrics";
import { WorkQueue } from "../../reconciler/queue";
import { FakeClock } from "../helpers/fakeClock";
import { parseMetrics, samples, typeOf, value } from "../helpers/prometheus";

const NOW = new Date("2026-12-01T10:00:00Z");
const FILE = "/lake/tables.yaml";
const cond = (type: Condition["type"], status: Condition["status"], reason: string): Condition => ({ type, status, reason: reason as Condition["reason"], message: "m", lastTransitionTime: NOW.toISOString() });
const table = (id: string, over: Partial<TableStatus>): TableStatus => ({
  table: id,
  format: "hudi",
  generation: "g1",
  inSync: false,
  sources: { total: 1, applied: 0 },
  conditions: [],
  failures: 0,
  declaredIn: FILE,
  ...over,
});
const status: LakeStatus = {
  file: FILE,
  updatedAt: NOW.toISOString(),
  tables: {
    "default.leads": table("default.leads", {
      inSync: true,
      sources: { total: 2, applied: 2 },
      rowCount: 105,
      lastCommit: { id: "20261201095830000", time: "2026-12-01T09:58:30.000Z" },
      conditions: [cond("Synced", "True", "UpToDate"), cond("Ready", "True", "Healthy")],
    }),
    "default.orders": table("default.orders", {
      sources: { total: 3, applied: 1 },
      failures: 3,
      conditions: [cond("Synced", "False", "BadCsv"), cond("Degraded", "True", "BadCsv")],
    }),
    // Held for a prune: no longer declared, still this file's.
    "default.gone": table("default.gone", { conditions: [cond("Synced", "False", "PrunePending")] }),
    // Another tables.yaml's table, left in the same status file: not this API's to report.
    "default.elsewhere": table("default.elsewhere", { declaredIn: "/other/tables.yaml", inSync: true }),
  },
};
const progress = (t: string): WriteProgress => ({ table: t, source: "x.csv", stage: "writing", elapsedMs: 1, stageElapsedMs: 1, bytesTotal: 10, rowsTotal: null });
const input = (over: Partial<ScrapeInput> = {}): ScrapeInput => ({
  now: NOW,
  status,
  declared: ["default.leads", "default.orders", "default.fresh"],
  tablesFile: FILE,
  writesInFlight: [progress("default.orders"), progress("default.orders"), progress("default.stranger")],
  reconciler: { writtenAt: "2026-12-01T09:59:56.000Z", pid: 1, metrics: [] },
  ...over,
});
const scrape = async (i: ScrapeInput) => parseMetrics(await metricsRegistry(i).metrics());

describe("the status report as metrics", () => {
  test("each table's sync state is 1 or 0 with the reason status shows: a degradation's, else Synced's, Pending before any pass", async () => {
    const m = await scrape(input());
    expect(value(m, "lakeform_table_synced", { table: "default.leads", reason: "UpToDate" })).toBe(1);
    expect(value(m, "lakeform_table_synced", { table: "default.orders", reason: "BadCsv" })).toBe(0);
    expect(value(m, "lakeform_table_synced", { table: "default.gone", reason: "PrunePending" })).toBe(0);
    expect(value(m, "lakeform_table_synced", { table: "default.fresh", reason: "Pending" })).toBe(0);
    // One series per table: its current reason only.
    expect(samples(m, "lakeform_table_synced", { table: "default.orders" })).toHaveLength(1);
    expect(syncReason(table("t", { conditions: [cond("Synced", "False", "Applying"), cond("Degraded", "False", "Healthy")] }))).toBe("Applying");
  });

  test("seconds since the last commit, rows, sources pending and consecutive failures, per table", async () => {
    const m = await scrape(input());
    expect(value(m, "lakeform_table_last_commit_age_seconds", { table: "default.leads" })).toBe(90);
    expect(samples(m, "lakeform_table_last_commit_age_seconds", { table: "default.orders" })).toHaveLength(0);
    expect(value(m, "lakeform_table_rows", { table: "default.leads" })).toBe(105);
    expect(value(m, "lakeform_table_sources_pending", { table: "default.orders" })).toBe(2);
    expect(value(m, "lakeform_table_sources_pending", { table: "default.leads" })).toBe(0);
    expect(value(m, "lakeform_table_consecutive_failures", { table: "default.orders" })).toBe(3);
  });

  test("the job server's writes in flight per table (0 where none runs), a table it isn't ours counted as other; up 1", async () => {
    const m = await scrape(input());
    expect(value(m, "lakeform_jobserver_writes_in_flight", { table: "default.orders" })).toBe(2);
    expect(value(m, "lakeform_jobserver_writes_in_flight", { table: "default.leads" })).toBe(0);
    expect(value(m, "lakeform_jobserver_writes_in_flight", { table: "other" })).toBe(1);
    expect(value(m, "lakeform_jobserver_up")).toBe(1);
    const down = await scrape(input({ writesInFlight: undefined }));
    expect(value(down, "lakeform_jobserver_up")).toBe(0);
    expect(samples(down, "lakeform_jobserver_writes_in_flight")).toHaveLength(0);
  });

  test("tables.yaml's validity and the age of the reconciler's report", async () => {
    const m = await scrape(input());
    expect(value(m, "lakeform_tables_yaml_valid")).toBe(1);
    expect(value(m, "lakeform_reconciler_report_age_seconds")).toBe(4);
    expect(value(await scrape(input({ status: { ...status, specError: "line 3: tables[0].name: required" } })), "lakeform_tables_yaml_valid")).toBe(0);
    expect(value(await scrape(input({ declared: undefined })), "lakeform_tables_yaml_valid")).toBe(0);
    expect(samples(await scrape(input({ reconciler: undefined })), "lakeform_reconciler_report_age_seconds")).toHaveLength(0);
  });

  test("labels are bounded: only this tables.yaml's tables (declared, or still in its status), table and reason only", async () => {
    expect(reportedTables(input())).toEqual(["default.fresh", "default.gone", "default.leads", "default.orders"]);
    const m = await scrape(input());
    const tables = new Set<string>();
    for (const f of m)
      for (const s of f.samples) {
        for (const k of Object.keys(s.labels)) expect(["table", "reason"]).toContain(k);
        if (s.labels.table) tables.add(s.labels.table);
      }
    expect([...tables].sort()).toEqual(["default.fresh", "default.gone", "default.leads", "default.orders", "other"]);
  });
});

/** A job server stand-in: answers POST /v1/write with `reply`, GET /progress with `writes`. */
async function fakeJobServer(reply: { status: number; body: unknown }, writes: WriteProgress[] = []): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const body = req.url?.startsWith("/progress") ? { writes } : reply.body;
      res.writeHead(req.url?.startsWith("/progress") ? 200 : reply.status, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}
const jobTable: JobTable = { name: "leads", database: "default", format: "hudi", location: "s3a://warehouse/default/leads", primaryKey: ["id"], partitionBy: [] } as unknown as JobTable;
const written = { commit: "20261201100000000", rowsWritten: 42, renamed: {}, columns: ["id"], addedColumns: [], durationMs: 1000 };

describe("writes counted where both writers send them", () => {
  test("a committed write: its duration observed and its rows counted, by table and writer", async () => {
    const js = await fakeJobServer({ status: 200, body: written });
    try {
      const metrics = new WriteMetrics(new Registry(), "api");
      const res = await new MeteredJobClient(js.url, { secret: "s" }, metrics).write(jobTable, { uri: "s3a://w/x.csv", hash: "h", name: "x.csv" }, "g1");
      expect(res.rowsWritten).toBe(42);
      const m = parseMetrics(await metrics.registry.metrics());
      expect(value(m, "lakeform_rows_written_total", { table: "default.leads", writer: "api" })).toBe(42);
      expect(value(m, "lakeform_write_duration_seconds_count", { table: "default.leads", writer: "api" })).toBe(1);
      expect(value(m, "lakeform_write_duration_seconds_bucket", { table: "default.leads", writer: "api", le: "600" })).toBe(1);
      expect(samples(m, "lakeform_write_failures_total")).toHaveLength(0);
    } finally {
      await js.close();
    }
  });

  test("a refused write: counted as a failure by its error code, no rows, and the error passed on", async () => {
    const js = await fakeJobServer({ status: 422, body: { ok: false, error: { code: "BAD_CSV", message: "line 3 has 2 fields" } } });
    try {
      const metrics = new WriteMetrics(new Registry(), "reconciler");
      const err = await new MeteredJobClient(js.url, { secret: "s" }, metrics).write(jobTable, { uri: "s3a://w/x.csv", hash: "h", name: "x.csv" }, "g1").catch((e) => e);
      expect(err).toBeInstanceOf(LakeformError);
      expect((err as LakeformError).code).toBe("BAD_CSV");
      const m = parseMetrics(await metrics.registry.metrics());
      expect(value(m, "lakeform_write_failures_total", { table: "default.leads", writer: "reconciler", code: "BAD_CSV" })).toBe(1);
      expect(value(m, "lakeform_rows_written_total", { table: "default.leads" })).toBeUndefined();
    } finally {
      await js.close();
    }
  });
});

describe("the reconciler's metrics, through its report", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-metrics-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("failed passes counted by reason; the queue's depth and passes in flight; written beside the status file", async () => {
    const statusFile = path.join(dir, "status.json");
    const rm = new ReconcilerMetrics(statusFile);
    rm.passDone({ table: "default.orders", failure: { step: "act", error: new LakeformError("BAD_CSV", "line 3") } });
    rm.passDone({ table: "default.orders", failure: { step: "observe", error: new LakeformError("SPARK_UNAVAILABLE", "down") } });
    rm.passDone({ table: "default.orders", failure: { step: "act", error: new LakeformError("BAD_CSV", "line 3") } });
    rm.passDone({ table: "default.leads" });
    await rm.report({ depth: 3, inFlight: 2 });
    expect(rm.file).toBe(reconcilerMetricsFile(statusFile));
    const report = readMetricsReport(rm.file)!;
    expect(report.pid).toBe(process.pid);
    const m = parseMetrics(await aggregatedText(report.metrics));
    expect(value(m, "lakeform_reconciler_failures_total", { table: "default.orders", reason: "BadCsv" })).toBe(2);
    expect(value(m, "lakeform_reconciler_failures_total", { table: "default.orders", reason: "SparkUnavailable" })).toBe(1);
    expect(samples(m, "lakeform_reconciler_failures_total", { table: "default.leads" })).toHaveLength(0);
    expect(value(m, "lakeform_reconciler_queue_depth")).toBe(3);
    expect(value(m, "lakeform_reconciler_passes_in_flight")).toBe(2);
  });

  test("the queue's depth: tables due now and not being processed", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, resyncMs: 60_000, backoffBaseMs: 1000, backoffMaxMs: 10_000 });
    q.add("a");
    q.add("b");
    q.addAfter("c", 5000);
    expect(q.depth).toBe(2);
    q.take(1);
    expect([q.depth, q.inFlight]).toEqual([1, 1]);
    await clock.advance(5000);
    expect(q.depth).toBe(2);
  });

  test("one scrape merges the API's writes, the reconciler's report and the derived metrics; each writer its own series", async () => {
    const statusFile = path.join(dir, "status.json");
    fs.writeFileSync(statusFile, JSON.stringify(status));
    const rec = new ReconcilerMetrics(statusFile);
    rec.writes.committed("default.leads", 3, 100);
    rec.passDone({ table: "default.orders", failure: { step: "act", error: new LakeformError("BAD_CSV", "line 3") } });
    await rec.report({ depth: 0, inFlight: 1 });
    const js = await fakeJobServer({ status: 200, body: written }, [progress("default.leads")]);
    try {
      const jobs = new MeteredJobClient(js.url, { secret: "s" }, new WriteMetrics(new Registry(), "api"));
      await jobs.write(jobTable, { uri: "s3a://w/x.csv", hash: "h", name: "x.csv" }, "g1");
      const lake = { status: () => status, specs: () => [{ database: "default", name: "leads" }, { database: "default", name: "orders" }], jobs, tablesFile: FILE, statusFile } as unknown as Parameters<typeof scrapeMetrics>[0];
      const out = await scrapeMetrics(lake, NOW);
      expect(out.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      const m = parseMetrics(out.text);
      expect(value(m, "lakeform_rows_written_total", { table: "default.leads", writer: "reconciler" })).toBe(100);
      expect(value(m, "lakeform_rows_written_total", { table: "default.leads", writer: "api" })).toBe(42);
      expect(typeOf(m, "lakeform_write_duration_seconds")).toBe("histogram");
      expect(samples(m, "lakeform_write_duration_seconds_count", { table: "default.leads" }).map((s) => [s.labels.writer, s.value]).sort()).toEqual([["api", 1], ["reconciler", 1]]);
      expect(value(m, "lakeform_write_duration_seconds_sum", { table: "default.leads", writer: "reconciler" })).toBe(3);
      expect(value(m, "lakeform_reconciler_failures_total", { table: "default.orders", reason: "BadCsv" })).toBe(1);
      expect(value(m, "lakeform_reconciler_passes_in_flight")).toBe(1);
      expect(value(m, "lakeform_jobserver_writes_in_flight", { table: "default.leads" })).toBe(1);
      expect(value(m, "lakeform_table_synced", { table: "default.leads", reason: "UpToDate" })).toBe(1);
    } finally {
      await js.close();
    }
  });
});

/** A report's metrics in the text format, through prom-client's own aggregation (what the API does). */
async function aggregatedText(metrics: Awaited<ReturnType<Registry["getMetricsAsJSON"]>>): Promise<string> {
  const { AggregatorRegistry } = await import("prom-client");
  return AggregatorRegistry.aggregate([metrics]).metrics();
}

describe("GET /metrics", () => {
  let dir: string;
  let app: Awaited<ReturnType<typeof buildApi>>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-metrics-api-"));
    fs.writeFileSync(path.join(dir, "tables.yaml"), "apiVersion: lakeform/v1\ntables:\n  - { name: people, format: hudi, primaryKey: id, sources: [seed.csv] }\n");
    // Nothing listens on these: the job server is reported down, the scrape still answers.
    const dead = "http://127.0.0.1:9";
    const e = { s3Endpoint: dead, s3Region: "us-east-1", s3AccessKey: "k", s3SecretKey: "s", warehouseBucket: "warehouse", sparkJobServer: dead, trinoEndpoint: dead, trinoPassword: "p", trinoReadPassword: "r", jobServerSecret: "js" };
    const lake = new LakeService(e, new MeteredJobClient(dead, { secret: "js" }, new WriteMetrics(new Registry(), "api")), new Sources(s3Client(e), "warehouse"), path.join(dir, "tables.yaml"), path.join(dir, "status.json"));
    app = await buildApi({ lake, tokens: { read: "read-token", write: "write-token" } });
  });
  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("needs a token (401 without), answers the read token with the text format", async () => {
    expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
    const res = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: "Bearer read-token" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseMetrics(res.body);
    expect(value(m, "lakeform_table_synced", { table: "default.people", reason: "Pending" })).toBe(0);
    expect(value(m, "lakeform_jobserver_up")).toBe(0);
    expect(value(m, "lakeform_tables_yaml_valid")).toBe(1);
  });

  test("the OpenAPI document lists it with its media types and the read token", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: { authorization: "Bearer read-token" } })).json();
    const op = doc.paths["/metrics"].get;
    expect(Object.keys(op.responses["200"].content)).toContain("text/plain");
    expect(op.security).toEqual([{ readToken: [] }, { writeToken: [] }]);
  });
});
