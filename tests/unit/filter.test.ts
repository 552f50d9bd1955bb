import * as fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { columnKind, parseFilter, renderTrino, trinoString, type FilterNode } from "../../lake/filter";

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, "../fixtures/filters.json"), "utf8")) as {
  columns: { name: string; type: string }[];
  valid: { where: string; tree: FilterNode; trino: string }[];
  invalid: { where: string; error: string }[];
};

describe("the filter vectors (shared with the job server's tests)", () => {
  test.each(vectors.valid.map((v) => [v.where, v]))("%s parses into its tree and renders for Trino", (_w, v) => {
    const tree = parseFilter(v.where, vectors.columns);
    expect(tree).toEqual(v.tree);
    expect(renderTrino(tree, vectors.columns)).toBe(v.trino);
  });
  test.each(vectors.invalid.map((v) => [v.where, v]))("%p is refused with BAD_WHERE naming why", (_w, v) => {
    expect(() => parseFilter(v.where, vectors.columns)).toThrow(expect.objectContaining({ code: "BAD_WHERE", message: v.error }));
  });
});

test("the injection of issue 25 is one condition over two string values, not an OR 1=1", () => {
  const cols = [{ name: "first_name", type: "string" }];
  const tree = parseFilter("first_name = '\\' AND first_name = ' OR 1=1 --'", cols);
  expect(tree).toEqual({
    op: "and",
    args: [
      { op: "cmp", cmp: "=", left: { col: "first_name" }, right: { str: "\\" } },
      { op: "cmp", cmp: "=", left: { col: "first_name" }, right: { str: " OR 1=1 --" } },
    ],
  });
});

test("a Trino string literal holds only letters, digits, spaces and escapes, whatever the text", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme-composite", maxLength: 40 }), (s) => {
      const lit = trinoString(s);
      expect(lit).toMatch(/^U&'[A-Za-z0-9 \\+]*'$/);
      // Decoding the escapes gives the text back.
      const body = lit.slice(3, -1).replace(/\\\+([0-9a-f]{6})|\\([0-9a-f]{4})/g, (_m, six, four) => String.fromCodePoint(parseInt(six ?? four, 16)));
      expect(body).toBe(s);
    }),
  );
});

test("a parsed filter's string values are exactly the text between its quotes", () => {
  const cols = [{ name: "v", type: "string" }];
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }).filter((s) => !/[\uD800-\uDFFF]/.test(s)), (s) => {
      const tree = parseFilter(`v = '${s.replace(/'/g, "''")}'`, cols);
      expect(tree).toEqual({ op: "cmp", cmp: "=", left: { col: "v" }, right: { str: s } });
    }),
  );
});

test("deep nesting and over-long filters are refused, not recursed into", () => {
  const cols = [{ name: "id", type: "bigint" }];
  expect(() => parseFilter(`${"(".repeat(200)}id = 1${")".repeat(200)}`, cols)).toThrow(/nests deeper/);
  expect(() => parseFilter(`id = ${"1".repeat(2001)}`, cols)).toThrow(/longer than/);
  expect(() => parseFilter("id = 1 AND id = '\uD800'", [{ name: "id", type: "string" }])).toThrow(/lone UTF-16 surrogate/);
});

test.each([
  ["string", "text"], ["varchar(20)", "text"], ["bigint", "number"], ["decimal(12,2)", "number"], ["double", "number"],
  ["boolean", "boolean"], ["date", "date"], ["timestamp", "timestamp"], ["timestamp(6) with time zone", "timestamp"], ["array<string>", "other"],
])("type %s is a %s column", (type, kind) => expect(columnKind(type)).toBe(kind));
