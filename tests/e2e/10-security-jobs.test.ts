/**
 * The Spark job server answers only Lakeform (issue 25): against the real e2e stack's job server,
 * a stranger without the stack's jobServerSecret (any local process, or a web page posting to
 * 127.0.0.1) can't drop, maintain, write or observe a table: 401, and the table keeps its rows
 * and commits (read through Trino and through observe with the secret). A web page's text/plain
 * body, an Origin header, a Host of another name are refused; a table outside the warehouse bucket
 * (file:, another bucket, `..`) is refused even with the secret; /healthz still answers anyone.
 * The secret is in the job server's environment, never on its command line. And a standalone
 * master made by the Spark component's local plan takes no application without Spark's RPC
 * secret (spark.authenticate), and takes one with it.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { LakeConnection } from "../../components/connection";
import { startService, stopService } from "../../components/local/process";
import { sparkLocalMaster, sparkLocalPlans, sparkRpcSecret } from "../../components/spark";
import { readToolchain } from "../../components/toolchain";
import { JobClient, type JobTable } from "../../lake/jobClient";
import { Sources } from "../../lake/sources";
import type { TrinoClient } from "../../lake/trino";
import type { LakeOutputs } from "../../stacks/automation";
import { ensureUp, run, s3, trino } from "./lake";

const sfx = Date.now().toString(36);
let outs: LakeOutputs;
let jobs: JobClient;
let t: TrinoClient;
let table: JobTable;
let csvUri: string;

/** One HTTP request with exactly these headers (fetch won't send a Host of our choosing). */
function raw(method: string, urlPath: string, headers: Record<string, string>, body?: string | Buffer): Promise<{ status: number; json: { ok?: boolean; error?: { code?: string; message?: string } } }> {
  const url = new URL(outs.sparkJobServer);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: Number(url.port), method, path: urlPath, headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} });
      });
    });
    req.on("error", reject);
    req.setTimeout(60_000, () => req.destroy(new Error("timed out")));
    req.end(body);
  });
}

const post = (op: string, body: unknown, headers: Record<string, string>) => raw("POST", `/v1/${op}`, headers, JSON.stringify(body));
const json = { "content-type": "application/json" };
const bearer = () => ({ authorization: `Bearer ${outs.jobServerSecret}` });

/** What the table holds, as Trino reads it and as the job server observes it (with the secret). */
async function state(): Promise<{ rows: number; sum: number; commits: string[] }> {
  const [[rows, sum]] = (await t.query(`SELECT count(*), sum(v) FROM iceberg.default.${table.name}`)).rows as [number, number][];
  const seen = await jobs.observe(table);
  return { rows: Number(rows), sum: Number(sum), commits: seen.commits.map((c) => c.commit) };
}

