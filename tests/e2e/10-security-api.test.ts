/**
 * The REST API's trust boundary against the real lakehouse, with the API as its own process
 * (`lakeform api`, as the stack's service runs it) over real sockets:
 * - every read route refuses a request without a token (401), a write refuses the read token
 *   (403) and the table stays as it was;
 * - POST /query runs one read statement in a session of its own: SET SESSION is refused and
 *   leaves nothing behind, a query over the statement timeout is cancelled on Trino, and one
 *   whose caller goes away is cancelled there too;
 * - bodies are bounded (an oversized JSON body is 413) and a 200 MB CSV is streamed to the
 *   object store while the API's memory stays far below the body's size;
 * - a streamed CSV's rows are the job server's to check: an empty key or a ragged row is refused
 *   before anything is committed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { LakeOutputs } from "../../stacks/automation";
import type { TrinoClient } from "../../lake/trino";
import { ensureUp, trino, waitFor } from "./lake";

const ROOT = path.resolve(__dirname, "../..");
const sfx = Date.now().toString(36);
const ICE = `sec_people_${sfx}`;
const BIG = `sec_big_${sfx}`;
/** The API's statement timeout in this test: short, so a query over it is quick to see. */
const TIMEOUT_SEC = 5;

let outs: LakeOutputs;
let t: TrinoClient;
let dir: string;
let api: ChildProcess;
let base: string;
let apiLog = "";

const writer = () => ({ authorization: `Bearer ${outs.apiToken}` });
const reader = () => ({ authorization: `Bearer ${outs.apiReadToken}` });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The API process's resident memory, from /proc (bytes). */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

