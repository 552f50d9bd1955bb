/**
 * Faults (issue 13), on the local runtime. For each of the Spark job server, the S3 server, the
 * metastore, Trino and the reconciler: a reconciler loop applies a large source (FAULT_ROWS rows,
 * 50,000 by default (LAKEFORM_FAULT_ROWS), upserting over a small first source), the service is killed with SIGKILL
 * (the engine's own process, not its supervisor) once the write's inflight instant is on the Hudi timeline, a reader
 * polls Trino's count the whole time, and the service comes back without a command (its
 * supervisor restarts it; meanwhile the API's /healthz answers 503 naming it, and `lakeform
 * status` counts one more restart) or, for a reconciler run in the foreground, as a new process. Each case asserts: the reader only
 * ever saw the old or the new count; the final rows are exactly the expected set (count and
 * distinct keys); no inflight instant is left on the timeline; history shows each source applied
 * once. Then: the metastore killed right after a commit that adds a column completes, before its
 * hive sync: once it is back the next pass resyncs the metastore (reason Resynced), the column is
 * visible in Trino, the source was applied once and the rows are exact; and two reconcilers started together on one tables.yaml apply
 * each source once and both exit 0. The figures are printed at the end (faults per service,
 * survived, rows lost, partial reads).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { JobClient, type Observation } from "../../lake/jobClient";
import { serviceHealth } from "../../cli/status";
import { PROJECT_DIR, type LakeOutputs } from "../../stacks/automation";
import { ensureUp, s3, trino, waitFor } from "./lake";
import { LakeformProcesses, testDataDir } from "./lakeformProcesses";

const ROWS = Number(process.env.LAKEFORM_FAULT_ROWS ?? 50_000);
const BASE_ROWS = 1000;
const sfx = Date.now().toString(36);
const CLI = path.resolve(__dirname, "../../bin/lakeform");
const DATA_DIR = path.resolve(PROJECT_DIR, ".lakeform", "e2e");
let outs: LakeOutputs;
let jobs: JobClient;
const figures: Record<string, { injected: number; survived: number; rowsLost: number; partialReads: number }> = {};

/** `lakeform api` from the sources on the e2e lakehouse (the stack runs no services): whose /healthz is asked. */
let procs: LakeformProcesses | undefined;
let apiBase: string;

beforeAll(async () => {
  outs = await ensureUp();
  jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const ws = testDataDir("faults-api", outs, { "tables.yaml": "apiVersion: lakeform/v1\ntables: []\n" });
  procs = new LakeformProcesses(ws.outputsFile);
  apiBase = await procs.startApi(ws.tablesFile);
}, 900_000);

afterAll(async () => {
  process.stdout.write(`fault figures: ${JSON.stringify(figures)}\n`);
  await procs?.stopAll(30_000);
});

function csv(from: number, to: number, tag: string): string {
  const lines = ["id,name,amount"];
  for (let i = from; i < to; i++) lines.push(`${i},${tag}-${i},${(i % 997) * 1.5}`);
  return lines.join("\n") + "\n";
}

