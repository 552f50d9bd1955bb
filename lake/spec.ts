/**
 * tables.yaml: the desired state of the lake. Parsed with positions (yaml's LineCounter) so every
 * problem names the file, line and field; validated with zod (.strict(): a typo is an error, not
 * a silently ignored key).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isNode, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { sanitizeColumn } from "./columns";
import { LakeformError } from "./errors";
import { formatPartitionField, PartitionEntrySchema, partitionColumns, partitioningProblems, PARTITION_GRAMMAR } from "./partitioning";
import { CsvOptionsSchema, SourceEntrySchema, type CsvOptions, type SourceRead } from "./sourceFormat";
import { ExpectationsSchema, normalizeExpectations, QUARANTINE_SUFFIX, type Expectation } from "./expectations";

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain identifier (letters, digits, _; not starting with a digit)");

const column = z.string().min(1, "must not be empty");

/** A value a source cell is compared with: YAML may give it as a string, number or boolean. */
const cellValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

/**
 * How a source row says "delete this key": `{ column: Deleted, equals: "true" }` (or a list of
 * values, `equals: [D, deleted]`). The column is matched after sanitising, like every column
 * name in this file; values are compared as text, trimmed and case-insensitively, so a CSV of
 * TRUE/true/True (or a boolean column) all match `equals: true`. The marker column itself is not
 * written to the table.
 */
export const DeleteWhenSchema = z
  .object({
    column: column.describe("A column of the CSV (matched after sanitising); not written to the table"),
    equals: z
      .union([cellValue, z.array(cellValue).min(1, "needs at least one value")])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .describe("A value or a list: compared as trimmed text, case-insensitively"),
  })
  .strict();

/**
 * How much history a table keeps: the newest N commits, or the commits of the last D days (the
 * newest commit is always kept). One shape for both formats: Hudi's cleaner and archival, Iceberg's
 * snapshot expiry.
 */
export const RetainSchema = z.union([
  z.object({ commits: z.number().int("must be a whole number").min(1, "must keep at least 1 commit") }).strict(),
  z.object({ days: z.number().positive("must be more than 0") }).strict(),
], { error: "must be { commits: N } or { days: D }" });

/**
 * How long a pruned table stays in the trash (catalog entry gone, files and journal kept, `lakeform
 * undrop` brings it back) before maintenance purges it. Unset: the stack's default (7 days).
 */
export const TrashSchema = z.object({ days: z.number().positive("must be more than 0") }).strict();

/**
 * Spec fields that can't change on a table that holds data: its files are laid out by them. The
 * reconciler refuses such a change (INCOMPATIBLE_SPEC_CHANGE) and `pulumi preview` shows it as a
 * replace Lakeform refuses (components/table/diff.ts).
 */
export const IMMUTABLE_FIELDS = ["format", "primaryKey", "partitionBy"] as const;
export type ImmutableField = (typeof IMMUTABLE_FIELDS)[number];

/**
 * What a change of one of IMMUTABLE_FIELDS does to a table that holds data: refused (the default),
 * or a rebuild (reconciler/rebuildPlan.ts; the job server's rebuild.py): its current rows written
 * into a table of the new layout, verified, swapped in in one metastore step.
 */
export const ON_INCOMPATIBLE_CHANGE = ["refuse", "rebuild"] as const;
export type OnIncompatibleChange = (typeof ON_INCOMPATIBLE_CHANGE)[number];

/** What a table keeps when tables.yaml doesn't say: README, "Retention and maintenance". */
export const DEFAULT_RETAIN = { days: 7 } as const;
export const DEFAULT_TARGET_FILE_SIZE_MB = 128;

/**
 * A declared column type (columns: { amount: "decimal(12,2)" }): Spark's names, with the usual
 * aliases; normalised to the name the job server casts to (normalizeColumnType).
 */
