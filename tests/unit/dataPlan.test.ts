/**
 * The data's plan (reconciler/dataPlan.ts): the reconciler's own decision, with what each write
 * will bring read from a sample of its source. Pure, so every class of change is a case here; the
 * end-to-end test (tests/e2e/19-plan.test.ts) checks that an apply does what its plan said.
 */
import type { Observation } from "../../lake/jobClient";
import type { ResolvedSource } from "../../lake/sources";
import type { TableSpec } from "../../lake/spec";
import { planSource, tableDataPlan, type SourceSample } from "../../reconciler/dataPlan";
import { plan } from "../../reconciler/pass";

const spec = (o: Partial<TableSpec> = {}): TableSpec => ({
  name: "orders", database: "default", format: "iceberg", primaryKey: ["id"], partitionBy: [], sources: ["a.csv"],
  schemaPolicy: "addColumns", prune: false, generation: "g1", line: 1, ...o,
});
const table = { exists: true, columns: [{ name: "id", type: "bigint" }, { name: "amount", type: "double" }, { name: "day", type: "date" }] };
const whole = (text: string): SourceSample => ({ head: Buffer.from(text), whole: true });
const src = (text: string, o: Partial<ResolvedSource> = {}): ResolvedSource => ({ declared: "a.csv", location: "/d/a.csv", hash: "h", bytes: Buffer.byteLength(text), ...o });

test("a whole-file sample counts its rows exactly, with quoted line breaks, CRLF and a BOM", () => {
  const text = '\uFEFFid,amount,day,note\r\n1,2.5,2026-01-01,"two\r\nlines"\r\n2,3,2026-01-02,x\r\n';
  const p = planSource(spec(), table, src(text), whole(text));
  expect(p).toMatchObject({ rows: 2, rowsExact: true, columns: ["id", "amount", "day", "note"], schema: { change: "additive", added: ["note"] } });
});

test("a partial sample estimates rows from its bytes per row, cut at its last complete line", () => {
  const body = Array.from({ length: 1000 }, (_, i) => `${i},1.5,2026-01-01`).join("\n") + "\n";
  const text = "id,amount,day\n" + body;
  const head = Buffer.from(text).subarray(0, Math.floor(text.length / 10) + 7);
  const p = planSource(spec(), table, src(text), { head, whole: false });
  expect(p.rowsExact).toBe(false);
  expect(p.rows).toBeGreaterThan(900);
  expect(p.rows).toBeLessThan(1100);
  expect(p.schema.change).toBe("none");
});

test("new columns under a strict schemaPolicy are refused, naming them", () => {
  const text = "id,amount,day,extra\n1,2,2026-01-01,x\n";
  expect(planSource(spec({ schemaPolicy: "strict" }), table, src(text), whole(text)).schema).toEqual({
    change: "refused", added: ["extra"], reason: expect.stringMatching(/schemaPolicy is strict .*new column\(s\): extra \(SCHEMA_REFUSED\)/),
  });
});

test("a source without the key column is refused as the write would be (BAD_CSV)", () => {
  const text = "amount,day\n2,2026-01-01\n";
  expect(planSource(spec(), table, src(text), whole(text)).schema).toMatchObject({ change: "refused", reason: expect.stringMatching(/id named in tables.yaml .*BAD_CSV/) });
});

test.each([
  ["amount", "double", "1,abc,2026-01-01"],
  ["id", "bigint", "1.5,2,2026-01-01"],
  ["day", "date", "1,2,yesterday"],
])("a value that doesn't fit the table's %s (%s): the row is quarantined (strict: the write refused), naming the row", (col, type, row) => {
  const text = `id,amount,day\n1,2,2026-01-01\n${row}\n`;
  const p = planSource(spec(), table, src(text), whole(text));
  expect(p.schema.change).toBe("none");
  expect(p.badRows).toEqual({ rows: 1, action: "quarantine", first: expect.stringMatching(new RegExp(`^row 2 column ${col}: value .* doesn't fit the table's type ${type}$`)) });
  const strict = planSource(spec({ schemaPolicy: "strict" }), table, src(text), whole(text));
  expect(strict.schema).toMatchObject({ change: "refused", reason: expect.stringContaining(`row 2 of the source column ${col}`) });
  expect(strict.badRows).toBeUndefined();
  expect(planSource(spec({ schemaPolicy: "discardRows" }), table, src(text), whole(text)).badRows).toMatchObject({ rows: 1, action: "drop" });
});