beforeAll(async () => {
  outs = await ensureUp();
  jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  t = trino(outs);
  const sources = new Sources(s3(outs), outs.warehouseBucket);
  const name = `sec_jobs_${sfx}`;
  table = { name, database: "default", format: "iceberg", primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` };
  // Two commits, so a stranger's `retain: {commits: 1}` would have something to expire.
  for (const [i, csv] of ["id,v\n1,10\n2,20\n", "id,v\n3,30\n"].entries()) {
    const { source, uri } = await sources.landContent(`sec-${i}.csv`, Buffer.from(csv));
    await jobs.write(table, { uri, hash: source.hash, name: `sec-${i}.csv` }, "1");
    csvUri = uri;
  }
});

afterAll(async () => {
  if (table) await jobs.drop(table, true).catch(() => undefined);
});

test("the table a stranger targets: 3 rows in 2 commits", async () => {
  const s = await state();
  expect(s).toMatchObject({ rows: 3, sum: 60 });
  expect(s.commits).toHaveLength(2);
});

test("a stranger without the secret: drop, maintain, write and observe are 401, and the table is unchanged", async () => {
  const before = await state();
  const source = { uri: csvUri, hash: "stranger", name: "stranger.csv" };
  const attempts: [string, unknown][] = [
    ["drop", { table, purge: true }],
    ["maintain", { table: { ...table, retain: { commits: 1 } } }],
    ["write", { table, source, generation: "9" }],
    ["observe", { table }],
    ["clear_leftovers", { table }],
  ];
  const wrongs: Record<string, string>[] = [{}, { authorization: "Bearer not-the-secret-but-long-enough" }, { authorization: `Bearer ${outs.jobServerSecret.slice(0, -1)}` }];
  for (const wrong of wrongs) {
    for (const [op, body] of attempts) {
      const res = await post(op, body, { ...json, ...wrong });
      expect({ op, status: res.status, code: res.json.error?.code }).toEqual({ op, status: 401, code: "UNAUTHORIZED" });
    }
  }
  expect((await raw("GET", "/progress", {})).status).toBe(401);
  expect(await state()).toEqual(before);
});

test("a web page's requests: text/plain is 415, an Origin header or another Host is 403, even with the secret; the table is unchanged", async () => {
  const before = await state();
  // What a page can post cross-origin without a preflight.
  const plain = await post("drop", { table, purge: true }, { "content-type": "text/plain", ...bearer() });
  expect([plain.status, plain.json.error?.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
  const origin = await post("drop", { table, purge: true }, { ...json, ...bearer(), origin: "http://evil.example" });
  expect([origin.status, origin.json.error?.code]).toEqual([403, "FORBIDDEN"]);
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
  const port = new URL(outs.sparkJobServer).port;
  const rebound = await post("maintain", { table: { ...table, retain: { commits: 1 } } }, { ...json, ...bearer(), host: `evil.example:${port}` });
  expect([rebound.status, rebound.json.error?.code]).toEqual([403, "FORBIDDEN"]);
  expect(await state()).toEqual(before);
});

test("with the secret, a table outside the warehouse bucket is 400 naming the field: file:, another bucket, `..`", async () => {
  const cases: [string, string][] = [
    ["file:/tmp/lakeform-e2e-outside", "table.location"],
    ["file:///etc", "table.location"],
    [`s3a://not-${outs.warehouseBucket}/default/${table.name}`, "outside the warehouse bucket"],
    [`s3a://${outs.warehouseBucket}/default/../../elsewhere/x`, "table.location"],
    [`s3a://${outs.warehouseBucket}/_lakeform/journal`, "table.location"],
  ];
  for (const [location, words] of cases) {
    for (const op of ["drop", "observe", "maintain"]) {
      // purge is drop's alone: the contract refuses a field an operation doesn't declare.
      const res = await post(op, { table: { ...table, location }, ...(op === "drop" ? { purge: true } : {}) }, { ...json, ...bearer() });
      expect({ location, op, status: res.status, code: res.json.error?.code }).toEqual({ location, op, status: 400, code: "BAD_REQUEST" });
      expect(res.json.error?.message).toContain(words);
    }
  }
  // A purge removes only a table's own location, never its database's.
  const db = await post("drop", { table: { ...table, location: `s3a://${outs.warehouseBucket}/default` }, purge: true }, { ...json, ...bearer() });
  expect(db.status).toBe(400);
  // A write reads s3a:// sources only, never a local file.
  const local = await post("write", { table, source: { uri: "file:/etc/passwd", hash: "h", name: "p" }, generation: "9" }, { ...json, ...bearer() });
  expect([local.status, local.json.error?.message]).toEqual([400, expect.stringContaining("source.uri")]);
  const big = await raw("POST", "/v1/observe", { ...json, ...bearer() }, JSON.stringify({ table, pad: "x".repeat(2 * 1024 * 1024) }));
  expect([big.status, big.json.error?.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  expect(await state()).toMatchObject({ rows: 3, sum: 60 });
});

test("/healthz answers without the secret and tells nothing secret", async () => {
  const res = await raw("GET", "/healthz", {});
  expect(res.status).toBe(200);
  expect(JSON.stringify(res.json)).not.toContain(outs.jobServerSecret);
  expect(await jobs.healthy()).toBe(true);
});

test("the secret is in the job server's environment, not on its command line (which ps shows every user)", () => {
  const pidFile = path.join(outs.dataDir, "spark", "spark.pid");
  const { pid } = JSON.parse(fs.readFileSync(pidFile, "utf8")) as { pid: number };
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  expect(cmdline).toContain("--serve");
  expect(cmdline).not.toContain(outs.jobServerSecret);
  expect(fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")).toContain(`LAKEFORM_JOB_SERVER_SECRET=${outs.jobServerSecret}`);
  // Spark's RPC authentication is on, its secret in the 0600 properties file.
  const defaults = path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf");
  expect(fs.statSync(defaults).mode & 0o077).toBe(0);
  expect(fs.readFileSync(defaults, "utf8")).toMatch(/^spark\.authenticate true$/m);
});

test("a standalone master of the local plan: an application without the RPC secret can't register, one with the plan's properties file can", async () => {
  const tc = readToolchain("local");
  const local = tc.local!;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-spark-auth-"));
  // Only the job server's defaults (not started here) read the connection.
  const conn: LakeConnection = { s3Endpoint: "http://127.0.0.1:1", s3Region: "us-east-1", accessKey: "unused", secretKey: "unused", warehouseBucket: outs.warehouseBucket, metastoreUri: "thrift://127.0.0.1:1" };
  // Ports beside the e2e stack's (its job server's, less 77): the master's RPC and UI below it.
  const port = Number(new URL(outs.sparkJobServer).port) - 77;
  const [master] = sparkLocalPlans({ dataDir, port, workers: 1, driverMemory: "512m", workerMemory: "1g" }, tc, conn, outs.jobServerSecret).cluster;
  for (const [file, content] of Object.entries(master.files)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode: 0o600 });
  }
  const propertiesFile = Object.keys(master.files)[0];
  const app = path.join(dataDir, "app.py");
  fs.writeFileSync(
    app,
    'import sys\nfrom pyspark.sql import SparkSession\ns = SparkSession.builder.master(sys.argv[1]).appName(sys.argv[2]).getOrCreate()\nprint("APP", s.sparkContext.applicationId, flush=True)\ns.stop()\n',
  );
  const noDefaults = fs.mkdtempSync(path.join(dataDir, "conf-"));
  const submit = async (name: string, extra: string[]) => {
    const env = { ...process.env, JAVA_HOME: local.java17Home, PYSPARK_PYTHON: local.paths.python, SPARK_LOCAL_IP: "127.0.0.1", SPARK_CONF_DIR: noDefaults };
    const args = [...extra, "--conf", "spark.driver.memory=512m", app, sparkLocalMaster(port, 1), name];
    const out = await run(local.paths.sparkSubmit, args, { env, timeout: 240_000, maxBuffer: 64 << 20 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
    return /^APP (\S+)$/m.exec(out.stdout)?.[1];
  };
  await startService(master.process);
  try {
    const pid = Number(JSON.parse(fs.readFileSync(master.process.pidFile, "utf8")).pid);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(sparkRpcSecret(outs.jobServerSecret));
    // No secret: the master refuses its SASL-less connection; the app gives up ("All masters are
    // unresponsive") with the id Spark makes up locally, never one the master assigned (app-…).
    const stranger = await submit(`stranger_${sfx}`, []);
    expect(stranger ?? "none").not.toMatch(/^app-/);
    const friend = await submit(`friend_${sfx}`, ["--properties-file", propertiesFile]);
    expect(friend).toMatch(/^app-/);
    const ui = master.process.health.http!;
    const state = (await (await fetch(ui)).json()) as { activeapps: { name: string }[]; completedapps: { name: string }[] };
    const names = [...state.activeapps, ...state.completedapps].map((a) => a.name);
    expect(names).toContain(`friend_${sfx}`);
    expect(names).not.toContain(`stranger_${sfx}`);
  } finally {
    await stopService(master.process);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 15 * 60_000);