const COLUMN_TYPE = /^(string|text|varchar|int|integer|bigint|long|smallint|tinyint|double|float|real|boolean|bool|date|timestamp|decimal\(\s*\d{1,2}\s*(,\s*\d{1,2}\s*)?\))$/i;
const TYPE_ALIASES: Record<string, string> = { text: "string", varchar: "string", integer: "int", long: "bigint", real: "float", bool: "boolean" };
export function normalizeColumnType(t: string): string {
  const s = t.trim().toLowerCase().replace(/\s+/g, "");
  const dec = /^decimal\((\d+)(?:,(\d+))?\)$/.exec(s);
  if (dec) return `decimal(${dec[1]},${dec[2] ?? "0"})`;
  return TYPE_ALIASES[s] ?? s;
}
export const ColumnTypeSchema = z
  .string()
  .regex(COLUMN_TYPE, "must be string, int, bigint, double, float, boolean, date, timestamp or decimal(p,s)")
  .refine((t) => {
    const m = /decimal\((\d+)(?:,\s*(\d+))?/i.exec(t.replace(/\s+/g, ""));
    return !m || (Number(m[1]) >= 1 && Number(m[1]) <= 38 && Number(m[2] ?? 0) <= Number(m[1]));
  }, "decimal(p,s) needs 1 <= p <= 38 and s <= p");

export const SCHEMA_POLICIES = ["addColumns", "strict", "discardColumns", "discardRows"] as const;
export type SchemaPolicy = (typeof SCHEMA_POLICIES)[number];

export const TableSpecSchema = z
  .object({
    // Each field's description is also the JSON Schema's (schemas/tables.schema.json, `npm run schema`): what an editor shows.
    name: identifier.describe("The table's name (an identifier); with database, its name in the metastore and in Trino"),
    format: z.enum(["hudi", "iceberg"]).describe("hudi: copy-on-write, upserts by key; iceberg: format v2, MERGE INTO"),
    database: identifier.default("default").describe("The metastore database (default: default)"),
    primaryKey: z
      .union([column, z.array(column).min(1)])
      .transform((k) => (Array.isArray(k) ? k : [k]))
      .describe('One column or a list: CSV header names, matched after sanitising ("Index" is index)'),
    orderingField: column.optional().describe("When a key appears twice, the row with the larger value of this column wins (Hudi's precombine field)"),
    partitionBy: z
      .array(PartitionEntrySchema)
      .default([])
      .describe(`Partition columns (CSV header names), or for Iceberg its partition transforms: ${PARTITION_GRAMMAR}; changing it on an Iceberg table is partition evolution (nothing rewritten)`),
    sources: z
      .array(SourceEntrySchema)
      .min(1, "needs at least one source")
      .describe("Files applied in order: local paths or globs (relative to tables.yaml) or s3:// URIs, or { path, format, compression, csv }; csv, tsv, parquet or jsonl, gzip/zstd/bzip2 by extension"),
    csv: CsvOptionsSchema.optional().describe("CSV options of the table's CSV and TSV sources: delimiter, quote, escape, header, nullValues, encoding"),
    columns: z
      .record(column, ColumnTypeSchema)
      .optional()
      .describe('Declared column types, instead of inference: { amount: "decimal(12,2)", created_at: timestamp, zip: string } (names matched after sanitising)'),
    schemaPolicy: z
      .enum(SCHEMA_POLICIES)
      .default("addColumns")
      .describe("addColumns: new source columns become table columns; strict: a source with new columns (or, with columns declared, undeclared ones) is refused; discardColumns: new columns are left out; discardRows: a row whose value doesn't fit its column's type is dropped and counted"),
    pollInterval: z
      .string()
      .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration such as "30s", "5m" or "1h"')
      .refine((d) => !(durationMs(d) < 1000), "must be at least 1s")
      .optional()
      .describe('How often the table is looked at again when in sync (its watched prefixes listed): "30s", "5m", "1h" (default: the reconciler\'s resync interval, 60 s)'),
    prune: z.boolean().default(false).describe("true: removing the table from tables.yaml drops it (kept in the trash, undroppable); false: its data is left alone"),
    onIncompatibleChange: z
      .enum(ON_INCOMPATIBLE_CHANGE)
      .optional()
      .describe("refuse (default): a change of format, primaryKey or (Hudi) partitionBy on a table that holds data is refused; rebuild: the table is rewritten from its current rows into the new layout, verified and swapped in (the old table kept in the trash)"),
    deleteWhen: DeleteWhenSchema.optional().describe("A source row matching this deletes its key, in the same commit as the batch's upserts"),
    retain: RetainSchema.optional().describe("History kept for time travel and changes: { commits: N } or { days: D } (default { days: 7 }); older commits are expired by maintenance"),
    targetFileSizeMB: z
      .number()
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .max(4096, "must be at most 4096")
      .optional()
      .describe("Data files are written and compacted towards this size (default 128)"),
    trash: TrashSchema.optional().describe("With prune: true, how long the table's files and journal are kept after its prune (default: the stack's, 7 days)"),
    expect: ExpectationsSchema.optional().describe("Rules every written row is checked against (lake/expectations.ts): [{ name, column, not_null | unique | in | range | matches | filter, action: warn | drop | quarantine | fail }]"),
  })
  .strict()
  .superRefine((t, ctx) => {
    for (const p of partitioningProblems(t.name, t.format, t.partitionBy)) ctx.addIssue({ code: "custom", path: ["partitionBy", p.index], message: p.message });
    if (!t.deleteWhen) return;
    const col = sanitizeColumn(t.deleteWhen.column);
    const where: [string[], string][] = [
      [t.primaryKey.map(sanitizeColumn), "the primary key"],
      [partitionColumns(t.partitionBy.map(formatPartitionField)), "a partition column"],
      [t.orderingField ? [sanitizeColumn(t.orderingField)] : [], "the ordering field"],
    ];
    for (const [cols, what] of where) {
      if (cols.includes(col)) {
        ctx.addIssue({ code: "custom", path: ["deleteWhen", "column"], message: `"${t.deleteWhen.column}" is ${what}; a delete marker needs a column of its own` });
      }
    }
  });

/**
 * Why a document without `tables:` is refused rather than read as no tables: an empty file, one
 * of comments only, or one cut short before its `tables:` key is what a wrong `>` redirect or an
 * editor's half-finished save leaves, and reading it as "no tables" would prune every table.
 */
export const NO_TABLES_KEY =
  "no `tables:` key: an empty, comment-only or truncated tables.yaml is refused (the last valid version keeps being served, nothing is pruned); a file that means no tables says `tables: []`";

export const TablesFileSchema = z
  .object({
    apiVersion: z.literal("lakeform/v1").default("lakeform/v1").describe("The version of this file's format: lakeform/v1"),
    /** Required: a file that means "no tables" says `tables: []` (an empty or truncated file never prunes). */
    tables: z.array(TableSpecSchema.describe("A table of the lake, kept in line with its sources by the reconciler"), {
      error: (i) =>
        i.input === undefined
          ? NO_TABLES_KEY
          : i.input === null
            ? "is empty (a file cut short?): it must be a list of tables; a file that means no tables says `tables: []`"
            : "must be a list of tables (`tables: []` for none)",
    }),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.tables.forEach((t, i) => {
      // <table>__quarantine holds the rows a table's expectations quarantine (lake/expectations.ts).
      if (t.name.toLowerCase().endsWith(QUARANTINE_SUFFIX)) {
        ctx.addIssue({ code: "custom", path: ["tables", i, "name"], message: `names ending in ${QUARANTINE_SUFFIX} are kept for the quarantine tables of expectations` });
      }
      const key = `${t.database}.${t.name}`.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({ code: "custom", path: ["tables", i, "name"], message: `duplicate table ${key} (also at tables[${seen.get(key)}])` });
      }
      seen.set(key, i);
    });
  });

