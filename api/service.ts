/**
 * The lake as the REST API and LakeShell see it: tables from tables.yaml, reads through Trino
 * (read-only user), history and time travel, and writes through the reconciler's own path
 * (landed in the object store, applied by the Spark job server, recorded in the commit).
 *
 * Every failure is a LakeformError whose code says what went wrong (lake/errorCodes.json); the
 * edges (api/errors.ts, cli/) turn the code into an HTTP status or an exit code.
 */
import * as path from "node:path";
import type { Logger } from "pino";
import { Readable } from "node:stream";
import { hudiInstant, trinoAsOfClause, type AsOf } from "../lake/asOf";
import { toCsv } from "../lake/csv";
import { resolveChangeRange, resolveCommit } from "../lake/commits";
import { LakeformError } from "../lake/errors";
import type { ApiWriteProgress, DeleteReply, Health, IngestResult, QueryResult, TableDetail, TableInfo, UpdateReply } from "../lake/apiReplies";
import type { ChangeDocument, CommitInfo, JobClient, Observation, ObserveOptions, WriteResult } from "../lake/jobClient";
import { jobTable } from "../lake/jobClient";
import { fencedBy, type TableLeases } from "../lake/lease";
import type { LakeEndpoints } from "../lake/outputs";
import { describeWrite } from "../lake/progress";
import { s3Client } from "../lake/outputs";
import { TrashStore } from "../lake/trash";
import { jobDriver } from "../reconciler/driver";
import { observeLake } from "../reconciler/observe";
import { undropTable, type UndropResult } from "../reconciler/trash";
import { MAX_STREAMED_LANDING_BYTES } from "../lake/sources";
import type { Sources } from "../lake/sources";
import { checked, csvStreamFor } from "./csvStream";
import { nudged, repairPending } from "./repairFirst";
import { dependencyHealth } from "./health";
import { readStatement } from "./statements";
import { loadTables, tableId, type TableSpec } from "../lake/spec";
import { qualifiedTable } from "../lake/sql";
import { MAX_REPLAY_ROWS, QUARANTINE_SUFFIX, replayCsv } from "../lake/expectations";
import { readStatus, type LakeStatus } from "../lake/status";
import { stackTrino, TrinoClient, TrinoQueryError } from "../lake/trino";
import { parseFilter, renderTrino } from "../lake/filter";
import { checkAsOf, checkAssignments, checkCsv, checkCsvFitsTable, checkTableName } from "./validation";

/** How long an API write waits for a table another writer holds. */
export const API_LEASE_WAIT_MS = 10 * 60_000;

/**
 * Observing for a write's check, the history or the columns: no row count (nor data files), so
 * the job server answers from the table's metadata and never counts it with Spark.
 */
const NO_ROWS: ObserveOptions = { rows: false };

export class LakeService {
  readonly trinoRead: TrinoClient;

  constructor(
    /** The engines' addresses (a stack's outputs); the metastore's is only asked by health(). */
    readonly endpoints: LakeEndpoints & { metastoreUri?: string },
    readonly jobs: JobClient,
    readonly sources: Sources,
    readonly tablesFile: string,
    readonly statusFile: string,
    /** The tables' write leases (lake/lease.ts): a write waits its turn behind another writer of the table. */
    readonly leases?: TableLeases,
  ) {
    this.trinoRead = stackTrino(endpoints, "readOnly");
  }

  status(): LakeStatus | undefined {
    return readStatus(this.statusFile);
  }

  /**
   * POST /tables/{t}/undrop: a pruned table back from the trash, its intact files registered in
   * the metastore again with their history (reconciler/trash.ts undropTable). It must be declared
   * in tables.yaml again first (400 otherwise, saying so); 404 when it isn't in the trash.
   */
  async undrop(name: string, log: Pick<Logger, "info" | "warn" | "error">): Promise<UndropResult> {
    const n = checkTableName(name);
    let spec: TableSpec | undefined;
    try {
      spec = this.specs().find((t) => t.name === n);
    } catch (err) {
      // tables.yaml unreadable: undrop says what it needs (the table declared) rather than guess.
      if (!(err instanceof LakeformError)) throw err;
    }
    const deps = {
      driver: jobDriver(this.jobs),
      trash: new TrashStore(s3Client(this.endpoints), this.endpoints.warehouseBucket),
      warehouseBucket: this.endpoints.warehouseBucket,
      log,
      leases: this.leases,
    };
    return undropTable(deps, spec, { database: spec?.database ?? "default", name: n }, this.tablesFile);
  }

