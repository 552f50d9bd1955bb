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

/**
 * Outputs a stack may leave out (stacks from before them, or with everything provisioned): each
 * reader has the default. Set for external services (issue 24).
 */
export const OPTIONAL_OUTPUT_KEYS = [
  /** "false": AWS S3's virtual-hosted style (bucket.endpoint/key); else path-style. */
  "s3PathStyle",
  /** Trino user of Lakeform's writer (default TRINO_USERS.admin) and of its reader (TRINO_USERS.readOnly). */
  "trinoUser",
  "trinoReadUser",
  /** The job server's Spark UI (HTTP Basic, password: apiReadToken), where it runs (the local runtime). */
  "sparkUi",
] as const;

export type LakeOutputs = Record<(typeof OUTPUT_KEYS)[number], string> & Partial<Record<(typeof OPTIONAL_OUTPUT_KEYS)[number], string>>;

/** What the reconciler and the API need to reach the engines: a subset of the outputs. */
export type LakeEndpoints = Pick<
  LakeOutputs,
  "s3Endpoint" | "s3Region" | "s3AccessKey" | "s3SecretKey" | "warehouseBucket" | "sparkJobServer" | "trinoEndpoint" | "trinoPassword" | "trinoReadPassword" | "jobServerSecret"
> &
  Partial<Pick<LakeOutputs, "trinoCertificate" | (typeof OPTIONAL_OUTPUT_KEYS)[number]>>;

/** Checks a plain record of stack outputs (from Pulumi or a cache) and names a missing key. */
export function toLakeOutputs(raw: Record<string, unknown>): LakeOutputs {
  const out = {} as LakeOutputs;
  for (const k of OUTPUT_KEYS) {
    const v = raw[k];
    if (typeof v !== "string") throw new Error(`stack output ${k} is missing: is the lakehouse up? (run: lakeform up)`);
    out[k] = v;
  }
  for (const k of OPTIONAL_OUTPUT_KEYS) {
    const v = raw[k];
    if (typeof v === "string" && v !== "") out[k] = v;
  }
  return out;
}
