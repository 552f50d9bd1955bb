/**
 * Wires a Reconciler to a running lakehouse: the stack's outputs give the S3 endpoint, keys,
 * bucket and the Spark job server.
 */
import * as path from "node:path";
import type { Logger } from "pino";
import { JobClient } from "../lake/jobClient";
import { TableLeases } from "../lake/lease";
import { MeteredJobClient } from "../lake/metrics";
import { s3Client, type LakeEndpoints } from "../lake/outputs";
import { Sources } from "../lake/sources";
import { TrashStore } from "../lake/trash";
import { jobDriver, sourceStore, type LakeDriver } from "./driver";
import { Reconciler } from "./loop";
import { ReconcilerMetrics } from "./metrics";
import type { TrashDeps } from "./trash";

export function createReconciler(
  lake: LakeEndpoints,
  opts: {
    tablesFile: string;
    statusFile: string;
    log: Logger;
    resyncMs?: number;
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    progressEveryMs?: number;
    trashDays?: number;
    /** Wraps the job server's driver (the fault tests stop a pass between two writes with it). */
    wrapDriver?: (driver: LakeDriver) => LakeDriver;
  },
): Reconciler {
  // Its writes counted and its metrics reported beside the status file (the API serves them at /metrics).
  const metrics = new ReconcilerMetrics(opts.statusFile);
  return new Reconciler({
    tablesFile: path.resolve(opts.tablesFile),
    statusFile: opts.statusFile,
    warehouseBucket: lake.warehouseBucket,
    driver: (opts.wrapDriver ?? ((d) => d))(jobDriver(new MeteredJobClient(lake.sparkJobServer, { secret: lake.jobServerSecret }, metrics.writes))),
    sources: sourceStore(new Sources(s3Client(lake), lake.warehouseBucket)),
    leases: new TableLeases(s3Client(lake), lake.warehouseBucket, { role: "reconciler", log: opts.log.child({ component: "lease" }) }),
    metrics,
    log: opts.log.child({ component: "reconciler" }),
    resyncMs: opts.resyncMs,
    backoffBaseMs: opts.backoffBaseMs,
    backoffMaxMs: opts.backoffMaxMs,
    progressEveryMs: opts.progressEveryMs,
    trash: new TrashStore(s3Client(lake), lake.warehouseBucket),
    trashDays: opts.trashDays,
  });
}

/**
 * What the trash's commands (`lakeform undrop`, `lakeform trash`, POST /tables/{t}/undrop) need
 * of a running lakehouse: the job server (register, drop), the tombstones, the tables' leases.
 */
export function createTrashDeps(lake: LakeEndpoints, opts: { log: Logger; role: string; trashDays?: number }): TrashDeps {
  return {
    driver: jobDriver(new JobClient(lake.sparkJobServer, { secret: lake.jobServerSecret })),
    trash: new TrashStore(s3Client(lake), lake.warehouseBucket),
    warehouseBucket: lake.warehouseBucket,
    log: opts.log,
    leases: new TableLeases(s3Client(lake), lake.warehouseBucket, { role: opts.role, log: opts.log.child({ component: "lease" }) }),
    trashDays: opts.trashDays,
  };
}
