/**
 * The reconciler against the real lakehouse: tables.yaml in, Hudi and Iceberg tables out, read
 * back through Trino. Table names carry a per-run suffix, so runs don't see each other's tables.
 *
 * Every test stands alone: it works in a folder of its own (tables.yaml, status file, data) and
 * first brings the tables it needs to the state it starts from with the reconciler itself, which
 * costs one observation per table when an earlier test already did. A test that changes a
 * table's data has tables of its own, so no test sees what another one did.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "csv-parse/sync";
import pino from "pino";
import type { LakeOutputs } from "../../stacks/automation";
import { createLakeService } from "../../api/runtime";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import type { Reconciler } from "../../reconciler/loop";
import { createReconciler, createTrashDeps } from "../../reconciler/runtime";
import { purgeTrashed } from "../../reconciler/trash";
import { confirmPrune } from "../../lake/pruneConfirmations";
import { parseTables } from "../../lake/spec";
import type { TrinoClient } from "../../lake/trino";
import { DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ensureUp, run, s3, trino, waitFor } from "./lake";

const sfx = Date.now().toString(36);
/** The example tables: created from their first sources, then only read. */
const LEADS = `leads_${sfx}`;
const LEADS_ICE = `leads_ice_${sfx}`;
const REGIONS = `regions_${sfx}`;
const STRICT = `strict_${sfx}`;
/** Tables that get a second source (an upsert). */
const UP_HUDI = `up_hudi_${sfx}`;
const UP_ICE = `up_ice_${sfx}`;
/** Tables the no-Spark pass test observes, then commits to through Trino. */
const NS_HUDI = `ns_hudi_${sfx}`;
const NS_ICE = `ns_ice_${sfx}`;
/** Tables whose files the rebuild test deletes. */
const RB_ICE = `rb_ice_${sfx}`;
const RB_HUDI = `rb_hudi_${sfx}`;
const examples = path.resolve(__dirname, "../../examples");

let outs: LakeOutputs;
let t: TrinoClient;
/** The CSVs every test folder gets a copy of. */
let data: string;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

interface Table {
  name: string;
  format: "hudi" | "iceberg";
  key: string;
  ordering?: string;
  strict?: boolean;
  prune?: boolean;
  sources: string[];
}
const leads = (name: string, format: Table["format"], more: string[] = []): Table => ({ name, format, key: "Index", ordering: format === "hudi" ? "Updated At" : undefined, sources: ["data/leads-100.csv", ...more] });
const regions = (name: string, format: Table["format"], more: string[] = [], strict = false): Table => ({ name, format, key: "Region Code", strict, sources: ["data/regions.csv", ...more] });
/** The four example tables, with extra sources when given. */
const examplesTables = (extra: { strict?: string[] } = {}): Table[] => [leads(LEADS, "hudi"), leads(LEADS_ICE, "iceberg"), regions(REGIONS, "iceberg"), regions(STRICT, "hudi", extra.strict, true)];
const upserted = (extra: { hudi?: string[]; ice?: string[] } = {}): Table[] => [
  leads(UP_HUDI, "hudi", extra.hudi ?? ["data/leads-update.csv"]),
  leads(UP_ICE, "iceberg", extra.ice ?? ["data/leads-update.csv"]),
];

function tablesYaml(tables: Table[]): string {
  const list = (xs: string[]) => xs.map((x) => `\n      - ${x}`).join("");
  if (tables.length === 0) return "apiVersion: lakeform/v1\ntables: []\n";
  return `apiVersion: lakeform/v1\ntables:\n${tables
    .map(
      (x) =>
        `  - name: ${x.name}\n    format: ${x.format}\n    primaryKey: ${x.key}\n` +
        (x.ordering ? `    orderingField: ${x.ordering}\n` : "") +
        (x.strict ? "    schemaPolicy: strict\n" : "") +
        (x.prune ? "    prune: true\n" : "") +
        `    sources:${list(x.sources)}\n`,
    )
    .join("")}`;
}

