/**
 * Expectations (tables.yaml `expect:`): named rules every row of a write is checked against inside
 * the write (jobs/lakeform_jobs/expectations.py), each with what a row that breaks it does:
 *
 *   warn        the row is written; the rows that broke the rule are counted
 *   drop        the row is left out and counted
 *   quarantine  the row is left out, counted, and kept in `<table>__quarantine` (same format, the
 *               row's values as text plus _rule, _source, _line, _reason), where
 *               `lakeform quarantine replay <table>` re-applies it once the rule or the data is fixed
 *   fail        nothing is written (no commit); the rule, the count and sample rows go to the status
 *
 * One rule kind per entry: not_null, unique (within the batch), in: [values], range: { min, max },
 * matches: regex (the whole value; Java's regex syntax, as Spark's rlike reads it), or filter: a
 * condition in the API's filter grammar (lake/filter.ts) that a row must make true; it is sent as
 * text and parsed by the job server against the batch's columns into Column expressions, never
 * pasted into SQL. A null passes every rule but not_null (and a filter, which must be true).
 *
 * Patterns are checked here: at most MAX_PATTERN_CHARS characters, and none that backtracks
 * catastrophically (safe-regex2: no nested quantifier, star height ≤ 1), no backreference or
 * lookaround (Java's and Python's readings of those differ); the job server checks again.
 */
import safeRegex from "safe-regex2";
import { z } from "zod";
import { sanitizeColumn } from "./columns";
import { toCsv } from "./csv";
import { MAX_FILTER_CHARS } from "./filter";

export const EXPECTATION_ACTIONS = ["warn", "drop", "quarantine", "fail"] as const;
export type ExpectationAction = (typeof EXPECTATION_ACTIONS)[number];
export const EXPECTATION_RULES = ["not_null", "unique", "in", "range", "matches", "filter"] as const;
export type ExpectationRule = (typeof EXPECTATION_RULES)[number];
export const MAX_PATTERN_CHARS = 200;
export const MAX_IN_VALUES = 1000;
/** The suffix of a table's quarantine table: `<table>__quarantine`, in the same database. */
export const QUARANTINE_SUFFIX = "__quarantine";
/** The rule a bad row (another number of fields, a value that doesn't fit, an empty key) is quarantined and counted under (jobs/lakeform_jobs/bad_rows.py). */
export const BAD_ROW_RULE = "_bad_row";

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

/** Why a pattern is refused, or undefined when it is fine. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_CHARS) return `is longer than ${MAX_PATTERN_CHARS} characters`;
  if (/\\[1-9]|\\k<|\(\?<?[=!]/.test(pattern)) return "has a backreference or a lookaround (not supported)";
  try {
    new RegExp(pattern, "u");
  } catch (err) {
    return `is not a regular expression: ${(err as Error).message}`;
  }
  if (!safeRegex(pattern)) return "may backtrack catastrophically (a quantifier inside a quantified group, such as (a+)+)";
  return undefined;
}

export const ExpectationSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain identifier (letters, digits, _)").describe("The rule's name: counted under it in the commit, the status and /metrics"),
    column: z.string().min(1).optional().describe("The column the rule checks (every rule but filter); matched after sanitising"),
    not_null: z.literal(true).optional().describe("The column has a value"),
    unique: z.literal(true).optional().describe("No two rows of the batch share the column's value (every row of a shared value breaks it)"),
    in: z.array(scalar).min(1, "needs at least one value").max(MAX_IN_VALUES).optional().describe("The column's value is one of these (compared as the column's type)"),
    range: z
      .object({ min: z.union([z.number(), z.string()]).optional(), max: z.union([z.number(), z.string()]).optional() })
      .strict()
      .refine((r) => r.min !== undefined || r.max !== undefined, "needs min, max or both")
      .optional()
      .describe("min <= value <= max (either may be left out); numbers, or ISO dates and timestamps as strings"),
    matches: z
      .string()
      .superRefine((p, ctx) => {
        const why = patternProblem(p);
        if (why) ctx.addIssue({ code: "custom", message: why });
      })
      .optional()
      .describe(`The whole value matches this regular expression (Java syntax; at most ${MAX_PATTERN_CHARS} characters, no nested quantifiers)`),
    filter: z.string().min(1).max(MAX_FILTER_CHARS).optional().describe("A condition in the API's filter grammar each row must make true, e.g. \"amount >= 0 AND status <> 'void'\""),
    action: z.enum(EXPECTATION_ACTIONS).default("warn").describe("warn (count), drop (leave out, count), quarantine (leave out into <table>__quarantine), fail (write nothing)"),
  })
  .strict()
  .superRefine((e, ctx) => {
    const kinds = EXPECTATION_RULES.filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: "custom", path: [], message: `needs exactly one rule of ${EXPECTATION_RULES.join(", ")}${kinds.length ? ` (has ${kinds.join(", ")})` : ""}` });
      return;
    }
    if (kinds[0] === "filter" && e.column !== undefined) ctx.addIssue({ code: "custom", path: ["column"], message: "a filter names its columns itself" });
    if (kinds[0] !== "filter" && e.column === undefined) ctx.addIssue({ code: "custom", path: ["column"], message: `${kinds[0]} needs the column it checks` });
  });

export const ExpectationsSchema = z
  .array(ExpectationSchema)
  .max(100)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((e, i) => {
      if (e.name.toLowerCase() === BAD_ROW_RULE) ctx.addIssue({ code: "custom", path: [i, "name"], message: `${BAD_ROW_RULE} is Lakeform's own: the rows a source's reader can't give the table, quarantined and counted under that name` });
      if (seen.has(e.name.toLowerCase())) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate expectation ${e.name}` });
      seen.add(e.name.toLowerCase());
    });
  });

/** An expectation as the reconciler sends it to the job server: one rule, its column sanitised. */
export interface Expectation {
  name: string;
  rule: ExpectationRule;
  action: ExpectationAction;
  column?: string;
  values?: string[];
  min?: string;
  max?: string;
  pattern?: string;
  filter?: string;
}

