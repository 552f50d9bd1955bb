/**
 * What the API and LakeShell accept, checked at the edge: table names, asOf (lake/asOf), the
 * travel filter's small grammar and CSV bodies. The zod schemas here both validate requests and
 * generate the OpenAPI document (api/server.ts), so the document says what is checked.
 */
import { parse as parseCsv } from "csv-parse/sync";
import { z } from "zod";
import { AS_OF_PATTERN, parseAsOf, type AsOf } from "../lake/asOf";
import { sanitizeColumn } from "../lake/columns";
import { LakeformError, type ErrorCode } from "../lake/errors";
import { partitionColumns } from "../lake/partitioning";
import type { TableSpec } from "../lake/spec";

/** A table name as tables.yaml declares it; the API takes it in any case and lower-cases it. */
export const TABLE_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,127}$";
const TABLE_NAME = new RegExp(TABLE_NAME_PATTERN);
const tableNameMessage = (name: unknown) => `"${String(name)}" is not a table name (letters, digits and _, starting with a letter or _, up to 128)`;
const asOfMessage = (asOf: unknown) => `asOf "${String(asOf)}" is neither a commit id (digits) nor a timestamp like 2026-11-24T10:00:00Z`;

export function checkTableName(name: string): string {
  if (!TABLE_NAME.test(name)) throw new LakeformError("BAD_TABLE_NAME", tableNameMessage(name), { table: name });
  return name.toLowerCase();
}

/** An asOf: a commit id or an ISO-8601 timestamp (the grammar is lake/asOf's). */
export function checkAsOf(asOf: string): AsOf {
  return parseAsOf(asOf);
}


// ---------------------------------------------------------------- request schemas (zod → OpenAPI)

/**
 * A string of min to max characters as the document counts them: JSON Schema's minLength and
 * maxLength count code points, zod's .min/.max UTF-16 units, so a filter of 2,000 emoji the
 * document allows would be refused as too long (4,000 units). Counted here as the document does.
 */
export function chars(min: number, max: number) {
  return z
    .string()
    .refine(
      (s) => {
        const n = [...s].length;
        return n >= min && n <= max;
      },
      { error: (iss) => `must be ${min} to ${max} characters (got ${[...String(iss.input)].length})` },
    )
    .meta({ minLength: min, maxLength: max });
}

export const TableName = z
  .string()
  .regex(TABLE_NAME, { error: (iss) => tableNameMessage(iss.input) })
  .describe("a table of tables.yaml (case-insensitive)");
export const TableParams = z.object({ table: TableName });

export const AsOfParam = z
  .string()
  .regex(new RegExp(AS_OF_PATTERN), { error: (iss) => asOfMessage(iss.input) })
  .superRefine((value, ctx) => {
    // The pattern can't say February has no 30th; the parser can.
    try {
      parseAsOf(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message, input: value });
    }
  })
  .describe("commit id (Hudi instant, Iceberg snapshot id: 8-20 digits) or ISO-8601 timestamp (no zone means UTC)")
  .meta({ example: "2026-11-24T10:00:00Z" });

export const RowsQuery = z.object({
  asOf: AsOfParam,
  limit: z.coerce.number().int().min(1).max(10000).default(1000).describe("rows to return at most"),
  where: chars(1, 2000)
    .optional()
    .describe("row filter: the table's columns, literals, comparisons, AND/OR/NOT, IN, LIKE, IS NULL, BETWEEN")
    .meta({ example: "id >= 2 AND name LIKE 'g%'" }),
});

export const DeleteQuery = z.object({
  where: chars(1, 2000).optional().describe("row filter in the travel filter's grammar (or send a CSV of keys as the body)"),
  dryRun: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe("true: count the rows the where filter matches, delete nothing (commit is null)"),
});

export const UpdateBody = z
  .object({
    set: z.record(chars(1, 128), z.union([z.string(), z.number(), z.boolean(), z.null()])).describe("column → new value (null for NULL)"),
    where: chars(1, 2000).describe("which rows: the travel filter's grammar"),
  })
  .strict();

