/**
 * The status reasons: a failure's is its error code's (lake/errorCodes.json), never listed by
 * hand; terminal is decided by the code table; every lifecycle reason is one the sources report;
 * the Table resource's refused reasons are the terminal codes' reasons.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isTerminal, Reason, TERMINAL_REASONS } from "../../lake/conditions";
import { ERROR_CODES, type ErrorCode } from "../../lake/errors";
import { REFUSED } from "../../components/table/impl";

const ROOT = path.resolve(__dirname, "../..");

test("every error code's reason is a Reason, by its own name", () => {
  for (const [code, info] of Object.entries(ERROR_CODES)) expect({ code, reason: Reason[info.reason] }).toEqual({ code, reason: info.reason });
});

test("terminal is the code table's: not retryable", () => {
  expect(isTerminal("BAD_CSV")).toBe(true);
  expect(isTerminal("INCOMPATIBLE_SPEC_CHANGE")).toBe(true);
  expect(isTerminal("SPARK_UNAVAILABLE")).toBe(false);
  expect(isTerminal("ACTION_NOT_OBSERVED")).toBe(false);
  for (const [code, info] of Object.entries(ERROR_CODES)) expect(isTerminal(code as ErrorCode)).toBe(!info.retryable);
});

test("the refused reasons are those only terminal codes report: what the reconciler won't retry for the same input", () => {
  for (const r of ["BadCsv", "SchemaRefused", "IncompatibleSpecChange", "SourceUnreadable", "InvalidSpec"]) expect(TERMINAL_REASONS.has(r)).toBe(true);
  for (const r of ["SparkError", "SparkUnavailable", "TableMissing", "Standby", "ActionNotObserved", "InternalError"]) expect(TERMINAL_REASONS.has(r)).toBe(false);
  expect([...REFUSED].sort()).toEqual([...TERMINAL_REASONS].sort());
});

test("every lifecycle reason (not an error code's) is reported somewhere in the sources", () => {
  const codeReasons = new Set(Object.values(ERROR_CODES).map((i) => i.reason));
  const lifecycle = Object.values(Reason).filter((r) => !codeReasons.has(r));
  expect(lifecycle.length).toBeGreaterThan(5);
  const text = ["lake", "reconciler", "components", "cli", "api"].flatMap((d) => {
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
    return walk(path.join(ROOT, d)).filter((f) => !f.endsWith("lake/conditions.ts")).map((f) => fs.readFileSync(f, "utf8"));
  }).join("\n");
  for (const r of lifecycle) expect({ r, used: text.includes(`Reason.${r}`) || text.includes(`"${r}"`) }).toEqual({ r, used: true });
});
