/**
 * Iceberg partitioning as Iceberg does it: partitionBy's grammar (lake/partitioning.ts, through
 * tables.yaml's parse), the one classification of a partitioning change, and what the plan, the
 * preview's diff and `lakeform plan` make of it.
 */
import { tableDiff, RebuildRefused, type TableSpecData } from "../../components/table/diff";
import type { Observation } from "../../lake/jobClient";
import { partitionChange, partitionColumns, partitionEvolution } from "../../lake/partitioning";
import { parseTables, SpecError, type TableSpec } from "../../lake/spec";
import { tableDataPlan } from "../../reconciler/dataPlan";
import { plan } from "../../reconciler/pass";
import type { ResolvedSource } from "../../lake/sources";

const yaml = (format: string, partitionBy: string) => `apiVersion: lakeform/v1
tables:
  - name: events
    format: ${format}
    primaryKey: id
    partitionBy: ${partitionBy}
    sources: [events.csv]
`;
const parse = (format: string, partitionBy: string) => parseTables(yaml(format, partitionBy), "/x/tables.yaml").tables[0];
const problems = (format: string, partitionBy: string): { line?: number; field: string; message: string }[] => {
  try {
    parse(format, partitionBy);
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error("parsed");
};

describe("partitionBy's grammar", () => {
  it("takes columns and Iceberg's transforms, in one canonical form, column names sanitised", () => {
    expect(parse("iceberg", '["day(Created At)", "bucket(16,ID)", "Truncate( 4 , Code )", "Region", "months(ts)", "identity(x)", "year(y)", "hour(h)"]').partitionBy).toEqual([
      "day(created_at)", "bucket(16, id)", "truncate(4, code)", "region", "month(ts)", "x", "year(y)", "hour(h)",
    ]);
    expect(partitionColumns(["day(ts)", "bucket(4, id)", "ts", "region"])).toEqual(["ts", "id", "region"]);
  });
  it("an identity-only partitioning reads as it did before transforms: the generation is unchanged", () => {
    expect(parse("hudi", "[Country]").partitionBy).toEqual(["country"]);
    expect(parse("hudi", "[Country]").generation).toBe(parse("hudi", "[country]").generation);
  });
  it.each([
    ['["dya(ts)"]', /table events: "dya\(ts\)": unknown partition transform "dya"/],
    ['["bucket(ts)"]', /bucket takes a whole number, then a column, as in bucket\(16, id\)/],
    ['["bucket(0, id)"]', /bucket's count must be from 1/],
    ['["truncate(x, code)"]', /truncate takes a whole number/],
    ['["day(ts, 2)"]', /day takes one column/],
    ['["day(month(ts))"]', /each argument must be a column or a number/],
    ['["Amount (USD)"]', /unknown partition transform "Amount"/],
    ['["day(ts)", "month(ts)"]', /table events: month\(ts\) and day\(ts\) partition one column by time twice/],
    ['["id", "id"]', /table events: id is already partitionBy\[0\]/],
  ])("refuses %s naming the field, its line and the table", (entries, message) => {
    const [p] = problems("iceberg", entries);
    expect(p.field).toMatch(/^tables\.0\.partitionBy\.\d$/);
    expect(p.line).toBe(6);
    expect(p.message).toMatch(message);
  });
  it("a Hudi table partitions by columns only", () => {
    const [p] = problems("hudi", '["day(ts)"]');
    expect(p).toMatchObject({ field: "tables.0.partitionBy.0", message: expect.stringMatching(/table events is a Hudi table: it partitions by columns only, and day\(ts\) is an Iceberg partition transform/) });
  });
});

describe("partitionChange: the one classification", () => {
  it.each([
    [["day(ts)"], ["day(ts)"], "iceberg", "none"],
    [["day(ts)", "bucket(4, id)"], ["bucket(4, id)", "day(ts)"], "iceberg", "none"],
    [["day(ts)", "bucket(4, id)"], ["month(ts)"], "iceberg", "evolve"],
    [[], ["region"], "iceberg", "evolve"],
    [["region"], [], "iceberg", "evolve"],
    [undefined, [], "iceberg", "none"],
    [["region"], ["region"], "hudi", "none"],
    [["region"], ["city"], "hudi", "rebuild"],
    [["a", "b"], ["b", "a"], "hudi", "rebuild"],
    [[], ["region"], "hudi", "rebuild"],
  ] as const)("%j → %j on %s: %s", (before, after, format, want) => {
    expect(partitionChange(before, after, format)).toBe(want);
  });
  it("an evolution drops what the new spec doesn't name and adds what it does", () => {
    expect(partitionEvolution(["day(ts)", "bucket(4, id)"], ["month(ts)", "bucket(4, id)"])).toEqual({ drop: ["day(ts)"], add: ["month(ts)"] });
  });
});

describe("the plan of a partitioning change", () => {
  const iceberg = (partitionBy: string[]): TableSpec => ({ ...parse("iceberg", "[]"), partitionBy });
  const src = (hash: string): ResolvedSource => ({ declared: `${hash}.csv`, location: `/d/${hash}.csv`, hash, bytes: 1 });
  const recorded = (format: string, partitionBy: string[]) => ({ commit: "c1", time: "t", sourceHash: "a", generation: "g0", spec: JSON.stringify({ format, primaryKey: ["id"], partitionBy }) });
  const lake = (o: Partial<Observation>): Observation => ({
    exists: true, inCatalog: true, filesExist: true, rowCount: 4, columns: [{ name: "id", type: "int" }, { name: "ts", type: "timestamp" }], commits: [recorded("iceberg", ["day(ts)", "bucket(4, id)"])], ...o,
  });

  it("Iceberg: partition evolution first, no rewrite, then the pending writes", () => {
    const spec = iceberg(["month(ts)"]);
    const p = plan(spec, { sources: [src("a"), src("b")], lake: lake({ partitionSpec: ["day(ts)", "bucket(4, id)"] }) });
    expect(p.kind).toBe("act");
    if (p.kind !== "act") return;
    expect(p.action.calls.map((c) => c.op)).toEqual(["evolvePartitions", "write"]);
    expect(p.action.calls[0]).toEqual({ op: "evolvePartitions", drop: ["day(ts)", "bucket(4, id)"], add: ["month(ts)"] });
    expect(p.action.reason).toMatch(/^partition evolution, no rewrite: partitionBy \[day\(ts\), bucket\(4, id\)\] → \[month\(ts\)\].*; 1 source\(s\) not applied yet$/);
    const data = tableDataPlan(spec, lake({}), p, new Map());
    expect(data.partitions).toEqual({ change: "evolve", drop: ["day(ts)", "bucket(4, id)"], add: ["month(ts)"] });
  });
  it("Iceberg: evolution alone when nothing is pending; up to date once the table's spec is the declared one", () => {
    const p = plan(iceberg(["month(ts)"]), { sources: [src("a")], lake: lake({ partitionSpec: ["day(ts)", "bucket(4, id)"] }) });
    expect(p.kind === "act" && p.action.calls.map((c) => c.op)).toEqual(["evolvePartitions"]);
    // The commits still record the old partitioning (no write since): the table's own spec decides.
    expect(plan(iceberg(["month(ts)"]), { sources: [src("a")], lake: lake({ partitionSpec: ["month(ts)"] }) }).kind).toBe("upToDate");
  });
  it("Iceberg: a partition column the table doesn't have is refused naming the field and the table", () => {
    const p = plan(iceberg(["month(tsx)"]), { sources: [src("a")], lake: lake({ partitionSpec: ["day(ts)"] }) });
    expect(p.kind).toBe("fail");
    if (p.kind !== "fail") return;
    expect(p.error.code).toBe("INCOMPATIBLE_SPEC_CHANGE");
    expect(p.error.message).toMatch(/partitionBy \[month\(tsx\)\] of table default\.events names column\(s\) tsx the table doesn't have/);
  });
  it("Hudi: a partitioning change is still refused (a rebuild)", () => {
    const spec = { ...parse("hudi", "[city]") };
    const p = plan(spec, { sources: [src("a")], lake: lake({ commits: [recorded("hudi", ["region"])] }) });
    expect(p.kind === "fail" && p.error.code).toBe("INCOMPATIBLE_SPEC_CHANGE");
  });
});

describe("the preview's diff", () => {
  const data = (format: string, partitionBy: string): TableSpecData => {
    const { line: _l, ...t } = parse(format, partitionBy);
    return t;
  };
  const state = (s: TableSpecData) => ({ tableId: "default.events", spec: s });
  it("an Iceberg partitioning change is an update in place, not a replace", () => {
    expect(tableDiff(state(data("iceberg", '["day(ts)", "bucket(4, id)"]')), state(data("iceberg", '["month(ts)"]')))).toMatchObject({ changes: true, updates: ["partitionBy"], replaces: [] });
  });
  it("a Hudi one still would rebuild the table: refused", () => {
    expect(() => tableDiff(state(data("hudi", "[region]")), state(data("hudi", "[city]")))).toThrow(RebuildRefused);
  });
});