export const ChangesQuery = z.object({
  since: AsOfParam.describe("commit id or ISO-8601 timestamp: changes after it"),
  until: AsOfParam.optional().describe("commit id or ISO-8601 timestamp: changes up to it (default: the newest commit)"),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

/** POST /query's body, its bounds the API's (api/limits.ts): offset + limit rows are fetched from Trino. */
export function queryBody(maxRows: number, maxOffset: number) {
  return z.object({
    sql: chars(1, 100_000).describe("one read statement: SELECT, WITH, VALUES, TABLE, SHOW, DESCRIBE or EXPLAIN (EXPLAIN ANALYZE of a read); comments allowed, one trailing `;`"),
    limit: z.number().int().min(1).max(maxRows).default(Math.min(1000, maxRows)).describe("rows to return at most"),
    offset: z.number().int().min(0).max(maxOffset).default(0).describe("rows to skip first (the rows before it are fetched and dropped)"),
  });
}
export const QueryBody = queryBody(10_000, 100_000);

export const IngestQuery = z.object({
  badRows: z
    .enum(["refuse", "quarantine"])
    .default("refuse")
    .describe(
      "refuse (default): a bad row (another number of fields, a value that doesn't fit its column's type, an empty key) refuses the upload, 400 naming its line, nothing written; quarantine: the good rows are written and each bad one kept in <table>__quarantine, counted in the reply's expectations as _bad_row (schemaPolicy strict still refuses)",
    ),
  via: z
    .enum(["auto", "arrow", "spark", "trino"])
    .default("auto")
    .describe(
      "auto (or arrow): an Iceberg batch within the job server's budget takes the Arrow path (pyarrow + pyiceberg in the job server, no Spark job), anything else Spark; spark: always Spark; trino: what the Trino light path's callers sent, now the Arrow path",
    ),
});

/** The media types POST /ingest takes: a CSV body, or a multipart upload whose file is the CSV. */
export const INGEST_MEDIA_TYPES = ["text/csv", "multipart/form-data"] as const;

/** Which code a schema failure gets, by where it was found: the specific one where there is one. */
const FIELD_CODES: Record<string, ErrorCode> = {
  "params/table": "BAD_TABLE_NAME",
  "querystring/asOf": "BAD_AS_OF",
  "querystring/where": "BAD_WHERE",
  "querystring/since": "BAD_AS_OF",
  "querystring/until": "BAD_AS_OF",
};
export function validationCode(context: string | undefined, instancePath: string): ErrorCode {
  return FIELD_CODES[`${context ?? ""}${instancePath}`] ?? "BAD_REQUEST";
}

// The row filter's grammar, its parse into a tree and its type check: lake/filter.ts.

// ---------------------------------------------------------------- updates

/**
 * `set` of an update: column → new value as text (null for NULL). Columns must be the table's,
 * and not its key or partition columns (a row's identity and place don't change by update).
 */
export function checkAssignments(set: Record<string, string | null>, t: Pick<TableSpec, "primaryKey" | "partitionBy">, columns: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const cols = new Set(columns);
  for (const [raw, value] of Object.entries(set)) {
    const c = raw.toLowerCase();
    if (!cols.has(c)) throw new LakeformError("BAD_VALUES", `"${raw}" is not a column of the table (columns: ${columns.join(", ")})`);
    if (t.primaryKey.includes(c)) throw new LakeformError("BAD_VALUES", `"${c}" is the primary key: delete the row and insert it with its new key instead`);
    if (partitionColumns(t.partitionBy).includes(c)) throw new LakeformError("BAD_VALUES", `"${c}" is a partition column and can't be updated`);
    out[c] = value;
  }
  if (Object.keys(out).length === 0) throw new LakeformError("BAD_VALUES", "set at least one column");
  return out;
}

// ---------------------------------------------------------------- CSV bodies

export interface CheckedCsv {
  /** The header as sent. */
  header: string[];
  /** The header as the table's column names (lake/columns' rule). */
  columns: string[];
  records: string[][];
}

/** Rejects what isn't a rectangular CSV with a header and a row before anything is landed. */
export function checkCsv(csv: Buffer): CheckedCsv {
  let records: string[][];
  try {
    records = parseCsv(csv, { relax_column_count: false, skip_empty_lines: true });
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new LakeformError("BAD_CSV", `the CSV is malformed${e.lines ? ` at line ${e.lines}` : ""}: ${e.message}`);
  }
  if (records.length < 2) throw new LakeformError("BAD_CSV", "the CSV needs a header line and at least one row");
  const [header, ...rest] = records;
  return { header, columns: header.map(sanitizeColumn), records: rest };
}

/**
 * The columns tables.yaml names (key, ordering field, partitions) must be in the CSV, and every
 * row needs its key: checked here so the write is refused before anything is landed.
 */
export function checkCsvFitsTable(csv: CheckedCsv, t: Pick<TableSpec, "name" | "primaryKey" | "orderingField" | "partitionBy">): void {
  const named = [...t.primaryKey, ...partitionColumns(t.partitionBy), ...(t.orderingField ? [t.orderingField] : [])];
  const missing = [...new Set(named.filter((c) => !csv.columns.includes(c)))];
  if (missing.length) {
    throw new LakeformError("SCHEMA_REFUSED", `column(s) ${missing.join(", ")} named in tables.yaml for ${t.name} are not in the CSV header (columns: ${csv.columns.join(", ")})`, { missing });
  }
  const keyAt = t.primaryKey.map((k) => csv.columns.indexOf(k));
  const empty = csv.records.findIndex((r) => keyAt.some((i) => r[i] === ""));
  if (empty >= 0) {
    throw new LakeformError("BAD_CSV", `data row ${empty + 1} has an empty primary key (${t.primaryKey.join(", ")})`, { row: empty + 1 });
  }
}