  /** The tables of tables.yaml; a SpecError (SPEC_INVALID) when the file can't be used. */
  specs(): TableSpec[] {
    return loadTables(this.tablesFile).tables;
  }

  spec(name: string): TableSpec {
    const n = checkTableName(name);
    const spec = this.specs().find((t) => t.name === n);
    if (!spec) throw new LakeformError("UNKNOWN_TABLE", `no table "${n}" in ${path.basename(this.tablesFile)}`, { table: n });
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
    const observed = await this.jobs.observe(jobTable(t, this.endpoints.warehouseBucket), NO_ROWS);
    if (!observed.exists) throw new LakeformError("TABLE_MISSING", `table ${t.name} is declared but not in the lake yet`, { table: t.name });
    return observed.commits;
  }

  /** The table's writes in flight, whoever asked for them (this API, the reconciler), each with a line for people. */
  async progress(name: string): Promise<{ table: string; writes: ApiWriteProgress[] }> {
    const t = this.spec(name);
    const writes = await this.jobs.progress({ database: t.database, name: t.name });
    return { table: t.name, writes: writes.map((w) => ({ ...w, message: describeWrite(w) })) };
  }

  /**
   * Rows as of a commit or a time. The asOf is resolved against the table's history first: a
   * commit it never had is UNKNOWN_COMMIT, one retention removed COMMIT_EXPIRED, a time before its
   * first commit gives no rows; then the version is read, Iceberg through Trino, Hudi through
   * Spark (Trino's Hudi connector has no time travel). A failure keeps its cause's code: Spark
   * being down is SPARK_UNAVAILABLE, not the caller's fault.
   */
  async travel(name: string, asOfText: string, limit = 1000, where?: string): Promise<QueryResult> {
    const t = this.spec(name);
    const asOf = checkAsOf(asOfText);
    const observed = await this.commitsOf(t);
    const commit = resolveCommit(t.name, observed, asOf);
    // Parsed once into a tree and type-checked against the table's columns (the newest schema:
    // a column added later isn't in an older version, and the engines then say so).
    const filter = where ? parseFilter(where, observed.columns) : undefined;
    if (commit === null) return { columns: observed.columns, rows: [] };
    // The version read is the commit the asOf resolved to, so travel and history always agree.
    const version: AsOf = { kind: "commit", input: asOfText, commit };
    if (t.format === "iceberg") {
      const sql = `SELECT * FROM ${qualifiedTable("iceberg", t.database, t.name)} ${trinoAsOfClause(version)}${filter ? ` WHERE ${renderTrino(filter, observed.columns)}` : ""}`;
      const res = await this.trinoRead.query(sql, { maxRows: limit });
      return { columns: res.columns, rows: res.rows, ...(res.warnings ? { warnings: res.warnings } : {}) };
    }
    const res = await this.jobs.travel(jobTable(t, this.endpoints.warehouseBucket), hudiInstant(version), filter, limit);
    return { columns: res.columns.map((c, i) => ({ name: c, type: res.types[i] })), rows: res.rows };
  }

