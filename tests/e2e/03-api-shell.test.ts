/**
 * The REST API and LakeShell against the real lake: ingest, query, history, time travel, atomic
 * commits, and bad input answered with a 4xx and a reason while the lake stays as it was.
 *
 * Every test stands alone: the three commits most tests read are a fixture (`threeCommits`),
 * made by whichever test needs them first, and a test that changes rows other tests count has a
 * table of its own.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LakeOutputs } from "../../stacks/automation";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import type { TrinoClient } from "../../lake/trino";
import { ensureUp, run, trino } from "./lake";

const sfx = Date.now().toString(36);
const HUDI = `people_${sfx}`;
const ICE = `accounts_${sfx}`;
const BIG = `big_${sfx}`;
const ROUND = `round_${sfx}`;

let outs: LakeOutputs;
let t: TrinoClient;
let dir: string;
let app: Awaited<ReturnType<typeof buildApi>>;
const cli = path.resolve(__dirname, "../../bin/lakeform");

const csv = (rows: (string | number)[][]) => rows.map((r) => r.join(",")).join("\n") + "\n";
const auth = () => ({ authorization: `Bearer ${outs.apiToken}` });
/** The read token: every read here carries it. */
const reader = () => ({ authorization: `Bearer ${outs.apiReadToken}` });
const ingest = (table: string, body: string, headers: Record<string, string> = auth()) =>
  app.inject({ method: "POST", url: `/ingest/${table}`, headers: { "content-type": "text/csv", ...headers }, payload: body });
const sorted = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-api-"));
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    `apiVersion: lakeform/v1
tables:
  - { name: ${HUDI}, format: hudi, primaryKey: id, orderingField: version, sources: [seed.csv] }
  - { name: ${ICE}, format: iceberg, primaryKey: id, sources: [seed.csv] }
  - { name: ${BIG}, format: hudi, primaryKey: id, sources: [seed.csv] }
  - { name: ${ROUND}, format: iceberg, primaryKey: id, sources: [seed.csv] }
`,
  );
  fs.writeFileSync(path.join(dir, "seed.csv"), "id,name,version\n");
  app = await buildApi({ lake: createLakeService(outs, path.join(dir, "tables.yaml")), tokens: apiTokens(outs) });
});

afterAll(async () => {
  await app?.close();
});

/** A commit made through the API, with the rows Trino showed right after it. */
interface Commit {
  commit: string;
  rows: unknown[][];
}
const made = new Map<string, Promise<Commit[]>>();
/**
 * The fixture most tests read: three commits through the API, each with the rows Trino showed
 * right after it. Made once per table, by whichever test asks first.
 */
function threeCommits(table: string, catalog: string): Promise<Commit[]> {
  if (!made.has(table)) {
    made.set(
      table,
      (async () => {
        const batches = [
          csv([["id", "name", "version"], [1, "ada", 1], [2, "grace", 1], [3, "alan", 1]]),
          csv([["id", "name", "version"], [2, "grace hopper", 2], [4, "edsger", 1]]),
          csv([["id", "name", "version"], [5, "barbara", 1]]),
        ];
        const out: Commit[] = [];
        for (const body of batches) {
          const res = await ingest(table, body);
          if (res.statusCode !== 200) throw new Error(`ingest into ${table} answered ${res.statusCode}: ${res.body}`);
          const { rows } = await t.query(`SELECT id, name, version FROM ${catalog}.default.${table} ORDER BY id`);
          out.push({ commit: res.json().commit, rows });
        }
        return out;
      })(),
    );
  }
  return made.get(table)!;
}

