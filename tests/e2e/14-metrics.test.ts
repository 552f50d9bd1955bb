/**
 * GET /metrics from the real stack: `lakeform reconcile` and `lakeform api` as processes of their
 * own (as the services run them) against the e2e lakehouse, one scrape parsed with the reference
 * parser of the text format (prometheus-client's, tests/helpers/prometheus.ts). After the
 * reconciler writes a table and the API ingests into it, the scrape shows the table synced, the
 * rows each writer wrote and its write durations; a refused CSV shows as a failure by reason; the
 * reconciler's report is fresh; the job server answers with no write in flight.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LakeOutputs } from "../../stacks/automation";
import { readStatus } from "../../lake/status";
import { reconcilerMetricsFile } from "../../lake/metrics";
import { parseMetrics, typeOf, value, type Family } from "../helpers/prometheus";
import { ensureUp, trino, waitFor } from "./lake";
import { LakeformProcesses, testDataDir } from "./lakeformProcesses";

const sfx = Date.now().toString(36);
const GOOD = `metered_${sfx}`;
const BAD = `refused_${sfx}`;
const good = `default.${GOOD}`;
const bad = `default.${BAD}`;

let outs: LakeOutputs;
let dir: string;
let base: string;
let procs: LakeformProcesses;

const scrape = async (token = outs.apiReadToken): Promise<{ status: number; type: string; text: string }> => {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
};

beforeAll(async () => {
  outs = await ensureUp();
  // The stack's connection, with a data dir of the test's own: the status and metrics reports are this test's alone.
  const ws = testDataDir("metrics", outs, {
    "seed.csv": "id,name\n1,ada\n2,grace\n3,alan\n",
    "ragged.csv": "id,name\n1,ada\n2,grace,extra\n",
    "tables.yaml": `apiVersion: lakeform/v1
tables:
  - { name: ${GOOD}, format: hudi, primaryKey: id, sources: [seed.csv] }
  - { name: ${BAD}, format: iceberg, primaryKey: id, schemaPolicy: strict, sources: [ragged.csv] }
`,
  });
  dir = ws.dir;
  procs = new LakeformProcesses(ws.outputsFile);
  const died = procs.died;
  procs.start("reconciler", ["reconcile", "-f", ws.tablesFile, "--resync", "600"]);
  base = await procs.startApi(ws.tablesFile);
  const statusFile = path.join(dir, "reconciler", "status.json");
  await waitFor(
    `${GOOD} in sync and ${BAD} refused`,
    () => {
      const s = readStatus(statusFile);
      if (s?.tables[good]?.inSync && s.tables[bad]?.conditions.some((c) => c.reason === "BadCsv")) return true;
      // What the reconciler reports meanwhile, and its last lines: the timeout's message.
      throw new Error(`${JSON.stringify([good, bad].map((t) => [t, s?.tables[t]?.conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)]))}; reconciler: ${procs.children[0].log.slice(-1500)}`);
    },
    { timeoutMs: 300_000, intervalMs: 500, gaveUp: died },
  );
  // A write of the API's own.
  const res = await fetch(`${base}/ingest/${GOOD}`, { method: "POST", headers: { authorization: `Bearer ${outs.apiToken}`, "content-type": "text/csv" }, body: "id,name\n4,edsger\n5,barbara\n" });
  expect([res.status, await res.json()]).toEqual([200, expect.objectContaining({ rowsWritten: 2 })]);
});

afterAll(async () => {
  await procs?.stopAll();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("GET /metrics needs a token: 401 without one; the read token gets the text format", async () => {
  expect((await scrape("")).status).toBe(401);
  const res = await scrape();
  expect(res.status).toBe(200);
  expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
});

describe("after the reconciler's write and an ingest through the API", () => {
  let m: Family[];
  beforeAll(async () => {
    // The reconciler reports its metrics every 10 s and after each pass: one written after its write is there by now.
    expect(fs.existsSync(reconcilerMetricsFile(path.join(dir, "reconciler", "status.json")))).toBe(true);
    m = parseMetrics((await scrape()).text);
  });

  test("the table is synced (reason UpToDate), its last commit seconds old, its rows counted", async () => {
    expect(value(m, "lakeform_table_synced", { table: good, reason: "UpToDate" })).toBe(1);
    const age = value(m, "lakeform_table_last_commit_age_seconds", { table: good })!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600);
    expect(value(m, "lakeform_table_rows", { table: good })).toBeGreaterThanOrEqual(3);
    expect(value(m, "lakeform_table_sources_pending", { table: good })).toBe(0);
    expect(Number((await trino(outs).query(`SELECT count(*) FROM hudi.default.${GOOD}`)).rows[0][0])).toBe(5);
  });

  test("rows written > 0 and a write duration per writer: the reconciler's seed, the API's ingest", () => {
    expect(value(m, "lakeform_rows_written_total", { table: good, writer: "reconciler" })).toBe(3);
    expect(value(m, "lakeform_rows_written_total", { table: good, writer: "api" })).toBe(2);
    expect(typeOf(m, "lakeform_write_duration_seconds")).toBe("histogram");
    for (const writer of ["reconciler", "api"]) {
      expect(value(m, "lakeform_write_duration_seconds_count", { table: good, writer })).toBe(1);
      expect(value(m, "lakeform_write_duration_seconds_sum", { table: good, writer })).toBeGreaterThan(0);
      expect(value(m, "lakeform_write_duration_seconds_bucket", { table: good, writer, le: "+Inf" })).toBe(1);
    }
  });

  test("the refused CSV: not synced (BadCsv), one failed pass by that reason, the write's failure by its code", () => {
    expect(value(m, "lakeform_table_synced", { table: bad, reason: "BadCsv" })).toBe(0);
    expect(value(m, "lakeform_reconciler_failures_total", { table: bad, reason: "BadCsv" })).toBe(1);
    expect(value(m, "lakeform_write_failures_total", { table: bad, writer: "reconciler", code: "BAD_CSV" })).toBe(1);
    expect(value(m, "lakeform_rows_written_total", { table: bad })).toBeUndefined();
    expect(value(m, "lakeform_table_consecutive_failures", { table: bad })).toBe(1);
  });

  test("the reconciler's report is fresh and its queue idle; the job server answers, no write in flight", () => {
    expect(value(m, "lakeform_reconciler_report_age_seconds")).toBeLessThan(30);
    expect(value(m, "lakeform_reconciler_queue_depth")).toBe(0);
    expect(value(m, "lakeform_jobserver_up")).toBe(1);
    expect(value(m, "lakeform_jobserver_writes_in_flight", { table: good })).toBe(0);
    expect(value(m, "lakeform_tables_yaml_valid")).toBe(1);
  });

  test("every table label is one of this tables.yaml's tables", () => {
    const tables = new Set(m.flatMap((f) => f.samples).flatMap((s) => (s.labels.table ? [s.labels.table] : [])));
    expect([...tables].filter((t) => t !== "other").sort()).toEqual([good, bad].sort());
  });
});
