import { readStatement, sqlTokens } from "../../api/statements";
import { checkAsOf, checkTableName, QueryBody, RowsQuery, UpdateBody } from "../../api/validation";
import { LakeformError } from "../../lake/errors";
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

// ---------------------------------------------------------------- POST /query: one read statement

test.each([
  // [case, sql, what Trino is sent]
  ["a plain select", "SELECT 1", "SELECT 1"],
  ["lower case", "select * from hudi.default.t", "select * from hudi.default.t"],
  ["one trailing semicolon, then whitespace and a comment", "SELECT 1 ;  -- done\n", "SELECT 1"],
  ["a semicolon inside a string literal", "SELECT ';'", "SELECT ';'"],
  ["a doubled quote and a semicolon in a string", "SELECT 'it''s; DROP TABLE t'", "SELECT 'it''s; DROP TABLE t'"],
  ["a semicolon inside a quoted identifier", 'SELECT 1 AS "a;""b"', 'SELECT 1 AS "a;""b"'],
  ["a semicolon inside a line comment", "SELECT 1 -- ; DROP TABLE t", "SELECT 1"],
  ["a semicolon inside a block comment", "SELECT 1 /* ; DROP TABLE t */", "SELECT 1"],
  ["a leading comment", "/* why */ -- note\nSELECT 2", "SELECT 2"],
  ["leading parentheses", "((SELECT 1) UNION ALL (SELECT 2))", "((SELECT 1) UNION ALL (SELECT 2))"],
  ["WITH", "WITH x AS (SELECT 1 AS a) SELECT a FROM x", "WITH x AS (SELECT 1 AS a) SELECT a FROM x"],
  ["VALUES", "VALUES (1, 'a'), (2, 'b')", "VALUES (1, 'a'), (2, 'b')"],
  ["TABLE", "TABLE hudi.default.t", "TABLE hudi.default.t"],
  ["SHOW SESSION", "show session", "show session"],
  ["SHOW CREATE TABLE", "SHOW CREATE TABLE hudi.default.t", "SHOW CREATE TABLE hudi.default.t"],
  ["DESCRIBE", "describe hudi.default.t", "describe hudi.default.t"],
  ["EXPLAIN of a write (planned, not run)", "EXPLAIN INSERT INTO t VALUES (1)", "EXPLAIN INSERT INTO t VALUES (1)"],
  ["EXPLAIN with options", "EXPLAIN (TYPE DISTRIBUTED, FORMAT JSON) SELECT 1", "EXPLAIN (TYPE DISTRIBUTED, FORMAT JSON) SELECT 1"],
  ["EXPLAIN ANALYZE of a read", "explain analyze verbose select 1", "explain analyze verbose select 1"],
  ["EXPLAIN ANALYZE of a parenthesised read", "EXPLAIN ANALYZE (SELECT 1)", "EXPLAIN ANALYZE (SELECT 1)"],
  ["a Unicode string", "SELECT U&'\\0041;'", "SELECT U&'\\0041;'"],
])("a read passes: %s", (_name, sql, sent) => {
  expect(readStatement(sql)).toBe(sent);
});

