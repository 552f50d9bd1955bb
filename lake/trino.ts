/**
 * Reading the lake through Trino: one query, all pages, columns with their types.
 */
import { BasicAuth, Trino } from "trino-client";
import type { QueryResult } from "./apiReplies";
import { isConnectionFailure, LakeformError, type ErrorCode } from "./errors";
import type { LakeOutputs } from "./outputKeys";

/** Trino users Lakeform configures: the admin writes (light path), the read-only one serves /query. */
export const TRINO_USERS = { admin: "lakeform", readOnly: "lakeform_ro" } as const;

/** Rows with their columns (lake/apiReplies.ts's RowsSchema). */
export type { QueryResult };

/**
 * Trino sends BIGINTs as JSON numbers and the client parses them into doubles, exact only up to
 * 2^53. Those values can't be recovered here, but they can be named, so nobody copies a wrong id.
 */
export function inexactBigints(columns: QueryResult["columns"], rows: unknown[][]): string[] {
  const cols = columns.flatMap((c, i) => (c.type === "bigint" ? [i] : []));
  const lossy = cols.filter((i) => rows.some((r) => typeof r[i] === "number" && !Number.isSafeInteger(r[i])));
  return lossy.map(
    (i) => `column ${columns[i].name}: BIGINT values beyond 2^53 are not exact in JSON; select CAST(${columns[i].name} AS varchar) to read them exactly`,
  );
}

/** A query Trino refused or failed, or Trino out of reach; the code says which. */
export class TrinoQueryError extends LakeformError {
  constructor(
    code: ErrorCode,
    message: string,
    /** Trino's own error name and type (USER_ERROR, INTERNAL_ERROR, …), when it answered. */
    readonly errorName?: string,
    readonly errorType?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, errorName ? { errorName, errorType } : {}, options);
    this.name = "TrinoQueryError";
  }

  /**
   * Trino's verdict on a query as a code: access control refusing it (the read-only user
   * writing) is QUERY_REFUSED; any other user error (syntax, unknown table) is BAD_STATEMENT; Trino
   * short of resources is TRINO_UNAVAILABLE; the rest is Trino's own failure.
   */
  static fromTrino(error: { message: string; errorName?: string; errorType?: string }): TrinoQueryError {
    const code: ErrorCode =
      error.errorName === "PERMISSION_DENIED" || /Access Denied/i.test(error.message) ? "QUERY_REFUSED"
      : error.errorType === "USER_ERROR" ? "BAD_STATEMENT"
      : error.errorType === "INSUFFICIENT_RESOURCES" ? "TRINO_UNAVAILABLE"
      : "TRINO_ERROR";
    return new TrinoQueryError(code, error.message, error.errorName, error.errorType);
  }
}

/** Who Lakeform is to Trino: a user of the password file (lake/trino's TRINO_USERS) and its password. */
export interface TrinoCredentials {
  user: string;
  /** Left out only for a Trino without password authentication (a user's own cluster may have none). */
  password?: string;
  /** PEM certificate(s) to trust for an https:// endpoint: Lakeform's Trino has a self-signed one (the stack output trinoCertificate). */
  ca?: string;
}

export interface TrinoQueryOptions {
  /** Rows to keep at most: once they are in, the query is cancelled rather than paged to its end. */
  maxRows?: number;
  /** Session properties for this query alone (e.g. query_max_run_time). */
  session?: Record<string, string>;
  /** Cancels the query on Trino when it fires (the HTTP caller went away). */
  signal?: AbortSignal;
}

/**
 * One query per Trino client of the driver: trino-client keeps what a statement's response sets
 * (X-Trino-Set-Session, prepared statements, USE) on its client object for the next request, so a
 * client shared by callers would let one caller's `SET SESSION` change another's queries. A fresh
 * one per query keeps no state between queries.
 */
export class TrinoClient {
  constructor(
    readonly endpoint: string,
    readonly credentials: TrinoCredentials = { user: TRINO_USERS.admin },
  ) {}

  get user(): string {
    return this.credentials.user;
  }

