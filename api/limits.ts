/**
 * What one request to the API may take, with the defaults a stack's `lakeform:api` config
 * overrides (stacks/config.ts). No imports: the Pulumi program reads these without loading fastify.
 */
export interface ApiLimits {
  /** A JSON body (POST /query, PATCH rows). Over it: 413 PAYLOAD_TOO_LARGE. */
  jsonBodyBytes: number;
  /** DELETE rows' CSV of keys: read whole, so bounded like a JSON body, if larger. */
  keysBodyBytes: number;
  /** POST /ingest's CSV: streamed to the object store, never held whole. At most 5 GiB (one CopyObject moves it to its key). */
  csvBodyBytes: number;
  /** POST /query's statement timeout: Trino's query_max_run_time for that query. */
  queryTimeoutSec: number;
  /** POST /query's `limit` at most. */
  queryMaxRows: number;
  /** POST /query's `offset` at most: offset + limit rows are fetched from Trino. */
  queryMaxOffset: number;
  /** Spark-backed reads (describe, history, rows, changes) running at once … */
  sparkReads: number;
  /** … and waiting for a turn; one more is 429 TOO_MANY_REQUESTS with Retry-After. */
  sparkReadQueue: number;
}

export const API_LIMITS: Readonly<ApiLimits> = {
  jsonBodyBytes: 1024 * 1024,
  keysBodyBytes: 16 * 1024 * 1024,
  csvBodyBytes: 5 * 1024 ** 3,
  queryTimeoutSec: 60,
  queryMaxRows: 10_000,
  queryMaxOffset: 100_000,
  sparkReads: 4,
  sparkReadQueue: 16,
};

/**
 * The most a request's head (request line and headers) may take. Node's HTTP parser refuses more
 * before any route runs; its default, 16 KiB, is less than a schema-valid URL can take: a `where`
 * of 2,000 characters is up to 24,000 bytes percent-encoded (4 UTF-8 bytes each, 3 characters per
 * byte), so every URL the document allows, plus the headers, fits in this.
 */
export const MAX_HEAD_BYTES = 64 * 1024;
