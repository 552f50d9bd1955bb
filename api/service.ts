/**
 * The lake as the REST API and LakeShell see it: tables from tables.yaml, reads through Trino
 * (read-only user), history and time travel, and writes through the reconciler's own path
 * (landed in the object store, applied by the Spark job server, recorded in the commit).
 */
import * as path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { sanitizeColumn } from "../lake/columns";
import { resolveChangeRange, resolveCommit, type CommitRef } from "../lake/commits";
import { LakeformError } from "../lake/errors";
import type { ChangeDocument, CommitInfo, JobClient, JobTable, WriteResult } from "../lake/jobClient";
import { jobTable } from "../lake/jobClient";
import type { LakeEndpoints } from "../lake/outputs";
import type { Sources } from "../lake/sources";
import { loadTables, SpecError, tableId, type TableSpec } from "../lake/spec";
import { readStatus, type LakeStatus, type TableStatus } from "../lake/status";
import { TRINO_USERS, TrinoClient, TrinoQueryError, type QueryResult } from "../lake/trino";

/** A failure the caller caused, with an HTTP status and a stable code. */
export class LakeError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 422 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "LakeError";
  }
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,127}$/;
const LIGHT_PATH_MAX_ROWS = 10_000;
/** asOf is a commit id (Hudi instant or Iceberg snapshot id) or an ISO-8601 timestamp. */
const COMMIT_ID = /^\d{8,20}$/;
/** The timestamp form, with its parts: date, time, zone. */
const AS_OF_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

export function checkTableName(name: string): string {
  const n = name.toLowerCase();
  if (!TABLE_NAME.test(n)) throw new LakeError(400, "BAD_TABLE_NAME", `"${name}" is not a table name (letters, digits and _ only)`);
  return n;
}

export function checkAsOf(asOf: string): string {
  if (!COMMIT_ID.test(asOf) && !AS_OF_TIMESTAMP.test(asOf)) {
    throw new LakeError(400, "BAD_AS_OF", `asOf "${asOf}" is neither a commit id (digits) nor a timestamp like 2026-11-24T10:00:00Z`);
  }
  return asOf;
}

export type TableInfo = Pick<TableSpec, "name" | "database" | "format" | "primaryKey" | "orderingField" | "partitionBy" | "sources"> & {
  status?: TableStatus;
};

const WHERE_KEYWORDS = new Set(["and", "or", "not", "in", "like", "is", "null", "between", "true", "false"]);

/**
 * A row filter for time travel, held to a small grammar: the table's columns, literals,
 * comparisons, AND/OR/NOT, IN, LIKE, IS NULL, BETWEEN and parentheses. No function calls and no
 * subqueries: on Hudi the filter runs inside the Spark driver that writes the lake.
 */
export function checkWhere(where: string, columns: string[]): string {
  const cols = new Set(columns.map((c) => c.toLowerCase()));
  const token = /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|<>|!=|=|<|>|,|\(|\)))/y;
  let pos = 0;
  let prevIdent = false;
  const text = where.trim();
  while (pos < text.length) {
    token.lastIndex = pos;
    const m = token.exec(text);
    if (!m) throw new LakeError(400, "BAD_WHERE", `can't read the filter at "${text.slice(pos, pos + 20)}"`);
    pos = token.lastIndex;
    if (m[3]) {
      const word = m[3].toLowerCase();
      if (!WHERE_KEYWORDS.has(word) && !cols.has(word)) {
        throw new LakeError(400, "BAD_WHERE", `"${m[3]}" is not a column of the table (columns: ${columns.join(", ")})`);
      }
      prevIdent = !WHERE_KEYWORDS.has(word);
      continue;
    }
    if (m[4] === "(" && prevIdent) throw new LakeError(400, "BAD_WHERE", "function calls are not allowed in a travel filter");
    prevIdent = false;
  }
  if (!text) throw new LakeError(400, "BAD_WHERE", "the filter is empty");
  return text;
}