function workspace(table: string, sources: string[], files: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lakeform-faults-${table}-`));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  const tablesFile = path.join(dir, "tables.yaml");
  const declare = (srcs: string[]) =>
    fs.writeFileSync(tablesFile, `tables:\n  - name: ${table}\n    format: hudi\n    primaryKey: [id]\n    sources:\n${srcs.map((s) => `      - ${s}\n`).join("")}`);
  declare(sources);
  return { dir, tablesFile, declare };
}

interface Running {
  child: ChildProcess;
  logs: () => string;
  exit: Promise<number | null>;
  exited: () => boolean;
}

function reconciler(tablesFile: string, ...args: string[]): Running {
  const child = spawn(CLI, ["reconcile", "-f", tablesFile, ...args], { env: { ...process.env, LAKEFORM_LOG_FORMAT: "json" }, stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  let done = false;
  child.stdout!.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (logs += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => ((done = true), resolve(code))));
  return { child, logs: () => logs, exit, exited: () => done };
}

/** What the service's supervisor reports (cli/supervise.ts): the engine's pid and its restarts. */
function supervisor(service: string): { childPid?: number; restarts: number } {
  return JSON.parse(fs.readFileSync(path.join(DATA_DIR, service, "supervisor.json"), "utf8"));
}

/** kill -9 of the engine itself (the JVM, the S3 server): its supervisor stays. */
function kill9(service: string): { pid: number; restarts: number } {
  const { childPid, restarts } = supervisor(service);
  if (!childPid) throw new Error(`${service} has no running process to kill: ${JSON.stringify(supervisor(service))}`);
  process.kill(childPid, "SIGKILL");
  return { pid: childPid, restarts };
}

async function healthz(): Promise<{ status: number; body: { ok: boolean; down: string[] } }> {
  const res = await fetch(`${apiBase}/healthz`, { signal: AbortSignal.timeout(15_000) });
  return { status: res.status, body: (await res.json()) as { ok: boolean; down: string[] } };
}

/**
 * No command: the engine's supervisor starts it again. Meanwhile the API's /healthz (the test's
 * own `lakeform api`, above) answers 503
 * naming it; then 200 once it answers, a new pid, one more restart in what `lakeform status` shows.
 */
async function comesBack(service: string, killed: { pid: number; restarts: number }): Promise<void> {
  const down = await waitFor(`/healthz to answer 503 naming ${service}`, async () => {
    const h = await healthz();
    return h.status === 503 && h.body.down.includes(service) ? h : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  expect(down.body.ok).toBe(false);
  await waitFor(`${service} back by itself (/healthz 200)`, async () => ((await healthz()).status === 200 ? true : undefined), { timeoutMs: 300_000, intervalMs: 1000 });
  const health = serviceHealth(DATA_DIR, service)!;
  expect({ running: health.running, newPid: health.childPid !== killed.pid, restarts: health.restarts }).toEqual({ running: true, newPid: true, restarts: killed.restarts + 1 });
}

async function timeline(table: string): Promise<string[]> {
  const res = await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${table}/.hoodie/`, Delimiter: "/" }));
  return (res.Contents ?? []).map((o) => path.basename(o.Key!));
}
/** Instants of the timeline that were requested or started and never completed (nor rolled back). */
function inflight(names: string[]): string[] {
  const byInstant = new Map<string, string[]>();
  for (const n of names) {
    const m = /^(\d+)\.(.+)$/.exec(n);
    if (m) byInstant.set(m[1], [...(byInstant.get(m[1]) ?? []), m[2]]);
  }
  return [...byInstant].filter(([, states]) => states.every((s) => /(inflight|requested)$/.test(s))).map(([i, states]) => `${i}: ${states.join(", ")}`);
}

