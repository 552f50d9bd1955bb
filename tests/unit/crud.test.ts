import { checkAssignments } from "../../api/validation";
import { parseAsOf as commitRef } from "../../lake/asOf";
import { parseAssignments } from "../../cli/shell";
import { resolveChangeRange, resolveCommit, type History } from "../../lake/commits";
import { LakeformError } from "../../lake/errors";

const hudi: History = {
  commits: [
    { commit: "20261124100000000", time: "2026-11-24T10:00:00.000Z" },
    { commit: "20261124110000000", time: "2026-11-24T11:00:00.000Z" },
    { commit: "20261124120000000", time: "2026-11-24T12:00:00.000Z" },
  ],
};
const iceberg: History = {
  commits: [
    { commit: "6567184220615534416", time: "2026-11-24T10:00:00.000Z" },
    { commit: "123456789012345678", time: "2026-11-24T11:00:00.000Z" },
  ],
};

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof LakeformError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error("expected a LakeformError");
};

describe("which commit a since/until/asOf names", () => {
  test.each([
    ["a commit of the table", hudi, "20261124110000000", "20261124110000000"],
    ["a time between commits: the last one at or before it", hudi, "2026-11-24T11:30:00Z", "20261124110000000"],
    ["a time exactly at a commit", hudi, "2026-11-24T12:00:00Z", "20261124120000000"],
    ["a time before the first commit, nothing expired: before the table", hudi, "2026-11-24T09:00:00Z", null],
    ["an Iceberg snapshot id", iceberg, "123456789012345678", "123456789012345678"],
  ])("%s", (_name, h, asOf, want) => {
    expect(resolveCommit("t", h, commitRef(asOf))).toBe(want);
  });

  test("a commit older than the retained history is COMMIT_EXPIRED naming the oldest commit kept", () => {
    const h = { ...hudi, historyExpired: true };
    expect(codeOf(() => resolveCommit("t", h, commitRef("20261124090000000")))).toMatch(/^COMMIT_EXPIRED: .*oldest commit still there is 20261124100000000 \(2026-11-24T10:00:00.000Z\)/);
    expect(codeOf(() => resolveCommit("t", h, commitRef("2026-11-24T09:59:59Z")))).toMatch(/^COMMIT_EXPIRED: .*20261124100000000/);
    expect(codeOf(() => resolveCommit("t", { ...iceberg, historyExpired: true }, commitRef("999999999999999999")))).toMatch(/^COMMIT_EXPIRED: .*6567184220615534416/);
  });

  test("a commit the table never had is UNKNOWN_COMMIT with the range it has", () => {
    expect(codeOf(() => resolveCommit("t", hudi, commitRef("20261124103000000")))).toMatch(/^UNKNOWN_COMMIT: t has no commit 20261124103000000; its commits run from 20261124100000000/);
    expect(codeOf(() => resolveCommit("t", iceberg, commitRef("999999999999999999")))).toMatch(/^UNKNOWN_COMMIT/);
    // A Hudi instant newer than the oldest kept is unknown, not expired, even after expiry.
    expect(codeOf(() => resolveCommit("t", { ...hudi, historyExpired: true }, commitRef("20261124103000000")))).toMatch(/^UNKNOWN_COMMIT/);
  });

  test("a change range runs after since up to until, the newest commit by default", () => {
    expect(resolveChangeRange("t", hudi, commitRef("20261124100000000"))).toEqual({ since: "20261124100000000", until: "20261124120000000" });
    expect(resolveChangeRange("t", hudi, commitRef("2026-11-24"), commitRef("2026-11-24T11:00:00Z"))).toEqual({ since: null, until: "20261124110000000" });
    expect(codeOf(() => resolveChangeRange("t", hudi, commitRef("20261124120000000"), commitRef("20261124100000000")))).toMatch(/^BAD_REQUEST: until .* is before since/);
    expect(codeOf(() => resolveChangeRange("t", hudi, commitRef("20261124100000000"), commitRef("2026-11-23")))).toMatch(/^BAD_REQUEST: until .* before t's first commit/);
    expect(codeOf(() => resolveChangeRange("t", { commits: [] }, commitRef("2026-11-23")))).toMatch(/^TABLE_MISSING/);
  });
});

describe("update assignments", () => {
  test.each([
    ["name = 'O''Brien' where id = 3", { name: "O'Brien" }, "id = 3"],
    ["a = 1, B = -2.5e3, c = NULL, d = TRUE where x IN (1, 2)", { a: "1", b: "-2.5e3", c: null, d: "true" }, "x IN (1, 2)"],
    ["note = 'a, b where c' WHERE id > 1", { note: "a, b where c" }, "id > 1"],
  ])("%s", (text, set, where) => {
    expect(parseAssignments(text)).toEqual({ set, where });
  });

  test.each([
    ["name = 'x'", /needs a where filter/],
    ["name = other_col where id = 1", /a value is a 'string'/],
    ["name = 'x', name = 'y' where id = 1", /set twice/],
    ["= 3 where id = 1", /expected column = value/],
  ])("%s is refused", (text, message) => {
    expect(() => parseAssignments(text)).toThrow(message);
  });

  const t = { primaryKey: ["id"], partitionBy: ["region"] };
  const columns = ["id", "name", "region", "version"];
  test("only the table's own non-key, non-partition columns can be set", () => {
    expect(checkAssignments({ Name: "x", version: null }, t, columns)).toEqual({ name: "x", version: null });
    expect(() => checkAssignments({ nope: "x" }, t, columns)).toThrow(/not a column/);
    expect(() => checkAssignments({ id: "2" }, t, columns)).toThrow(/primary key/);
    expect(() => checkAssignments({ region: "EU" }, t, columns)).toThrow(/partition column/);
    expect(() => checkAssignments({}, t, columns)).toThrow(/at least one/);
  });
});
