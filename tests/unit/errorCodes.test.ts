/**
 * The error model's one table: every code has exactly one HTTP status, one exit code and one
 * reason, and every code the TypeScript sources throw is in it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import codesFile from "../../lake/errorCodes.json";
import { asLakeformError, ERROR_CODES, isErrorCode, LakeformError } from "../../lake/errors";
import { Reason } from "../../lake/conditions";

const ROOT = path.resolve(__dirname, "../..");
const raw = fs.readFileSync(path.join(ROOT, "lake/errorCodes.json"), "utf8");

test("every code is declared once, with exactly one HTTP status, one exit code, one reason and retryability", () => {
  const codes = Object.keys(codesFile.codes);
  expect(codes.length).toBeGreaterThan(20);
  for (const code of codes) {
    // JSON.parse keeps the last of two equal keys silently: count the declarations in the text.
    expect({ code, declarations: raw.split(`"${code}":`).length - 1 }).toEqual({ code, declarations: 1 });
    const info = ERROR_CODES[code as keyof typeof ERROR_CODES];
    expect({ code, keys: Object.keys(info).sort() }).toEqual({ code, keys: ["exit", "http", "reason", "retryable"] });
    expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect(Number.isInteger(info.http) && info.http >= 400 && info.http <= 599).toBe(true);
    // 0 is success; above 125 the shell reserves.
    expect(Number.isInteger(info.exit) && info.exit >= 1 && info.exit <= 125).toBe(true);
    expect(info.reason).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(typeof info.retryable).toBe("boolean");
    const e = new LakeformError(code as keyof typeof ERROR_CODES, "x");
    expect([e.httpStatus, e.exitCode, e.reason, e.retryable]).toEqual([info.http, info.exit, info.reason, info.retryable]);
  }
});

test("status reasons the reconciler reports for a failed write are the table's reasons", () => {
  const reasons = new Set(Object.values(ERROR_CODES).map((i) => i.reason));
  for (const r of [Reason.BadCsv, Reason.SchemaRefused, Reason.SourceUnreadable, Reason.SparkError, Reason.SparkUnavailable, Reason.InvalidSpec, Reason.IncompatibleSpecChange, Reason.TableMissing]) {
    expect(reasons).toContain(r);
  }
});

test("client errors are 4xx and never retried; 5xx are the services' failures", () => {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    if (info.http < 500 && !["TABLE_MISSING", "TABLE_BUSY", "LEASE_LOST", "TRASH_CONFLICT", "REPAIR_PENDING", "TOO_MANY_REQUESTS", "BATCH_REPLANNED"].includes(code)) expect({ code, retryable: info.retryable }).toEqual({ code, retryable: false });
  }
  expect(ERROR_CODES.SPARK_UNAVAILABLE).toMatchObject({ http: 503, retryable: true });
});

test("anything thrown becomes a LakeformError: unknown failures INTERNAL with the cause kept", () => {
  const cause = new TypeError("boom");
  const e = asLakeformError(cause);
  expect([e.code, e.message, e.cause]).toEqual(["INTERNAL", "boom", cause]);
  const own = new LakeformError("BAD_CSV", "ragged");
  expect(asLakeformError(own)).toBe(own);
  expect(isErrorCode("BAD_CSV")).toBe(true);
  expect(isErrorCode("BadCsv")).toBe(false);
});

// ---------------------------------------------------------------- codes thrown in the sources

/** Classes whose first constructor argument is an error code. */
const CODE_FIRST = ["LakeformError", "JobError", "TrinoQueryError"];

/**
 * The error codes a TypeScript source uses: the first string argument of `new X(` for the classes
 * that take a code first, any SCREAMING_CASE first string argument of `new …Error(`, and the
 * fallback of asLakeformError(err, "CODE").
 */
export function codesUsed(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/new\s+([A-Za-z_$][\w$]*)\s*\(\s*(["'`])([^"'`\n]*)\2/g)) {
    const [, cls, , value] = m;
    if (CODE_FIRST.includes(cls) || (/Error$/.test(cls) && /^[A-Z][A-Z0-9_]+$/.test(value))) found.push(value);
  }
  for (const m of source.matchAll(/asLakeformError\([^,()]+,\s*(["'`])([^"'`\n]*)\1/g)) found.push(m[2]);
  return found;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return ["node_modules", ".lakeform", ".git", "fixtures"].includes(d.name) ? [] : sourceFiles(p);
    return d.name.endsWith(".ts") && !d.name.endsWith(".d.ts") ? [p] : [];
  });
}

test("the scan finds codes, including ones that aren't in the table", () => {
  const sample = `throw new LakeformError("BAD_CSV", "x"); throw new JobError('BadCsv', m); throw new FooError("NOT_A_CODE_AT_ALL");
    new SourceError(uri, "is not an s3:// URI"); asLakeformError(err, "SPARK_ERROR")`;
  expect(codesUsed(sample)).toEqual(["BAD_CSV", "BadCsv", "NOT_A_CODE_AT_ALL", "SPARK_ERROR"]);
  expect(codesUsed(sample).filter((c) => !isErrorCode(c))).toEqual(["BadCsv", "NOT_A_CODE_AT_ALL"]);
});

test("every error code thrown in the TypeScript sources is in lake/errorCodes.json", () => {
  const dirs = ["lake", "api", "cli", "reconciler", "components", "stacks", "bench", "scripts"].map((d) => path.join(ROOT, d)).filter((d) => fs.existsSync(d));
  const files = [...dirs.flatMap(sourceFiles), path.join(ROOT, "index.ts")];
  const unknown: string[] = [];
  let used = 0;
  for (const f of files) {
    for (const code of codesUsed(fs.readFileSync(f, "utf8"))) {
      used++;
      if (!isErrorCode(code)) unknown.push(`${path.relative(ROOT, f)}: ${code}`);
    }
  }
  expect(unknown).toEqual([]);
  // The scan must see the throws it is meant to check, or it proves nothing.
  expect(used).toBeGreaterThan(30);
});