/** A folder of the test's own: tables.yaml, the status file, a copy of the CSVs. */
function workspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-"));
  fs.cpSync(data, path.join(dir, "data"), { recursive: true });
  const tablesFile = path.join(dir, "tables.yaml");
  const statusFile = path.join(dir, "status.json");
  const ws = {
    dir,
    tablesFile,
    write: (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text),
    declare: (tables: Table[]) => ws.write("tables.yaml", tablesYaml(tables)),
    reconciler: (): Reconciler => createReconciler(outs, { tablesFile, statusFile, log, backoffBaseMs: 100, backoffMaxMs: 1000 }),
    /** Declares the tables and reconciles them; fails, with each table's reason, unless all are in sync. */
    synced: async (tables: Table[]): Promise<Reconciler> => {
      ws.declare(tables);
      const r = ws.reconciler();
      await r.runOnce();
      const behind = Object.values(r.lakeStatus.tables)
        .filter((x) => !x.inSync)
        .map((x) => `${x.table}: ${getCondition(x.conditions, "Synced")?.reason}: ${getCondition(x.conditions, "Synced")?.message}`);
      expect({ notInSync: behind }).toEqual({ notInSync: [] });
      return r;
    },
  };
  return ws;
}
const csvRows = (file: string): Record<string, string>[] => parse(fs.readFileSync(path.join(data, file)), { columns: true });
const tableStatus = (r: Reconciler, name: string) => r.lakeStatus.tables[`default.${name}`];
const specOf = (ws: ReturnType<typeof workspace>, name: string) =>
  jobTable(parseTables(fs.readFileSync(ws.tablesFile, "utf8"), "t").tables.find((x) => x.name === name)!, outs.warehouseBucket);

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  data = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-data-"));
  for (const f of ["leads-100.csv", "regions.csv"]) fs.copyFileSync(path.join(examples, "data", f), path.join(data, f));
  const write = (file: string, text: string) => fs.writeFileSync(path.join(data, file), text);
  // The update CSV: 10 existing keys changed (newer Updated At), 5 new keys, one new column.
  const rows = csvRows("leads-100.csv");
  const header = [...Object.keys(rows[0]), "Lead Score"];
  const changed = rows.slice(0, 10).map((r, i) => ({ ...r, Status: `Upgraded${i}`, "Updated At": "2027-01-01", "Lead Score": String(50 + i) }));
  const added = Array.from({ length: 5 }, (_, i) => ({ ...rows[0], Index: String(101 + i), Status: "New", "Lead Score": String(90 + i) }));
  const lines = [header.join(","), ...[...changed, ...added].map((r) => header.map((h) => JSON.stringify(r[h as keyof typeof r] ?? "")).join(","))];
  write("leads-update.csv", lines.join("\n") + "\n");
  write("regions-extra-column.csv", "Region Code,Region Name,HQ City,Timezone\nMEA,Middle East,Dubai,UTC+4\n");
  write("ragged.csv", "Index,Lead Id,Status,Updated At\n1,a,New,2027-02-01\n2,b\n3,c,Lost,2027-02-01\n");
});

