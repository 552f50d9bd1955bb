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
 * The Iceberg table's `word` pattern (\b: Java's word boundary) keeps it on the Spark path; a third
 * table, Iceberg with matches, filter and quarantine rules, is written by the Arrow path
 * (arrow/expect.py: $snapshots says lakeform.path arrow), its quarantine table read in Trino, and
 * replayed by the Spark path (which quarantines into the table the Arrow path made, and the Arrow
 * path into the one Spark changed after).
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
// An Iceberg table whose every rule the Arrow path evaluates (arrow/expect.py): matches, filter, quarantine.
const ARROW = `exp_arrow_${sfx}`;
// Its rules as the tests change them: the pattern, and what the filter rule does.
let arrowRules = { pattern: "[A-Z]{2}", placed: "quarantine" };

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
      - { name: word, column: region, matches: "\\\\b[A-Z]+\\\\b", action: warn }
${fail ? "      - { name: small_id, filter: \"id < 100\", action: fail }\n" : ""}`,
      ).join("") +
      `  - name: ${ARROW}
    format: iceberg
    primaryKey: id
    sources: [${sources.join(", ")}]
    expect:
      - { name: has_region, column: region, not_null: true, action: warn }
      - { name: positive, column: amount, range: { min: 0 }, action: drop }
      - { name: two_letters, column: region, matches: "${arrowRules.pattern}", action: quarantine }
      - { name: placed, filter: "region <> 'XX' OR amount > 5", action: ${arrowRules.placed} }
${fail ? "      - { name: small_id, column: id, range: { max: 99 }, action: fail }\n" : ""}`,
  );
const spec = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);
const commits = async (name: string) => (await jobs.observe(spec(name))).commits;
const catalog = (format: string) => (format === "hudi" ? "hudi" : "iceberg");
const ids = async (name: string, format: string) => (await t.query(`SELECT id FROM ${catalog(format)}.default.${name} ORDER BY id`)).rows.map((r) => r[0]);
const quarantined = async (name: string, format: string) =>
  (await t.query(`SELECT id, region, _rule, _source, _line, _reason FROM ${catalog(format)}.default."${name}__quarantine" ORDER BY _line`)).rows;
/** The lakeform.path (null on the Spark path's) and lakeform.expectations of the newest snapshot that wrote a source (not maintenance's). */
const snapshotOf = async (name: string, source: string) =>
  (await t.query(`SELECT element_at(summary, 'lakeform.path'), element_at(summary, 'lakeform.expectations') FROM iceberg.default."${name}$snapshots" WHERE element_at(summary, 'lakeform.source') = '${source}' ORDER BY committed_at DESC LIMIT 1`)).rows[0];
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
  for (const n of [ARROW, `${ARROW}__quarantine`]) await t.query(`DROP TABLE IF EXISTS iceberg.default.${n}`).catch(() => undefined);
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
    const want = { has_region: { action: "warn", failed: 1 }, positive: { action: "drop", failed: 1 }, known_region: { action: "quarantine", failed: 1 }, word: { action: "warn", failed: 0 } };
    expect((await commits(name)).at(-1)?.expectations).toEqual(want);
    expect(tableStatus(name)?.expectations).toEqual(want);
  }
  // \b is Java's word boundary, which RE2 reads otherwise: the Iceberg table took the Spark path.
  expect(await snapshotOf(ICE, "orders.csv")).toEqual([null, expect.any(String)]);
  // The Arrow path: row 2 dropped, row 3 quarantined by the pattern, row 4 by the filter (null OR
  // false is not true), both in the quarantine table the Arrow path made, read by Trino.
  expect(await ids(ARROW, "iceberg")).toEqual([1]);
  const wantArrow = {
    has_region: { action: "warn", failed: 1 }, positive: { action: "drop", failed: 1 },
    two_letters: { action: "quarantine", failed: 1 }, placed: { action: "quarantine", failed: 1 },
  };
  const [path, counts] = await snapshotOf(ARROW, "orders.csv");
  expect(path).toBe("arrow");
  expect(JSON.parse(String(counts))).toEqual(wantArrow);
  expect(tableStatus(ARROW)?.expectations).toEqual(wantArrow);
  expect(await quarantined(ARROW, "iceberg")).toEqual([
    ["3", "MARS", "two_letters", "orders.csv", 4, "broke region matches '[A-Z]{2}'"],
    ["4", null, "placed", "orders.csv", 5, "broke region <> 'XX' OR amount > 5"],
  ]);
  expect((await snapshotOf(`${ARROW}__quarantine`, "orders.csv"))[0]).toBe("arrow");
  // The same columns and types the Spark path's quarantine table has.
  const types = async (name: string) =>
    (await t.query(`SELECT column_name, data_type FROM iceberg.information_schema.columns WHERE table_schema = 'default' AND table_name = '${name}__quarantine' ORDER BY ordinal_position`)).rows;
  expect(await types(ARROW)).toEqual([["_qkey", "varchar"], ["id", "varchar"], ["amount", "varchar"], ["region", "varchar"], ["_rule", "varchar"], ["_reason", "varchar"], ["_source", "varchar"], ["_line", "bigint"]]);
  expect(await types(ICE)).toEqual(await types(ARROW));
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
  // The Arrow path's quarantine table, replayed by the Spark path: the pattern fixed, the filter
  // still breaks row 4, which the Spark path quarantines again (under the replay's source and line)
  // in the table the Arrow path made.
  arrowRules = { pattern: "[A-Z]{2,4}", placed: "quarantine" };
  declare(["EU", "US", "MARS"], ["orders.csv"]);
  const first = await lake.replayQuarantine(ARROW);
  expect(first.replayed).toBe(2);
  expect(first.write?.expectations?.filter((e) => ["two_letters", "placed"].includes(e.name)).map((e) => [e.name, e.failed])).toEqual([["two_letters", 0], ["placed", 1]]);
  expect(await ids(ARROW, "iceberg")).toEqual([1, 3]);
  expect(await quarantined(ARROW, "iceberg")).toEqual([["4", null, "placed", expect.stringMatching(/^quarantine-replay-.*\.csv$/), 3, "broke region <> 'XX' OR amount > 5"]]);
  // Once the filter only warns, the row is written and the quarantine table is empty.
  arrowRules = { pattern: "[A-Z]{2,4}", placed: "warn" };
  declare(["EU", "US", "MARS"], ["orders.csv"]);
  expect((await lake.replayQuarantine(ARROW)).replayed).toBe(1);
  expect(await ids(ARROW, "iceberg")).toEqual([1, 3, 4]);
  expect(await quarantined(ARROW, "iceberg")).toEqual([]);
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
  // The Arrow path quarantines into the table whose last commits were the Spark path's (the replays).
  expect(await ids(ARROW, "iceberg")).toEqual([1, 3, 4, 7]);
  expect(await quarantined(ARROW, "iceberg")).toEqual([["6", "VENUS", "two_letters", "venus.csv", 2, "broke region matches '[A-Z]{2,4}'"]]);
  expect((await snapshotOf(ARROW, "venus.csv"))[0]).toBe("arrow");
  expect((await snapshotOf(`${ARROW}__quarantine`, "venus.csv"))[0]).toBe("arrow");
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