export interface TableDetail extends TableInfo {
  columns: { name: string; type: string }[];
  rowCount: number | null;
}

export class LakeService {
  readonly trinoRead: TrinoClient;
  /** Only the Iceberg light path writes through Trino. */
  private readonly trinoWrite: TrinoClient;

  constructor(
    readonly endpoints: LakeEndpoints,
    readonly jobs: JobClient,
    readonly sources: Sources,
    readonly tablesFile: string,
    readonly statusFile: string,
  ) {
    this.trinoRead = new TrinoClient(endpoints.trinoEndpoint, TRINO_USERS.readOnly);
    this.trinoWrite = new TrinoClient(endpoints.trinoEndpoint, TRINO_USERS.admin);
  }

  status(): LakeStatus | undefined {
    return readStatus(this.statusFile);
  }

  specs(): TableSpec[] {
    try {
      return loadTables(this.tablesFile).tables;
    } catch (err) {
      if (err instanceof SpecError) throw new LakeError(503, "SPEC_INVALID", err.message);
      throw err;
    }
  }

  spec(name: string): TableSpec {
    const n = checkTableName(name);
    const spec = this.specs().find((t) => t.name === n);
    if (!spec) throw new LakeError(404, "UNKNOWN_TABLE", `no table "${n}" in ${path.basename(this.tablesFile)}`);
    return spec;
  }

  tables(): TableInfo[] {
    const status = this.status();
    return this.specs().map((t) => info(t, status));
  }

  async describe(name: string): Promise<TableDetail> {
    const t = this.spec(name);
    const observed = await this.jobs.observe(jobTable(t, this.endpoints.warehouseBucket));
    return { ...info(t, this.status()), columns: observed.columns, rowCount: observed.rowCount };
  }

  async history(name: string): Promise<CommitInfo[]> {
    const t = this.spec(name);
    const observed = await this.jobs.observe(jobTable(t, this.endpoints.warehouseBucket));
    if (!observed.exists) throw new LakeError(404, "TABLE_MISSING", `table ${t.name} is declared but not in the lake yet`);
    return observed.commits;
  }

  /** Rows as of a commit or a time. Iceberg through Trino; Hudi through Spark (Trino's Hudi connector has no time travel). */
  async travel(name: string, asOf: string, limit = 1000, where?: string): Promise<QueryResult> {
    const t = this.spec(name);
    checkAsOf(asOf);
    const observed = await this.commitsOf(t);
    // An asOf older than the history retention keeps is refused, naming the oldest commit.
    if (observed.historyExpired) resolveCommit(t.name, observed, commitRef(asOf));
    const filter = where ? checkWhere(where, (await this.describe(name)).columns.map((c) => c.name)) : undefined;
    if (t.format === "iceberg") {
      const clause = /^\d+$/.test(asOf) ? `FOR VERSION AS OF ${asOf}` : `FOR TIMESTAMP AS OF TIMESTAMP '${isoToTrino(asOf)}'`;
      return this.query(`SELECT * FROM iceberg.${t.database}.${t.name} ${clause}${filter ? ` WHERE ${filter}` : ""}`, limit);
    }
    try {
      // Hudi reads as of an instant; a timestamp becomes the instant of that moment in UTC.
      const instant = /^\d+$/.test(asOf) ? asOf : isoToHudiInstant(asOf);
      const res = await this.jobs.travel(jobTable(t, this.endpoints.warehouseBucket), instant, filter, limit);
      const types = (res as { types?: string[] }).types ?? [];
      return { columns: res.columns.map((c, i) => ({ name: c, type: types[i] ?? "unknown" })), rows: res.rows };
    } catch (err) {
      throw new LakeError(400, "TRAVEL_FAILED", (err as Error).message);
    }
  }

