/**
 * The Table resource: which spec changes update a table in place and which would rebuild it
 * (refused), its inputs as the program declares them from tables.yaml, and its wait for the
 * reconciler's report.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseTables } from "../../lake/spec";
import { RebuildRefused, tableDiff, type TableSpecData } from "../../components/table/diff";
import { upsertEntry, waitSynced, type TableInputs } from "../../components/table/impl";
import { writeStatus, emptyStatus } from "../../lake/status";

const YAML = `apiVersion: lakeform/v1
tables:
  - name: leads
    format: hudi
    primaryKey: Index
    orderingField: Updated At
    sources: [data/leads-*.csv]
`;

function spec(yaml = YAML): TableSpecData {
  const { line: _l, ...t } = parseTables(yaml, "/x/tables.yaml").tables[0];
  return t;
}
const state = (s: TableSpecData, exists?: boolean) => ({ tableId: `${s.database}.${s.name}`, spec: s, exists });

describe("tableDiff", () => {
  const base = spec();
  it("no change, no diff", () => {
    expect(tableDiff(state(base), state(spec()))).toEqual({ changes: false, updates: [], replaces: [], deleteBeforeReplace: false });
  });
  it("a new source, a policy or retention change is an update in place", () => {
    const more = spec(YAML.replace("sources: [data/leads-*.csv]", "sources: [data/leads-*.csv, more.csv]"));
    expect(tableDiff(state(base), state(more))).toMatchObject({ changes: true, updates: ["sources"], replaces: [] });
    const strict = spec(YAML + "    schemaPolicy: strict\n    prune: true\n");
    expect(tableDiff(state(base), state(strict)).updates).toEqual(["schemaPolicy", "prune"]);
    const retain = spec(YAML + "    retain: { commits: 10 }\n");
    expect(tableDiff(state(base), state(retain))).toMatchObject({ changes: true, updates: ["retain"], replaces: [] });
  });
  it("a format, key or partitioning change would rebuild the table: refused, saying so plainly", () => {
    const iceberg = spec(YAML.replace("format: hudi", "format: iceberg").replace("    orderingField: Updated At\n", ""));
    expect(() => tableDiff(state(base), state(iceberg))).toThrow(RebuildRefused);
    expect(() => tableDiff(state(base), state(iceberg))).toThrow(/table default\.leads: changing format \(hudi → iceberg\) would rebuild the table/);
    const key = spec(YAML.replace("primaryKey: Index", "primaryKey: [Index, Email]"));
    expect(() => tableDiff(state(base), state(key))).toThrow(/primaryKey \(\[index\] → \[index, email\]\)/);
    const parts = spec(YAML + "    partitionBy: [Country]\n");
    expect(() => tableDiff(state(base), state(parts))).toThrow(/partitionBy \(\[\] → \[country\]\)/);
  });
  it("a table refresh found dropped is an update: up waits for the reconciler to repair it", () => {
    expect(tableDiff(state(base, false), state(spec())).changes).toBe(true);
  });
});

describe("waiting for the reconciler", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-table-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const inputs = (): TableInputs => ({
    ...state(spec()),
    tablesFile: path.join(dir, "tables.yaml"),
    statusFile: path.join(dir, "status.json"),
    warehouseBucket: "warehouse",
    timeoutSec: 10,
  });
  const report = (patch: Record<string, unknown>) => {
    const s = emptyStatus("t");
    const t = spec();
    s.tables["default.leads"] = {
      table: "default.leads", format: "hudi", generation: t.generation, inSync: false, sources: { total: 1, applied: 0 },
      conditions: [], failures: 0, ...patch,
    } as never;
    writeStatus(path.join(dir, "status.json"), s);
  };

  it("returns the table's outputs once it is Synced at the spec's generation", async () => {
    report({ inSync: false, observedGeneration: "older" });
    const done = waitSynced(inputs());
    setTimeout(() => report({ inSync: true, observedGeneration: spec().generation, rowCount: 100, lastCommit: { id: "20261125", time: "t" } }), 1500);
    await expect(done).resolves.toMatchObject({ format: "hudi", location: "s3a://warehouse/default/leads", rows: 100, lastCommit: "20261125" });
  });
  it("fails with the reason when the reconciler refuses the write", async () => {
    const now = new Date().toISOString();
    report({
      lastPassAt: now,
      conditions: [{ type: "Degraded", status: "True", reason: "BadCsv", message: "line 3 has a different number of fields", lastTransitionTime: now }],
    });
    await expect(waitSynced(inputs(), Date.now())).rejects.toThrow(/refused the write: BadCsv: line 3 has a different number of fields/);
  });
  it("times out naming what it last saw", async () => {
    await expect(waitSynced({ ...inputs(), timeoutSec: 1 })).rejects.toThrow(/not Synced at generation \w+ after 1s .*is the reconciler running/);
  });
});

test("a table declared in code is written into tables.yaml, keeping the file's comments, and removed again", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-upsert-"));
  const file = path.join(dir, "tables.yaml");
  fs.writeFileSync(file, "# my lake\n" + YAML);
  upsertEntry(file, "orders", { name: "orders", format: "iceberg", primaryKey: "id", sources: ["orders.csv"] });
  const after = fs.readFileSync(file, "utf8");
  expect(after).toMatch(/^# my lake/);
  expect(parseTables(after, file).tables.map((t) => t.name)).toEqual(["leads", "orders"]);
  upsertEntry(file, "orders", undefined);
  expect(parseTables(fs.readFileSync(file, "utf8"), file).tables.map((t) => t.name)).toEqual(["leads"]);
  fs.rmSync(dir, { recursive: true, force: true });
});
