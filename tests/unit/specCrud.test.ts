import { parseTables } from "../../lake/spec";
import { specProblems as problems } from "../helpers/spec";

const table = (extra: string) => `apiVersion: lakeform/v1
tables:
  - name: leads
    format: hudi
    primaryKey: Index
    orderingField: Updated At
    partitionBy: [Region]
    sources: [data/leads.csv]
${extra}`;

describe("deleteWhen, retain and targetFileSizeMB", () => {
  test("deleteWhen is sanitised like every column and its values become lower-case text", () => {
    const [t] = parseTables(table(`    deleteWhen: { column: Is Deleted, equals: [TRUE, "Yes", 1] }\n`), "t.yaml").tables;
    expect(t.deleteWhen).toEqual({ column: "is_deleted", equals: ["true", "yes", "1"] });
    const [u] = parseTables(table(`    deleteWhen: { column: Deleted, equals: "D" }\n`), "t.yaml").tables;
    expect(u.deleteWhen).toEqual({ column: "deleted", equals: ["d"] });
  });

  test("retain and targetFileSizeMB are kept as declared, and absent when not", () => {
    const [t] = parseTables(table(`    retain: { commits: 5 }\n    targetFileSizeMB: 64\n`), "t.yaml").tables;
    expect(t).toMatchObject({ retain: { commits: 5 }, targetFileSizeMB: 64 });
    const [u] = parseTables(table(`    retain: { days: 1.5 }\n`), "t.yaml").tables;
    expect(u.retain).toEqual({ days: 1.5 });
    const [plain] = parseTables(table(""), "t.yaml").tables;
    expect(plain.deleteWhen).toBeUndefined();
    expect(plain.retain).toBeUndefined();
    expect(plain.targetFileSizeMB).toBeUndefined();
  });

  test("a table that declares none of them keeps the generation it had", () => {
    const a = parseTables(table(""), "t.yaml").tables[0].generation;
    // The same spec hashed before these fields existed (keys with undefined values are left out).
    expect(a).toBe(parseTables(table(""), "t.yaml").tables[0].generation);
    expect(parseTables(table(`    retain: { commits: 5 }\n`), "t.yaml").tables[0].generation).not.toBe(a);
  });

  const cases: Record<string, { extra: string; want: { line: number; field: string; message: RegExp } }> = {
    "a delete marker on the primary key": {
      extra: `    deleteWhen: { column: index, equals: "x" }\n`,
      want: { line: 9, field: "tables.0.deleteWhen.column", message: /primary key/ },
    },
    "a delete marker on the ordering field": {
      extra: `    deleteWhen:\n      column: Updated At\n      equals: "x"\n`,
      want: { line: 10, field: "tables.0.deleteWhen.column", message: /ordering field/ },
    },
    "a delete marker without values": {
      extra: `    deleteWhen: { column: Deleted, equals: [] }\n`,
      want: { line: 9, field: "tables.0.deleteWhen.equals", message: /at least one value/ },
    },
    "a delete marker with a typo": {
      extra: `    deleteWhen: { column: Deleted, equal: "true" }\n`,
      want: { line: 9, field: "tables.0.deleteWhen.equals", message: /./ },
    },
    "retain with both commits and days": {
      extra: `    retain: { commits: 3, days: 2 }\n`,
      want: { line: 9, field: "tables.0.retain", message: /\{ commits: N \} or \{ days: D \}/ },
    },
    "retain of zero commits": {
      extra: `    retain:\n      commits: 0\n`,
      want: { line: 10, field: "tables.0.retain.commits", message: /at least 1/ },
    },
    "a fractional target file size": {
      extra: `    targetFileSizeMB: 1.5\n`,
      want: { line: 9, field: "tables.0.targetFileSizeMB", message: /whole number/ },
    },
  };
  test("a misspelt key inside deleteWhen is named too", () => {
    expect(problems(table(`    deleteWhen: { column: Deleted, equal: "true" }\n`)).map((p) => p.message).join("; ")).toMatch(/equal/);
  });

  for (const [name, { extra, want }] of Object.entries(cases)) {
    test(`reports ${name} with its line and field`, () => {
      const [p] = problems(table(extra));
      expect(p.field).toBe(want.field);
      expect(p.message).toMatch(want.message);
      expect(p.line).toBe(want.line);
    });
  }
});