test("the example tables reach in-sync status and Trino's counts match the CSVs", async () => {
  const ws = workspace();
  ws.declare(examplesTables());
  const r = ws.reconciler();
  const results = await r.runOnce();
  expect(results.every((x) => x.ok)).toBe(true);
  expect(r.allInSync()).toBe(true);
  for (const name of [LEADS, LEADS_ICE, REGIONS, STRICT]) {
    expect(getCondition(tableStatus(r, name).conditions, "Synced")).toMatchObject({ status: "True", reason: "UpToDate" });
    expect(getCondition(tableStatus(r, name).conditions, "Ready")?.status).toBe("True");
  }
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${LEADS}`)).toBe(csvRows("leads-100.csv").length);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${LEADS_ICE}`)).toBe(100);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${REGIONS}`)).toBe(csvRows("regions.csv").length);
  expect(tableStatus(r, LEADS).rowCount).toBe(100);
  // Column names were sanitised.
  expect(tableStatus(r, LEADS).columns).toEqual(expect.arrayContaining(["index", "first_name", "region_code", "updated_at"]));
});

test("one Trino query joins the Hudi table with the Iceberg table", async () => {
  await workspace().synced(examplesTables());
  const regionNames = new Map(csvRows("regions.csv").map((r) => [r["Region Code"], r["Region Name"]]));
  const expected = new Map<string, number>();
  for (const l of csvRows("leads-100.csv")) {
    const name = regionNames.get(l["Region Code"]);
    if (name) expected.set(name, (expected.get(name) ?? 0) + 1);
  }
  const { rows } = await t.query(
    `SELECT r.region_name, count(*) FROM hudi.default.${LEADS} l JOIN iceberg.default.${REGIONS} r ON l.region_code = r.region_code GROUP BY 1 ORDER BY 1`,
  );
  expect(rows).toEqual([...expected.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v]));
});

test("a second source upserts: 5 more rows, 10 updated, and the new column is queryable", async () => {
  const ws = workspace();
  await ws.synced(upserted({ hudi: [], ice: [] }));
  ws.declare(upserted());
  const r = ws.reconciler();
  await r.runOnce();
  expect(r.allInSync()).toBe(true);
  for (const fq of [`hudi.default.${UP_HUDI}`, `iceberg.default.${UP_ICE}`]) {
    expect(await t.scalar(`SELECT count(*) FROM ${fq}`)).toBe(105);
    const { rows } = await t.query(`SELECT "index", status, lead_score FROM ${fq} WHERE "index" <= 10 ORDER BY "index"`);
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, `Upgraded${i}`, 50 + i]));
    expect(await t.scalar(`SELECT count(*) FROM ${fq} WHERE lead_score IS NULL`)).toBe(90);
    expect(await t.scalar(`SELECT count(*) FROM ${fq} WHERE "index" > 100`)).toBe(5);
  }
});

test("a restarted reconciler runs no Spark job and changes no data", async () => {
  const ws = workspace();
  await ws.synced(upserted());
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const before = await jobs.observe(specOf(ws, UP_HUDI));
  const r = ws.reconciler();
  const results = await r.runOnce();
  expect(results.map((x) => x.wrote)).toEqual([0, 0]);
  expect(r.allInSync()).toBe(true);
  const after = await jobs.observe(specOf(ws, UP_HUDI));
  expect(after.commits.map((c) => c.commit)).toEqual(before.commits.map((c) => c.commit));
  expect(after.commits.map((c) => c.sourceHash).filter(Boolean)).toHaveLength(2);
});

test("a pass over unchanged tables of both formats runs no Spark job and reports them synced; a commit made through Trino is noticed", async () => {
  const ws = workspace();
  const tables = [regions(NS_HUDI, "hudi"), regions(NS_ICE, "iceberg")];
  await ws.synced(tables);
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const sparkJobs = async () => {
    const n = (await jobs.health())?.sparkJobs;
    if (typeof n !== "number") throw new Error(`the job server's /healthz says no Spark job count: ${JSON.stringify(await jobs.health())}`);
    return n;
  };
  const regionRows = csvRows("regions.csv").length;
  // A new reconciler (nothing in its memory): the job server answers from the tables' metadata.
  const before = await sparkJobs();
  const r = ws.reconciler();
  const results = await r.runOnce();
  expect({ sparkJobsRun: (await sparkJobs()) - before }).toEqual({ sparkJobsRun: 0 });
  expect(results.map((x) => [x.table, x.ok, x.wrote]).sort()).toEqual([
    [`default.${NS_HUDI}`, true, 0],
    [`default.${NS_ICE}`, true, 0],
  ]);
  for (const name of [NS_HUDI, NS_ICE]) {
    expect(getCondition(tableStatus(r, name).conditions, "Synced")).toMatchObject({ status: "True", reason: "UpToDate" });
    expect(tableStatus(r, name).rowCount).toBe(regionRows);
  }
  // A commit behind Lakeform's back: the next pass sees the new snapshot and its row.
  await t.query(`INSERT INTO iceberg.default.${NS_ICE} (region_code, region_name, hq_city) VALUES ('LATAM', 'Latin America', 'Sao Paulo')`);
  const trinoSnapshot = String(await t.scalar(`SELECT CAST(snapshot_id AS varchar) FROM iceberg.default."${NS_ICE}$snapshots" ORDER BY committed_at DESC LIMIT 1`));
  const again = ws.reconciler();
  await again.runOnce();
  expect(again.allInSync()).toBe(true);
  expect(tableStatus(again, NS_ICE).rowCount).toBe(regionRows + 1);
  expect(tableStatus(again, NS_ICE).lastCommit?.id).toBe(trinoSnapshot);
  expect(tableStatus(again, NS_HUDI).rowCount).toBe(regionRows);
  const seen = await jobs.observe(specOf(ws, NS_ICE));
  expect(seen.commits.map((c) => c.commit)).toContain(trinoSnapshot);
  expect(seen.sparkAsked).toEqual([]);
});