  /**
   * One read statement (api/statements.ts says what a read is: anything else is QUERY_REFUSED
   * before Trino sees it; the read-only Trino user's grants are the second line). Each query has
   * a session of its own: timeoutSec becomes its query_max_run_time (over it: QUERY_TIMEOUT),
   * and signal cancels it on Trino (the caller went away). Fetches limit + 1 rows at most.
   */
  async query(sql: string, limit = 1000, opts: { timeoutSec?: number; signal?: AbortSignal } = {}): Promise<QueryResult & { truncated: boolean }> {
    const text = readStatement(sql);
    const session = opts.timeoutSec ? { query_max_run_time: `${opts.timeoutSec}s` } : undefined;
    const res = await this.trinoRead.query(text, { maxRows: limit + 1, session, signal: opts.signal }).catch((err: unknown) => {
      if (err instanceof TrinoQueryError && err.errorName === "EXCEEDED_TIME_LIMIT") {
        throw new LakeformError("QUERY_TIMEOUT", `the query ran over ${opts.timeoutSec ?? "Trino's"} s statement timeout (lakeform:api.queryTimeoutSec) and was cancelled`, { timeoutSec: opts.timeoutSec }, { cause: err });
      }
      throw err;
    });
    return { columns: res.columns, rows: res.rows.slice(0, limit), truncated: res.rows.length > limit, ...(res.warnings ? { warnings: res.warnings } : {}) };
  }

  /**
   * Upserts CSV content into a table through the reconciler's path: landed in the object store
   * by content hash, applied by the job server, recorded in the commit's metadata. A failed
   * landing is OBJECT_STORE_ERROR; a failed write keeps the job server's code.
   *
   * A Buffer is checked whole before it is landed (rectangular, the named columns there, no
   * empty key). A stream (an API upload, up to maxBytes) is never held whole: it is landed as it
   * arrives, its header checked against the table from its first bytes (a missing named column
   * aborts the upload); its rows are the job server's to check, which refuses a bad one (ragged,
   * mistyped, an empty key) before it commits. `path`: "spark" keeps the write on the Spark path;
   * by default an Iceberg batch within the job server's budget takes the Arrow path (no Spark job).
   */
  async ingestCsv(name: string, csv: Buffer | Readable, sourceName = "upload.csv", opts: { maxBytes?: number; path?: "auto" | "spark"; badRows?: "refuse" | "quarantine" } = {}): Promise<IngestResult> {
    const t = this.spec(name);
    let landed: Awaited<ReturnType<Sources["landContent"]>>;
    // With bad rows quarantined, only the header is the API's to check (the job server keeps the bad rows aside).
    if (Buffer.isBuffer(csv) && opts.badRows === "quarantine") csv = Readable.from([csv]);
    if (Buffer.isBuffer(csv)) {
      checkCsvFitsTable(checkCsv(csv), t);
      landed = await this.sources.landContent(sourceName, csv);
    } else {
      landed = await this.sources.landStream(sourceName, checked(csv, csvStreamFor(t, opts.maxBytes ?? MAX_STREAMED_LANDING_BYTES)));
    }
    const { source, uri } = landed;
    return this.underLease(t, `api: ingest ${sourceName}`, (lake) =>
      this.jobs.write(jobTable(t, this.endpoints.warehouseBucket), { uri, hash: source.hash, name: sourceName }, t.generation, { mustExist: lake.exists, path: opts.path, badRows: opts.badRows }),
    );
  }

  /**
   * `lakeform quarantine replay <table>`: the rows in <table>__quarantine (lake/expectations.ts)
   * read through Trino, landed as one CSV and written like an ingest, so the expectations as
   * tables.yaml has them now check them again (still broken: quarantined again, under the
   * replay's keys); the job server removes the replayed rows from the quarantine table once the
   * table's write committed. Nothing quarantined: no write.
   */
  async replayQuarantine(name: string): Promise<{ table: string; replayed: number; write?: WriteResult }> {
    const t = this.spec(name);
    const quarantine = `${t.name}${QUARANTINE_SUFFIX}`;
    const res = await this.trinoRead
      .query(`SELECT * FROM ${qualifiedTable(t.format, t.database, quarantine)} ORDER BY "_source", "_line"`, { maxRows: MAX_REPLAY_ROWS })
      // No quarantine table yet: nothing was ever quarantined.
      .catch((err: unknown) => {
        if (err instanceof TrinoQueryError && err.errorName === "TABLE_NOT_FOUND") return { columns: [], rows: [] };
        throw err;
      });
    if (res.rows.length === 0) return { table: tableId(t), replayed: 0 };
    const { csv, keys } = replayCsv(res.columns.map((c) => c.name), res.rows);
    const sourceName = `quarantine-replay-${new Date().toISOString().replace(/[-:.]/g, "")}.csv`;
    const { source, uri } = await this.sources.landContent(sourceName, Buffer.from(csv));
    const write = await this.underLease(t, `quarantine replay ${sourceName}`, (lake) =>
      this.jobs.write(jobTable(t, this.endpoints.warehouseBucket), { uri, hash: source.hash, name: sourceName }, t.generation, { mustExist: lake.exists, path: "spark", quarantineKeys: keys, badRows: "quarantine" }),
    );
    return { table: tableId(t), replayed: keys.length, write };
  }

