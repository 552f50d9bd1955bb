import { checkAsOf, checkTableName, QueryBody, RowsQuery, UpdateBody } from "../../api/validation";
import { hudiInstant, parseAsOf } from "../../lake/asOf";
import { parseValues, splitStatements } from "../../cli/shell";
import { inexactBigints } from "../../lake/trino";

// The row filter grammar: tests/unit/filter.test.ts (with the vectors the job server shares).

test.each(["leads", "Leads_2024", "_x"])("table name %s passes", (n) => expect(checkTableName(n)).toBe(n.toLowerCase()));
test.each(["leads; drop table x", "a.b", "1abc", "x'--", ""])("table name %p is refused", (n) => expect(() => checkTableName(n)).toThrow(/not a table name/));
test.each(["20261124194100791", "6567184220615534416", "2026-11-24", "2026-11-24T10:00:00Z", "2026-11-24 10:00:00.123+01:00"])("asOf %s passes", (a) =>
  expect(checkAsOf(a).input).toBe(a),
);
test.each(["1 OR 1=1", "2026-11-24'; DROP", "now()", "latest"])("asOf %p is refused", (a) => expect(() => checkAsOf(a)).toThrow(/neither a commit id/));

test.each([
  ["2026-11-24T10:00:00Z", "20261124100000000"],
  ["2026-11-24T10:00:00.5+01:00", "20261124090000500"],
  ["2026-11-24 10:00:00.123456-0230", "20261124123000123"],
  ["2026-11-24", "20261124000000000"],
  ["2026-11-24T23:59", "20261124235900000"],
])("timestamp %s is Hudi instant %s (UTC)", (ts, instant) => expect(hudiInstant(parseAsOf(ts))).toBe(instant));

test("statements split on ; and unindented lines, not inside quotes", () => {
  expect(splitStatements("select 'a;b'\nhistory t;tables\nselect 1\n  + 2")).toEqual(["select 'a;b'", "history t", "tables", "select 1\n  + 2"]);
});

test("insert values parse SQL-style quotes and NULL", () => {
  expect(parseValues("(1, 'O''Brien', NULL), (2, 'x,y', 3.5)")).toEqual([["1", "O'Brien", ""], ["2", "x,y", "3.5"]]);
  expect(() => parseValues("1, 2")).toThrow(/expected values/);
});

test("BIGINT columns holding values past 2^53 are named; safe ones and other types are not", () => {
  const columns = [{ name: "id", type: "bigint" }, { name: "n", type: "bigint" }, { name: "x", type: "double" }];
  expect(inexactBigints(columns, [[2 ** 53 + 2, 1, 2 ** 60], [null, -(2 ** 53 - 1), 1.5]])).toEqual([expect.stringMatching(/^column id: /)]);
  expect(inexactBigints(columns, [[1, 2, 3]])).toEqual([]);
});

test("string bounds count characters as the OpenAPI document does (code points), not UTF-16 units", () => {
  const emoji = (n: number) => "\u{1F600}".repeat(n);
  const asOf = "2026-11-24";
  expect(RowsQuery.safeParse({ asOf, where: emoji(2000) }).success).toBe(true);
  expect(RowsQuery.safeParse({ asOf, where: emoji(2001) }).error?.issues[0].message).toBe("must be 1 to 2000 characters (got 2001)");
  expect(RowsQuery.safeParse({ asOf, where: "" }).success).toBe(false);
  expect(UpdateBody.safeParse({ set: { [emoji(128)]: 1 }, where: "TRUE" }).success).toBe(true);
  expect(UpdateBody.safeParse({ set: { [emoji(129)]: 1 }, where: "TRUE" }).success).toBe(false);
  expect(QueryBody.safeParse({ sql: emoji(100_000) }).success).toBe(true);
});
