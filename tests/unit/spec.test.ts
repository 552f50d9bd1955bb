import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { sanitizeColumn } from "../../lake/columns";
import { parseTables } from "../../lake/spec";
import { specProblems as problems } from "../helpers/spec";

const good = `apiVersion: lakeform/v1
tables:
  - name: leads
    format: hudi
    primaryKey: Index
    orderingField: Updated At
    sources:
      - data/leads.csv
  - name: regions
    format: iceberg
    primaryKey: [Region Code]
    schemaPolicy: strict
    sources: [data/regions.csv]
`;

describe("parseTables", () => {
  test("normalises keys to sanitised column names and fills defaults", () => {
    const { tables } = parseTables(good, "tables.yaml");
    expect(tables[0]).toMatchObject({
      name: "leads",
      database: "default",
      primaryKey: ["index"],
      orderingField: "updated_at",
      schemaPolicy: "addColumns",
      prune: false,
      line: 3,
    });
    expect(tables[1]).toMatchObject({ primaryKey: ["region_code"], schemaPolicy: "strict", line: 9 });
  });

  test("generation changes with the spec's content and only then", () => {
    const a = parseTables(good, "t.yaml").tables[0].generation;
    const reordered = good.replace("    primaryKey: Index\n    orderingField: Updated At\n", "    orderingField: Updated At\n    primaryKey: Index\n");
    expect(parseTables(reordered, "t.yaml").tables[0].generation).toBe(a);
    expect(parseTables(good.replace("data/leads.csv", "data/leads2.csv"), "t.yaml").tables[0].generation).not.toBe(a);
  });

  const cases: Record<string, { text: string; want: { line: number; field: string; message: RegExp } }> = {
    "an unknown format": {
      text: good.replace("format: iceberg", "format: delta"),
      want: { line: 10, field: "tables.1.format", message: /hudi|iceberg/ },
    },
    "a typo in a key": {
      text: good.replace("schemaPolicy: strict", "schemaPolicyy: strict"),
      want: { line: 9, field: "tables.1", message: /schemaPolicyy/ },
    },
    "a missing primary key": {
      text: good.replace("    primaryKey: Index\n", ""),
      want: { line: 3, field: "tables.0.primaryKey", message: /./ },
    },
    "a duplicate table": {
      text: good.replace("name: regions", "name: leads"),
      want: { line: 9, field: "tables.1.name", message: /duplicate table default.leads/ },
    },
    "broken YAML": {
      text: good.replace("    format: hudi\n", "    format: [hudi\n"),
      want: { line: 5, field: "(yaml)", message: /./ },
    },
  };
  for (const [name, { text, want }] of Object.entries(cases)) {
    test(`reports ${name} with its line and field`, () => {
      const [p] = problems(text);
      expect(p.field).toBe(want.field);
      expect(p.message).toMatch(want.message);
      expect(p.line).toBe(want.line);
    });
  }

  describe("a document that declares no tables is refused, never read as no tables (it would prune them all)", () => {
    const empty: Record<string, string> = {
      "an empty file": "",
      "whitespace only": "  \n\n",
      "comments only": "# my lake\n# tables: see below\n",
      "no tables: key": "apiVersion: lakeform/v1\n",
      "a file cut short after tables:": "apiVersion: lakeform/v1\ntables:\n",
    };
    for (const [name, text] of Object.entries(empty)) {
      test(name, () => {
        expect(() => parseTables(text, "/x/tables.yaml")).toThrow(/\/x\/tables.yaml is invalid[\s\S]*\/x\/tables.yaml(:\d+)?: tables: [\s\S]*says `tables: \[\]`/);
      });
    }
    test("`tables: []` is the file that means no tables", () => {
      expect(parseTables("apiVersion: lakeform/v1\ntables: []\n", "/x/tables.yaml").tables).toEqual([]);
      expect(parseTables("# nothing yet\ntables: []\n", "/x/tables.yaml").tables).toEqual([]);
    });
  });

  test("trash: { days } is a table's own trash period; absent, the table's generation is unchanged", () => {
    const plain = parseTables(good, "t.yaml").tables[0];
    expect(plain.trash).toBeUndefined();
    const withTrash = parseTables(good.replace("    orderingField: Updated At\n", "    orderingField: Updated At\n    prune: true\n    trash: { days: 0.5 }\n"), "t.yaml").tables[0];
    expect(withTrash.trash).toEqual({ days: 0.5 });
    expect(problems(good.replace("    orderingField: Updated At\n", "    orderingField: Updated At\n    trash: { days: 0 }\n"))[0]).toMatchObject({ field: "tables.0.trash.days", message: expect.stringMatching(/more than 0/) });
    expect(problems(good.replace("    orderingField: Updated At\n", "    orderingField: Updated At\n    trash: { weeks: 1 }\n"))[0]).toMatchObject({ field: expect.stringMatching(/^tables\.0\.trash/) });
  });

  test("the error message names the file and line", () => {
    expect(() => parseTables(good.replace("format: iceberg", "format: delta"), "/x/tables.yaml")).toThrow(/\/x\/tables.yaml:10: tables.1.format/);
  });
});

test("the Spark job sanitises column names by the same rule", () => {
  const file = path.join(__dirname, "../fixtures/column-names.json");
  const script = "import json,sys; sys.path.insert(0, sys.argv[1]); from lakeform_jobs.names import sanitize_column; " +
    "print(json.dumps([[r, sanitize_column(r)] for r, _ in json.load(open(sys.argv[2], encoding='utf-8'))]))";
  const out = execFileSync("python3", ["-c", script, path.join(__dirname, "../../jobs"), file], { encoding: "utf8" });
  expect(JSON.parse(out)).toEqual(JSON.parse(fs.readFileSync(file, "utf8")));
});

test("column sanitising matches the shared vectors", () => {
  const vectors: [string, string][] = JSON.parse(fs.readFileSync(path.join(__dirname, "../fixtures/column-names.json"), "utf8"));
  for (const [raw, want] of vectors) expect([raw, sanitizeColumn(raw)]).toEqual([raw, want]);
});
