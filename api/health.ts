/**
 * What GET /healthz reports: each engine the API depends on, asked directly and at once (the S3
 * server: the warehouse bucket; the metastore: its Thrift port; the Spark job server: its
 * /healthz; Trino: SELECT 1), each bounded by a few seconds. The API answers 503 naming the ones
 * that are down, so a supervisor or a probe sees which.
 */
import * as net from "node:net";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { s3Client } from "../lake/outputs";
import { DEPENDENCIES, type Dependency, type Health } from "../lake/apiReplies";
import type { LakeEndpoints } from "../lake/outputs";
import type { JobClient } from "../lake/jobClient";
import type { TrinoClient } from "../lake/trino";

const TIMEOUT_MS = 3000;

/** A TCP connection to host:port of a thrift:// URI succeeds within the timeout. */
export function thriftReachable(uri: string, timeoutMs = TIMEOUT_MS): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const u = new URL(uri);
    host = u.hostname;
    port = Number(u.port || 9083);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => (sock.destroy(), resolve(ok));
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

const within = (p: Promise<unknown>, ms = TIMEOUT_MS): Promise<boolean> =>
  Promise.race([p.then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

/**
 * Asks every dependency (LakeService.health, the service's own check); a metastore without a known
 * URI counts as answering (nothing to ask).
 */
export async function dependencyHealth(lake: { endpoints: LakeEndpoints & { metastoreUri?: string }; jobs: Pick<JobClient, "healthy">; trinoRead: Pick<TrinoClient, "scalar"> }): Promise<Health> {
  const metastoreUri = lake.endpoints.metastoreUri;
  const [s3, metastore, spark, trino] = await Promise.all([
    within(s3Client(lake.endpoints).send(new HeadBucketCommand({ Bucket: lake.endpoints.warehouseBucket }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) })),
    metastoreUri ? thriftReachable(metastoreUri) : Promise.resolve(true),
    lake.jobs.healthy(),
    within(lake.trinoRead.scalar("SELECT 1")),
  ]);
  const by: Record<Dependency, boolean> = { s3, metastore, spark, trino };
  const down = DEPENDENCIES.filter((d) => !by[d]);
  return { ok: down.length === 0, ...by, down };
}
