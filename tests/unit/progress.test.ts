/**
 * Progress of a long write, from the job server's figures to what people see: the log line and
 * the status the reconciler writes while it applies (`lakeform status`: "Applying 2/3 sources:
 * 45 % (…)"), and the API's GET /tables/{table}/progress. The job server is a plain HTTP server
 * here answering /progress as the real one does (e2e 06-csv checks the real one's figures).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { buildApi } from "../../api/server";
import { LakeService } from "../../api/service";
import { getCondition } from "../../lake/conditions";
import { JobClient, type Observation, type WriteProgress } from "../../lake/jobClient";
import { s3Client } from "../../lake/outputs";
import { applyProgress, describeWrite, formatApplyProgress, formatBytes } from "../../lake/progress";
import { Sources, type ResolvedSource } from "../../lake/sources";
import type { TableSpec } from "../../lake/spec";
import { emptyStatus, formatStatus, type TableStatus } from "../../lake/status";
import type { LakeDriver } from "../../reconciler/driver";
import { initialStatus, runPass } from "../../reconciler/pass";

const writing = (o: Partial<WriteProgress> = {}): WriteProgress => ({
  table: "default.leads", source: "leads.csv", stage: "writing", elapsedMs: 12_000, stageElapsedMs: 4_000, bytesTotal: 203_000_000, rowsTotal: 2_000_000,
  bytesRead: 91_350_000, rowsRead: 900_000, rowsOut: 0, tasksDone: 3, tasks: 7, percent: 45, ...o,
});

describe("formatting", () => {
  test("bytes in decimal units, one decimal below 10", () => {
    expect([formatBytes(950), formatBytes(12_345), formatBytes(91_350_000), formatBytes(1_234_000_000)]).toEqual(["950 B", "12 kB", "91 MB", "1.2 GB"]);
  });

  test("a write's figures as one line: what is known so far, nothing invented", () => {
    expect(describeWrite(writing())).toBe("writing, 91 MB of 203 MB read, 900,000 of 2,000,000 rows");
    // Before Spark reported on the stage, and before the keys were counted.
    expect(describeWrite({ stage: "sampling", bytesTotal: 203_000_000, rowsTotal: null })).toBe("sampling, 203 MB to read");
    expect(describeWrite({ stage: "checking keys", bytesTotal: 0, rowsTotal: null, bytesRead: 0, rowsRead: 0 })).toBe("checking keys");
    // Spark counts a CSV's header line among the records it read: a finished 4-row file reads 5.
    expect(describeWrite({ stage: "writing", bytesTotal: 60, bytesRead: 60, rowsTotal: 4, rowsRead: 5 })).toBe("writing, 60 B of 60 B read, 4 of 4 rows");
  });

  test("an apply's progress: which source of how many, the stage's percentage, the figures", () => {
    const a = applyProgress(2, 3, "leads.csv", writing(), new Date("2026-11-25T12:00:00Z"));
    expect(a).toMatchObject({ index: 2, total: 3, source: "leads.csv", stage: "writing", percent: 45, bytesRead: 91_350_000, bytesTotal: 203_000_000, at: "2026-11-25T12:00:00.000Z" });
    expect(formatApplyProgress(a)).toBe("2/3 sources: 45 % (leads.csv: writing, 91 MB of 203 MB read, 900,000 of 2,000,000 rows)");
    // The job server not reporting the write (yet): no percentage, the stage says so.
    expect(formatApplyProgress(applyProgress(1, 1, "a.csv", undefined))).toBe("1/1 source (a.csv: starting)");
  });

  test("`lakeform status` shows an apply in flight as Applying 2/3 sources: 45 %", () => {
    const st = emptyStatus("tables.yaml");
    const conditions = [{ type: "Synced", status: "False", reason: "Applying", message: "applying …", lastTransitionTime: "2026-11-25T12:00:00Z" }] as TableStatus["conditions"];
    st.tables["default.leads"] = {
      table: "default.leads", format: "hudi", generation: "g1", inSync: false, sources: { total: 3, applied: 1 }, conditions, failures: 0,
      applying: applyProgress(2, 3, "leads.csv", writing()),
    };
    const line = formatStatus(st).split("\n").find((l) => l.startsWith("default.leads"));
    expect(line).toMatch(/\bNO\b.*1\/3.*Applying 2\/3 sources: 45 % \(leads\.csv: writing, 91 MB of 203 MB read/);
  });

  test("a report older than a minute says how old it is (a reconciler killed mid-write stops reporting)", () => {
    const st = emptyStatus("tables.yaml");
    const conditions = [{ type: "Synced", status: "False", reason: "Applying", message: "applying …", lastTransitionTime: "2026-11-25T12:00:00Z" }] as TableStatus["conditions"];
    const at = new Date("2026-11-25T12:00:00Z");
    st.tables["default.leads"] = {
      table: "default.leads", format: "hudi", generation: "g1", inSync: false, sources: { total: 3, applied: 1 }, conditions, failures: 0,
      applying: applyProgress(2, 3, "leads.csv", writing(), at),
    };
    const line = (now: string) => formatStatus(st, new Date(now)).split("\n").find((l) => l.startsWith("default.leads"))!;
    expect(line("2026-11-25T12:00:30Z")).not.toMatch(/last report/);
    expect(line("2026-11-25T12:07:10Z")).toMatch(/Applying 2\/3 sources: 45 % .*\(last report 7 min ago: is the reconciler running\?\)$/);
    expect(line("2026-11-25T14:05:00Z")).toMatch(/\(last report 2 h 5 min ago/);
  });
});

describe("the reconciler reports a write in flight", () => {
  const spec: TableSpec = {
    name: "leads", database: "default", format: "hudi", primaryKey: ["id"], partitionBy: [], sources: ["*.csv"], schemaPolicy: "addColumns", prune: false, generation: "g1", line: 3,
  };
  const src = (name: string): ResolvedSource => ({ declared: "*.csv", location: `/d/${name}`, hash: name, bytes: 1 });
  const missing: Observation = { exists: false, inCatalog: false, filesExist: false, commits: [], rowCount: null, columns: [] };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function passWith(driver: Partial<LakeDriver>, everyMs: number) {
    const lines: { msg: string; percent?: number; source?: string }[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const applying: TableStatus[] = [];
    const full: LakeDriver = {
      observe: async () => missing,
      write: async () => ({ commit: "c1", rowsWritten: 1, renamed: {}, columns: ["id"], addedColumns: [], durationMs: 1 }),
      register: async () => undefined, resync: async () => ({ resynced: false, drift: [] }), evolvePartitions: async () => ({ evolved: false, before: [], after: [], dropped: [], added: [] }), forget: async () => undefined, clearLeftovers: async () => undefined, drop: async () => undefined,
      maintain: async () => { throw new Error("not due"); },
      ...driver,
    };
    const deps = { driver: full, sources: { resolve: async () => [src("a.csv"), src("b.csv")], land: async (s: ResolvedSource) => `s3a://w/${s.hash}` }, warehouseBucket: "w", baseDir: "/d", progressEveryMs: everyMs };
    const result = await runPass(deps, spec, {
      prev: initialStatus(spec, "/d/tables.yaml"), declaredIn: "/d/tables.yaml", memory: {}, log, onApplying: (st) => applying.push(st),
    });
    return { result, applying, progressLines: lines.filter((l) => l.msg.startsWith("Write progress")) };
  }

  test("every few seconds while it writes: a log line and the status, with the source's place and the stage's percentage", async () => {
    let writingNow = "";
    let percent = 0;
    const { result, applying, progressLines } = await passWith(
      {
        write: async (_t, source) => {
          writingNow = source.name;
          for (percent = 0; percent <= 100; percent += 25) await sleep(25);
          writingNow = "";
          return { commit: "c1", rowsWritten: 1, renamed: {}, columns: ["id"], addedColumns: [], durationMs: 1 };
        },
        progress: async () => (writingNow ? [writing({ source: writingNow, percent: Math.min(percent, 100) })] : []),
      },
      20,
    );
    expect(result.wrote).toBe(2);
    // Sources as observed, from the first Applying status on (a new table has reported none before).
    expect(applying.every((st) => st.sources.total === 2 && st.sources.applied === 0)).toBe(true);
    // The first status is the plan's reason; then progress, first for a.csv (1/2), then b.csv (2/2).
    expect(getCondition(applying[0].conditions, "Synced")?.message).toMatch(/new table: 2 source/);
    const shown = applying.slice(1).map((st) => st.applying!);
    expect(shown.length).toBeGreaterThanOrEqual(2);
    expect(shown.map((a) => `${a.index}/${a.total} ${a.source}`)).toEqual(expect.arrayContaining(["1/2 a.csv", "2/2 b.csv"]));
    for (const st of applying.slice(1)) {
      expect(getCondition(st.conditions, "Synced")).toMatchObject({ reason: "Applying", message: expect.stringMatching(/^applying [12]\/2 sources(: \d+ %)? \([ab]\.csv: /) });
    }
    expect(progressLines.length).toBeGreaterThanOrEqual(2);
    expect(progressLines.some((l) => l.percent !== undefined && /^Write progress: [12]\/2 sources: \d+ % \([ab]\.csv: writing, /.test(l.msg))).toBe(true);
    // Reported once the pass is done: no progress left behind.
    expect(result.status.applying).toBeUndefined();
  });

  test("a write shorter than the interval reports nothing; a job server that can't tell leaves the write alone", async () => {
    const quick = await passWith({ progress: async () => [writing()] }, 10_000);
    expect([quick.result.ok, quick.applying.length, quick.progressLines.length]).toEqual([true, 1, 0]);
    const mute = await passWith(
      {
        write: async () => (await sleep(80), { commit: "c1", rowsWritten: 1, renamed: {}, columns: ["id"], addedColumns: [], durationMs: 1 }),
        progress: async () => { throw new Error("no such path"); },
      },
      10,
    );
    expect([mute.result.ok, mute.result.wrote, mute.applying.length, mute.progressLines.length]).toEqual([true, 2, 1, 0]);
  });

  test("nothing is reported after the write's result, even when a poll was still in flight", async () => {
    let done = false;
    const late: string[] = [];
    const { applying } = await passWith(
      {
        write: async () => (await sleep(30), { commit: "c1", rowsWritten: 1, renamed: {}, columns: ["id"], addedColumns: [], durationMs: 1 }),
        // Answers after the write is done.
        progress: async () => (await sleep(60), [writing()]),
      },
      10,
    ).finally(() => (done = true));
    expect(done).toBe(true);
    await sleep(100);
    for (const st of applying) if (st.applying) late.push(st.applying.source);
    expect(late).toEqual([]);
  });
});

describe("GET /tables/{table}/progress", () => {
  let app: Awaited<ReturnType<typeof buildApi>>;
  let jobServer: http.Server;
  let dir: string;
  let inFlight: WriteProgress[] = [];
  const asked: string[] = [];
  const reader = { authorization: "Bearer r" };

  beforeAll(async () => {
    jobServer = http.createServer((req, res) => {
      asked.push(req.url ?? "");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(req.url?.startsWith("/progress") ? { ok: true, writes: inFlight } : { ok: false }));
    });
    await new Promise<void>((r) => jobServer.listen(0, "127.0.0.1", r));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-progress-unit-"));
    fs.writeFileSync(path.join(dir, "tables.yaml"), "apiVersion: lakeform/v1\ntables:\n  - { name: leads, format: hudi, primaryKey: id, sources: [seed.csv] }\n");
    const endpoints = {
      s3Endpoint: "http://127.0.0.1:9", s3Region: "us-east-1", s3AccessKey: "k", s3SecretKey: "s", warehouseBucket: "warehouse",
      sparkJobServer: `http://127.0.0.1:${(jobServer.address() as AddressInfo).port}`, trinoEndpoint: "http://127.0.0.1:9",
      trinoPassword: "tp", trinoReadPassword: "trp", jobServerSecret: "js",
    };
    const lake = new LakeService(endpoints, new JobClient(endpoints.sparkJobServer, { secret: endpoints.jobServerSecret }), new Sources(s3Client(endpoints), "warehouse"), path.join(dir, "tables.yaml"), path.join(dir, "status.json"));
    app = await buildApi({ lake, tokens: { read: "r", write: "w" } });
  });

  afterAll(async () => {
    await app?.close();
    await new Promise((r) => jobServer.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the table's writes in flight with the job server's figures and a line for people; none: an empty list", async () => {
    inFlight = [writing({ source: "api-2026-11-25T12-00-00-000Z.csv" })];
    const res = await app.inject({ method: "GET", url: "/tables/LEADS/progress", headers: reader });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ table: "leads", writes: [{ ...inFlight[0], message: "writing, 91 MB of 203 MB read, 900,000 of 2,000,000 rows" }] });
    expect(asked.at(-1)).toBe("/progress?table=default.leads");
    inFlight = [];
    expect((await app.inject({ method: "GET", url: "/tables/leads/progress", headers: reader })).json()).toEqual({ table: "leads", writes: [] });
  });

  test("an unknown table is 404, a bad name 400; the document declares the route and points /ingest to it", async () => {
    const unknown = await app.inject({ method: "GET", url: "/tables/nope/progress", headers: reader });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, "UNKNOWN_TABLE"]);
    const bad = await app.inject({ method: "GET", url: "/tables/a.b/progress", headers: reader });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, "BAD_TABLE_NAME"]);
    const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: reader })).json();
    const get = doc.paths["/tables/{table}/progress"].get;
    expect(Object.keys(get.responses).sort()).toEqual(["200", "400", "401", "404", "431", "500", "503"]);
    expect(Object.keys(get.responses["200"].content["application/json"].schema.properties.writes.items.properties)).toEqual(
      expect.arrayContaining(["stage", "percent", "bytesRead", "bytesTotal", "rowsRead", "rowsTotal", "message"]),
    );
    expect(doc.paths["/ingest/{table}"].post.description).toMatch(/GET \/tables\/\{table\}\/progress/);
  });
});