test("a malformed tables.yaml is reported with its line, and the last valid state keeps being served", async () => {
  const ws = workspace();
  const r = await ws.synced(examplesTables());
  ws.write("tables.yaml", tablesYaml(examplesTables()).replace("format: iceberg", "format: icebergg"));
  const results = await r.runOnce();
  expect(r.lakeStatus.specError).toMatch(/tables\.yaml:10: tables\.1\.format/);
  expect(results).toHaveLength(4);
  expect(r.allInSync()).toBe(true);

  // The CLI says the same, with a non-zero exit code.
  const cli = path.resolve(__dirname, "../../bin/lakeform");
  const res = await run(cli, ["reconcile", "--once", "-f", ws.tablesFile], { timeout: 300_000 }).catch((e) => e);
  expect(res.code).toBe(2);
  expect(res.stdout).toMatch(/tables\.yaml:10: tables\.1\.format/);
});

test("tables dropped from the metastore come back with their history, and nothing is rewritten", async () => {
  const ws = workspace();
  await ws.synced(upserted());
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const tables = [specOf(ws, UP_HUDI), specOf(ws, UP_ICE)];
  expect(tables.map((x) => x.format)).toEqual(["hudi", "iceberg"]);
  const before = await Promise.all(tables.map((x) => jobs.observe(x)));
  for (const x of tables) await jobs.drop(x, false);
  await expect(t.query(`SELECT count(*) FROM hudi.default.${UP_HUDI}`)).rejects.toThrow(/does not exist/);
  await expect(t.query(`SELECT count(*) FROM iceberg.default.${UP_ICE}`)).rejects.toThrow(/does not exist/);

  const r = ws.reconciler();
  const results = await r.runOnce();
  for (const name of [UP_HUDI, UP_ICE]) {
    expect(results.find((x) => x.table === `default.${name}`)).toMatchObject({ ok: true, wrote: 0 });
    const synced = getCondition(tableStatus(r, name).conditions, "Synced");
    expect(synced).toMatchObject({ status: "True", reason: "Recreated" });
    expect(synced?.message).toMatch(/re-registered from its files with its 2 commit\(s\) of history/);
  }
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${UP_HUDI}`)).toBe(105);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${UP_ICE}`)).toBe(105);
  const after = await Promise.all(tables.map((x) => jobs.observe(x)));
  for (const i of [0, 1]) expect(after[i].commits.map((c) => c.commit)).toEqual(before[i].commits.map((c) => c.commit));
});