  /** The engines' health as GET /healthz reports it (api/health.ts): S3, the metastore, the job server, Trino. */
  health(): Promise<Health> {
    return dependencyHealth(this);
  }

  /**
   * Runs a write holding the table's lease: behind another writer (the reconciler, another API
   * process) it queues, up to API_LEASE_WAIT_MS, then fails with TABLE_BUSY (409, retryable).
   * Under the lease the table is observed as the reconciler's pass observes it, and one that
   * needs a repair first (rebuilding, re-registering, resyncing: plan.ts repairOf) is not written
   * (REPAIR_PENDING, 409, retryable). The write is handed that observation.
   */
  private async underLease<T>(t: TableSpec, purpose: string, write: (lake: Observation) => Promise<T>): Promise<T> {
    if (!this.leases) return write(await this.observeForWrite(t));
    const lease = await this.leases.acquire({ database: t.database, name: t.name }, purpose, API_LEASE_WAIT_MS);
    try {
      // Fenced: the job server commits nothing once the lease changed hands or expired (LEASE_LOST).
      return await fencedBy(lease, async () => write(await this.observeForWrite(t)));
    } finally {
      await lease.release();
    }
  }

  /** The table as a write finds it; REPAIR_PENDING when the reconciler must repair it first. */
  private async observeForWrite(t: TableSpec): Promise<Observation> {
    const lake = await observeLake({ driver: jobDriver(this.jobs), warehouseBucket: this.endpoints.warehouseBucket }, t, NO_ROWS);
    const refusal = repairPending(t, lake);
    if (refusal) throw nudged(this.statusFile, t, refusal);
    return lake;
  }

  /** The table's commits as the format keeps them; a table not in the lake yet is TABLE_MISSING. */
  private async commitsOf(t: TableSpec) {
    const observed = await this.jobs.observe(jobTable(t, this.endpoints.warehouseBucket), NO_ROWS);
    if (!observed.exists) throw new LakeformError("TABLE_MISSING", `table ${t.name} is declared but not in the lake yet`, { table: t.name });
    return observed;
  }

  /** The table's columns with their types, for a filter's type check; a table not in the lake yet is TABLE_MISSING. */
  private async columnTypesOf(t: TableSpec): Promise<{ name: string; type: string }[]> {
    const observed = await this.jobs.observe(jobTable(t, this.endpoints.warehouseBucket), NO_ROWS);
    // A delete or update of a table the reconciler must repair first says so, not "missing".
    const refusal = repairPending(t, observed);
    if (refusal) throw nudged(this.statusFile, t, refusal);
    if (!observed.exists || observed.columns.length === 0) throw new LakeformError("TABLE_MISSING", `table ${t.name} is declared but not in the lake yet`, { table: t.name });
    return observed.columns;
  }

  private async columnsOf(name: string): Promise<string[]> {
    const columns = (await this.describe(name)).columns.map((c) => c.name);
    if (columns.length === 0) throw new LakeformError("TABLE_MISSING", `table ${name} is declared but not in the lake yet`, { table: name });
    return columns;
  }

  /** Applies a landed change document through the job server; its failures keep their codes. */
  private applyWrite(t: TableSpec, source: { uri: string; hash: string; name: string }): Promise<WriteResult> {
    return this.underLease(t, `api: ${source.name}`, (lake) => this.jobs.write(jobTable(t, this.endpoints.warehouseBucket), source, t.generation, { mustExist: lake.exists }));
  }

