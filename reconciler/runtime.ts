/**
 * Wires a Reconciler to a running lakehouse: the stack's outputs give the S3 endpoint, keys,
 * bucket and the Spark job server.
 */
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import type { Logger } from "pino";
import { JobClient } from "./jobClient";
import { Reconciler } from "./reconciler";
import { Sources } from "./sources";

export interface LakeEndpoints {
  s3Endpoint: string;
  s3Region: string;
  s3AccessKey: string;
  s3SecretKey: string;
  warehouseBucket: string;
  sparkJobServer: string;
  trinoEndpoint: string;
}

export function s3Client(lake: LakeEndpoints): S3Client {
  return new S3Client({
    endpoint: lake.s3Endpoint,
    region: lake.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: lake.s3AccessKey, secretAccessKey: lake.s3SecretKey },
  });
}

export function statusFileFor(dataDir: string): string {
  return path.join(dataDir, "reconciler", "status.json");
}

export function createReconciler(
  lake: LakeEndpoints,
  opts: { tablesFile: string; statusFile: string; log: Logger; resyncMs?: number; backoffBaseMs?: number; backoffMaxMs?: number },
): Reconciler {
  return new Reconciler({
    tablesFile: path.resolve(opts.tablesFile),
    statusFile: opts.statusFile,
    warehouseBucket: lake.warehouseBucket,
    jobs: new JobClient(lake.sparkJobServer),
    sources: new Sources(s3Client(lake), lake.warehouseBucket),
    log: opts.log.child({ component: "reconciler" }),
    resyncMs: opts.resyncMs,
    backoffBaseMs: opts.backoffBaseMs,
    backoffMaxMs: opts.backoffMaxMs,
  });
}