  async query(sql: string, opts: TrinoQueryOptions = {}): Promise<QueryResult> {
    try {
      return await this.run(sql, opts);
    } catch (err) {
      if (err instanceof TrinoQueryError) throw err;
      if (isConnectionFailure(err)) throw new TrinoQueryError("TRINO_UNAVAILABLE", `Trino at ${this.endpoint} unreachable: ${(err as Error).message}`, undefined, undefined, { cause: err });
      const status = (err as { response?: { status?: number } }).response?.status;
      if (status === 401) throw new TrinoQueryError("TRINO_ERROR", `Trino at ${this.endpoint} refused Lakeform's credentials for user ${this.user} (401)`, undefined, undefined, { cause: err });
      throw new TrinoQueryError("TRINO_ERROR", `Trino at ${this.endpoint}: ${(err as Error).message}`, undefined, undefined, { cause: err });
    }
  }

  private async run(sql: string, opts: TrinoQueryOptions): Promise<QueryResult> {
    const client = Trino.create({
      server: this.endpoint,
      catalog: "hive",
      schema: "default",
      source: "lakeform",
      auth: new BasicAuth(this.credentials.user, this.credentials.password),
      session: opts.session,
      ...(this.credentials.ca ? { ssl: { ca: this.credentials.ca } } : {}),
    });
    if (opts.signal?.aborted) throw new LakeformError("BAD_REQUEST", "the caller went away before the query started");
    const iter = await client.query(sql);
    const rows: unknown[][] = [];
    let columns: QueryResult["columns"] = [];
    // The statement's id is in Trino's first answer: trino-client's iterator yields no page until
    // rows arrive, so a long query (a count over a big join) would not be cancellable until then.
    let queryId: string | undefined = (iter as unknown as { iter?: { queryResult?: { id?: string } } }).iter?.queryResult?.id;
    let cancelled = false;
    const cancel = () => {
      if (queryId && !cancelled) {
        cancelled = true;
        client.cancel(queryId).catch(() => undefined);
      }
    };
    opts.signal?.addEventListener("abort", cancel, { once: true });
    try {
      for await (const page of iter) {
        queryId ??= page.id;
        if (opts.signal?.aborted) {
          cancel();
          throw new LakeformError("BAD_REQUEST", "the caller went away; the query was cancelled");
        }
        if (page.error) throw TrinoQueryError.fromTrino(page.error);
        if (page.columns && columns.length === 0) columns = page.columns.map((c) => ({ name: c.name, type: c.type }));
        for (const r of page.data ?? []) {
          if (opts.maxRows !== undefined && rows.length >= opts.maxRows) break;
          rows.push(r);
        }
        // Enough rows, and columns known: the rest of the result is never fetched.
        if (opts.maxRows !== undefined && rows.length >= opts.maxRows && columns.length > 0) {
          cancel();
          break;
        }
      }
    } finally {
      opts.signal?.removeEventListener("abort", cancel);
    }
    const warnings = inexactBigints(columns, rows);
    return warnings.length > 0 ? { columns, rows, warnings } : { columns, rows };
  }

  /** The single value of a one-row, one-column query. */
  async scalar<T = unknown>(sql: string, opts: TrinoQueryOptions = {}): Promise<T> {
    const { rows } = await this.query(sql, opts);
    return rows[0]?.[0] as T;
  }
}

/** A client of the stack's Trino as one of Lakeform's users, with the password the stack generated. */
export function stackTrino(
  outs: Pick<LakeOutputs, "trinoEndpoint" | "trinoPassword" | "trinoReadPassword"> & Partial<Pick<LakeOutputs, "trinoCertificate" | "trinoUser" | "trinoReadUser">>,
  role: keyof typeof TRINO_USERS,
): TrinoClient {
  return new TrinoClient(outs.trinoEndpoint, {
    // An external Trino's users (stack outputs trinoUser, trinoReadUser), else Lakeform's own.
    user: (role === "admin" ? outs.trinoUser : outs.trinoReadUser) ?? TRINO_USERS[role],
    password: role === "admin" ? outs.trinoPassword : outs.trinoReadPassword,
    ...(outs.trinoCertificate ? { ca: outs.trinoCertificate } : {}),
  });
}
