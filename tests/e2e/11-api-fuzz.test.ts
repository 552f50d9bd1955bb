/**
 * The REST API fuzzed against its own OpenAPI document by schemathesis (PyPI; installed once into
 * the cache by scripts/install-schemathesis.sh), with every check on, on a running lakehouse: the
 * API listens on 127.0.0.1 on a free port over a throwaway tables.yaml, half the generated table
 * names are its real tables, half the commit ids (asOf, since) its real commits, and requests
 * carry the write token, so reads, travel, changes and writes reach Trino and Spark (the
 * document itself needs a token too: it is fetched with the read token and handed to
 * schemathesis as a file). Its ignored_auth check sends each operation without the token and
 * with a wrong one, and expects them refused. Bounded by examples per operation and by time; any
 * check failure fails.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import type { LakeOutputs } from "../../stacks/automation";
import { ensureUp, run } from "./lake";

const ROOT = path.resolve(__dirname, "../..");
const sfx = Date.now().toString(36);
const HUDI = `fuzz_people_${sfx}`;
const ICE = `fuzz_accounts_${sfx}`;
/** Declared but never written: the API answers 409 TABLE_MISSING for it. */
const UNWRITTEN = `fuzz_later_${sfx}`;
/**
 * Examples per operation and the whole run's time budget: every operation's shapes on 2 cores in
 * a few minutes of the test command (the writes go through Spark and take seconds each). Longer
 * runs find more: LAKEFORM_FUZZ_SECONDS, LAKEFORM_FUZZ_EXAMPLES.
 */
const MAX_EXAMPLES = Number(process.env.LAKEFORM_FUZZ_EXAMPLES ?? 30);
const MAX_TIME_S = Number(process.env.LAKEFORM_FUZZ_SECONDS ?? 120);
/**
 * One seed by default, so the test command checks the same cases each run and a failure can be
 * replayed; LAKEFORM_FUZZ_SEED picks another ("random" for a fresh one) to explore further.
 */
const SEED_ENV = process.env.LAKEFORM_FUZZ_SEED ?? "20261125";

let outs: LakeOutputs;
let dir: string;
let app: Awaited<ReturnType<typeof buildApi>>;
let base: string;
let st: string;
/** The seeding commits (one per written table): values for asOf, since and until that exist. */
const commits: string[] = [];
const logFile = () => path.join(dir, "api.log");

beforeAll(async () => {
  st = (await run("bash", [path.join(ROOT, "scripts/install-schemathesis.sh")], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
  outs = await ensureUp();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-fuzz-"));
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    `apiVersion: lakeform/v1
tables:
  - { name: ${HUDI}, format: hudi, primaryKey: id, sources: [seed.csv] }
  - { name: ${ICE}, format: iceberg, primaryKey: id, sources: [seed.csv] }
  - { name: ${UNWRITTEN}, format: iceberg, primaryKey: id, sources: [seed.csv] }
`,
  );
  fs.writeFileSync(path.join(dir, "seed.csv"), "id,name\n");
  const logger = pino({ level: "info" }, pino.destination({ dest: logFile(), sync: true }));
  app = await buildApi({ lake: createLakeService(outs, path.join(dir, "tables.yaml")), tokens: apiTokens(outs), logger });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // Real commits to read, travel to, count changes from and write over.
  for (const table of [HUDI, ICE]) {
    const res = await app.inject({
      method: "POST",
      url: `/ingest/${table}`,
      headers: { authorization: `Bearer ${outs.apiToken}`, "content-type": "text/csv" },
      payload: "id,name,active\n1,ada,true\n2,grace,false\n",
    });
    expect(res.statusCode).toBe(200);
    commits.push(res.json().commit);
  }
});

afterAll(async () => {
  await app?.close();
});

/**
 * The run's configuration. positive_data_acceptance expects 2xx (or 401/403/404/409) for every
 * schema-valid request, but some validity can't be written in JSON Schema: which SQL Trino
 * accepts, which CSV fits a table, which filter names a column, which dates exist, that `until`
 * doesn't come before `since`. For the operations where that is so, the check also accepts the
 * statuses those refusals have (each carries its code: BAD_STATEMENT, BAD_CSV, SCHEMA_REFUSED,
 * BAD_WHERE, BAD_AS_OF, BAD_VALUES, BAD_REQUEST).
 * Everything else is checked as schemathesis does by default.
 */
function config(): string {
  return `
[dictionaries.tables]
values = ${JSON.stringify([HUDI, ICE, UNWRITTEN])}

[dictionaries.commits]
values = ${JSON.stringify(commits)}

[parameters]
"path.table" = { dictionary = "tables", probability = 0.5 }
"query.asOf" = { dictionary = "commits", probability = 0.5 }
"query.since" = { dictionary = "commits", probability = 0.5 }
"query.until" = { dictionary = "commits", probability = 0.3 }

[[operations]]
include-path = "/query"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-path = "/ingest/{table}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422"]

[[operations]]
include-path = "/tables/{table}/rows"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-path = "/tables/{table}/changes"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
`;
}

function schemathesis(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(st, args, { cwd: dir, env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    // A hard stop past the run's own time budget: a hung request must not hang the suite.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test("schemathesis finds no failure of any check against the API's own OpenAPI document", async () => {
  fs.writeFileSync(path.join(dir, "schemathesis.toml"), config());
  const doc = await fetch(`${base}/openapi.json`, { headers: { authorization: `Bearer ${outs.apiReadToken}` } });
  expect(doc.status).toBe(200);
  fs.writeFileSync(path.join(dir, "openapi.json"), await doc.text());
  const seed = SEED_ENV === "random" ? Math.floor(Math.random() * 2 ** 31) : Number(SEED_ENV);
  const started = Date.now();
  const { code, output } = await schemathesis(
    [
      "--config-file", path.join(dir, "schemathesis.toml"),
      "run", path.join(dir, "openapi.json"), "--url", base,
      "--checks", "all",
      "--max-examples", String(MAX_EXAMPLES),
      "--max-time", String(MAX_TIME_S),
      "--workers", "1",
      "--request-timeout", "600",
      // A Spark write on a busy 2-core machine takes tens of seconds: the limit catches a hang, not a slow commit.
      "--max-response-time", "300",
      "--seed", String(seed),
      "-H", `Authorization: Bearer ${outs.apiToken}`,
      "--report", "junit", "--report-dir", path.join(dir, "report"),
    ],
    (MAX_TIME_S + 240) * 1000,
  );
  const serverErrors = fs
    .readFileSync(logFile(), "utf8")
    .split("\n")
    .filter((l) => /"level":50/.test(l))
    .slice(-10)
    .join("\n");
  if (code !== 0) process.stderr.write(`schemathesis (seed ${seed}) exited ${code}:\n${output.slice(-20000)}\nAPI errors:\n${serverErrors}\n`);
  else process.stderr.write(`schemathesis (seed ${seed}) passed in ${Math.round((Date.now() - started) / 1000)} s:\n${output.slice(-5000)}\n`);
  expect({ seed, exit: code, tail: code === 0 ? "" : output.slice(-4000) }).toEqual({ seed, exit: 0, tail: "" });
  // It tested every operation the document lists (11 today), not a subset.
  const selected = /Selected:\s*(\d+)\/(\d+)/.exec(output);
  const tested = /Tested:\s*(\d+)/.exec(output);
  expect(selected && tested && [Number(tested[1]), Number(selected[1])]).toEqual([Number(selected?.[2]), Number(selected?.[2])]);
  expect(Number(selected?.[2])).toBeGreaterThanOrEqual(11);
});