  /** Read-only SQL: Trino itself refuses anything else for this user. */
  async query(sql: string, limit = 1000): Promise<QueryResult & { truncated: boolean }> {
    const text = sql.trim().replace(/;\s*$/, "");
    if (text.length === 0) throw new LakeError(400, "EMPTY_QUERY", "the query is empty");
    if (text.includes(";")) throw new LakeError(400, "MULTIPLE_STATEMENTS", "one statement at a time");
    try {
      const res = await this.trinoRead.query(text, { maxRows: limit + 1 });
      return { columns: res.columns, rows: res.rows.slice(0, limit), truncated: res.rows.length > limit, ...(res.warnings ? { warnings: res.warnings } : {}) };
    } catch (err) {
      if (err instanceof TrinoQueryError) {
        const code = /Access Denied/i.test(err.message) ? "READ_ONLY" : err.errorType === "USER_ERROR" ? "BAD_QUERY" : "QUERY_FAILED";
        throw new LakeError(400, code, err.message);
      }
      throw err;
    }
  }

  /**
   * Upserts CSV content into a table through the reconciler's path: landed in the object store
   * by content hash, applied by the job server, recorded in the commit's metadata.
   */
  async ingestCsv(name: string, csv: Buffer, sourceName = "upload.csv") {
    const t = this.spec(name);
    checkCsv(csv);
    const { source, uri } = await this.sources.landContent(sourceName, csv);
    try {
      return await this.jobs.write(jobTable(t, this.endpoints.warehouseBucket), { uri, hash: source.hash, name: sourceName }, t.generation);
    } catch (err) {
      const e = err as { kind?: string; message: string; terminal?: boolean };
      if (e.terminal) throw new LakeError(422, e.kind ?? "REFUSED", e.message);
      throw new LakeError(503, "SPARK_UNAVAILABLE", e.message);
    }
  }

  /**
   * The light path for Iceberg tables: one Trino MERGE, no Spark. For small batches; it can't add
   * columns, and Trino can't put Lakeform's keys into the snapshot summary, so the commit shows
   * in history without its source (the Spark path records it). Its CSV is landed and journaled,
   * so a table rebuilt after its files were deleted gets these rows back too.
   */
  async ingestCsvViaTrino(name: string, csv: Buffer): Promise<{ commit: string; rowsWritten: number; addedColumns: string[]; renamed: Record<string, string> }> {
    const t = this.spec(name);
    if (t.format !== "iceberg") throw new LakeError(400, "TRINO_PATH_ICEBERG_ONLY", "the Trino path writes Iceberg tables only; Hudi writes go through Spark");
    checkCsv(csv);
    const [header, ...records] = parseCsv(csv, { skip_empty_lines: true }) as string[][];
    if (records.length > LIGHT_PATH_MAX_ROWS) {
      throw new LakeError(400, "TOO_MANY_ROWS", `the Trino path takes up to ${LIGHT_PATH_MAX_ROWS} rows; use the Spark path for ${records.length}`);
    }
    const cols = header.map(sanitizeColumn);
    const renamed = Object.fromEntries(header.map((h, i) => [h, cols[i]]).filter(([h, c]) => h !== c));
    const fq = `iceberg.${t.database}.${t.name}`;
    const types = new Map((await this.trinoWrite.query(`DESCRIBE ${fq}`)).rows.map((r) => [String(r[0]), String(r[1])]));
    const unknown = cols.filter((c) => !types.has(c));
    if (unknown.length) throw new LakeError(422, "SchemaRefused", `column(s) ${unknown.join(", ")} are not in ${t.name}; new columns go through the Spark path`);
    const missingKey = t.primaryKey.filter((k) => !cols.includes(k));
    if (missingKey.length) throw new LakeError(422, "BadCsv", `key column(s) ${missingKey.join(", ")} are not in the CSV header`);
    // One row per key, the last one winning: MERGE refuses two source rows for one target row.
    const byKey = new Map<string, string[]>();
    for (const r of records) byKey.set(JSON.stringify(t.primaryKey.map((k) => r[cols.indexOf(k)])), r);
    const lit = (v: string, c: string) => (v === "" ? `CAST(NULL AS ${types.get(c)})` : `CAST('${v.replace(/'/g, "''")}' AS ${types.get(c)})`);
    const values = [...byKey.values()].map((r) => `(${r.map((v, i) => lit(v, cols[i])).join(", ")})`).join(",\n");
    const q = (c: string) => `"${c}"`;
    const sql =
      `MERGE INTO ${fq} t USING (VALUES ${values}) AS s(${cols.map(q).join(", ")}) ` +
      `ON ${t.primaryKey.map((k) => `t.${q(k)} = s.${q(k)}`).join(" AND ")} ` +
      `WHEN MATCHED THEN UPDATE SET ${cols.map((c) => `${q(c)} = s.${q(c)}`).join(", ")} ` +
      `WHEN NOT MATCHED THEN INSERT (${cols.map(q).join(", ")}) VALUES (${cols.map((c) => `s.${q(c)}`).join(", ")})`;
    try {
      await this.trinoWrite.query(sql);
    } catch (err) {
      throw new LakeError(422, "BadCsv", (err as Error).message);
    }
    const commit = String(await this.trinoWrite.scalar(`SELECT CAST(snapshot_id AS varchar) FROM iceberg.${t.database}."${t.name}$snapshots" ORDER BY committed_at DESC LIMIT 1`));
    // The CSV is landed and journaled like a Spark write, so a rebuild of the table replays it.
    const { source, uri } = await this.sources.landContent("trino-upload.csv", csv);
    await this.sources.journal(t.database, t.name, { commit, source: "trino-upload.csv", sourceHash: source.hash, uri, generation: t.generation });
    return { commit, rowsWritten: byKey.size, addedColumns: [], renamed };
  }