test.each([
  // [case, sql, code, the refused keyword in the message]
  ["two statements", "SELECT 1; DROP TABLE t", "MULTIPLE_STATEMENTS", /one statement/],
  ["a second statement after a closed comment", "SELECT 1 /* x */; DROP TABLE t", "MULTIPLE_STATEMENTS", /one statement/],
  ["a comment that ends before the semicolon", "SELECT 1 /* ; */ ; DELETE FROM t", "MULTIPLE_STATEMENTS", /one statement/],
  ["a line comment that ends before it", "SELECT 1 -- x\n; DROP TABLE t", "MULTIPLE_STATEMENTS", /one statement/],
  ["a string that closes before it", "SELECT 'a'''; DROP TABLE t", "MULTIPLE_STATEMENTS", /one statement/],
  ["two semicolons", "SELECT 1;;", "MULTIPLE_STATEMENTS", /one statement/],
  ["nothing", "  ", "EMPTY_QUERY", /empty/],
  ["only comments", "-- a\n/* b */", "EMPTY_QUERY", /empty/],
  ["a semicolon alone", ";", "EMPTY_QUERY", /empty/],
  ["SET SESSION", "SET SESSION query_max_run_time = '2s'", "QUERY_REFUSED", /SET is refused/],
  ["set session in lower case after a comment", "/* x */ set session query_max_run_time='1h'", "QUERY_REFUSED", /SET is refused/],
  ["RESET SESSION", "RESET SESSION query_max_run_time", "QUERY_REFUSED", /RESET is refused/],
  ["USE", "USE iceberg.default", "QUERY_REFUSED", /USE is refused/],
  ["PREPARE", "PREPARE q FROM SELECT 1", "QUERY_REFUSED", /PREPARE is refused/],
  ["EXECUTE", "EXECUTE q", "QUERY_REFUSED", /EXECUTE is refused/],
  ["EXECUTE IMMEDIATE", "EXECUTE IMMEDIATE 'SELECT 1'", "QUERY_REFUSED", /EXECUTE is refused/],
  ["DEALLOCATE", "DEALLOCATE PREPARE q", "QUERY_REFUSED", /DEALLOCATE is refused/],
  ["START TRANSACTION", "START TRANSACTION READ WRITE", "QUERY_REFUSED", /START is refused/],
  ["COMMIT", "COMMIT", "QUERY_REFUSED", /COMMIT is refused/],
  ["ROLLBACK", "ROLLBACK", "QUERY_REFUSED", /ROLLBACK is refused/],
  ["CALL", "CALL system.sync_partition_metadata('default', 't', 'FULL')", "QUERY_REFUSED", /CALL is refused/],
  ["CREATE", "CREATE TABLE t AS SELECT 1 AS a", "QUERY_REFUSED", /CREATE is refused/],
  ["INSERT", "insert into t values (1)", "QUERY_REFUSED", /INSERT is refused/],
  ["DELETE", "DELETE FROM t", "QUERY_REFUSED", /DELETE is refused/],
  ["MERGE", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "QUERY_REFUSED", /MERGE is refused/],
  ["ALTER", "ALTER TABLE t ADD COLUMN c int", "QUERY_REFUSED", /ALTER is refused/],
  ["GRANT", "GRANT SELECT ON t TO USER x", "QUERY_REFUSED", /GRANT is refused/],
  ["ANALYZE alone (writes statistics)", "ANALYZE t", "QUERY_REFUSED", /ANALYZE is refused/],
  ["a write in parentheses", "(INSERT INTO t VALUES (1))", "QUERY_REFUSED", /INSERT is refused/],
  ["EXPLAIN ANALYZE of an insert (it runs it)", "EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "QUERY_REFUSED", /EXPLAIN ANALYZE INSERT is refused/],
  ["EXPLAIN ANALYZE VERBOSE of a delete", "explain analyze verbose delete from t", "QUERY_REFUSED", /EXPLAIN ANALYZE DELETE is refused/],
  ["EXPLAIN ANALYZE with options of a create", "EXPLAIN ANALYZE (FORMAT TEXT) CREATE TABLE t AS SELECT 1 AS a", "QUERY_REFUSED", /EXPLAIN ANALYZE CREATE is refused/],
  ["EXPLAIN of an EXPLAIN ANALYZE of an insert", "EXPLAIN EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "QUERY_REFUSED", /EXPLAIN EXPLAIN ANALYZE INSERT is refused/],
  ["a string literal first", "'SELECT' 1", "QUERY_REFUSED", /'SELECT' is refused/],
  ["a quoted identifier that looks like a keyword", '"SELECT" 1', "QUERY_REFUSED", /"SELECT" is refused/],
  ["an unterminated string", "SELECT 'a; DROP TABLE t", "BAD_STATEMENT", /never closed/],
  ["an unterminated quoted identifier", 'SELECT "a; DROP TABLE t', "BAD_STATEMENT", /never closed/],
  ["an unterminated block comment", "SELECT 1 /* ; DROP TABLE t", "BAD_STATEMENT", /never closed/],
])("refused: %s", (_name, sql, code, message) => {
  let err: unknown;
  try {
    readStatement(sql);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LakeformError);
  expect({ code: (err as LakeformError).code, message: (err as LakeformError).message }).toEqual({ code, message: expect.stringMatching(message) });
});

test("the tokenizer reads Trino's literals: '' and \"\" are escapes, -- runs to the line's end, /* */ doesn't nest", () => {
  const kinds = (sql: string) => sqlTokens(sql).map((t) => `${t.kind}:${t.text}`);
  expect(kinds(`SELECT 'a''b', "c""d" -- x ; y\n; /* /* */ z`)).toEqual(["word:SELECT", "string:'a''b'", "punct:,", 'quoted:"c""d"', "semicolon:;", "word:z"]);
  expect(kinds("x.y>=1.5e3")).toEqual(["word:x", "punct:.", "word:y", "punct:>", "punct:=", "number:1.5e3"]);
});