describe.each([
  [HUDI, "hudi"],
  [ICE, "iceberg"],
])("%s (%s)", (table, catalog) => {
  test("three commits through the API: each is queryable right after, and history lists them with their sources", async () => {
    const commits = await threeCommits(table, catalog);
    expect(commits.map((c) => c.rows.length)).toEqual([3, 4, 5]);
    expect(commits[2].rows).toContainEqual([2, "grace hopper", 2]);

    const history = await app.inject({ method: "GET", url: `/tables/${table}/history`, headers: reader() });
    expect(history.statusCode).toBe(200);
    const listed = history.json().commits as { commit: string; source: string; sourceHash: string }[];
    expect(listed.map((c) => c.commit)).toEqual(commits.map((c) => c.commit));
    for (const c of listed) {
      expect(c.source).toMatch(/^api-.*\.csv$/);
      expect(c.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test("time travel to each commit returns exactly that commit's rows", async () => {
    const commits = await threeCommits(table, catalog);
    expect(commits).toHaveLength(3);
    for (const { commit, rows } of commits) {
      const res = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${commit}`, headers: reader() });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { columns: { name: string }[]; rows: unknown[][] };
      const idx = ["id", "name", "version"].map((c) => body.columns.findIndex((x) => x.name === c));
      expect(sorted(body.rows.map((r) => idx.map((i) => r[i])))).toEqual(sorted(rows));
    }
    // By timestamp: each commit's own time, as history reports it, selects that commit.
    const history = (await app.inject({ method: "GET", url: `/tables/${table}/history`, headers: reader() })).json().commits as { commit: string; time: string }[];
    for (const [i, { time }] of history.entries()) {
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const res = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${encodeURIComponent(time)}`, headers: reader() });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { columns: { name: string }[]; rows: unknown[][] };
      const idx = ["id", "name", "version"].map((c) => body.columns.findIndex((x) => x.name === c));
      expect(sorted(body.rows.map((r) => idx.map((i) => r[i])))).toEqual(sorted(commits[i].rows));
    }
    // With a filter, evaluated as of that commit.
    const { commit, rows } = commits[1];
    const res = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${commit}&where=${encodeURIComponent("id >= 2 AND name LIKE 'g%'")}`, headers: reader() });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { columns: { name: string }[]; rows: unknown[][] };
    const nameAt = body.columns.findIndex((x) => x.name === "name");
    expect(body.rows.map((r) => r[nameAt])).toEqual(rows.filter((r) => (r[0] as number) >= 2 && String(r[1]).startsWith("g")).map((r) => r[1]));
  });
});

test("/query names BIGINT columns whose values JSON numbers can't carry exactly", async () => {
  const res = await app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: "SELECT BIGINT '9007199254740993' AS big, BIGINT '42' AS small" } });
  expect(res.statusCode).toBe(200);
  const body = res.json() as { rows: unknown[][]; warnings?: string[] };
  expect(body.rows[0][1]).toBe(42);
  expect(body.warnings).toEqual([expect.stringMatching(/^column big: .*CAST\(big AS varchar\)/)]);
  const exact = await app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: "SELECT CAST(BIGINT '9007199254740993' AS varchar) AS big" } });
  expect(exact.json()).toMatchObject({ rows: [["9007199254740993"]] });
  expect(exact.json().warnings).toBeUndefined();
});

test("the API round trip: ingest a CSV, query it back, travel to before it", async () => {
  const ICE = ROUND;
  const seeded = await ingest(ICE, csv([["id", "name", "version"], [1, "ada", 1], [2, "grace hopper", 2], [3, "alan", 1], [4, "edsger", 1], [5, "barbara", 1]]));
  expect(seeded.statusCode).toBe(200);
  const before = seeded.json().commit;
  const res = await ingest(ICE, csv([["id", "name", "version"], [6, "margaret", 1]]));
  expect(res.statusCode).toBe(200);
  const q = await app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: `SELECT name FROM iceberg.default.${ICE} WHERE id = 6` } });
  expect(q.json().rows).toEqual([["margaret"]]);
  // The same as a multipart file upload, as a browser form or `curl -F file=@x.csv` sends it.
  const boundary = "lakeformboundary";
  const multipart = [`--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="more.csv"', "Content-Type: text/csv", "", "id,name,version", "7,katherine,1", `--${boundary}--`, ""].join("\r\n");
  const up = await app.inject({ method: "POST", url: `/ingest/${ICE}`, headers: { ...auth(), "content-type": `multipart/form-data; boundary=${boundary}` }, payload: multipart });
  expect(up.statusCode).toBe(200);
  expect(await t.scalar(`SELECT name FROM iceberg.default.${ICE} WHERE id = 7`)).toBe("katherine");
  const once = await app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: `SELECT count(*) FROM iceberg.default.${ICE} WHERE id = 7` } });
  expect(once.json().rows).toEqual([[1]]);
  expect(q.json().columns).toEqual([{ name: "name", type: "varchar" }]);
  const old = await app.inject({ method: "GET", url: `/tables/${ICE}/rows?asOf=${before}`, headers: reader() });
  expect(old.json().rows).toHaveLength(5);
  // Paging: limit and offset over one query.
  const page = await app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: `SELECT id FROM iceberg.default.${ICE} ORDER BY id`, limit: 4, offset: 4 } });
  expect(page.json()).toMatchObject({ rows: [[5], [6], [7]], offset: 4, nextOffset: null });
  const docs = await app.inject({ method: "GET", url: "/openapi.json", headers: reader() });
  expect(Object.keys(docs.json().paths)).toEqual(expect.arrayContaining(["/ingest/{table}", "/query", "/tables/{table}/rows"]));
});