test("tables whose files were deleted are rebuilt with every write they had (API ingests too), and status says so", async () => {
  const ws = workspace();
  await ws.synced([regions(RB_ICE, "iceberg"), regions(RB_HUDI, "hudi", [], true)]);
  // A row that only ever came through the API, in each table.
  const lake = createLakeService(outs, ws.tablesFile);
  for (const name of [RB_ICE, RB_HUDI]) {
    await lake.ingestCsv(name, Buffer.from("Region Code,Region Name,HQ City\nAPI,Added Through The API,Lisbon\n"), "api-extra.csv");
  }
  // And one more into the Iceberg table (the Arrow path, as every small Iceberg ingest takes).
  await lake.ingestCsv(RB_ICE, Buffer.from("Region Code,Region Name,HQ City\nTRN,Through Arrow,Oslo\n"), "api-arrow.csv");
  const client = s3(outs);
  for (const name of [RB_ICE, RB_HUDI]) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${name}/` }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    expect(keys.length).toBeGreaterThan(0);
    await client.send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: keys } }));
  }
  const r = ws.reconciler();
  await r.runOnce();
  for (const name of [RB_ICE, RB_HUDI]) {
    const synced = getCondition(tableStatus(r, name).conditions, "Synced");
    expect(synced).toMatchObject({ status: "True", reason: "Recreated" });
  }
  expect(getCondition(tableStatus(r, RB_ICE).conditions, "Synced")?.message).toMatch(/rebuilt from its write journal and declared sources \(3 write\(s\) replayed/);
  expect(getCondition(tableStatus(r, RB_HUDI).conditions, "Synced")?.message).toMatch(/rebuilt from its write journal and declared sources \(2 write\(s\) replayed/);
  for (const fq of [`iceberg.default.${RB_ICE}`, `hudi.default.${RB_HUDI}`]) {
    expect(await t.scalar(`SELECT hq_city FROM ${fq} WHERE region_code = 'API'`)).toBe("Lisbon");
  }
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${RB_ICE}`)).toBe(csvRows("regions.csv").length + 2);
  expect(await t.scalar(`SELECT hq_city FROM iceberg.default.${RB_ICE} WHERE region_code = 'TRN'`)).toBe("Oslo");
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${RB_HUDI}`)).toBe(csvRows("regions.csv").length + 1);
});

test("a CSV the strict policy refuses leaves the table as it was, with the reason in status", async () => {
  const ws = workspace();
  await ws.synced(examplesTables());
  const rowsBefore = await t.scalar<number>(`SELECT count(*) FROM hudi.default.${STRICT}`);
  expect(rowsBefore).toBe(csvRows("regions.csv").length);
  ws.declare(examplesTables({ strict: ["data/regions-extra-column.csv"] }));
  const r = ws.reconciler();
  const results = await r.runOnce();
  const st = tableStatus(r, STRICT);
  expect(getCondition(st.conditions, "Synced")).toMatchObject({ status: "False", reason: "SchemaRefused" });
  expect(getCondition(st.conditions, "Synced")?.message).toMatch(/timezone/);
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${STRICT}`)).toBe(rowsBefore);
  const { rows } = await t.query(`SHOW COLUMNS FROM hudi.default.${STRICT}`);
  expect(rows.map((x) => x[0])).not.toContain("timezone");
  // The other tables are served all the same.
  expect(results.filter((x) => x.ok).map((x) => x.table).sort()).toEqual([LEADS, LEADS_ICE, REGIONS].map((n) => `default.${n}`).sort());
});