  /** Applies a landed CSV or change document through the job server, mapping its failures. */
  private async applyWrite(table: JobTable, source: { uri: string; hash: string; name: string }, generation: string): Promise<WriteResult> {
    try {
      return await this.jobs.write(table, source, generation);
    } catch (err) {
      const e = err as { kind?: string; message: string; terminal?: boolean };
      if (e.terminal) throw new LakeError(422, e.kind ?? "REFUSED", e.message);
      throw new LakeError(503, "SPARK_UNAVAILABLE", e.message);
    }
  }

  /** The table's commits as the format keeps them; a table not in the lake yet is 409. */
  private async commitsOf(t: TableSpec) {
    const observed = await this.jobs.observe(jobTable(t, this.endpoints.warehouseBucket));
    if (!observed.exists) throw new LakeError(409, "TABLE_MISSING", `table ${t.name} is declared but not in the lake yet`);
    return observed;
  }

  private async columnsOf(name: string): Promise<string[]> {
    const columns = (await this.describe(name)).columns.map((c) => c.name);
    if (columns.length === 0) throw new LakeError(409, "TABLE_MISSING", `table ${name} is declared but not in the lake yet`);
    return columns;
  }

  /**
   * Deletes rows by key (a CSV whose header names the key columns) or by a filter in the travel
   * filter's grammar, through the write path: the request is landed and journaled, and the
   * commit carries Lakeform's metadata like an ingest's. Nothing matched: no commit.
   */
  async deleteRows(name: string, by: { keysCsv?: Buffer; where?: string }, origin = "api"): Promise<{ table: string; commit: string | null; rowsDeleted: number }> {
    const t = this.spec(name);
    if ((by.keysCsv === undefined) === (by.where === undefined)) {
      throw new LakeError(400, "BAD_REQUEST", "send either a CSV of keys as the body or a where filter, not both and not neither");
    }
    const doc: ChangeDocument = { lakeformChange: 1, op: "delete", requestedAt: new Date().toISOString() };
    let label: string;
    if (by.keysCsv !== undefined) {
      checkCsv(by.keysCsv);
      const header = (parseCsv(by.keysCsv, { to_line: 1 }) as string[][])[0].map(sanitizeColumn);
      const missing = t.primaryKey.filter((k) => !header.includes(k));
      if (missing.length) throw new LakeError(400, "BAD_CSV", `the CSV of keys needs the key column(s) ${missing.join(", ")} in its header (it has ${header.join(", ")})`);
      const { uri } = await this.sources.landContent(`${origin}-delete-keys.csv`, by.keysCsv);
      doc.keys = uri;
      label = `${origin}-delete (keys)`;
    } else {
      doc.where = checkWhere(by.where ?? "", await this.columnsOf(name));
      label = `${origin}-delete (where ${doc.where})`;
    }
    const { source, uri } = await this.sources.landChange(doc);
    const res = await this.applyWrite(jobTable(t, this.endpoints.warehouseBucket), { uri, hash: source.hash, name: label.slice(0, 200) }, t.generation);
    return { table: t.name, commit: res.commit || null, rowsDeleted: res.rowsDeleted ?? 0 };
  }