export type TableSpecInput = z.input<typeof TableSpecSchema>;

/** A table as the reconciler works with it: columns sanitised, generation computed. */
export interface TableSpec {
  name: string;
  database: string;
  format: "hudi" | "iceberg";
  primaryKey: string[];
  orderingField?: string;
  /** Canonical partition fields (lake/partitioning.ts): a column, or an Iceberg transform such as day(ts). */
  partitionBy: string[];
  /** The declared sources' paths, in order. */
  sources: string[];
  /** How a declared source (by its path as written) is read when tables.yaml says so. */
  sourceReads?: Record<string, SourceRead>;
  /** pollInterval in ms: how soon a pass in sync looks again. */
  pollIntervalMs?: number;
  /** The table's CSV options. */
  csv?: CsvOptions;
  /** Declared column types (sanitised names, normalised types). */
  columns?: Record<string, string>;
  schemaPolicy: SchemaPolicy;
  prune: boolean;
  /** What a change of an immutable field does (absent: refuse). */
  onIncompatibleChange?: OnIncompatibleChange;
  /** Sanitised marker column and the values (lower-cased text) that mean "delete this key". */
  deleteWhen?: { column: string; equals: string[] };
  retain?: { commits: number } | { days: number };
  targetFileSizeMB?: number;
  trash?: { days: number };
  /** Expectations (lake/expectations.ts), columns sanitised. */
  expect?: Expectation[];
  /** Hash of the table's spec (sorted keys): changes exactly when the spec's content does. */
  generation: string;
  /** Line of the table's entry in tables.yaml. */
  line: number;
}

export interface DesiredState {
  file: string;
  tables: TableSpec[];
}

