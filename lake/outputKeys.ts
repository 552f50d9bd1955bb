/**
 * The connection facts a running lakehouse exports (its stack outputs), declared once: the
 * Pulumi program produces them (stacks/index.ts), everything else reads them. No imports, so the
 * command line can read them without loading an SDK.
 */
export const OUTPUT_KEYS = [
  "dataDir",
  "s3Endpoint",
  "s3Region",
  "s3AccessKey",
  "s3SecretKey",
  "warehouseBucket",
  "metastoreUri",
  "sparkJobServer",
  "trinoEndpoint",
  "apiToken",
  /** The API's read-scope token (query, rows, history, changes, status); apiToken is the write scope. */
  "apiReadToken",
  /** Trino's password for TRINO_USERS.admin (Lakeform's writes and maintenance). */
  "trinoPassword",
  /** Trino's password for TRINO_USERS.readOnly (the API's and LakeShell's reads). */
  "trinoReadPassword",
  /** The Trino coordinator's self-signed certificate (PEM): clients of trinoEndpoint (https) pin it. */
  "trinoCertificate",
  /** The secret every request to the Spark job server carries. */
  "jobServerSecret",
] as const;

export type LakeOutputs = Record<(typeof OUTPUT_KEYS)[number], string>;

/** What the reconciler and the API need to reach the engines: a subset of the outputs. */
export type LakeEndpoints = Pick<
  LakeOutputs,
  "s3Endpoint" | "s3Region" | "s3AccessKey" | "s3SecretKey" | "warehouseBucket" | "sparkJobServer" | "trinoEndpoint" | "trinoPassword" | "trinoReadPassword" | "jobServerSecret"
> &
  Partial<Pick<LakeOutputs, "trinoCertificate">>;

/** Checks a plain record of stack outputs (from Pulumi or a cache) and names a missing key. */
export function toLakeOutputs(raw: Record<string, unknown>): LakeOutputs {
  const out = {} as LakeOutputs;
  for (const k of OUTPUT_KEYS) {
    const v = raw[k];
    if (typeof v !== "string") throw new Error(`stack output ${k} is missing: is the lakehouse up? (run: lakeform up)`);
    out[k] = v;
  }
  return out;
}