test("a ragged row doesn't block the others: they land, it is quarantined with its line and counted", async () => {
  const ws = workspace();
  await ws.synced(upserted());
  ws.declare(upserted({ hudi: ["data/leads-update.csv", "data/ragged.csv"] }));
  const r = ws.reconciler();
  await r.runOnce();
  const st = tableStatus(r, UP_HUDI);
  expect(getCondition(st.conditions, "Synced")).toMatchObject({ status: "True" });
  expect(st.expectations).toMatchObject({ _bad_row: { action: "quarantine", failed: 1 } });
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${UP_HUDI}`)).toBe(105);
  expect((await t.query(`SELECT "index", status FROM hudi.default.${UP_HUDI} WHERE "index" IN (1, 3) ORDER BY 1`)).rows).toEqual([[1, "New"], [3, "Lost"]]);
  const q = await t.query(`SELECT "index", lead_id, status, _reason, _line, _source FROM hudi.default."${UP_HUDI}__quarantine"`);
  expect(q.rows.map((x) => x.slice(0, 5))).toEqual([["2", "b", null, "a different number of fields than the header (4)", 3]]);
  expect(q.rows[0][5]).toMatch(/ragged\.csv$/);
});

test("removing tables from tables.yaml: prune: true prunes one into the trash once confirmed (even across a restart), purged with its files and journal; the other keeps its data", async () => {
  const PRUNED = `pruned_${sfx}`;
  const ORPHAN = `orphan_${sfx}`;
  const ws = workspace();
  await ws.synced([{ ...regions(PRUNED, "hudi"), prune: true }, regions(ORPHAN, "iceberg")]);
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${PRUNED}`)).toBe(4);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${ORPHAN}`)).toBe(4);
  const files = async (name: string) =>
    (await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${name}/` }))).KeyCount ?? 0;
  expect(await files(PRUNED)).toBeGreaterThan(0);

  // The edit is made while no reconciler runs; the next one to start acts on it. Every table
  // removed: the prune waits for its confirmation (tests/e2e/13-safe-prune.test.ts covers the hold).
  ws.declare([]);
  confirmPrune(path.join(ws.dir, "status.json"), [`default.${PRUNED}`], "test");
  const r = ws.reconciler();
  await r.runOnce();
  await expect(t.query(`SELECT count(*) FROM hudi.default.${PRUNED}`)).rejects.toThrow(/does not exist/);
  // A soft drop: the files stay in the trash until purged.
  const deps = createTrashDeps(outs, { log, role: "test" });
  const tomb = await deps.trash.get({ database: "default", name: PRUNED });
  expect(tomb).toMatchObject({ table: `default.${PRUNED}`, format: "hudi" });
  expect(await files(PRUNED)).toBeGreaterThan(0);
  expect(await purgeTrashed(deps, tomb!)).toBe("purged");
  expect(await files(PRUNED)).toBe(0);
  // Its write journal went with it (files() lists under default/; the journal lives beside).
  const journal = await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `_lakeform/journal/default/${PRUNED}/` }));
  expect(journal.KeyCount ?? 0).toBe(0);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${ORPHAN}`)).toBe(4);
  expect(Object.keys(r.lakeStatus.tables)).not.toContain(`default.${PRUNED}`);
  expect(Object.keys(r.lakeStatus.tables)).not.toContain(`default.${ORPHAN}`);
});

test("the running loop notices a tables.yaml edit, applies it, and stops cleanly on Ctrl-C", async () => {
  const WATCHED = `watched_${sfx}`;
  const ws = workspace();
  ws.declare([]);
  const cli = path.resolve(__dirname, "../../bin/lakeform");
  const { spawn } = await import("node:child_process");
  const child = spawn(cli, ["reconcile", "-f", ws.tablesFile, "--resync", "600"], {
    env: { ...process.env, LAKEFORM_LOG_FORMAT: "json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  child.stderr.on("data", (d: Buffer) => (logs += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve((exitCode = code))));
  const died = () => (exitCode !== undefined ? `the reconciler exited with ${exitCode}; its last logs:\n${logs.slice(-3000)}` : undefined);
  try {
    await waitFor("the reconciler to start", () => (logs.includes("Reconciler started") ? true : undefined), { timeoutMs: 120_000, gaveUp: died });
    ws.declare([regions(WATCHED, "iceberg")]);
    await waitFor(
      `${WATCHED} to hold the 4 rows of regions.csv`,
      async () => ((await t.scalar<number>(`SELECT count(*) FROM iceberg.default.${WATCHED}`)) === 4 ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 500, gaveUp: died },
    );
    child.kill("SIGINT");
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running 60 s after Ctrl-C"), 60_000))]);
    expect(code).toBe(0);
  } finally {
    if (exitCode === undefined) child.kill("SIGKILL");
  }
  // Structured logs: the write names its table, generation, commit, rows and duration.
  const applied = logs.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === "Applied source" && l.table === `default.${WATCHED}`);
  expect(applied).toMatchObject({ rows: 4, generation: expect.any(String), commit: expect.any(String), durationMs: expect.any(Number) });
});
