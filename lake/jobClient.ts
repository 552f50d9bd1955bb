/**
 * Client of the Spark job server (jobs/job_server.py --serve, the package jobs/lakeform_jobs/): the warm Spark driver that
 * performs every write and every observation of table state.
 */
import { isConnectionFailure, isErrorCode, LakeformError, type ErrorCode } from "./errors";
import type { FilterNode } from "./filter";
import type { ChangesResult, JobOperation, JobReply, JobRequest, JobServerHealth, JobTable, MaintainResult, Observation, TravelResult, WriteProgress, WriteResult } from "./jobServerContract";
import { currentLease } from "./lease";
import type { TableSpec } from "./spec";
import { Agent, fetch, type Response } from "undici";

/**
 * The job server's connections: no headers or body timeout of their own. A write answers when it
 * has committed, which for a source of gigabytes is many minutes after the request (undici's
 * default, fetch's, gives up on the headers after 300 s: the reconciler then retried a 5 GB load
 * the job server was still writing); each request's own AbortSignal bounds it instead.
 */
const JOB_SERVER_AGENT = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

// The job server's requests and replies are the contract's (lake/jobServerContract.ts), declared once.
export type {
  ChangeDocument,
  ChangesResult,
  CommitInfo,
  JobServerHealth,
  JobTable,
  JournalEntry,
  MaintainResult,
  Observation,
  TravelResult,
  WriteProgress,
  WriteResult,
  WriteStageProfile,
} from "./jobServerContract";

/** fetch's own message is "fetch failed"; the reason (ECONNREFUSED, …) is in its cause. */
function connectionMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const m = (e as Error).message || (e as { code?: string }).code;
    if (m && !parts.includes(m)) parts.push(m);
  }
  return parts.join(": ") || String(err);
}

export interface ObserveOptions {
  /** false: the row count and data files aren't wanted (rowCount null, dataFiles absent unless known). */
  rows?: boolean;
}

/** A failure the job server reported (its code, from lake/errorCodes.json), or failing to reach it. */
export class JobError extends LakeformError {
  constructor(
    code: ErrorCode,
    message: string,
    /** The job server's own detail (a Python traceback's tail): for logs, never for API replies. */
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, {}, options);
    this.name = "JobError";
  }
}

/**
 * The error of a job server reply: `{"ok": false, "error": {"code", "message", "detail"}}`.
 * A reply without a known code is a SPARK_ERROR (naming the code it had, if any).
 */
export function jobErrorFromReply(httpStatus: number, body: unknown): JobError {
  const e = (body as { error?: { code?: unknown; message?: unknown; detail?: unknown } } | undefined)?.error;
  const message = typeof e?.message === "string" && e.message ? e.message : `job server answered HTTP ${httpStatus}`;
  const detail = typeof e?.detail === "string" ? e.detail : undefined;
  if (isErrorCode(e?.code)) return new JobError(e.code, message, detail);
  const unknown = typeof e?.code === "string" ? e.code : undefined;
  return new JobError("SPARK_ERROR", unknown ? `${message} (job server error code ${unknown})` : message, detail);
}

/** Where Lakeform keeps a table's files: one place decides, for writes and for prunes alike. */
export function tableLocation(warehouseBucket: string, database: string, name: string): string {
  return `s3a://${warehouseBucket}/${database}/${name}`;
}

export function jobTable(t: TableSpec, warehouseBucket: string): JobTable {
  return {
    name: t.name,
    database: t.database,
    format: t.format,
    primaryKey: t.primaryKey,
    orderingField: t.orderingField,
    partitionBy: t.partitionBy,
    schemaPolicy: t.schemaPolicy,
    ...(t.columns ? { columns: t.columns } : {}),
    deleteWhen: t.deleteWhen,
    retain: t.retain,
    targetFileSizeMB: t.targetFileSizeMB,
    ...(t.expect ? { expect: t.expect } : {}),
    location: tableLocation(warehouseBucket, t.database, t.name),
  };
}

export interface JobClientOptions {
  /** The stack's jobServerSecret (outputs.jobServerSecret): sent as a bearer token on every request but /healthz. */
  secret: string;
}

export class JobClient {
  readonly #authorization: string;

  constructor(
    readonly baseUrl: string,
    opts: JobClientOptions,
  ) {
    // The job server refuses every request without it: failing here says why at once.
    if (!opts.secret) throw new LakeformError("BAD_REQUEST", "JobClient needs the stack's jobServerSecret (outputs.jobServerSecret)");
    this.#authorization = `Bearer ${opts.secret}`;
  }