  /** `update t set c = v, … where …`: the matching rows upserted with new values, through the write path. */
  async updateRows(name: string, set: Record<string, string | null>, where: string, origin = "api"): Promise<{ table: string; commit: string | null; rowsUpdated: number }> {
    const t = this.spec(name);
    const columns = await this.columnsOf(name);
    const doc: ChangeDocument = {
      lakeformChange: 1,
      op: "update",
      set: checkAssignments(set, t, columns),
      where: checkWhere(where, columns),
      requestedAt: new Date().toISOString(),
    };
    const { source, uri } = await this.sources.landChange(doc);
    const label = `${origin}-update (${Object.keys(doc.set).join(", ")} where ${doc.where})`;
    const res = await this.applyWrite(jobTable(t, this.endpoints.warehouseBucket), { uri, hash: source.hash, name: label.slice(0, 200) }, t.generation);
    return { table: t.name, commit: res.commit || null, rowsUpdated: res.rowsUpdated ?? 0 };
  }

  /**
   * Rows inserted or updated, and keys deleted, after commit (or time) `since`, up to `until`
   * (the newest commit when absent), each with the commit that made it. A `since` older than the
   * history the table keeps is refused with the oldest commit still there.
   */
  async changes(name: string, since: string, until?: string, limit = 10_000) {
    const t = this.spec(name);
    const observed = await this.commitsOf(t);
    const range = resolveChangeRange(t.name, observed, commitRef(checkAsOf(since)), until ? commitRef(checkAsOf(until)) : undefined);
    const { columns, rows, truncated } = await this.jobs.changes(jobTable(t, this.endpoints.warehouseBucket), range.since, range.until, limit);
    const first = range.since === null ? 0 : observed.commits.findIndex((c) => c.commit === range.since) + 1;
    const last = observed.commits.findIndex((c) => c.commit === range.until);
    return {
      table: t.name,
      since: range.since,
      until: range.until,
      commits: observed.commits.slice(first, last + 1).map((c) => ({ commit: c.commit, time: c.time, operation: c.operation ?? null })),
      columns,
      rows,
      truncated,
    };
  }

  /** `insert into t values (...), (...)`: rows in the table's column order, as CSV. */
  async insertValues(name: string, rows: string[][]): Promise<ReturnType<LakeService["ingestCsv"]>> {
    const detail = await this.describe(name);
    const cols = detail.columns.map((c) => c.name);
    if (cols.length === 0) throw new LakeError(409, "TABLE_MISSING", `table ${name} has no columns yet: ingest a CSV first`);
    for (const r of rows) {
      if (r.length !== cols.length) {
        throw new LakeError(400, "BAD_VALUES", `expected ${cols.length} values (${cols.join(", ")}), got ${r.length}`);
      }
    }
    const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const csv = [cols.join(","), ...rows.map((r) => r.map(esc).join(","))].join("\n") + "\n";
    return this.ingestCsv(name, Buffer.from(csv), "insert.csv");
  }
}

