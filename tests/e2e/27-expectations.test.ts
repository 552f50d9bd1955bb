/**
 * Expectations against the real lakehouse, both formats (issue 21, item 4): one table each with a
 * warn, a drop and a quarantine rule. The first source lands with the row a drop rule broke left
 * out, the quarantined one in <table>__quarantine (read in Trino with _rule, _source, _line,
 * _reason), the warned one written; every rule's count in the commit (lakeform history), the status
 * and the reconciler's metrics. Once the quarantine rule is fixed, `lakeform quarantine replay`'s
 * operation writes the quarantined row and empties the quarantine table. A fail rule a new source
 * breaks leaves the table as it was (no commit), the rule, the count and the line in the status.
 * A pruned table takes its quarantine table into the trash (listed in its tombstone, both gone
 * from Trino, their files kept), and `lakeform undrop` brings both back with their rows.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { createLakeService } from "../../api/runtime";
import { undropCommand } from "../../cli/trash";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { reconcilerMetricsFile, readMetricsReport } from "../../lake/metrics";
import { confirmPrune } from "../../lake/pruneConfirmations";
import { createTrashDeps } from "../../reconciler/runtime";
import { purgeTrashed, quarantineJobTable } from "../../reconciler/trash";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TrinoClient } from "../../lake/trino";
import type { LakeOutputs } from "../../stacks/automation";
import { reconcileOnce, tablesWorkspace } from "./lake";

jest.setTimeout(300_000);

const sfx = Date.now().toString(36);
const ICE = `exp_ice_${sfx}`;
const HUDI = `exp_hudi_${sfx}`;
const TABLES: [string, "iceberg" | "hudi"][] = [[ICE, "iceberg"], [HUDI, "hudi"]];
// Without a quarantine rule an Iceberg batch takes the Arrow path (arrow/expect.py evaluates the rules).
const ARROW = `exp_arrow_${sfx}`;

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let statusFile: string;

const declare = (regions: string[], sources: string[], fail = false, opts: { prune?: boolean; without?: boolean } = {}) =>
  fs.writeFileSync(
    tablesFile,
    `tables:\n` +
      (opts.without ? [] : TABLES).map(
        ([name, format]) => `  - name: ${name}
    format: ${format}
    primaryKey: id${opts.prune ? "\n    prune: true" : ""}
    sources: [${sources.join(", ")}]
    expect:
      - { name: has_region, column: region, not_null: true, action: warn }
      - { name: positive, column: amount, range: { min: 0 }, action: drop }
      - { name: known_region, column: region, in: [${regions.join(", ")}], action: quarantine }
${fail ? "      - { name: small_id, filter: \"id < 100\", action: fail }\n" : ""}`,
      ).join("") +
      `  - name: ${ARROW}
    format: iceberg
    primaryKey: id
    sources: [${sources.join(", ")}]
    expect:
      - { name: has_region, column: region, not_null: true, action: warn }
      - { name: positive, column: amount, range: { min: 0 }, action: drop }
${fail ? "      - { name: small_id, column: id, range: { max: 99 }, action: fail }\n" : ""}`,
  );
const spec = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);
const commits = async (name: string) => (await jobs.observe(spec(name))).commits;
const catalog = (format: string) => (format === "hudi" ? "hudi" : "iceberg");
const ids = async (name: string, format: string) => (await t.query(`SELECT id FROM ${catalog(format)}.default.${name} ORDER BY id`)).rows.map((r) => r[0]);
const quarantined = async (name: string, format: string) =>
  (await t.query(`SELECT id, region, _rule, _source, _line, _reason FROM ${catalog(format)}.default."${name}__quarantine" ORDER BY _line`)).rows;
const tableStatus = (name: string) => readStatus(statusFile)?.tables[`default.${name}`];
const synced = (name: string) => getCondition(tableStatus(name)?.conditions ?? [], "Synced");
const pass = () => reconcileOnce({ outs, tablesFile, statusFile });

beforeAll(async () => {
  ({ outs, t, jobs, dir, tablesFile, statusFile } = await tablesWorkspace("lakeform-expect-"));
  // Line 3 breaks positive (drop), line 4 known_region (quarantine), line 5 has_region (warn: written).
  fs.writeFileSync(path.join(dir, "orders.csv"), "id,amount,region\n1,10,EU\n2,-5,US\n3,7,MARS\n4,3,\n");
  fs.writeFileSync(path.join(dir, "more.csv"), "id,amount,region\n5,1,EU\n500,2,US\n");
  declare(["EU", "US"], ["orders.csv"]);
});

afterAll(async () => {
  // A test that failed between the prune and the undrop leaves tombstones: purge them (files too).
  const deps = createTrashDeps(outs, { log: pino({ level: "silent" }), role: "e2e" });
  for (const [name] of TABLES) {
    const tomb = await deps.trash.get({ database: "default", name }).catch(() => undefined);
    if (tomb) await purgeTrashed(deps, tomb).catch(() => undefined);
  }
  await t.query(`DROP TABLE IF EXISTS iceberg.default.${ARROW}`).catch(() => undefined);
  for (const [name, format] of TABLES) {
    for (const n of [name, `${name}__quarantine`]) await t.query(`DROP TABLE IF EXISTS ${format === "hudi" ? "hive" : "iceberg"}.default.${n}`).catch(() => undefined);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("warn counts, drop leaves out and counts, quarantine keeps the row in <table>__quarantine; counts in the commit, the status and the metrics", async () => {
  await pass();
  for (const [name, format] of TABLES) {
    expect(synced(name)?.status).toBe("True");
    expect(await ids(name, format)).toEqual([1, 4]);
    expect(await quarantined(name, format)).toEqual([["3", "MARS", "known_region", "orders.csv", 4, "broke region in (EU, US)"]]);
    const want = { has_region: { action: "warn", failed: 1 }, positive: { action: "drop", failed: 1 }, known_region: { action: "quarantine", failed: 1 } };
    expect((await commits(name)).at(-1)?.expectations).toEqual(want);
    expect(tableStatus(name)?.expectations).toEqual(want);
  }
  // The Arrow path: the same counts in the snapshot that says it wrote it.
  expect(await ids(ARROW, "iceberg")).toEqual([1, 3, 4]);
  const summary = await t.query(`SELECT summary['lakeform.path'], summary['lakeform.expectations'] FROM iceberg.default."${ARROW}$snapshots" ORDER BY committed_at DESC LIMIT 1`);
  expect(summary.rows[0][0]).toBe("arrow");
  expect(JSON.parse(String(summary.rows[0][1]))).toEqual({ has_region: { action: "warn", failed: 1 }, positive: { action: "drop", failed: 1 } });
  const metrics = readMetricsReport(reconcilerMetricsFile(statusFile));
  const counter = metrics?.metrics.find((m) => m.name === "lakeform_expectation_rows_total");
  expect(counter?.values.filter((v) => String(v.labels.table).startsWith("default.exp_") && v.labels.rule === "known_region" && v.value === 1)).toHaveLength(2);
});

test("once the rule is fixed, a quarantine replay writes the quarantined rows and removes them from the quarantine table", async () => {
  declare(["EU", "US", "MARS"], ["orders.csv"]);
  const lake = createLakeService(outs, tablesFile);
  // Both tables at once: the job server writes different tables side by side.
  const replies = await Promise.all(TABLES.map(([name]) => lake.replayQuarantine(name)));
  for (const [i, [name, format]] of TABLES.entries()) {
    expect(replies[i].replayed).toBe(1);
    expect(replies[i].write?.expectations?.find((e) => e.name === "known_region")?.failed).toBe(0);
    expect(await ids(name, format)).toEqual([1, 3, 4]);
    expect(await quarantined(name, format)).toEqual([]);
    expect((await lake.replayQuarantine(name)).replayed).toBe(0);
  }
  // A table that never quarantined anything has no quarantine table: nothing to replay.
  expect((await lake.replayQuarantine(ARROW)).replayed).toBe(0);
});

test("a fail rule leaves the table as it was, with the rule, the count and the line in the status", async () => {
  const before = Object.fromEntries(await Promise.all(TABLES.map(async ([name]) => [name, (await commits(name)).map((c) => c.commit)])));
  declare(["EU", "US", "MARS"], ["orders.csv", "more.csv"], true);
  await pass();
  for (const [name, format] of TABLES) {
    const c = synced(name);
    expect(c?.reason).toBe("ExpectationFailed");
    expect(c?.message).toContain("expectation small_id (id < 100, action fail): 1 row(s) broke it, e.g. more.csv, line 3");
    expect((await commits(name)).map((x) => x.commit)).toEqual(before[name]);
    expect(await ids(name, format)).toEqual([1, 3, 4]);
  }
  expect(synced(ARROW)?.message).toContain("expectation small_id (id <= 99, action fail): 1 row(s) broke it, e.g. more.csv, line 3");
  expect(await ids(ARROW, "iceberg")).toEqual([1, 3, 4]);
});

test("a pruned table takes its quarantine table into the trash; undrop brings both back with their rows", async () => {
  // A row known_region quarantines again, and prune: true on both tables.
  fs.writeFileSync(path.join(dir, "venus.csv"), "id,amount,region\n6,1,VENUS\n7,2,EU\n");
  declare(["EU", "US", "MARS"], ["orders.csv", "venus.csv"], false, { prune: true });
  await pass();
  const rowsBefore: Record<string, { rows: unknown[][]; quarantined: unknown[][] }> = {};
  for (const [name, format] of TABLES) {
    rowsBefore[name] = { rows: (await t.query(`SELECT id, amount, region FROM ${catalog(format)}.default.${name} ORDER BY id`)).rows, quarantined: await quarantined(name, format) };
    expect(rowsBefore[name].rows.map((r) => r[0])).toEqual([1, 3, 4, 7]);
    expect(rowsBefore[name].quarantined).toEqual([["6", "VENUS", "known_region", "venus.csv", 2, expect.stringContaining("broke region in")]]);
  }
  // Both removed from tables.yaml: two prunes are held until confirmed, so confirm them first.
  confirmPrune(statusFile, TABLES.map(([name]) => `default.${name}`), "e2e");
  declare(["EU", "US", "MARS"], ["orders.csv", "venus.csv"], false, { without: true });
  await pass();
  const deps = createTrashDeps(outs, { log: pino({ level: "silent" }), role: "e2e" });
  const names = (name: string) => [name, `${name}__quarantine`];
  const listed = async (name: string, format: string) =>
    (await t.query(`SELECT table_name FROM ${catalog(format)}.information_schema.tables WHERE table_schema = 'default' AND table_name IN ('${names(name).join("', '")}') ORDER BY table_name`)).rows.map((r) => r[0]);
  for (const [name, format] of TABLES) {
    expect(await listed(name, format)).toEqual([]);
    const tomb = await deps.trash.get({ database: "default", name });
    expect(tomb?.quarantine).toEqual({ name: `${name}__quarantine`, location: `s3a://${outs.warehouseBucket}/default/${name}__quarantine` });
    // Their files are kept.
    const q = await jobs.observe(quarantineJobTable({ name, database: "default", format }, outs.warehouseBucket));
    expect([q.inCatalog, q.filesExist]).toEqual([false, true]);
  }
  // Declared again and undropped, as `lakeform undrop` does: both back, with their rows.
  declare(["EU", "US", "MARS"], ["orders.csv", "venus.csv"], false, { prune: true });
  for (const [name, format] of TABLES) {
    let said = "";
    const res = await undropCommand(deps, { file: tablesFile, table: name }, (s) => void (said += s));
    expect(res.quarantine).toEqual({ table: `default.${name}__quarantine`, registered: true });
    expect(said).toContain(`its quarantine table default.${name}__quarantine is back with it`);
    expect(await listed(name, format)).toEqual(names(name));
    expect((await t.query(`SELECT id, amount, region FROM ${catalog(format)}.default.${name} ORDER BY id`)).rows).toEqual(rowsBefore[name].rows);
    expect(await quarantined(name, format)).toEqual(rowsBefore[name].quarantined);
    expect(await deps.trash.get({ database: "default", name })).toBeUndefined();
  }
});
