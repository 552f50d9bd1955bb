/**
 * Reading the lake through Trino: one query, all pages, columns with their types.
 */
import { BasicAuth, Trino } from "trino-client";
import { isConnectionFailure, LakeformError, type ErrorCode } from "./errors";

/** Trino users Lakeform configures: the admin writes (light path), the read-only one serves /query. */
export const TRINO_USERS = { admin: "lakeform", readOnly: "lakeform_ro" } as const;

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  /** Things the reader should know about these rows (e.g. BIGINTs JSON can't carry exactly). */
  warnings?: string[];
}

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

export class TrinoClient {
  private readonly client: Trino;

  constructor(
    readonly endpoint: string,
    readonly user = "lakeform",
  ) {
    this.client = Trino.create({ server: endpoint, catalog: "hive", schema: "default", auth: new BasicAuth(user) });
  }

  async query(sql: string, opts: { maxRows?: number } = {}): Promise<QueryResult> {
    try {
      return await this.run(sql, opts);
    } catch (err) {
      if (err instanceof TrinoQueryError) throw err;
      if (isConnectionFailure(err)) throw new TrinoQueryError("TRINO_UNAVAILABLE", `Trino at ${this.endpoint} unreachable: ${(err as Error).message}`, undefined, undefined, { cause: err });
      throw new TrinoQueryError("TRINO_ERROR", `Trino at ${this.endpoint}: ${(err as Error).message}`, undefined, undefined, { cause: err });
    }
  }

  private async run(sql: string, opts: { maxRows?: number }): Promise<QueryResult> {
    const iter = await this.client.query(sql);
    const rows: unknown[][] = [];
    let columns: QueryResult["columns"] = [];
    for await (const page of iter) {
      if (page.error) throw TrinoQueryError.fromTrino(page.error);
      if (page.columns && columns.length === 0) columns = page.columns.map((c) => ({ name: c.name, type: c.type }));
      if (page.data) {
        for (const r of page.data) {
          if (opts.maxRows !== undefined && rows.length >= opts.maxRows) break;
          rows.push(r);
        }
      }
    }
    const warnings = inexactBigints(columns, rows);
    return warnings.length > 0 ? { columns, rows, warnings } : { columns, rows };
  }

  /** The single value of a one-row, one-column query. */
  async scalar<T = unknown>(sql: string): Promise<T> {
    const { rows } = await this.query(sql);
    return rows[0]?.[0] as T;
  }
}