test("a ragged row and an empty key are bad rows of the plan too, counted like rows", () => {
  const text = "id,amount,day\n1,2,2026-01-01\n2,3\n,4,2026-01-02\n5,6,2026-01-03\n";
  const p = planSource(spec(), table, src(text), whole(text));
  expect(p.badRows).toEqual({ rows: 2, action: "quarantine", first: "row 2 has 2 field(s), the header 3" });
  expect(p.rows).toBe(4);
});

test("empty values are nulls, not misfits; a new table takes any columns", () => {
  const text = "id,amount,day\n1,,\n";
  expect(planSource(spec(), table, src(text), whole(text)).schema.change).toBe("none");
  expect(planSource(spec(), { exists: false, columns: [] }, src(text), whole(text)).schema).toEqual({ change: "none", added: [] });
});

test("deleteWhen: the marked rows are the deletes, the marker column is not a new column", () => {
  const text = "id,amount,day,op\n1,2,2026-01-01,D\n2,2,2026-01-01,u\n3,2,2026-01-01, d \n";
  const p = planSource(spec({ deleteWhen: { column: "op", equals: ["d"] } }), table, src(text), whole(text));
  expect(p.deletes).toBe(2);
  expect(p.schema).toEqual({ change: "none", added: [] });
});

test("the table plan is the reconciler's decision: each pending write planned, the later ones seeing the earlier ones' columns", () => {
  const a = "id,amount,day,note\n1,2,2026-01-01,x\n";
  const b = "id,amount,day,note\n2,3,2026-01-02,y\n";
  const sa = src(a, { declared: "a.csv", location: "/d/a.csv", hash: "ha" });
  const sb = src(b, { declared: "b.csv", location: "/d/b.csv", hash: "hb" });
  const lake: Observation = { exists: true, inCatalog: true, filesExist: true, commits: [], rowCount: 5, columns: table.columns };
  const s = spec({ sources: ["a.csv", "b.csv"] });
  const decided = plan(s, { sources: [sa, sb], lake });
  expect(decided.kind).toBe("act");
  const p = tableDataPlan(s, lake, decided, new Map([["/d/a.csv", whole(a)], ["/d/b.csv", whole(b)]]));
  expect(p).toMatchObject({ table: "default.orders", decision: "act", rowCount: 5 });
  expect(p.writes.map((w) => [w.source, w.rows, w.schema.change])).toEqual([["a.csv", 1, "additive"], ["b.csv", 1, "none"]]);
});

test("an up-to-date table carries its maintenance plan; a refused spec change its code", () => {
  const lake: Observation = { exists: true, inCatalog: true, filesExist: true, rowCount: 1, columns: table.columns,
    commits: [{ commit: "c", time: new Date().toISOString(), sourceHash: "h", generation: "g1", spec: JSON.stringify({ format: "iceberg", primaryKey: ["id"], partitionBy: [] }) }] };
  const s = spec();
  const up = tableDataPlan(s, lake, plan(s, { sources: [src("x")], lake }), new Map());
  expect(up).toMatchObject({ decision: "upToDate", maintenance: { due: false } });
  const moved = spec({ primaryKey: ["amount"] });
  const refused = tableDataPlan(moved, lake, plan(moved, { sources: [src("x")], lake }), new Map());
  expect(refused).toMatchObject({ decision: "fail", code: "INCOMPATIBLE_SPEC_CHANGE" });
});

test("discardColumns: new columns are said to be left out, not added; the table's own and the key stay", () => {
  const text = "id,amount,day,extra,more\n1,2,2026-01-01,x,y\n";
  const s = planSource(spec({ schemaPolicy: "discardColumns" }), table, src(text), whole(text)).schema;
  expect(s).toEqual({ change: "none", added: [], discarded: ["extra", "more"] });
});

test("declared columns: strict refuses an undeclared column of a new table, discardColumns leaves it out, as the write does", () => {
  const text = "id,amount,extra\n1,2,x\n";
  const fresh = { exists: false, columns: [] };
  const cols = { amount: "decimal(12,2)" };
  expect(planSource(spec({ schemaPolicy: "strict", columns: cols }), fresh, src(text), whole(text)).schema).toMatchObject({
    change: "refused", reason: expect.stringContaining("column(s) neither in the table nor declared: extra (SCHEMA_REFUSED)"),
  });
  expect(planSource(spec({ schemaPolicy: "discardColumns", columns: cols }), fresh, src(text), whole(text)).schema).toEqual({ change: "none", added: [], discarded: ["extra"] });
  // Only the key and declared columns: nothing beyond.
  const ok = "id,amount\n1,2\n";
  expect(planSource(spec({ schemaPolicy: "strict", columns: cols }), fresh, src(ok), whole(ok)).schema).toEqual({ change: "none", added: [] });
});
