/**
 * The reconciler against the real lakehouse: tables.yaml in, Hudi and Iceberg tables out, read
 * back through Trino. Table names carry a per-run suffix, so runs don't see each other's tables.
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
import { createReconciler } from "../../reconciler/runtime";
import { parseTables } from "../../lake/spec";
import type { TrinoClient } from "../../lake/trino";
import { DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ensureUp, run, s3, trino } from "./lake";

const sfx = Date.now().toString(36);
const LEADS = `leads_${sfx}`;
const LEADS_ICE = `leads_ice_${sfx}`;
const REGIONS = `regions_${sfx}`;
const STRICT = `strict_${sfx}`;
const examples = path.resolve(__dirname, "../../examples");

let outs: LakeOutputs;
let t: TrinoClient;
let dir: string;
let statusFile: string;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

function tablesYaml(extra: { leads?: string[]; leadsIce?: string[]; strict?: string[] } = {}): string {
  const list = (xs: string[]) => xs.map((x) => `\n      - ${x}`).join("");
  return `apiVersion: lakeform/v1
tables:
  - name: ${LEADS}
    format: hudi
    primaryKey: Index
    orderingField: Updated At
    sources:${list(["data/leads-100.csv", ...(extra.leads ?? [])])}
  - name: ${LEADS_ICE}
    format: iceberg
    primaryKey: Index
    sources:${list(["data/leads-100.csv", ...(extra.leadsIce ?? [])])}
  - name: ${REGIONS}
    format: iceberg
    primaryKey: Region Code
    sources:${list(["data/regions.csv"])}
  - name: ${STRICT}
    format: hudi
    primaryKey: Region Code
    schemaPolicy: strict
    sources:${list(["data/regions.csv", ...(extra.strict ?? [])])}
`;
}

const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
const newReconciler = (): Reconciler =>
  createReconciler(outs, { tablesFile: path.join(dir, "tables.yaml"), statusFile, log, backoffBaseMs: 100, backoffMaxMs: 1000 });
const csvRows = (file: string): Record<string, string>[] => parse(fs.readFileSync(path.join(dir, file)), { columns: true });
const tableStatus = (r: Reconciler, name: string) => r.lakeStatus.tables[`default.${name}`];

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-"));
  fs.mkdirSync(path.join(dir, "data"));
  for (const f of ["leads-100.csv", "regions.csv"]) fs.copyFileSync(path.join(examples, "data", f), path.join(dir, "data", f));
  statusFile = path.join(dir, "status.json");
  write("tables.yaml", tablesYaml());

  // The update CSV: 10 existing keys changed (newer Updated At), 5 new keys, one new column.
  const rows = csvRows("data/leads-100.csv");
  const header = [...Object.keys(rows[0]), "Lead Score"];
  const changed = rows.slice(0, 10).map((r, i) => ({ ...r, Status: `Upgraded${i}`, "Updated At": "2027-01-01", "Lead Score": String(50 + i) }));
  const added = Array.from({ length: 5 }, (_, i) => ({ ...rows[0], Index: String(101 + i), Status: "New", "Lead Score": String(90 + i) }));
  const lines = [header.join(","), ...[...changed, ...added].map((r) => header.map((h) => JSON.stringify(r[h as keyof typeof r] ?? "")).join(","))];
  write("data/leads-update.csv", lines.join("\n") + "\n");
  write("data/regions-extra-column.csv", "Region Code,Region Name,HQ City,Timezone\nMEA,Middle East,Dubai,UTC+4\n");
  write("data/ragged.csv", "Index,Lead Id,Status\n1,a,New\n2,b\n3,c,Lost\n");
});

test("the example tables reach in-sync status and Trino's counts match the CSVs", async () => {
  const r = newReconciler();
  const results = await r.runOnce();
  expect(results.every((x) => x.ok)).toBe(true);
  expect(r.allInSync()).toBe(true);
  for (const name of [LEADS, LEADS_ICE, REGIONS, STRICT]) {
    expect(getCondition(tableStatus(r, name).conditions, "Synced")).toMatchObject({ status: "True", reason: "UpToDate" });
    expect(getCondition(tableStatus(r, name).conditions, "Ready")?.status).toBe("True");
  }
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${LEADS}`)).toBe(csvRows("data/leads-100.csv").length);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${LEADS_ICE}`)).toBe(100);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${REGIONS}`)).toBe(csvRows("data/regions.csv").length);
  expect(tableStatus(r, LEADS).rowCount).toBe(100);
  // Column names were sanitised.
  expect(tableStatus(r, LEADS).columns).toEqual(expect.arrayContaining(["index", "first_name", "region_code", "updated_at"]));
});

test("one Trino query joins the Hudi table with the Iceberg table", async () => {
  const regions = new Map(csvRows("data/regions.csv").map((r) => [r["Region Code"], r["Region Name"]]));
  const expected = new Map<string, number>();
  for (const l of csvRows("data/leads-100.csv")) {
    const name = regions.get(l["Region Code"]);
    if (name) expected.set(name, (expected.get(name) ?? 0) + 1);
  }
  const { rows } = await t.query(
    `SELECT r.region_name, count(*) FROM hudi.default.${LEADS} l JOIN iceberg.default.${REGIONS} r ON l.region_code = r.region_code GROUP BY 1 ORDER BY 1`,
  );
  expect(rows).toEqual([...expected.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v]));
});

test("a second source upserts: 5 more rows, 10 updated, and the new column is queryable", async () => {
  write("tables.yaml", tablesYaml({ leads: ["data/leads-update.csv"], leadsIce: ["data/leads-update.csv"] }));
  const r = newReconciler();
  await r.runOnce();
  expect(r.allInSync()).toBe(true);
  for (const fq of [`hudi.default.${LEADS}`, `iceberg.default.${LEADS_ICE}`]) {
    expect(await t.scalar(`SELECT count(*) FROM ${fq}`)).toBe(105);
    const { rows } = await t.query(`SELECT "index", status, lead_score FROM ${fq} WHERE "index" <= 10 ORDER BY "index"`);
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, `Upgraded${i}`, 50 + i]));
    expect(await t.scalar(`SELECT count(*) FROM ${fq} WHERE lead_score IS NULL`)).toBe(90);
    expect(await t.scalar(`SELECT count(*) FROM ${fq} WHERE "index" > 100`)).toBe(5);
  }
});

test("a restarted reconciler runs no Spark job and changes no data", async () => {
  const jobs = new JobClient(outs.sparkJobServer);
  const before = await jobs.observe(jobTable(parseTables(fs.readFileSync(path.join(dir, "tables.yaml"), "utf8"), "t").tables[0], outs.warehouseBucket));
  const r = newReconciler();
  const results = await r.runOnce();
  expect(results.map((x) => x.wrote)).toEqual([0, 0, 0, 0]);
  expect(r.allInSync()).toBe(true);
  const after = await jobs.observe(jobTable(parseTables(fs.readFileSync(path.join(dir, "tables.yaml"), "utf8"), "t").tables[0], outs.warehouseBucket));
  expect(after.commits.map((c) => c.commit)).toEqual(before.commits.map((c) => c.commit));
  expect(after.commits.map((c) => c.sourceHash).filter(Boolean)).toHaveLength(2);
});

test("a malformed tables.yaml is reported with its line, and the last valid state keeps being served", async () => {
  const r = newReconciler();
  await r.runOnce();
  write("tables.yaml", tablesYaml().replace("format: iceberg", "format: icebergg"));
  const results = await r.runOnce();
  expect(r.lakeStatus.specError).toMatch(/tables\.yaml:10: tables\.1\.format/);
  expect(results).toHaveLength(4);
  expect(r.allInSync()).toBe(true);

  // The CLI says the same, with a non-zero exit code.
  const cli = path.resolve(__dirname, "../../bin/lakeform");
  const res = await run(cli, ["reconcile", "--once", "-f", path.join(dir, "tables.yaml")]).catch((e) => e);
  expect(res.code).toBe(2);
  expect(res.stdout).toMatch(/tables\.yaml:10: tables\.1\.format/);
  write("tables.yaml", tablesYaml({ leads: ["data/leads-update.csv"], leadsIce: ["data/leads-update.csv"] }));
});

test("tables dropped from the metastore come back with their history, and nothing is rewritten", async () => {
  const jobs = new JobClient(outs.sparkJobServer);
  const specs = parseTables(fs.readFileSync(path.join(dir, "tables.yaml"), "utf8"), "t").tables;
  const tables = [specs[0], specs[1]].map((spec) => jobTable(spec, outs.warehouseBucket));
  expect(tables.map((x) => x.format)).toEqual(["hudi", "iceberg"]);
  const before = await Promise.all(tables.map((x) => jobs.observe(x)));
  for (const x of tables) await jobs.drop(x, false);
  await expect(t.query(`SELECT count(*) FROM hudi.default.${LEADS}`)).rejects.toThrow(/does not exist/);
  await expect(t.query(`SELECT count(*) FROM iceberg.default.${LEADS_ICE}`)).rejects.toThrow(/does not exist/);

  const r = newReconciler();
  const results = await r.runOnce();
  for (const name of [LEADS, LEADS_ICE]) {
    expect(results.find((x) => x.table === `default.${name}`)).toMatchObject({ ok: true, wrote: 0 });
    const synced = getCondition(tableStatus(r, name).conditions, "Synced");
    expect(synced).toMatchObject({ status: "True", reason: "Recreated" });
    expect(synced?.message).toMatch(/re-registered from its files with its 2 commit\(s\) of history/);
  }
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${LEADS}`)).toBe(105);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${LEADS_ICE}`)).toBe(105);
  const after = await Promise.all(tables.map((x) => jobs.observe(x)));
  for (const i of [0, 1]) expect(after[i].commits.map((c) => c.commit)).toEqual(before[i].commits.map((c) => c.commit));
});

test("tables whose files were deleted are rebuilt with every write they had (API ingests too), and status says so", async () => {
  // A row that only ever came through the API, in each table.
  const lake = createLakeService(outs, path.join(dir, "tables.yaml"));
  for (const name of [REGIONS, STRICT]) {
    await lake.ingestCsv(name, Buffer.from("Region Code,Region Name,HQ City\nAPI,Added Through The API,Lisbon\n"), "api-extra.csv");
  }
  // And one through the Iceberg light path (a Trino MERGE, no Spark).
  await lake.ingestCsvViaTrino(REGIONS, Buffer.from("Region Code,Region Name,HQ City\nTRN,Through Trino,Oslo\n"));
  const client = s3(outs);
  for (const name of [REGIONS, STRICT]) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${name}/` }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    expect(keys.length).toBeGreaterThan(0);
    await client.send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: keys } }));
  }
  const r = newReconciler();
  await r.runOnce();
  for (const name of [REGIONS, STRICT]) {
    const synced = getCondition(tableStatus(r, name).conditions, "Synced");
    expect(synced).toMatchObject({ status: "True", reason: "Recreated" });
  }
  expect(getCondition(tableStatus(r, REGIONS).conditions, "Synced")?.message).toMatch(/rebuilt from its write journal and declared sources \(3 write\(s\) replayed/);
  expect(getCondition(tableStatus(r, STRICT).conditions, "Synced")?.message).toMatch(/rebuilt from its write journal and declared sources \(2 write\(s\) replayed/);
  for (const fq of [`iceberg.default.${REGIONS}`, `hudi.default.${STRICT}`]) {
    expect(await t.scalar(`SELECT hq_city FROM ${fq} WHERE region_code = 'API'`)).toBe("Lisbon");
  }
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${REGIONS}`)).toBe(csvRows("data/regions.csv").length + 2);
  expect(await t.scalar(`SELECT hq_city FROM iceberg.default.${REGIONS} WHERE region_code = 'TRN'`)).toBe("Oslo");
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${STRICT}`)).toBe(csvRows("data/regions.csv").length + 1);
});

test("a CSV the strict policy refuses leaves the table as it was, with the reason in status", async () => {
  write("tables.yaml", tablesYaml({ leads: ["data/leads-update.csv"], leadsIce: ["data/leads-update.csv"], strict: ["data/regions-extra-column.csv"] }));
  const r = newReconciler();
  const results = await r.runOnce();
  const st = tableStatus(r, STRICT);
  expect(getCondition(st.conditions, "Synced")).toMatchObject({ status: "False", reason: "SchemaRefused" });
  expect(getCondition(st.conditions, "Synced")?.message).toMatch(/timezone/);
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${STRICT}`)).toBe(5); // regions.csv and the API row from the rebuild test
  const { rows } = await t.query(`SHOW COLUMNS FROM hudi.default.${STRICT}`);
  expect(rows.map((x) => x[0])).not.toContain("timezone");
  // The other tables are served all the same.
  expect(results.filter((x) => x.ok).map((x) => x.table).sort()).toEqual([LEADS, LEADS_ICE, REGIONS].map((n) => `default.${n}`).sort());
});

test("a ragged CSV fails that table's write with the line, and the table is untouched", async () => {
  write("tables.yaml", tablesYaml({ leads: ["data/leads-update.csv", "data/ragged.csv"], leadsIce: ["data/leads-update.csv"] }));
  const r = newReconciler();
  await r.runOnce();
  const synced = getCondition(tableStatus(r, LEADS).conditions, "Synced");
  expect(synced).toMatchObject({ status: "False", reason: "BadCsv" });
  expect(synced?.message).toMatch(/line 3/);
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${LEADS}`)).toBe(105);
});

test("removing tables from tables.yaml: prune: true drops one with its files (even across a restart), the other keeps its data", async () => {
  const PRUNED = `pruned_${sfx}`;
  const ORPHAN = `orphan_${sfx}`;
  const base = tablesYaml({ leads: ["data/leads-update.csv"], leadsIce: ["data/leads-update.csv"] });
  write("tables.yaml", base +
    `  - name: ${PRUNED}\n    format: hudi\n    primaryKey: Region Code\n    prune: true\n    sources: [data/regions.csv]\n` +
    `  - name: ${ORPHAN}\n    format: iceberg\n    primaryKey: Region Code\n    sources: [data/regions.csv]\n`);
  await newReconciler().runOnce();
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.${PRUNED}`)).toBe(4);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.${ORPHAN}`)).toBe(4);
  const files = async (name: string) =>
    (await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${name}/` }))).KeyCount ?? 0;
  expect(await files(PRUNED)).toBeGreaterThan(0);

  // The edit is made while no reconciler runs; the next one to start acts on it.
  write("tables.yaml", base);
  const r = newReconciler();
  await r.runOnce();
  await expect(t.query(`SELECT count(*) FROM hudi.default.${PRUNED}`)).rejects.toThrow(/does not exist/);
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
  write("tables.yaml", tablesYaml());
  const cli = path.resolve(__dirname, "../../bin/lakeform");
  const { spawn } = await import("node:child_process");
  const child = spawn(cli, ["reconcile", "-f", path.join(dir, "tables.yaml"), "--resync", "600"], {
    env: { ...process.env, LAKEFORM_LOG_FORMAT: "json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  child.stderr.on("data", (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  while (!logs.includes("Reconciler started")) await new Promise((r) => setTimeout(r, 200));

  write("tables.yaml", tablesYaml() + `  - name: ${WATCHED}\n    format: iceberg\n    primaryKey: Region Code\n    sources: [data/regions.csv]\n`);
  const deadline = Date.now() + 180_000;
  let count = 0;
  while (Date.now() < deadline && count !== 4) {
    count = await t.scalar<number>(`SELECT count(*) FROM iceberg.default.${WATCHED}`).catch(() => 0);
    if (count !== 4) await new Promise((r) => setTimeout(r, 500));
  }
  expect(count).toBe(4);
  child.kill("SIGINT");
  expect(await exited).toBe(0);
  // Structured logs: the write names its table, generation, commit, rows and duration.
  const applied = logs.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === "Applied source" && l.table === `default.${WATCHED}`);
  expect(applied).toMatchObject({ rows: 4, generation: expect.any(String), commit: expect.any(String), durationMs: expect.any(Number) });
});