async function call(method: string, url: string, opts: { headers?: Record<string, string>; json?: unknown; body?: string } = {}) {
  const headers = { ...(opts.json !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers };
  const res = await fetch(`${base}${url}`, { method, headers, body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

const count = async (table: string) => Number(await t.scalar(`SELECT count(*) FROM iceberg.default.${table}`));

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-sec-api-"));
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    `apiVersion: lakeform/v1
tables:
  - { name: ${ICE}, format: iceberg, primaryKey: id, sources: [seed.csv] }
  - { name: ${BIG}, format: iceberg, primaryKey: id, sources: [seed.csv] }
`,
  );
  fs.writeFileSync(path.join(dir, "seed.csv"), "id,name\n");
  // The API reads its connection from an outputs file, as the stack's service does.
  const outputsFile = path.join(dir, "outputs.json");
  fs.writeFileSync(outputsFile, JSON.stringify(outs), { mode: 0o600 });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli/main.ts"), "api", "-f", path.join(dir, "tables.yaml"), "--port", String(port), "--query-timeout", String(TIMEOUT_SEC)], {
    cwd: ROOT,
    env: { ...process.env, LAKEFORM_OUTPUTS_FILE: outputsFile, LAKEFORM_LOG_FORMAT: "json", NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  api.stdout?.on("data", (d) => (apiLog = (apiLog + d).slice(-20_000)));
  api.stderr?.on("data", (d) => (apiLog = (apiLog + d).slice(-20_000)));
  await waitFor("the API to answer /healthz", async () => ((await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), {
    timeoutMs: 120_000,
    gaveUp: () => (api.exitCode !== null ? `the API exited ${api.exitCode}: ${apiLog}` : undefined),
  });
  const seeded = await call("POST", `/ingest/${ICE}`, { headers: { ...writer(), "content-type": "text/csv" }, body: "id,name\n1,ada\n2,grace\n3,alan\n" });
  expect([seeded.status, seeded.body]).toEqual([200, expect.objectContaining({ rowsWritten: 3 })]);
});

afterAll(async () => {
  if (api && api.exitCode === null) {
    api.kill("SIGTERM");
    await new Promise((r) => api.once("exit", r));
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("every read route refuses a request without a token or with a wrong one (401 with a Bearer challenge); health stays open", async () => {
  const history = await call("GET", `/tables/${ICE}/history`, { headers: reader() });
  const [first] = history.body.commits as { commit: string }[];
  const reads: [string, string, unknown?][] = [
    ["GET", "/status"],
    ["GET", "/tables"],
    ["GET", `/tables/${ICE}`],
    ["GET", `/tables/${ICE}/history`],
    ["GET", `/tables/${ICE}/progress`],
    ["GET", `/tables/${ICE}/rows?asOf=${first.commit}`],
    ["GET", `/tables/${ICE}/changes?since=${first.commit}`],
    ["POST", "/query", { sql: `SELECT * FROM iceberg.default.${ICE}` }],
    ["GET", "/openapi.json"],
    ["GET", "/docs/json"],
  ];
  for (const [method, url, json] of reads) {
    for (const headers of [{} as Record<string, string>, { authorization: "Bearer not-the-token" }, { authorization: `Basic ${Buffer.from(`x:${outs.apiReadToken}`).toString("base64")}` }]) {
      const res = await call(method, url, { headers, json });
      expect({ method, url, headers, status: res.status, code: res.body?.error?.code, challenge: res.headers.get("www-authenticate")?.startsWith("Bearer") }).toEqual({
        method, url, headers, status: 401, code: "UNAUTHORIZED", challenge: true,
      });
      // Nothing of the table leaks into the refusal.
      expect(JSON.stringify(res.body)).not.toMatch(/grace/);
    }
    const ok = await call(method, url, { headers: reader(), json });
    expect({ method, url, status: ok.status }).toEqual({ method, url, status: 200 });
  }
  expect((await call("GET", "/healthz")).status).toBe(200);
  const page = await call("GET", "/docs");
  expect(page.status).toBe(200);
});

test("a write with the read token is 403 FORBIDDEN and the table is unchanged in Trino", async () => {
  const before = await t.query(`SELECT id, name FROM iceberg.default.${ICE} ORDER BY id`);
  const writes = [
    () => call("POST", `/ingest/${ICE}`, { headers: { ...reader(), "content-type": "text/csv" }, body: "id,name\n4,edsger\n" }),
    () => call("DELETE", `/tables/${ICE}/rows?where=${encodeURIComponent("id >= 1")}`, { headers: reader() }),
    () => call("DELETE", `/tables/${ICE}/rows`, { headers: { ...reader(), "content-type": "text/csv" }, body: "id\n1\n" }),
    () => call("PATCH", `/tables/${ICE}/rows`, { headers: reader(), json: { set: { name: "pwned" }, where: "id = 1" } }),
  ];
  for (const w of writes) {
    const res = await w();
    expect([res.status, res.body.error.code, res.headers.get("www-authenticate")]).toEqual([403, "FORBIDDEN", 'Bearer realm="lakeform", error="insufficient_scope", scope="write"']);
  }
  // Nor through /query, whatever the token: the statement is refused before Trino sees it.
  for (const headers of [reader(), writer()]) {
    const res = await call("POST", "/query", { headers, json: { sql: `DELETE FROM iceberg.default.${ICE}` } });
    expect([res.status, res.body.error.code]).toEqual([400, "QUERY_REFUSED"]);
  }
  expect(await t.query(`SELECT id, name FROM iceberg.default.${ICE} ORDER BY id`)).toEqual(before);
  expect(before.rows).toHaveLength(3);
});

test("SET SESSION is refused, however it is dressed, and a later SHOW SESSION shows the API's own setting, not the refused one", async () => {
  for (const sql of [
    "SET SESSION query_max_run_time='2s'",
    "/* hidden */ set session query_max_run_time = '2s'",
    "SELECT 1; SET SESSION query_max_run_time='2s'",
    "SELECT 1 /* ; */ ; SET SESSION query_max_run_time='2s'",
    "RESET SESSION query_max_run_time",
    "PREPARE p FROM SELECT 1",
    "USE iceberg.default",
    "START TRANSACTION",
    "EXPLAIN ANALYZE DELETE FROM iceberg.default." + ICE,
  ]) {
    const res = await call("POST", "/query", { headers: reader(), json: { sql } });
    expect({ sql, status: res.status, code: res.body.error.code }).toEqual({ sql, status: 400, code: expect.stringMatching(/^(QUERY_REFUSED|MULTIPLE_STATEMENTS)$/) });
  }
  const show = await call("POST", "/query", { headers: reader(), json: { sql: "SHOW SESSION LIKE 'query_max_run_time'" } });
  expect(show.status).toBe(200);
  const cols = (show.body.columns as { name: string }[]).map((c) => c.name.toLowerCase());
  const [row] = show.body.rows as string[][];
  const value = row[cols.indexOf("value")];
  const dflt = row[cols.indexOf("default")];
  // The value is the API's statement timeout for this query, the default Trino's own; never the refused 2s.
  expect(value).not.toMatch(/^2(\.0+)?s$/);
  expect(Number(/^([\d.]+)s$/.exec(value)?.[1])).toBe(TIMEOUT_SEC);
  expect(dflt).not.toBe(value);
});

/** A query that runs for minutes on this machine: 10^11 rows counted. */
const slowQuery = (tag: string) =>
  `SELECT '${tag}' AS tag, count(*) FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 1000)) c(z)`;

/** Trino's record of the query whose text carries tag: its state and error. */
async function trinoQuery(tag: string): Promise<{ state: string; error: string | null } | undefined> {
  const { rows } = await t.query(`SELECT state, error_code FROM system.runtime.queries WHERE query LIKE '%${tag}%' AND query NOT LIKE '%system.runtime.queries%' ORDER BY created DESC LIMIT 1`);
  return rows[0] ? { state: String(rows[0][0]), error: rows[0][1] === null ? null : String(rows[0][1]) } : undefined;
}

test("a query over the statement timeout is 400 QUERY_TIMEOUT, and Trino ended it for running too long", async () => {
  const tag = `lf-timeout-${sfx}`;
  const started = Date.now();
  const res = await call("POST", "/query", { headers: reader(), json: { sql: slowQuery(tag) } });
  const tookMs = Date.now() - started;
  expect([res.status, res.body.error.code]).toEqual([400, "QUERY_TIMEOUT"]);
  expect(tookMs).toBeGreaterThanOrEqual(TIMEOUT_SEC * 1000 - 500);
  expect(tookMs).toBeLessThan(60_000);
  expect(await trinoQuery(tag)).toEqual({ state: "FAILED", error: "EXCEEDED_TIME_LIMIT" });
});

test("a query whose caller goes away is cancelled on Trino, before the timeout would have ended it", async () => {
  const tag = `lf-gone-${sfx}`;
  const body = JSON.stringify({ sql: slowQuery(tag) });
  const req = http.request(`${base}/query`, { method: "POST", headers: { ...reader(), "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
  req.on("error", () => undefined);
  req.end(body);
  await waitFor("the query to run on Trino", async () => ((await trinoQuery(tag))?.state === "RUNNING" ? true : undefined), { timeoutMs: 20_000, intervalMs: 200 });
  const goneAt = Date.now();
  req.destroy();
  const ended = await waitFor("Trino to end the query", async () => {
    const q = await trinoQuery(tag);
    return q && q.state !== "RUNNING" && q.state !== "QUEUED" && q.state !== "PLANNING" && q.state !== "STARTING" ? q : undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 });
  expect(ended).toEqual({ state: "FAILED", error: "USER_CANCELED" });
  expect(Date.now() - goneAt).toBeLessThan(TIMEOUT_SEC * 1000 + 3000);
});

test("a JSON body over 1 MiB is 413 PAYLOAD_TOO_LARGE, a body of a media type the route doesn't take 415", async () => {
  const big = await call("POST", "/query", { headers: reader(), json: { sql: `SELECT '${"x".repeat(1100 * 1024)}'` } });
  expect([big.status, big.body.error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  const patch = await call("PATCH", `/tables/${ICE}/rows`, { headers: writer(), json: { set: { name: "y".repeat(1100 * 1024) }, where: "id = 1" } });
  expect([patch.status, patch.body.error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  const csvQuery = await call("POST", "/query", { headers: { ...reader(), "content-type": "text/csv" }, body: "SELECT 1" });
  expect([csvQuery.status, csvQuery.body.error.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${ICE} WHERE name LIKE 'yyy%'`)).toBe(0);
});

test("a streamed CSV's rows are checked by the job server before it commits: an empty key or a ragged row is BAD_CSV with its line, and nothing is written", async () => {
  const before = await t.query(`SELECT id, name FROM iceberg.default.${ICE} ORDER BY id`);
  const emptyKey = await call("POST", `/ingest/${ICE}`, { headers: { ...writer(), "content-type": "text/csv" }, body: "id,name\n10,x\n,y\n11,z\n" });
  expect([emptyKey.status, emptyKey.body.error.code, emptyKey.body.error.message]).toEqual([400, "BAD_CSV", expect.stringMatching(/line 3 has an empty primary key \(id\)/)]);
  const ragged = await call("POST", `/ingest/${ICE}`, { headers: { ...writer(), "content-type": "text/csv" }, body: "id,name\n10,x\n11\n" });
  expect([ragged.status, ragged.body.error.code, ragged.body.error.message]).toEqual([400, "BAD_CSV", expect.stringMatching(/line 3/)]);
  // A header missing the key is refused by the API itself, from the body's first bytes.
  const noKey = await call("POST", `/ingest/${ICE}`, { headers: { ...writer(), "content-type": "text/csv" }, body: "name\nx\n" });
  expect([noKey.status, noKey.body.error.code]).toEqual([422, "SCHEMA_REFUSED"]);
  expect(await t.query(`SELECT id, name FROM iceberg.default.${ICE} ORDER BY id`)).toEqual(before);
});

test("?badRows=quarantine: the good rows of an upload are written and the bad ones kept in the quarantine table, counted in the reply", async () => {
  const res = await call("POST", `/ingest/${ICE}?badRows=quarantine`, { headers: { ...writer(), "content-type": "text/csv" }, body: "id,name\n20,ok\n,no key\n21\n22,fine\n" });
  expect(res.status).toBe(200);
  expect(res.body.rowsWritten).toBe(2);
  expect(res.body.expectations).toEqual([expect.objectContaining({ name: "_bad_row", action: "quarantine", failed: 2 })]);
  expect((await t.query(`SELECT id, name FROM iceberg.default.${ICE} WHERE id IN (20, 21, 22) ORDER BY id`)).rows).toEqual([[20, "ok"], [22, "fine"]]);
  const q = await t.query(`SELECT id, name, _reason, _line FROM iceberg.default."${ICE}__quarantine" WHERE _line IN (3, 4) AND _source LIKE 'api-%' ORDER BY _line`);
  expect(q.rows).toEqual([[null, "no key", "an empty primary key (id)", 3], ["21", null, "a different number of fields than the header (2)", 4]]);
  const bad = await call("POST", `/ingest/${ICE}?badRows=maybe`, { headers: { ...writer(), "content-type": "text/csv" }, body: "id,name\n23,x\n" });
  expect([bad.status, bad.body.error.code]).toEqual([400, "BAD_REQUEST"]);
});

test("a 200 MB CSV is streamed to the object store and written, while the API's memory grows far less than the body", async () => {
  const ROWS = 2_000_000;
  const pad = "p".repeat(80);
  const hash = crypto.createHash("sha256");
  let bytes = 0;
  // Generated as it is sent, never held whole here either.
  async function* csv() {
    const head = "id,name,amount\n";
    hash.update(head);
    bytes += head.length;
    yield Buffer.from(head);
    const per = 5000;
    for (let i = 0; i < ROWS; i += per) {
      let chunk = "";
      for (let k = i; k < Math.min(ROWS, i + per); k++) chunk += `${k},name-${k}-${pad},${k % 1000}\n`;
      const b = Buffer.from(chunk);
      hash.update(b);
      bytes += b.length;
      yield b;
    }
  }
  const pid = api.pid!;
  const rssBefore = rss(pid);
  let peak = rssBefore;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rss(pid));
    } catch {
      /* exited: the request fails and says so */
    }
  }, 100);
  let res: { status: number; body: string };
  try {
    res = await new Promise((resolve, reject) => {
      const req = http.request(`${base}/ingest/${BIG}`, { method: "POST", headers: { ...writer(), "content-type": "text/csv", "transfer-encoding": "chunked" } }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      Readable.from(csv()).pipe(req);
    });
  } finally {
    clearInterval(sampler);
  }
  expect(bytes).toBeGreaterThan(200 * 1000 * 1000);
  expect({ status: res.status, body: res.status === 200 ? "" : res.body }).toEqual({ status: 200, body: "" });
  expect(JSON.parse(res.body)).toMatchObject({ table: BIG, rowsWritten: ROWS });
  const grew = peak - rssBefore;
  process.stderr.write(`API RSS: ${Math.round(rssBefore / 2 ** 20)} MiB before, ${Math.round(peak / 2 ** 20)} MiB at most during a ${Math.round(bytes / 2 ** 20)} MiB ingest\n`);
  // A body held whole would take more than its size (and twice that while concatenated); streamed, the parts in flight and the heap's slack.
  expect(grew).toBeLessThan(bytes / 2);
  expect(await count(BIG)).toBe(ROWS);
  // Landed by its content's hash: the commit records the hash of exactly what was sent.
  const history = await call("GET", `/tables/${BIG}/history`, { headers: reader() });
  expect(history.body.commits.at(-1).sourceHash).toBe(hash.digest("hex"));
}, 20 * 60_000);
