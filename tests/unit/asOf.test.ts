/**
 * The asOf grammar against the vectors the job server's Python is checked against too.
 */
import vectors from "../fixtures/as-of.json";
import { AS_OF_PATTERN, hudiInstant, parseAsOf, trinoAsOfClause, trinoTimestampLiteral } from "../../lake/asOf";
import { LakeformError } from "../../lake/errors";

test.each(vectors.valid.map((v) => [v.input, v]))("asOf %j is valid", (_input, v) => {
  const asOf = parseAsOf(v.input);
  expect(asOf.kind).toBe(v.kind);
  expect(hudiInstant(asOf)).toBe("hudiInstant" in v ? v.hudiInstant : v.input);
  expect(new RegExp(AS_OF_PATTERN).test(v.input)).toBe(true);
});

test.each(vectors.invalid.map((v) => [v]))("asOf %j is refused with BAD_AS_OF", (input) => {
  let caught: unknown;
  try {
    parseAsOf(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(LakeformError);
  expect((caught as LakeformError).code).toBe("BAD_AS_OF");
  expect((caught as LakeformError).httpStatus).toBe(400);
});

test("the vectors cover both forms, zones, fractions, a date alone and junk", () => {
  const inputs = vectors.valid.map((v) => v.input);
  expect(vectors.valid.filter((v) => v.kind === "commit").length).toBeGreaterThan(1);
  expect(inputs.some((i) => /[+-]\d\d:?\d\d$/.test(i))).toBe(true);
  expect(inputs.some((i) => /\.\d+/.test(i))).toBe(true);
  expect(inputs).toContain("2026-11-24");
  expect(vectors.invalid.length).toBeGreaterThan(20);
});

test("Trino reads the same instant: a version for a commit, a UTC timestamp literal for a time", () => {
  expect(trinoAsOfClause(parseAsOf("6567184220615534416"))).toBe("FOR VERSION AS OF 6567184220615534416");
  expect(trinoAsOfClause(parseAsOf("2026-11-24T10:00:00.5+01:00"))).toBe("FOR TIMESTAMP AS OF TIMESTAMP '2026-11-24 09:00:00.500 UTC'");
  expect(trinoTimestampLiteral(Date.UTC(2027, 0, 1, 0, 30))).toBe("TIMESTAMP '2027-01-01 00:30:00.000 UTC'");
});
