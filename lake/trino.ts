/**
 * Reading the lake through Trino: one query, all pages, columns with their types.
 */
import { BasicAuth, Trino } from "trino-client";

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

export class TrinoQueryError extends Error {
  readonly code = "QUERY_FAILED";
  constructor(
    message: string,
    readonly errorName?: string,
    readonly errorType?: string,
  ) {
    super(message);
    this.name = "TrinoQueryError";
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
    const iter = await this.client.query(sql);
    const rows: unknown[][] = [];
    let columns: QueryResult["columns"] = [];
    for await (const page of iter) {
      if (page.error) throw new TrinoQueryError(page.error.message, page.error.errorName, page.error.errorType);
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