/** Polls count(*) through Trino until stopped; every count it saw, and how many polls failed. */
function reader(table: string) {
  const seen = new Set<number>();
  let errors = 0;
  let stop = false;
  const t = trino(outs);
  const done = (async () => {
    while (!stop) {
      try {
        seen.add(Number(await t.scalar(`SELECT count(*) FROM hudi.default.${table}`)));
      } catch {
        errors++;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return { seen, errors: () => errors, stop: async () => ((stop = true), await done) };
}

function observeTable(table: string): Promise<Observation> {
  return jobs.observe({ name: table, database: "default", format: "hudi", primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${table}` } as never);
}

const appliedTimes = (o: Observation, hash: string) => o.commits.filter((c) => c.sourceHash === hash).length;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe.each([["spark"], ["s3"], ["metastore"], ["trino"], ["reconciler"]])("kill -9 of %s in the middle of a write", (service) => {
  test("the reader sees the old or the new count only; the loop converges to exactly the expected rows, once", async () => {
    const table = `fault_${service}_${sfx}`;
    const base = csv(0, BASE_ROWS, "old");
    const big = csv(0, ROWS, "new");
    const ws = workspace(table, ["base.csv"], { "base.csv": base, "big.csv": big });
    const first = reconciler(ws.tablesFile, "--until-synced");
    expect(await Promise.race([first.exit, new Promise((r) => setTimeout(() => r("timeout"), 900_000))])).toBe(0);

    const read = reader(table);
    let loop = reconciler(ws.tablesFile, "--resync", "5");
    const fig = (figures[service] ??= { injected: 0, survived: 0, rowsLost: 0, partialReads: 0 });
    try {
      ws.declare(["base.csv", "big.csv"]);
      const before = new Set(await timeline(table));
      // The kill point is what the write has done: its instant is on the timeline, not complete.
      await waitFor("the big write's inflight instant", async () => ((await timeline(table)).some((n) => !before.has(n) && /inflight$/.test(n)) ? true : undefined), {
        timeoutMs: 900_000,
        intervalMs: 100,
        gaveUp: () => (loop.exited() ? `the reconciler exited: ${loop.logs().slice(-2000)}` : undefined),
      });
      if (service === "reconciler") {
        loop.child.kill("SIGKILL");
        await loop.exit;
        loop = reconciler(ws.tablesFile, "--resync", "5");
      } else {
        await comesBack(service, kill9(service));
      }
      fig.injected++;
      await waitFor(
        `${table} to hold exactly ${ROWS} rows`,
        async () => (Number(await trino(outs).scalar(`SELECT count(*) FROM hudi.default.${table}`)) === ROWS ? true : undefined),
        { timeoutMs: 1_200_000, intervalMs: 2000, gaveUp: () => (loop.exited() ? `the reconciler exited: ${loop.logs().slice(-2000)}` : undefined) },
      );
    } finally {
      await read.stop();
      loop.child.kill("SIGINT");
      await Promise.race([loop.exit, new Promise((r) => setTimeout(r, 60_000))]);
      if (!loop.exited()) loop.child.kill("SIGKILL");
    }
    const t = trino(outs);
    const [count, distinct, newRows] = (await t.query(`SELECT count(*), count(DISTINCT id), count_if(name LIKE 'new-%') FROM hudi.default.${table}`)).rows[0].map(Number);
    const partial = [...read.seen].filter((n) => n !== BASE_ROWS && n !== ROWS);
    fig.partialReads += partial.length;
    fig.rowsLost += Math.max(0, ROWS - distinct);
    expect(partial).toEqual([]);
    expect([count, distinct, newRows]).toEqual([ROWS, ROWS, ROWS]);
    expect(inflight(await timeline(table))).toEqual([]);
    const o = await observeTable(table);
    expect([appliedTimes(o, sha(base)), appliedTimes(o, sha(big))]).toEqual([1, 1]);
    fig.survived++;
  }, 3_600_000);
});

// The metastore killed right after a Hudi commit and before its hive sync: the commit that adds
// a column completes (its .commit file is on the timeline), the kill comes then, so the write's
// hive sync fails and the metastore keeps the columns and last synced commit of the commit
// before. The source counts as applied (its hash is in the commit): only the catalog-drift check
// (the metastore's columns, types and last synced commit against the latest commit's) can see
// the lag, and the next pass once the metastore is back resyncs it (`Resynced`).
test("the metastore killed right after a commit that adds a column, before its hive sync: once back, the next pass resyncs it, the column is in Trino, the source applied once, rows exact", async () => {
  const table = `fault_sync_${sfx}`;
  const a = csv(0, BASE_ROWS, "a");
  const b = ["id,name,amount,city", ...Array.from({ length: ROWS }, (_, i) => `${i},b-${i},${i},c${i % 7}`)].join("\n") + "\n";
  const ws = workspace(table, ["a.csv"], { "a.csv": a, "b.csv": b });
  const first = reconciler(ws.tablesFile, "--until-synced");
  expect(await Promise.race([first.exit, new Promise((r) => setTimeout(() => r("timeout"), 900_000))])).toBe(0);
  const loop = reconciler(ws.tablesFile, "--resync", "5");
  const fig = (figures.metastoreSync ??= { injected: 0, survived: 0, rowsLost: 0, partialReads: 0 });
  try {
    const before = new Set(await timeline(table));
    ws.declare(["a.csv", "b.csv"]);
    // The kill point: the new commit completed. Hudi then cleans and archives, and only then syncs
    // to the metastore; the timeline is listed as fast as the object store answers.
    const committed = await waitFor("the new commit to complete", async () => (await timeline(table)).find((n) => !before.has(n) && /^\d+\.commit$/.test(n)), {
      timeoutMs: 900_000,
      intervalMs: 20,
      gaveUp: () => (loop.exited() ? `the reconciler exited: ${loop.logs().slice(-2000)}` : undefined),
    });
    const killed = kill9("metastore");
    fig.injected++;
    await comesBack("metastore", killed);
    await waitFor(
      "the city column in Trino",
      async () => (Number(await trino(outs).scalar(`SELECT count(DISTINCT city) FROM hudi.default.${table}`)) === 7 ? true : undefined),
      { timeoutMs: 900_000, intervalMs: 3000, gaveUp: () => (loop.exited() ? `the reconciler exited: ${loop.logs().slice(-2000)}` : undefined) },
    );
    // It was the resync that brought the column (the kill came before the write's own sync),
    // and the pass after it said so (reason Resynced), with what lagged.
    const resynced = await waitFor(
      "the reconciler to report the table Resynced",
      () =>
        loop
          .logs()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { msg?: string; reason?: string; message?: string })
          .find((l) => l.msg === "Table in sync" && l.reason === "Resynced"),
      { timeoutMs: 120_000, intervalMs: 1000, gaveUp: () => (loop.exited() ? `the reconciler exited: ${loop.logs().slice(-2000)}` : undefined) },
    );
    expect(resynced.message).toMatch(/metastore lagged the table and was synced again/);
    expect(resynced.message).toContain(`table's newest commit is ${committed.replace(/\.commit$/, "")}`);
  } finally {
    loop.child.kill("SIGINT");
    await Promise.race([loop.exit, new Promise((r) => setTimeout(r, 60_000))]);
    if (!loop.exited()) loop.child.kill("SIGKILL");
  }
  const o = await observeTable(table);
  expect([appliedTimes(o, sha(a)), appliedTimes(o, sha(b))]).toEqual([1, 1]);
  expect(o.catalogDrift ?? []).toEqual([]);
  expect(inflight(await timeline(table))).toEqual([]);
  const [count, distinct, withCity, cities] = (await trino(outs).query(`SELECT count(*), count(DISTINCT id), count(city), count(DISTINCT city) FROM hudi.default.${table}`)).rows[0].map(Number);
  fig.rowsLost += Math.max(0, ROWS - distinct);
  expect([count, distinct, withCity, cities]).toEqual([ROWS, ROWS, ROWS, 7]);
  fig.survived++;
}, 3_600_000);

test("two reconcilers started together on one tables.yaml apply each source once and both exit 0", async () => {
  const table = `fault_two_${sfx}`;
  const a = csv(0, 5000, "a");
  const b = csv(2500, 7500, "b");
  const ws = workspace(table, ["a.csv", "b.csv"], { "a.csv": a, "b.csv": b });
  const [one, two] = [reconciler(ws.tablesFile, "--until-synced"), reconciler(ws.tablesFile, "--until-synced")];
  const codes = await Promise.race([Promise.all([one.exit, two.exit]), new Promise((r) => setTimeout(() => r("timeout"), 1_200_000))]);
  expect(codes).toEqual([0, 0]);
  const o = await observeTable(table);
  expect([appliedTimes(o, sha(a)), appliedTimes(o, sha(b))]).toEqual([1, 1]);
  expect(Number(await trino(outs).scalar(`SELECT count(DISTINCT id) FROM hudi.default.${table}`))).toBe(7500);
  // One of them waited for the other rather than failing.
  expect(one.logs() + two.logs()).toMatch(/Standby|in sync/);
}, 1_800_000);