/** tables.yaml can't be read or breaks the schema: every problem with its line and field. */
export class SpecError extends LakeformError {
  constructor(
    readonly file: string,
    readonly problems: { line?: number; field: string; message: string }[],
  ) {
    super(
      "SPEC_INVALID",
      `${file} is invalid:\n` +
        problems.map((p) => `  ${file}${p.line ? `:${p.line}` : ""}: ${p.field}: ${p.message}`).join("\n"),
      { file, problems },
    );
    this.name = "SpecError";
  }
}

/** JSON with sorted keys, so equal content always hashes equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export function specGeneration(spec: Omit<TableSpec, "generation" | "line">): string {
  return crypto.createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 16);
}

/** Parses tables.yaml text. Throws SpecError naming line and field for every problem found. */
export function parseTables(text: string, file: string): DesiredState {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new SpecError(
      file,
      doc.errors.map((e) => ({ line: e.linePos?.[0].line, field: "(yaml)", message: e.message.split("\n")[0] })),
    );
  }
  const lineOf = (p: (string | number)[]): number | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const content = doc.toJS() as unknown;
  if (content === null || content === undefined) {
    // No content at all: empty, whitespace or comments only.
    throw new SpecError(file, [{ field: "tables", message: `the file is empty: ${NO_TABLES_KEY}` }]);
  }
  const result = TablesFileSchema.safeParse(content);
  if (!result.success) {
    throw new SpecError(
      file,
      result.error.issues.map((i) => ({
        line: lineOf(i.path as (string | number)[]),
        field: i.path.join(".") || "(root)",
        message: partitionIssueMessage(content, i.path, i.message),
      })),
    );
  }
  const tables = result.data.tables.map((t, i) => {
    const spec = {
      name: t.name.toLowerCase(),
      database: t.database.toLowerCase(),
      format: t.format,
      primaryKey: t.primaryKey.map(sanitizeColumn),
      orderingField: t.orderingField ? sanitizeColumn(t.orderingField) : undefined,
      partitionBy: t.partitionBy.map(formatPartitionField),
      sources: t.sources.map((s) => (typeof s === "string" ? s : s.path)),
      // Absent unless declared, so tables that don't use them keep their generation.
      sourceReads: sourceReadsOf(t.sources),
      pollIntervalMs: t.pollInterval ? durationMs(t.pollInterval) : undefined,
      csv: t.csv,
      columns: t.columns
        ? Object.fromEntries(Object.entries(t.columns).map(([c, ty]) => [sanitizeColumn(c), normalizeColumnType(ty)]))
        : undefined,
      schemaPolicy: t.schemaPolicy,
      prune: t.prune,
      // Absent unless declared, so tables that don't use it keep their generation.
      onIncompatibleChange: t.onIncompatibleChange,
      // Absent unless declared, so tables that don't use them keep their generation.
      deleteWhen: t.deleteWhen
        ? { column: sanitizeColumn(t.deleteWhen.column), equals: t.deleteWhen.equals.map((v) => v.trim().toLowerCase()) }
        : undefined,
      retain: t.retain,
      targetFileSizeMB: t.targetFileSizeMB,
      trash: t.trash,
      expect: normalizeExpectations(t.expect),
    };
    return { ...spec, generation: specGeneration(spec), line: lineOf(["tables", i]) ?? 0 };
  });
  return { file, tables };
}

/** "30s", "5m", "1h", "250ms" in milliseconds (NaN when it is none of these). */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) return NaN;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"]);
}

/** A partitionBy entry's problem names its table (the entry's own schema can't know it). */
function partitionIssueMessage(content: unknown, at: PropertyKey[], message: string): string {
  if (at[0] !== "tables" || at[2] !== "partitionBy" || message.startsWith("table ")) return message;
  const name = (content as { tables?: { name?: unknown }[] }).tables?.[at[1] as number]?.name;
  return typeof name === "string" ? `table ${name}: ${message}` : message;
}

/** The read options of the sources declared as objects, by path; undefined when none is. */
function sourceReadsOf(sources: z.output<typeof SourceEntrySchema>[]): Record<string, SourceRead> | undefined {
  const out: Record<string, SourceRead> = {};
  for (const s of sources) {
    if (typeof s === "string") continue;
    const { path: p, ...read } = s;
    if (Object.keys(read).length) out[p] = read;
  }
  return Object.keys(out).length ? out : undefined;
}

export function loadTables(file: string): DesiredState {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new SpecError(file, [{ field: "(file)", message: (err as Error).message }]);
  }
  return parseTables(text, path.resolve(file));
}

export function tableId(t: Pick<TableSpec, "database" | "name">): string {
  return `${t.database}.${t.name}`;
}