export function normalizeExpectations(list: z.output<typeof ExpectationsSchema> | undefined): Expectation[] | undefined {
  if (!list?.length) return undefined;
  return list.map((e) => {
    const rule = EXPECTATION_RULES.find((k) => e[k] !== undefined) as ExpectationRule;
    const out: Expectation = { name: e.name, rule, action: e.action };
    if (e.column !== undefined) out.column = sanitizeColumn(e.column);
    if (e.in) out.values = e.in;
    if (e.range?.min !== undefined) out.min = String(e.range.min);
    if (e.range?.max !== undefined) out.max = String(e.range.max);
    if (e.matches !== undefined) out.pattern = e.matches;
    if (e.filter !== undefined) out.filter = e.filter;
    return out;
  });
}

/** The contract's shape of an expectation (lake/jobServerContract.ts, the job server's expectations.py). */
export const JobExpectationSchema = z.strictObject({
  name: z.string(),
  rule: z.enum(EXPECTATION_RULES),
  action: z.enum(EXPECTATION_ACTIONS),
  column: z.string().optional(),
  values: z.array(z.string()).optional(),
  min: z.string().optional(),
  max: z.string().optional(),
  pattern: z.string().optional(),
  filter: z.string().optional(),
});

/** What a write found of one expectation: rows that broke it, what was done with them, a few of them. */
export const ExpectationResultSchema = z.strictObject({
  name: z.string(),
  action: z.enum(EXPECTATION_ACTIONS),
  failed: z.number(),
  samples: z.array(z.string()).optional(),
});
export type ExpectationResult = z.output<typeof ExpectationResultSchema>;

/** The quarantine table's own columns; the row's values (as text) are the others. */
export const QUARANTINE_COLUMNS = ["_qkey", "_rule", "_reason", "_source", "_line"] as const;
/** The most rows one `lakeform quarantine replay` re-applies (the rest wait for the next one). */
export const MAX_REPLAY_ROWS = 100_000;

/**
 * A quarantine replay's source: the quarantined rows' values as a CSV (the quarantine table's own
 * columns left out; a null is an empty field) and their keys, which the job server removes from
 * the quarantine table once the write committed. Rows the rules still refuse are quarantined
 * again under the replay's own keys.
 */
export function replayCsv(columns: string[], rows: unknown[][]): { csv: string; keys: string[]; header: string[] } {
  const own = new Set<string>(QUARANTINE_COLUMNS);
  const keyAt = columns.indexOf("_qkey");
  if (keyAt < 0) throw new Error("the quarantine table has no _qkey column");
  const data = columns.map((c, i) => [c, i] as const).filter(([c]) => !own.has(c));
  const header = data.map(([c]) => c);
  const text = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  return { header, keys: rows.map((r) => text(r[keyAt])), csv: toCsv(header, rows.map((r) => data.map(([, i]) => text(r[i])))) };
}

/** What `lakeform plan` found of one rule in a source's sample (filter rules aren't evaluated there: they need the batch's types). */
export interface SampleHit {
  name: string;
  action: ExpectationAction;
  failed: number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
function sameValue(a: string, b: string): boolean {
  if (NUMBER.test(a.trim()) && NUMBER.test(b.trim())) return Number(a) === Number(b);
  if (/^(true|false)$/i.test(a.trim()) && /^(true|false)$/i.test(b.trim())) return a.trim().toLowerCase() === b.trim().toLowerCase();
  return a === b;
}
function below(v: string, bound: string): boolean {
  return NUMBER.test(v.trim()) && NUMBER.test(bound.trim()) ? Number(v) < Number(bound) : v < bound;
}

/**
 * The rules a sample's rows break, as text (the plan has no types): numbers compared as numbers,
 * the rest as text (ISO dates and timestamps order as text); an empty field is a null, which only
 * not_null counts. An estimate of what the write will find; filter rules are left out.
 */
export function sampleHits(rules: Expectation[] | undefined, columns: string[], rows: string[][]): SampleHit[] {
  const out: SampleHit[] = [];
  for (const e of rules ?? []) {
    if (e.rule === "filter") continue;
    const at = columns.indexOf(e.column ?? "");
    if (at < 0) continue;
    const values = rows.map((r) => r[at] ?? "");
    const seen = new Map<string, number>();
    if (e.rule === "unique") for (const v of values) if (v !== "") seen.set(v, (seen.get(v) ?? 0) + 1);
    const pattern = e.rule === "matches" ? new RegExp(`^(?:${e.pattern})$`, "u") : undefined;
    const broken = values.filter((v) => {
      if (e.rule === "not_null") return v === "";
      if (v === "") return false;
      if (e.rule === "unique") return (seen.get(v) ?? 0) > 1;
      if (e.rule === "in") return !(e.values ?? []).some((x) => sameValue(v, x));
      if (e.rule === "range") return (e.min !== undefined && below(v, e.min)) || (e.max !== undefined && below(e.max, v));
      return !pattern!.test(v);
    }).length;
    out.push({ name: e.name, action: e.action, failed: broken });
  }
  return out;
}