test("bad input gets a 4xx with a reason, and the lake is unchanged", async () => {
  const [first] = await threeCommits(ICE, "iceberg");
  const count = async () => t.scalar<number>(`SELECT count(*) FROM iceberg.default.${ICE}`);
  const before = await count();
  const cases: { name: string; res: () => Promise<{ statusCode: number; json: () => any }>; status: number; message: RegExp }[] = [
    { name: "a write through /query", res: () => app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: `DELETE FROM iceberg.default.${ICE}` } }), status: 400, message: /DELETE is refused/ },
    { name: "DDL through /query", res: () => app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: `DROP TABLE iceberg.default.${ICE}` } }), status: 400, message: /DROP is refused/ },
    { name: "a write through /query with the write token (the statement decides, not the token)", res: () => app.inject({ method: "POST", url: "/query", headers: auth(), payload: { sql: `INSERT INTO iceberg.default.${ICE} VALUES (99, 'x', 1)` } }), status: 400, message: /INSERT is refused/ },
    { name: "two statements", res: () => app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: `SELECT 1; DROP TABLE iceberg.default.${ICE}` } }), status: 400, message: /one statement/ },
    { name: "bad SQL (Trino's syntax error)", res: () => app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: "SELECT FROM WHERE 1" } }), status: 400, message: /mismatched input|syntax/i },
    { name: "a misspelled keyword (not a read statement: refused before Trino)", res: () => app.inject({ method: "POST", url: "/query", headers: reader(), payload: { sql: "SELEC 1" } }), status: 400, message: /SELEC is refused/ },
    { name: "injection in a table name", res: () => app.inject({ method: "GET", url: `/tables/${encodeURIComponent(`${ICE}; DROP TABLE x`)}/history`, headers: reader() }), status: 400, message: /not a table name/ },
    { name: "injection in asOf", res: () => app.inject({ method: "GET", url: `/tables/${ICE}/rows?asOf=${encodeURIComponent("1 OR 1=1; DROP TABLE x")}`, headers: reader() }), status: 400, message: /neither a commit id/ },
    { name: "a function call in a travel filter", res: () => app.inject({ method: "GET", url: `/tables/${ICE}/rows?asOf=${first.commit}&where=${encodeURIComponent("reflect('java.lang.System','exit',0) = 1")}`, headers: reader() }), status: 400, message: /not a column/ },
    { name: "an unknown table", res: () => app.inject({ method: "GET", url: "/tables/nope/history", headers: reader() }), status: 404, message: /no table "nope"/ },
    { name: "a ragged CSV (streamed: the job server refuses it before it commits)", res: () => ingest(ICE, "id,name,version\n7,x\n"), status: 400, message: /line 2 has a different number of fields/ },
    { name: "no token", res: () => ingest(ICE, "id,name,version\n8,x,1\n", {}), status: 401, message: /Bearer/ },
    { name: "a wrong token", res: () => ingest(ICE, "id,name,version\n8,x,1\n", { authorization: "Bearer nope" }), status: 401, message: /bearer token is not one of this API/ },
    { name: "the read token on a write", res: () => ingest(ICE, "id,name,version\n8,x,1\n", reader()), status: 403, message: /read token can't write/ },
    { name: "a missing key column", res: () => ingest(ICE, "name,version\nx,1\n"), status: 422, message: /not in the CSV header/ },
  ];
  for (const c of cases) {
    const res = await c.res();
    expect({ case: c.name, status: res.statusCode }).toEqual({ case: c.name, status: c.status });
    expect(res.json().error.message).toMatch(c.message);
  }
  expect(await count()).toBe(before);
});

