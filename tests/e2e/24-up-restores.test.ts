/**
 * `lakeform up` alone restores what died, run as a user runs it (bin/lakeform up against the e2e
 * stack: it refreshes first), and the web UIs `lakeform status` links answer only Lakeform's users.
 * - S3: its supervisor and its engine both killed with SIGKILL, so nothing heals it; status shows
 *   it DOWN; `up` starts it again (a new supervisor and engine).
 * - The metastore: only its supervisor killed. Its engine keeps running as an orphan, holding its
 *   port, with no supervisor to restart it and no log; the same `up` replaces it cleanly: the
 *   orphan stopped (its log says so), one engine again, under a new supervisor (every process
 *   carrying the service's marker descends from it).
 * Then the data reads again: a table written before, its rows through Trino (S3, the metastore
 * and Trino all take part), each of its data files in S3.
 * - The UIs: status (-o json) names the job server's Spark UI and Trino's; Spark's refuses a
 *   request without the read token as its password, with a wrong one, addressed to another host or
 *   writing, and shows the job server's application with it (its configuration holds the
 *   password's hash only, redacted); Trino's sends a stranger to its login form and answers its
 *   API only after a login with the stack's password.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { promisify } from "node:util";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { pidAlive } from "../../lake/files";
import { parentPid, processesMarked } from "../../lake/processes";
import { servicePaths } from "../../lake/paths";
import { TRINO_USERS } from "../../lake/trino";
import { PROJECT_DIR, type LakeOutputs } from "../../stacks/automation";
import { ensureUp, s3, STACK, trino, waitFor } from "./lake";

const CLI = path.join(PROJECT_DIR, "bin", "lakeform");
const TABLE = `up_${Date.now().toString(36)}`;
let outs: LakeOutputs;

/** bin/lakeform as a user runs it; stdout, stderr and the exit code (a failing exit is an answer too). */
async function lakeform(args: string[], timeout = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(CLI, args, { cwd: PROJECT_DIR, env: { ...process.env, LAKEFORM_STACK: STACK, NODE_NO_WARNINGS: "1" }, maxBuffer: 64 << 20, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

const paths = (service: string) => servicePaths(outs.dataDir, service);
const supervisorPid = (service: string): number => JSON.parse(fs.readFileSync(paths(service).pidFile, "utf8")).pid;
const enginePid = (service: string): number => JSON.parse(fs.readFileSync(paths(service).supervisorFile, "utf8")).childPid;
const descendsFrom = (pid: number, ancestor: number) => {
  for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentPid(p)) if (p === ancestor) return true;
  return false;
};

async function rows(): Promise<string[][]> {
  return (await trino(outs).query(`SELECT id, name FROM iceberg.default.${TABLE} ORDER BY id`)).rows.map((r) => r.map(String));
}

/** One request as a browser would make it (Host and all), over HTTPS trusting the stack's Trino certificate. */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(u, { method: opts.method ?? "GET", headers: opts.headers, ca: outs.trinoCertificate, timeout: 30_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}
const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${password}`).toString("base64")}` });

beforeAll(async () => {
  outs = await ensureUp();
  await trino(outs).query(`CREATE TABLE iceberg.default.${TABLE} AS SELECT * FROM (VALUES (1, 'ada'), (2, 'grace'), (3, 'alan')) AS t(id, name)`);
  expect(await rows()).toEqual([["1", "ada"], ["2", "grace"], ["3", "alan"]]);
}, 900_000);

afterAll(async () => {
  // Whatever happened above, the stack is left with every engine under its supervisor for the files after this one.
  const engines = ["s3", "metastore", "spark", "trino"];
  if (outs && !engines.every((s) => pidAlive(supervisorPid(s)) && pidAlive(enginePid(s)))) await lakeform(["up"], 900_000);
  await trino(outs).query(`DROP TABLE IF EXISTS iceberg.default.${TABLE}`).catch(() => undefined);
}, 960_000);

test("up alone restores S3 killed with its supervisor and replaces the metastore left running without one; the data reads again", async () => {
  const s3Before = { supervisor: supervisorPid("s3"), engine: enginePid("s3") };
  const msBefore = { supervisor: supervisorPid("metastore"), engine: enginePid("metastore") };
  expect([s3Before, msBefore].flatMap((p) => [p.supervisor, p.engine]).every((p) => pidAlive(p))).toBe(true);
  // S3: the supervisor first (so it restarts nothing), then its engine.
  process.kill(s3Before.supervisor, "SIGKILL");
  process.kill(s3Before.engine, "SIGKILL");
  // The metastore: only its supervisor. Its engine runs on, an orphan.
  process.kill(msBefore.supervisor, "SIGKILL");
  await waitFor("the killed processes to be gone", () => ([s3Before.supervisor, s3Before.engine, msBefore.supervisor].some((p) => pidAlive(p)) ? undefined : true), { timeoutMs: 10_000 });
  expect(pidAlive(msBefore.engine)).toBe(true);

  const down = JSON.parse((await lakeform(["status", "-o", "json"])).stdout) as { services: { service: string; running: boolean }[] };
  expect(down.services.filter((s) => s.service === "s3" || s.service === "metastore").map((s) => [s.service, s.running])).toEqual([["s3", false], ["metastore", false]]);

  const up = await lakeform(["up"], 900_000);
  expect({ code: up.code, stderr: up.code === 0 ? "" : up.stderr.slice(-3000) + up.stdout.slice(-3000) }).toEqual({ code: 0, stderr: "" });
  expect(up.stdout).toMatch(/lakehouse succeeded/);

  const s3After = { supervisor: supervisorPid("s3"), engine: enginePid("s3") };
  const msAfter = { supervisor: supervisorPid("metastore"), engine: enginePid("metastore") };
  expect([s3After, msAfter].flatMap((p) => [p.supervisor, p.engine]).every((p) => pidAlive(p))).toBe(true);
  expect(s3After.supervisor).not.toBe(s3Before.supervisor);
  expect(msAfter.supervisor).not.toBe(msBefore.supervisor);
  // The orphan was replaced, not doubled: gone, and every process of the service is the new supervisor's.
  expect(pidAlive(msBefore.engine)).toBe(false);
  expect(msAfter.engine).not.toBe(msBefore.engine);
  const marked = processesMarked(`LAKEFORM_SERVICE=${paths("metastore").pidFile}`).filter((p) => pidAlive(p));
  expect(marked.filter((p) => !descendsFrom(p, msAfter.supervisor))).toEqual([]);
  expect(marked).toEqual(expect.arrayContaining([msAfter.supervisor, msAfter.engine]));
  expect(fs.readFileSync(paths("metastore").logFile, "utf8")).toContain(`left without their supervisor (pids ${msBefore.engine})`);

  const back = JSON.parse((await lakeform(["status", "-o", "json"])).stdout) as { services: { service: string; running: boolean }[] };
  expect(back.services.filter((s) => ["s3", "metastore", "spark", "trino"].includes(s.service)).every((s) => s.running)).toBe(true);
  // The data: rows through Trino (the metastore's entry, the files in S3).
  expect(await waitFor("the table to read again", () => rows(), { timeoutMs: 60_000, intervalMs: 1000 })).toEqual([["1", "ada"], ["2", "grace"], ["3", "alan"]]);
  // Each data file Trino read the rows from is in S3, as it was before the kill.
  const dataFiles = (await trino(outs).query(`SELECT DISTINCT "$path" FROM iceberg.default.${TABLE}`)).rows.map((r) => new URL(String(r[0])));
  expect(dataFiles.length).toBeGreaterThan(0);
  for (const p of dataFiles) {
    const head = await s3(outs).send(new HeadObjectCommand({ Bucket: p.host, Key: p.pathname.slice(1) }));
    expect(head.ContentLength).toBeGreaterThan(0);
  }
}, 1_200_000);

test("status links Spark's UI and Trino's: each answers with the stack's credentials and refuses without them", async () => {
  const status = JSON.parse((await lakeform(["status", "-o", "json"])).stdout) as { ui: { spark?: string; trino?: string } };
  const { spark, trino: trinoUi } = status.ui;
  expect(spark).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(trinoUi).toBe(`${outs.trinoEndpoint.replace(/\/+$/, "")}/ui/`);
  const text = (await lakeform(["status"])).stdout;
  expect(text).toContain(`spark UI:    ${spark}`);
  expect(text).toContain(`trino UI:    ${trinoUi} (user ${TRINO_USERS.admin},`);

  // Spark: nothing without the read token as the password, nor for another host, nor a write.
  const jobs = `${spark}jobs/`;
  const none = await request(jobs);
  expect([none.status, none.headers["www-authenticate"]]).toEqual([401, expect.stringMatching(/^Basic realm=/)]);
  expect((await request(jobs, { headers: basic("not-the-token") })).status).toBe(401);
  expect((await request(`${spark}api/v1/applications`)).status).toBe(401);
  expect((await request(jobs, { headers: { ...basic(outs.apiReadToken), host: `rebound.example:${new URL(spark!).port}` } })).status).toBe(403);
  expect((await request(jobs, { headers: { ...basic(outs.apiReadToken), origin: "http://rebound.example" } })).status).toBe(403);
  expect((await request(`${spark}jobs/job/kill/?id=0`, { method: "POST", headers: basic(outs.apiReadToken) })).status).toBe(405);
  const page = await request(jobs, { headers: basic(outs.apiReadToken) });
  expect(page.status).toBe(200);
  expect(page.body).toContain("<title>lakeform-jobs - Spark Jobs</title>");
  const apps = JSON.parse((await request(`${spark}api/v1/applications`, { headers: basic(outs.apiReadToken) })).body) as { id: string; name: string }[];
  expect(apps.map((a) => a.name)).toEqual(["lakeform-jobs"]);
  const env = JSON.parse((await request(`${spark}api/v1/applications/${apps[0].id}/environment`, { headers: basic(outs.apiReadToken) })).body) as { sparkProperties: [string, string][] };
  expect(env.sparkProperties.find(([k]) => k.endsWith("SparkUiAuthFilter.param.passwordSha256"))?.[1]).toMatch(/redacted/);
  expect(JSON.stringify(env)).not.toContain(outs.apiReadToken);

  // Trino: a stranger is sent to the login form and its API is 401; a login with the stack's password opens both.
  const anon = await request(trinoUi!);
  expect([anon.status, anon.headers.location]).toEqual([303, expect.stringMatching(/\/ui\/login\.html/)]);
  expect((await request(`${trinoUi}api/stats`)).status).toBe(401);
  const login = async (password: string) => {
    const res = await request(`${trinoUi}login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ username: TRINO_USERS.admin, password, redirectPath: "" }).toString() });
    return (res.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]).join("; ");
  };
  expect((await request(`${trinoUi}api/stats`, { headers: { cookie: await login("not-the-password") } })).status).toBe(401);
  const cookie = await login(outs.trinoPassword);
  expect(cookie).toMatch(/Trino-UI-Token=/);
  const stats = await request(`${trinoUi}api/stats`, { headers: { cookie } });
  expect(stats.status).toBe(200);
  expect(JSON.parse(stats.body)).toHaveProperty("activeWorkers");
}, 120_000);
