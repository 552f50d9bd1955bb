/**
 * tables.yaml `expect:` (lake/expectations.ts): rules parsed and normalised for the job server, a
 * bad rule refused naming its line and field, patterns that backtrack catastrophically refused, and
 * a quarantine replay's CSV.
 */
import { Registry } from "prom-client";
import { formatHistory } from "../../cli/get";
import { formatReplay } from "../../cli/quarantine";
import { patternProblem, replayCsv } from "../../lake/expectations";
import { WriteMetrics } from "../../lake/metrics";
import type { ResolvedSource } from "../../lake/sources";
import { planSource } from "../../reconciler/dataPlan";
import { writeBits } from "../../reconciler/tablePlan";
import { jobTable } from "../../lake/jobClient";
import { parseTables, SpecError } from "../../lake/spec";

const yaml = (expect: string) => `tables:
  - name: orders
    format: iceberg
    primaryKey: id
    sources: [data/orders.csv]
    expect:
${expect}
`;

function problems(text: string): { line?: number; field: string; message: string }[] {
  try {
    parseTables(text, "tables.yaml");
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  throw new Error("parsed without a problem");
}

describe("expectations in tables.yaml", () => {
  test("each rule kind is normalised for the job server, columns sanitised, warn by default", () => {
    const { tables } = parseTables(
      yaml(`      - { name: has_amount, column: Amount, not_null: true, action: fail }
      - { name: one_email, column: email, unique: true }
      - { name: known_region, column: region, in: [EU, US, 7], action: drop }
      - { name: sane_amount, column: amount, range: { min: 0, max: 1000.5 }, action: quarantine }
      - { name: zip_code, column: zip, matches: "[0-9]{5}" }
      - { name: not_void, filter: "status <> 'void' AND amount >= 0", action: drop }`),
      "tables.yaml",
    );
    const t = tables[0];
    expect(t.expect).toEqual([
      { name: "has_amount", rule: "not_null", action: "fail", column: "amount" },
      { name: "one_email", rule: "unique", action: "warn", column: "email" },
      { name: "known_region", rule: "in", action: "drop", column: "region", values: ["EU", "US", "7"] },
      { name: "sane_amount", rule: "range", action: "quarantine", column: "amount", min: "0", max: "1000.5" },
      { name: "zip_code", rule: "matches", action: "warn", column: "zip", pattern: "[0-9]{5}" },
      { name: "not_void", rule: "filter", action: "drop", filter: "status <> 'void' AND amount >= 0" },
    ]);
    expect(jobTable(t, "wh").expect).toEqual(t.expect);
  });

  test("a table named like a quarantine table is refused", () => {
    const found = problems("tables:\n  - { name: orders__quarantine, format: hudi, primaryKey: id, sources: [a.csv] }\n");
    expect(found).toEqual([{ line: 2, field: "tables.0.name", message: "names ending in __quarantine are kept for the quarantine tables of expectations" }]);
  });

  test("a table without expect keeps its generation and sends none", () => {
    const plain = parseTables("tables:\n  - { name: a, format: hudi, primaryKey: id, sources: [a.csv] }\n", "t.yaml").tables[0];
    expect(plain.expect).toBeUndefined();
    expect("expect" in jobTable(plain, "wh")).toBe(false);
  });

  test.each([
    ["no rule", "      - { name: r, column: a }", "tables.0.expect.0", /exactly one rule/],
    ["two rules", "      - { name: r, column: a, not_null: true, unique: true }", "tables.0.expect.0", /has not_null, unique/],
    ["no column", "      - { name: r, not_null: true }", "tables.0.expect.0.column", /needs the column/],
    ["a filter with a column", "      - { name: r, column: a, filter: 'a > 1' }", "tables.0.expect.0.column", /names its columns itself/],
    ["an unknown action", "      - { name: r, column: a, not_null: true, action: explode }", "tables.0.expect.0.action", /warn|drop/],
    ["an empty range", "      - { name: r, column: a, range: {} }", "tables.0.expect.0.range", /min, max or both/],
    ["a bad name", "      - { name: 'my rule', column: a, not_null: true }", "tables.0.expect.0.name", /identifier/],
    ["a catastrophic pattern", "      - { name: r, column: a, matches: '(a+)+b' }", "tables.0.expect.0.matches", /backtrack catastrophically/],
    ["a backreference", "      - { name: r, column: a, matches: '(a)\\1' }", "tables.0.expect.0.matches", /backreference/],
    ["a misspelled field", "      - { name: r, column: a, not_nul: true }", "tables.0.expect.0", /not_nul/],
    ["a duplicate name", "      - { name: r, column: a, not_null: true }\n      - { name: R, column: b, not_null: true }", "tables.0.expect.1.name", /duplicate expectation R/],
  ])("%s is refused naming the field and line", (_what, rule, field, message) => {
    const found = problems(yaml(rule));
    const p = found.find((x) => x.field === field);
    expect({ found, match: p !== undefined }).toMatchObject({ match: true });
    expect(p!.message).toMatch(message);
    expect(p!.line).toBeGreaterThanOrEqual(6);
  });

  test("patterns: length limit, nested quantifiers and lookarounds refused, plain ones fine", () => {
    expect(patternProblem("[A-Z]{2}[0-9]+")).toBeUndefined();
    expect(patternProblem("[a-z]+@[a-z]+\\.[a-z]{2,}")).toBeUndefined();
    expect(patternProblem("x".repeat(201))).toMatch(/longer than 200/);
    expect(patternProblem("(x+x+)+y")).toMatch(/catastrophically/);
    expect(patternProblem("(?=a)b")).toMatch(/lookaround/);
    expect(patternProblem("([a-z]")).toMatch(/not a regular expression/);
  });

  test("a replay's CSV leaves the quarantine table's own columns out and keeps the keys", () => {
    const r = replayCsv(["_qkey", "id", "amount", "_rule", "_reason", "_source", "_line"], [
      ["k1", "1", "-5", "r", "broke", "a.csv", 2],
      ["k2", "2", null, "r", "broke", "a.csv", 3],
    ]);
    expect(r.keys).toEqual(["k1", "k2"]);
    expect(r.csv).toBe("id,amount\n1,-5\n2,\n");
  });

  test("history shows the counts only when a commit checked expectations; /metrics counts rows by rule and action", async () => {
    const base = { time: "2026-12-01T00:00:00.000Z", operation: "commit", source: "a.csv", rowsInserted: 2, rowsUpdated: 0, rowsDeleted: 0 };
    expect(formatHistory([{ commit: "1", ...base }], false, Date.parse("2026-12-02T00:00:00Z"))).not.toContain("EXPECTATIONS");
    const text = formatHistory([{ commit: "1", ...base }, { commit: "2", ...base, expectations: { positive: { action: "drop", failed: 3 }, known: { action: "quarantine", failed: 1 } } }], false, Date.parse("2026-12-02T00:00:00Z"));
    const [header, first, second] = text.split("\n");
    expect(header).toMatch(/DELETED\s+EXPECTATIONS\s+SOURCE$/);
    expect(first).toMatch(/\s-\s+a\.csv$/);
    expect(second).toContain("positive drop 3, known quarantine 1");
    const m = new WriteMetrics(new Registry(), "reconciler");
    m.expectationRows("default.orders", [{ name: "positive", action: "drop", failed: 3 }, { name: "known", action: "quarantine", failed: 0 }]);
    const values = (await m.expectations.get()).values;
    expect(values.map((v) => [v.labels.rule, v.labels.action, v.value])).toEqual([["positive", "drop", 3], ["known", "quarantine", 0]]);
  });

  test("replay output says what was replayed and what is still broken", () => {
    expect(formatReplay({ table: "default.orders", replayed: 0 })).toBe("default.orders: nothing quarantined");
    const w = { commit: "c1", rowsWritten: 2, renamed: {}, columns: [], addedColumns: [], durationMs: 1, expectations: [{ name: "known", action: "quarantine" as const, failed: 1 }] };
    expect(formatReplay({ table: "default.orders", replayed: 3, write: w })).toBe(
      "default.orders: replayed 3 quarantined row(s) in commit c1: 2 written\n  expectations still broken: known (quarantine) 1 (quarantined rows are back in the quarantine table under the replay's keys)",
    );
  });

  test("lakeform plan counts the rules a sample breaks, as text; a broken fail rule refuses the write", () => {
    const { tables } = parseTables(
      yaml(`      - { name: has_region, column: region, not_null: true }
      - { name: known, column: region, in: [EU, US], action: quarantine }
      - { name: positive, column: amount, range: { min: 0 }, action: drop }
      - { name: zip5, column: zip, matches: "[0-9]{5}" }
      - { name: one_zip, column: zip, unique: true }
      - { name: live, filter: "amount > 0" }`),
      "tables.yaml",
    );
    const text = "id,amount,region,zip\n1,10,EU,12345\n2,-5,US,1234\n3,7,MARS,12345\n4,3.0,,99999\n";
    const src: ResolvedSource = { declared: "orders.csv", location: "/d/orders.csv", hash: "h", bytes: text.length };
    const p = planSource(tables[0], { exists: false, columns: [] }, src, { head: Buffer.from(text), whole: true });
    expect(p.expectations).toEqual([
      { name: "has_region", action: "warn", failed: 1 },
      { name: "known", action: "quarantine", failed: 1 },
      { name: "positive", action: "drop", failed: 1 },
      { name: "zip5", action: "warn", failed: 1 },
      { name: "one_zip", action: "warn", failed: 2 },
    ]);
    expect(writeBits(p)).toMatchObject({ refused: false });
    expect(writeBits(p).bits).toContain("expectations: has_region warn 1, known quarantine 1, positive drop 1, zip5 warn 1, one_zip warn 2");
    const failing = { ...tables[0], expect: [{ name: "small", rule: "range" as const, action: "fail" as const, column: "id", max: "2" }] };
    const f = writeBits(planSource(failing, { exists: false, columns: [] }, src, { head: Buffer.from(text), whole: true }));
    expect(f.refused).toBe(true);
    expect(f.bits).toContain("refused: a fail expectation's rule is broken (EXPECTATION_FAILED)");
  });
});
