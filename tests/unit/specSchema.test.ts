/**
 * The JSON Schema of tables.yaml (schemas/tables.schema.json): the committed file is the one
 * generated from the zod schema (`npm run schema` after changing lake/spec.ts), and a real JSON
 * Schema validator (ajv, draft-07 as editors use it) accepts the example and refuses wrong files,
 * naming the field. The example's `# yaml-language-server: $schema=…` line points at it and the
 * reconciler's parser reads the example unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";
import { parseTables } from "../../lake/spec";
import { TABLES_SCHEMA_FILE, tablesJsonSchema, tablesJsonSchemaText } from "../../lake/specSchema";

const ROOT = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(ROOT, "examples", "tables.yaml");
const committed = fs.readFileSync(path.join(ROOT, TABLES_SCHEMA_FILE), "utf8");
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(JSON.parse(committed));
const errorsOf = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}${e.params && "additionalProperty" in e.params ? ` ${e.params.additionalProperty}` : ""}`));

test("the committed schema is the one generated from lake/spec.ts (run `npm run schema` after changing it)", () => {
  expect(committed).toBe(tablesJsonSchemaText());
  expect(tablesJsonSchema().$schema).toBe("http://json-schema.org/draft-07/schema#");
});

test("the example names the schema on its first line, relative to itself, and both parsers read it", () => {
  const text = fs.readFileSync(EXAMPLE, "utf8");
  const first = text.split("\n")[0];
  const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
  expect(m).not.toBeNull();
  expect(path.resolve(path.dirname(EXAMPLE), m![1])).toBe(path.join(ROOT, TABLES_SCHEMA_FILE));
  expect(errorsOf(parse(text))).toEqual([]);
  expect(parseTables(text, EXAMPLE).tables.map((t) => t.name)).toEqual(["leads", "regions", "region_targets"]);
});

test("every field the README's full example uses validates, in both shapes where there are two", () => {
  const table = {
    name: "customers",
    format: "iceberg",
    database: "sales",
    primaryKey: ["id", "region"],
    orderingField: "updated_at",
    partitionBy: ["region"],
    sources: ["cdc/customers-*.csv", "s3://bucket/x.csv"],
    schemaPolicy: "strict",
    prune: true,
    deleteWhen: { column: "op", equals: ["D", "delete"] },
    retain: { commits: 20 },
    targetFileSizeMB: 256,
    trash: { days: 3 },
  };
  expect(errorsOf({ apiVersion: "lakeform/v1", tables: [table, { ...table, name: "b", primaryKey: "id", deleteWhen: { column: "deleted", equals: true }, retain: { days: 7 } }] })).toEqual([]);
  expect(errorsOf({ tables: [] })).toEqual([]);
});

test.each([
  ["a misspelled field", { tables: [{ name: "t", format: "hudi", primaryKey: "id", sources: ["a.csv"], primarykey: "id" }] }, /\/tables\/0 must NOT have additional properties primarykey/],
  ["a format Lakeform doesn't write", { tables: [{ name: "t", format: "delta", primaryKey: "id", sources: ["a.csv"] }] }, /\/tables\/0\/format must be equal to one of the allowed values/],
  ["a table without sources", { tables: [{ name: "t", format: "hudi", primaryKey: "id", sources: [] }] }, /\/tables\/0\/sources must NOT have fewer than 1 items/],
  ["a name that isn't an identifier", { tables: [{ name: "2024-sales", format: "hudi", primaryKey: "id", sources: ["a.csv"] }] }, /\/tables\/0\/name must match pattern/],
  ["retention in both shapes at once", { tables: [{ name: "t", format: "hudi", primaryKey: "id", sources: ["a.csv"], retain: { commits: 3, days: 2 } }] }, /\/tables\/0\/retain/],
  ["no tables key (what an emptied file would mean)", { apiVersion: "lakeform/v1" }, /must have required property 'tables'/],
  ["another apiVersion", { apiVersion: "lakeform/v2", tables: [] }, /\/apiVersion must be equal to constant/],
])("a wrong file is refused, naming the field: %s", (_what, doc, message) => {
  const errors = errorsOf(doc);
  expect(errors.join("\n")).toMatch(message);
});

test("the example with one mistake is refused by the schema as by the reconciler's parser", () => {
  const wrong = fs.readFileSync(EXAMPLE, "utf8").replace("format: iceberg", "format: iceburg");
  expect(errorsOf(parse(wrong)).join("\n")).toMatch(/\/tables\/1\/format must be equal to one of the allowed values/);
  expect(() => parseTables(wrong, EXAMPLE)).toThrow(/tables\.1\.format/);
});