  /**
   * A request made under a table's lease (lake/lease.ts: fencedBy) carries the lease's key and
   * generation (`lease` in the body), which the job server checks against the lease object right
   * before it commits (LEASE_LOST when it changed hands or expired), and is aborted when the lease
   * is lost.
   */
  private async post<T, Op extends JobOperation = JobOperation>(op: Op, body: Omit<JobRequest<Op>, "lease">, timeoutMs = 30 * 60_000): Promise<T> {
    const lease = currentLease();
    if (lease?.signal.aborted) throw lease.signal.reason;
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/v1/${op}`, {
        dispatcher: JOB_SERVER_AGENT,
        method: "POST",
        headers: { "content-type": "application/json", authorization: this.#authorization },
        body: JSON.stringify(lease ? { ...(body as object), lease: lease.fence } : body),
        signal: lease ? AbortSignal.any([AbortSignal.timeout(timeoutMs), lease.signal]) : AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (lease?.signal.aborted) throw lease.signal.reason;
      throw new JobError("SPARK_UNAVAILABLE", `Spark job server at ${this.baseUrl} unreachable: ${connectionMessage(err)}`, undefined, { cause: err });
    }
    let json: { ok?: boolean } & T;
    try {
      json = (await res.json()) as { ok?: boolean } & T;
    } catch (err) {
      if (lease?.signal.aborted) throw lease.signal.reason;
      // The connection dropped mid-reply (the driver died), or the reply isn't JSON.
      if (isConnectionFailure(err)) throw new JobError("SPARK_UNAVAILABLE", `Spark job server at ${this.baseUrl} went away mid-reply: ${connectionMessage(err)}`, undefined, { cause: err });
      throw new JobError("SPARK_ERROR", `job server answered HTTP ${res.status} with no JSON body`, undefined, { cause: err });
    }
    if (!res.ok || json.ok === false) throw jobErrorFromReply(res.status, json);
    return json;
  }

  /** The writes in flight (all, or one table's): stage, rows and bytes done. */
  async progress(table?: Pick<JobTable, "database" | "name">): Promise<WriteProgress[]> {
    const q = table ? `?table=${encodeURIComponent(`${table.database}.${table.name}`)}` : "";
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/progress${q}`, { headers: { authorization: this.#authorization }, signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw new JobError("SPARK_UNAVAILABLE", `Spark job server at ${this.baseUrl} unreachable: ${connectionMessage(err)}`, undefined, { cause: err });
    }
    const json = (await res.json().catch(() => ({}))) as { writes?: WriteProgress[] };
    if (!res.ok || !Array.isArray(json.writes)) throw new JobError("SPARK_ERROR", `job server answered HTTP ${res.status} to /progress`);
    return json.writes;
  }

  async healthy(): Promise<boolean> {
    return (await this.health()) !== undefined;
  }

  /** What /healthz says (the Spark version, the index Hudi upserts use); undefined when the job server doesn't answer. */
  async health(): Promise<JobServerHealth | undefined> {
    try {
      const res = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
      return res.ok ? ((await res.json().catch(() => ({}))) as JobServerHealth) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * What the table holds. The job server answers from the table's metadata (no Spark job) what
   * hasn't changed since it last asked Spark; `rows: false` when neither the row count nor the
   * data files are needed (a write's check), so a changed table isn't counted either.
   */
  observe(table: JobTable, opts: ObserveOptions = {}): Promise<Observation> {
    return this.post("observe", { table, ...(opts.rows === false ? { rows: false } : {}) }, 10 * 60_000);
  }

  /**
   * `source.once`: not written again when a commit of the table already carries its hash (checked under the job server's table lock).
   * `source.journal: false`: a rebuild's replay of a journal entry, not journaled again (its entry is there).
   * `source.replay`: that entry's commit and the rebuild's last, kept in the commit (a stopped rebuild resumes after it).
   * `mustExist`: the caller saw the table (catalog entry and files); the job server refuses (REPAIR_PENDING) rather than create one.
   * `path`: "spark" keeps the write on the Spark path; by default an Iceberg batch within the job server's budget takes the Arrow path.
   * `badRows`: "quarantine" writes the good rows and keeps the bad ones in `<table>__quarantine` (jobs/lakeform_jobs/bad_rows.py); by default a bad row refuses the source.
   */
  write(
    table: JobTable,
    source: JobRequest<"write">["source"] & { name: string },
    generation: string,
    opts: { mustExist?: boolean; path?: JobRequest<"write">["path"]; quarantineKeys?: string[]; badRows?: JobRequest<"write">["badRows"] } = {},
  ): Promise<WriteResult> {
    return this.post("write", {
      table, source, generation,
      ...(opts.mustExist ? { mustExist: true } : {}),
      ...(opts.badRows === "quarantine" ? { badRows: "quarantine" as const } : {}),
      ...(opts.path && opts.path !== "auto" ? { path: opts.path } : {}),
      ...(opts.quarantineKeys?.length ? { quarantineKeys: opts.quarantineKeys } : {}),
    });
  }

  drop(table: Pick<JobTable, "name" | "database" | "format" | "location">, purge: boolean): Promise<JobReply<"drop">> {
    return this.post("drop", { table, purge });
  }

  /** Removes a table's metastore entry only (its files are gone), without loading the table. Idempotent. */
  forgetCatalog(table: Pick<JobTable, "name" | "database" | "format" | "location">): Promise<JobReply<"forget_catalog">> {
    return this.post("forget_catalog", { table });
  }

  /** Moves files left at a location that holds no table aside (not deleted), so a table can be made there. Idempotent. */
  clearLeftovers(table: Pick<JobTable, "name" | "database" | "format" | "location">): Promise<JobReply<"clear_leftovers">> {
    return this.post("clear_leftovers", { table });
  }

  /** Puts a table whose files are intact back into the metastore, with its history. */
  register(table: JobTable): Promise<JobReply<"register">> {
    return this.post("register", { table }, 10 * 60_000);
  }

  /**
   * Syncs a metastore entry that lags the table's latest commit (columns, types, the commit last
   * synced) again; nothing is rewritten. `drift`: how it lagged (empty: it didn't, nothing done).
   */
  resync(table: JobTable): Promise<JobReply<"resync">> {
    return this.post("resync", { table }, 10 * 60_000);
  }

  /** Iceberg partition evolution to the table's partitionBy: metadata only, no data file rewritten. */
  evolvePartitions(table: JobTable): Promise<JobReply<"evolve_partitions">> {
    return this.post("evolve_partitions", { table }, 10 * 60_000);
  }

  /**
   * Changes after commit `since` (null: from the table's first commit) up to and including
   * `until` (null: the newest), one row per change with its commit.
   */
  changes(table: JobTable, since: string | null, until: string | null, limit = 10_000): Promise<ChangesResult> {
    return this.post("changes", { table, since, until, limit }, 10 * 60_000);
  }

  /** Retention, orphan files and compaction, between writes (the job server holds the table's write lock). */
  maintain(table: JobTable): Promise<MaintainResult> {
    return this.post("maintain", { table }, 30 * 60_000);
  }

  /**
   * Rewrites the table's current rows into a table of `table`'s layout (`previous`: the layout it
   * has), verifies it and swaps it into the metastore in one step; the replaced table goes to the
   * trash for `trashDays` (jobs/lakeform_jobs/rebuild.py). A rebuild stopped earlier is settled first.
   */
  rebuild(table: JobTable, previous: JobRequest<"rebuild">["previous"], generation: string, opts: { trashDays?: number; declaredIn?: string } = {}): Promise<JobReply<"rebuild">> {
    const { trashDays, declaredIn } = opts;
    return this.post("rebuild", { table, previous, generation, ...(trashDays ? { trashDays } : {}), ...(declaredIn ? { declaredIn } : {}) }, 60 * 60_000);
  }

  /**
   * Rows of a table as of a commit (Hudi: as.of.instant; Iceberg: snapshot or timestamp), those a
   * filter tree matches (lake/filter.ts): the job server builds Spark Columns from the tree, never
   * SQL text. `types` are the columns' Spark types.
   */
  travel(table: JobTable, asOf: string, filter?: FilterNode, limit = 1000): Promise<TravelResult> {
    return this.post("travel", { table, asOf, filter, limit });
  }

  /**
   * `lakeform doctor`'s Spark side: the driver's Spark, Scala, Hudi and Iceberg bundle versions,
   * and whether Spark itself reaches S3 (a canary written, read and deleted through S3A) and the
   * metastore (its Hive client). Each reach is bounded on the job server; this waits a little longer.
   */
  doctor(checks?: JobRequest<"doctor">["checks"], timeoutMs = 120_000): Promise<JobReply<"doctor">> {
    return this.post("doctor", checks ? { checks } : {}, timeoutMs);
  }

  /** How many of the table's current rows a filter tree matches: what a delete by it would remove, nothing written. */
  async count(table: JobTable, filter: FilterNode): Promise<number> {
    const res = await this.post<JobReply<"count">, "count">("count", { table, filter }, 10 * 60_000);
    return res.rows;
  }
}
