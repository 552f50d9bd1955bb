/**
 * The connection facts a running lakehouse exports (its stack outputs), declared once: the
 * Pulumi program produces them (stacks/index.ts), everything else reads them.
 */
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";

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
] as const;

export type LakeOutputs = Record<(typeof OUTPUT_KEYS)[number], string>;

/** What the reconciler and the API need to reach the engines: a subset of the outputs. */
export type LakeEndpoints = Pick<
  LakeOutputs,
  "s3Endpoint" | "s3Region" | "s3AccessKey" | "s3SecretKey" | "warehouseBucket" | "sparkJobServer" | "trinoEndpoint"
>;

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

export function s3Client(lake: Pick<LakeEndpoints, "s3Endpoint" | "s3Region" | "s3AccessKey" | "s3SecretKey">): S3Client {
  return new S3Client({
    endpoint: lake.s3Endpoint,
    region: lake.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: lake.s3AccessKey, secretAccessKey: lake.s3SecretKey },
  });
}

/** Where the reconciler writes its report, under the stack's data directory. */
export function statusFileFor(dataDir: string): string {
  return path.join(dataDir, "reconciler", "status.json");
}