function info(t: TableSpec, status?: LakeStatus): TableInfo {
  return {
    name: t.name,
    database: t.database,
    format: t.format,
    primaryKey: t.primaryKey,
    orderingField: t.orderingField,
    partitionBy: t.partitionBy,
    sources: t.sources,
    status: status?.tables[tableId(t)],
  };
}

/** Rejects what isn't a rectangular CSV with a header before anything is landed. */
export function checkCsv(csv: Buffer): void {
  let records: string[][];
  try {
    records = parseCsv(csv, { relax_column_count: false, skip_empty_lines: true });
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new LakeError(400, "BAD_CSV", `the CSV is malformed${e.lines ? ` at line ${e.lines}` : ""}: ${e.message}`);
  }
  if (records.length < 2) throw new LakeError(400, "BAD_CSV", "the CSV needs a header line and at least one row");
}

/** An asOf (already checked) as a commit reference for lake/commits. */
export function commitRef(asOf: string): CommitRef {
  return COMMIT_ID.test(asOf) ? { kind: "commit", commit: asOf } : { kind: "timestamp", epochMillis: asOfMillis(asOf), input: asOf };
}

/**
 * `set` of an update: column → new value as text (null for NULL). Columns must be the table's,
 * and not its key or partition columns (a row's identity and place don't change by update).
 */
export function checkAssignments(set: Record<string, string | null>, t: Pick<TableSpec, "primaryKey" | "partitionBy">, columns: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const cols = new Set(columns);
  for (const [raw, value] of Object.entries(set)) {
    const c = raw.toLowerCase();
    if (!cols.has(c)) throw new LakeError(400, "BAD_VALUES", `"${raw}" is not a column of the table (columns: ${columns.join(", ")})`);
    if (t.primaryKey.includes(c)) throw new LakeError(400, "BAD_VALUES", `"${c}" is the primary key: delete the row and insert it with its new key instead`);
    if (t.partitionBy.includes(c)) throw new LakeError(400, "BAD_VALUES", `"${c}" is a partition column and can't be updated`);
    out[c] = value;
  }
  if (Object.keys(out).length === 0) throw new LakeError(400, "BAD_VALUES", "set at least one column");
  return out;
}

/**
 * An asOf timestamp (ISO-8601; a date alone is midnight; no zone means UTC) as epoch
 * milliseconds. Both time-travel paths read it from here. Commit times are milliseconds, so
 * finer digits can't change which commit a time selects.
 */
function asOfMillis(ts: string): number {
  const m = AS_OF_TIMESTAMP.exec(ts);
  if (!m) throw new LakeError(400, "BAD_AS_OF", `asOf "${ts}" is not an ISO-8601 timestamp`);
  let time = m[2] ?? "00:00:00";
  if (time.length === 5) time += ":00";
  const [whole, frac = ""] = time.split(".");
  const zone = !m[3] || m[3] === "Z" ? "Z" : m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3];
  const ms = Date.parse(`${m[1]}T${whole}.${frac.padEnd(3, "0").slice(0, 3)}${zone}`);
  if (Number.isNaN(ms)) throw new LakeError(400, "BAD_AS_OF", `asOf "${ts}" is not a valid time`);
  return ms;
}

/** "2026-11-24T10:00:00.5+01:00" → "20261124090000500": Hudi's instant format, in UTC. */
export function isoToHudiInstant(ts: string): string {
  return new Date(asOfMillis(ts)).toISOString().replace(/[-:TZ.]/g, "");
}

/** Trino's timestamp literal for the same instant: "2026-11-24 09:00:00.500 UTC". */
function isoToTrino(ts: string): string {
  const iso = new Date(asOfMillis(ts)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC`;
}