  /**
   * Deletes rows by key (a CSV whose header names the key columns) or by a filter in the travel
   * filter's grammar, through the write path: the request is landed and journaled, and the
   * commit carries Lakeform's metadata like an ingest's. Nothing matched: no commit. A dry run
   * (a filter only) counts the rows the delete would remove, with the delete's own selection, and
   * writes nothing.
   */
  async deleteRows(
    name: string,
    by: { keysCsv?: Buffer; where?: string },
    origin = "api",
    opts: { dryRun?: boolean } = {},
  ): Promise<DeleteReply> {
    const t = this.spec(name);
    if ((by.keysCsv === undefined) === (by.where === undefined)) {
      throw new LakeformError("BAD_REQUEST", "send either a CSV of keys as the body or a where filter, not both and not neither");
    }
    if (opts.dryRun) {
      if (by.where === undefined) throw new LakeformError("BAD_REQUEST", "a dry run counts the rows of a where filter: send where, not a CSV of keys");
      const filter = parseFilter(by.where, await this.columnTypesOf(t));
      const rows = await this.jobs.count(jobTable(t, this.endpoints.warehouseBucket), filter);
      return { table: t.name, commit: null, rowsDeleted: rows, dryRun: true };
    }
    const doc: ChangeDocument = { lakeformChange: 1, op: "delete", requestedAt: new Date().toISOString() };
    let label: string;
    if (by.keysCsv !== undefined) {
      const keys = checkCsv(by.keysCsv);
      const missing = t.primaryKey.filter((k) => !keys.columns.includes(k));
      if (missing.length) throw new LakeformError("BAD_CSV", `the CSV of keys needs the key column(s) ${missing.join(", ")} in its header (it has ${keys.columns.join(", ")})`);
      const { uri } = await this.sources.landContent(`${origin}-delete-keys.csv`, by.keysCsv);
      doc.keys = uri;
      label = `${origin}-delete (keys)`;
    } else {
      doc.where = (by.where ?? "").trim();
      doc.filter = parseFilter(doc.where, await this.columnTypesOf(t));
      label = `${origin}-delete (where ${doc.where})`;
    }
    const { source, uri } = await this.sources.landChange(doc);
    const res = await this.applyWrite(t, { uri, hash: source.hash, name: label.slice(0, 200) });
    return { table: t.name, commit: res.commit || null, rowsDeleted: res.rowsDeleted ?? 0 };
  }

  /** `update t set c = v, … where …`: the matching rows upserted with new values, through the write path. */
  async updateRows(name: string, set: Record<string, string | null>, where: string, origin = "api"): Promise<UpdateReply> {
    const t = this.spec(name);
    const columns = await this.columnTypesOf(t);
    const doc: ChangeDocument = {
      lakeformChange: 1,
      op: "update",
      set: checkAssignments(set, t, columns.map((c) => c.name)),
      filter: parseFilter(where, columns),
      where: where.trim(),
      requestedAt: new Date().toISOString(),
    };
    const { source, uri } = await this.sources.landChange(doc);
    const label = `${origin}-update (${Object.keys(doc.set).join(", ")} where ${doc.where})`;
    const res = await this.applyWrite(t, { uri, hash: source.hash, name: label.slice(0, 200) });
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
    const range = resolveChangeRange(t.name, observed, checkAsOf(since), until ? checkAsOf(until) : undefined);
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
  async insertValues(name: string, rows: string[][]): Promise<IngestResult> {
    const detail = await this.describe(name);
    const cols = detail.columns.map((c) => c.name);
    if (cols.length === 0) throw new LakeformError("TABLE_MISSING", `table ${name} has no columns yet: ingest a CSV first`, { table: name });
    for (const r of rows) {
      if (r.length !== cols.length) {
        throw new LakeformError("BAD_VALUES", `expected ${cols.length} values (${cols.join(", ")}), got ${r.length}`);
      }
    }
    return this.ingestCsv(name, Buffer.from(toCsv(cols, rows)), "insert.csv");
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
