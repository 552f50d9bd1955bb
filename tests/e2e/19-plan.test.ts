/**
 * `lakeform plan` against the real lakehouse, both formats (issue 22, item 1): before anything is
 * written it shows each pending source with its rows, the schema change classified and the
 * deletes a deleteWhen rule makes; then a pass applies it, and the lake shows what the plan said:
 * the same sources committed (by content hash), the rows it counted, the column it called
 * additive, the keys it said would be deleted gone. A change it calls refused (a new column
 * under strict) is refused by the pass, the table left as it was; a row whose value doesn't fit
 * the column's type is one the plan says is quarantined, and the pass quarantines it. Nothing is
 * written by the plan itself (no commit appears).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { LakeOutputs } from "../../stacks/automation";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TrinoClient } from "../../lake/trino";
import { lakePlan, type LakePlan } from "../../cli/plan";
import type { TableDataPlan } from "../../reconciler/dataPlan";
import { reconcileOnce, tablesWorkspace } from "./lake";

const sfx = Date.now().toString(36);
const CLI = path.resolve(__dirname, "../../bin/lakeform");
const ICE = `plan_ice_${sfx}`;
const HUDI = `plan_hudi_${sfx}`;

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let statusFile: string;

const yaml = (ice: string[], hudi: string[]) => `apiVersion: lakeform/v1
tables:
  - name: ${ICE}
    format: iceberg
    primaryKey: id
    deleteWhen: { column: op, equals: [d] }
    sources: [${ice.join(", ")}]
  - name: ${HUDI}
    format: hudi
    primaryKey: id
    schemaPolicy: strict
    deleteWhen: { column: op, equals: [d] }
    sources: [${hudi.join(", ")}]
`;
const declare = (ice: string[], hudi: string[]) => fs.writeFileSync(tablesFile, yaml(ice, hudi));
const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
const of = (p: LakePlan, name: string) => p.tables.find((x) => x.table === `default.${name}`) as TableDataPlan;
const spec = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);
const commits = async (name: string) => (await jobs.observe(spec(name))).commits;
const ids = async (catalog: string, name: string) => (await t.query(`SELECT id FROM ${catalog}.default.${name} ORDER BY id`)).rows.map((r) => Number(r[0]));

const pass = () => reconcileOnce({ outs, tablesFile, statusFile });
const reasonOf = (name: string) => getCondition(readStatus(statusFile)?.tables[`default.${name}`]?.conditions ?? [], "Synced");

beforeAll(async () => {
  ({ outs, t, jobs, dir, tablesFile, statusFile } = await tablesWorkspace("lakeform-plan-"));
  const seed = "id,amount,op\n1,10.5,\n2,20,\n3,30,\n4,40,\n5,50,\n";
  write("seed.csv", seed);
  declare(["seed.csv"], ["seed.csv"]);
});

afterAll(async () => {
  for (const [c, n] of [["iceberg", ICE], ["hudi", HUDI]]) await t.query(`DROP TABLE IF EXISTS ${c === "hudi" ? "hive" : c}.default.${n}`).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a new table's plan counts the seed's rows; the pass creates both tables with exactly them", async () => {
  const p = await lakePlan(outs, tablesFile);
  for (const name of [ICE, HUDI]) {
    const tp = of(p, name);
    expect(tp).toMatchObject({ decision: "act", exists: false });
    expect(tp.writes.map((w) => [w.source, w.rows, w.rowsExact, w.deletes])).toEqual([["seed.csv", 5, true, 0]]);
  }
  // The plan wrote nothing: neither table exists yet.
  expect(await commits(ICE)).toEqual([]);
  await pass();
  expect(await ids("iceberg", ICE)).toEqual([1, 2, 3, 4, 5]);
  expect(await ids("hudi", HUDI)).toEqual([1, 2, 3, 4, 5]);
});

test("pending sources: rows, an additive column, deletes; a strict table's new column refused and a misfit row quarantined; the pass does exactly that", async () => {
  // Iceberg: 2 updates, 2 new keys, 2 deletes, and a new column `note` (additive).
  write("more.csv", "id,amount,op,note\n1,11,,a\n2,21,,b\n6,60,,c\n7,70,,d\n3,0,d,\n4,0,D,\n");
  // Hudi (strict): a new column is refused; Iceberg's second source has a value its double column can't take.
  write("strict.csv", "id,amount,op,note\n1,12,,x\n");
  write("misfit.csv", "id,amount,op\n8,lots,\n9,9.5,\n");
  declare(["seed.csv", "more.csv"], ["seed.csv", "strict.csv"]);

  // Through the command, as a user runs it: exit 1 (a change would be refused), and the JSON is the plan.
  const res = await promisify(execFile)(CLI, ["plan", "-f", tablesFile, "-o", "json"], { env: { ...process.env, NODE_NO_WARNINGS: "1" } }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string }),
  );
  expect(res.code).toBe(1);
  const p = JSON.parse(res.stdout) as LakePlan;
  const ice = of(p, ICE);
  expect(ice).toMatchObject({ decision: "act", exists: true, rowCount: 5 });
  expect(ice.writes).toHaveLength(1);
  expect(ice.writes[0]).toMatchObject({ source: "more.csv", rows: 6, rowsExact: true, deletes: 2, schema: { change: "additive", added: ["note"] } });
  const hudi = of(p, HUDI);
  expect(hudi.writes[0]).toMatchObject({ source: "strict.csv", rows: 1, schema: { change: "refused", added: ["note"] } });
  expect(hudi.writes[0].schema.reason).toMatch(/SCHEMA_REFUSED/);

  const beforeIce = (await commits(ICE)).length;
  const beforeHudi = await commits(HUDI);
  await pass();

  // Iceberg: one new commit, of the source the plan named (its content hash), with what it counted.
  const after = await commits(ICE);
  expect(after.length).toBe(beforeIce + 1);
  expect(after[after.length - 1].sourceHash).toBe(ice.writes[0].hash);
  expect(await ids("iceberg", ICE)).toEqual([1, 2, 5, 6, 7]);
  const cols = (await t.query(`SHOW COLUMNS FROM iceberg.default.${ICE}`)).rows.map((r) => r[0]);
  expect(cols).toContain("note");
  // Hudi: refused as the plan said, nothing committed, rows as they were.
  expect(reasonOf(HUDI)?.reason).toBe("SchemaRefused");
  expect((await commits(HUDI)).map((c) => c.commit)).toEqual(beforeHudi.map((c) => c.commit));
  expect(await ids("hudi", HUDI)).toEqual([1, 2, 3, 4, 5]);

  // A value that doesn't fit the table's type: the plan says that row will be quarantined, and
  // the pass writes the other row and keeps that one in the quarantine table.
  declare(["seed.csv", "more.csv", "misfit.csv"], ["seed.csv"]);
  const q = await lakePlan(outs, tablesFile);
  const w = of(q, ICE).writes;
  expect(w.map((x) => [x.source, x.schema.change])).toEqual([["misfit.csv", "none"]]);
  expect(w[0].badRows).toEqual({ rows: 1, action: "quarantine", first: 'row 1 column amount: value "lots" doesn\'t fit the table\'s type double' });
  await pass();
  expect(reasonOf(ICE)?.status).toBe("True");
  expect(await ids("iceberg", ICE)).toEqual([1, 2, 5, 6, 7, 9]);
  expect((await t.query(`SELECT id, amount, _reason FROM iceberg.default."${ICE}__quarantine"`)).rows).toEqual([["8", "lots", "column amount: value 'lots' doesn't fit the table's type double"]]);
  // With the refused source gone, both tables plan nothing.
  declare(["seed.csv", "more.csv"], ["seed.csv"]);
  const done = await lakePlan(outs, tablesFile);
  expect([of(done, ICE).decision, of(done, HUDI).decision]).toEqual(["upToDate", "upToDate"]);
});