test("the Arrow path: a small Iceberg batch is written by pyarrow + pyiceberg in the job server, its commit recorded as any; ?via=spark and Hudi take Spark", async () => {
  await threeCommits(ICE, "iceberg");
  const before = (await app.inject({ method: "GET", url: `/tables/${ICE}/history`, headers: reader() })).json().commits.length;
  const res = await app.inject({
    method: "POST", url: `/ingest/${ICE}?via=arrow`, headers: { ...auth(), "content-type": "text/csv" },
    payload: "ID,Name,Version\n1,ada lovelace,2\n20,hedy,1\n20,hedy lamarr,2\n",
  });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ rowsWritten: 3, renamed: { ID: "id", Name: "name", Version: "version" } });
  const { rows } = await t.query(`SELECT id, name, version FROM iceberg.default.${ICE} WHERE id IN (1, 20) ORDER BY id`);
  expect(rows).toEqual([[1, "ada lovelace", 2], [20, "hedy lamarr", 2]]);
  const history = (await app.inject({ method: "GET", url: `/tables/${ICE}/history`, headers: reader() })).json().commits;
  expect(history).toHaveLength(before + 1);
  expect(history[history.length - 1]).toMatchObject({ commit: res.json().commit, rowsInserted: 1, rowsUpdated: 1 });
  expect(history[history.length - 1].sourceHash).toBeTruthy();
  const spark = await app.inject({ method: "POST", url: `/ingest/${ICE}?via=spark`, headers: { ...auth(), "content-type": "text/csv" }, payload: "id,name,version\n21,ida,1\n" });
  expect(spark.statusCode).toBe(200);
  const paths = await t.query(`SELECT CAST(snapshot_id AS varchar), element_at(summary, 'lakeform.path') FROM iceberg.default."${ICE}$snapshots"`);
  const pathOf = new Map(paths.rows.map((r) => [String(r[0]), r[1]]));
  expect([pathOf.get(res.json().commit), pathOf.get(spark.json().commit)]).toEqual(["arrow", null]);
  // Hudi tables stay on the Spark path, whatever was asked.
  expect((await app.inject({ method: "POST", url: `/ingest/${HUDI}?via=arrow`, headers: { ...auth(), "content-type": "text/csv" }, payload: "id,name,version\n99,x,1\n" })).statusCode).toBe(200);
});

test("atomic commits: while a large upsert runs, Trino only ever sees the old or the new count", async () => {
  const seed = await ingest(BIG, csv([["id", "payload"], ...Array.from({ length: 1000 }, (_, i) => [i, `seed-${i}`])]));
  expect(seed.statusCode).toBe(200);
  const N = 300_000;
  const big = ["id,payload", ...Array.from({ length: N }, (_, i) => `${i},row-${i}-${"x".repeat(40)}`)].join("\n") + "\n";
  const seen = new Set<number>();
  let done = false;
  const write = ingest(BIG, big).finally(() => {
    done = true;
  });
  let polls = 0;
  const deadline = Date.now() + 10 * 60_000;
  while (!done) {
    if (Date.now() > deadline) throw new Error(`the ${N}-row upsert into ${BIG} didn't finish in 10 minutes (counts seen: ${[...seen]})`);
    seen.add(await t.scalar<number>(`SELECT count(*) FROM hudi.default.${BIG}`));
    polls++;
  }
  expect((await write).statusCode).toBe(200);
  seen.add(await t.scalar<number>(`SELECT count(*) FROM hudi.default.${BIG}`));
  expect(polls).toBeGreaterThan(3);
  expect([...seen].sort((a, b) => a - b)).toEqual([1000, N]);
});

test("LakeShell from stdin: insert, select, travel, history; errors give a non-zero exit", async () => {
  const [first] = await threeCommits(ICE, "iceberg");
  const script = `insert into ${ICE} values (9, 'shell user', 1)
select name from iceberg.default.${ICE} where id = 9
travel ${ICE} as of ${first.commit}
history ${ICE}
`;
  const res = await runShell(["--json"], script);
  expect(res.code).toBe(0);
  const lines = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
  expect(lines[0].message).toMatch(/upserted 1 row/);
  expect(lines[1].rows).toEqual([["shell user"]]);
  expect(lines[2].rows).toHaveLength(3);
  // The three commits and the shell's own insert (and the Arrow path test's, when it ran first).
  expect(lines[3].rows.length).toBeGreaterThanOrEqual(4);
  const bad = await runShell([], "select * from nowhere.nothing\n");
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/error: .*nowhere/);
});

test("LakeShell in a terminal completes commands and table names", async () => {
  await threeCommits(ICE, "iceberg");
  // A pseudo-terminal from Python's pty module: type "hist<TAB> <first letters><TAB>", then quit.
  const driver = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "shell", "-f", sys.argv[2]])
out = b""
def read_for(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return
read_for(12)
os.write(fd, b"hist\\t")
read_for(2)
os.write(fd, b" ${ICE.slice(0, 10)}\\t")
read_for(2)
os.write(fd, b"\\n")
read_for(15)
os.write(fd, b"quit\\n")
read_for(3)
sys.stdout.write(out.decode("utf-8", "replace"))
`;
  const { stdout } = await run("python3", ["-c", driver, cli, path.join(dir, "tables.yaml")], { env: process.env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
  expect(stdout).toMatch(new RegExp(`history ${ICE}`));
  expect(stdout).toMatch(/commit.*time.*operation/);
});

/** Runs LakeShell on a script; fails, with what it printed, if it hasn't exited within timeoutMs. */
function runShell(args: string[], stdin: string, timeoutMs = 5 * 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ["shell", "-f", path.join(dir, "tables.yaml"), ...args], { env: process.env });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`LakeShell ${args.join(" ")} still running after ${timeoutMs} ms on:\n${stdin}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}
