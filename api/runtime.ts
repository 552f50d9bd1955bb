import * as path from "node:path";
import type { LakeOutputs } from "../lake/outputs";
import { Registry } from "prom-client";
import { MeteredJobClient, WriteMetrics } from "../lake/metrics";
import { s3Client, statusFileFor } from "../lake/outputs";
import { TableLeases } from "../lake/lease";
import { createLogger } from "../lake/logger";
import { Sources } from "../lake/sources";
import { LakeService } from "./service";

/** A LakeService over a running lakehouse's outputs and a tables.yaml; its writes are counted for GET /metrics (api/metrics.ts). */
export function createLakeService(outs: LakeOutputs, tablesFile: string): LakeService {
  return new LakeService(
    outs,
    new MeteredJobClient(outs.sparkJobServer, { secret: outs.jobServerSecret }, new WriteMetrics(new Registry(), "api")),
    new Sources(s3Client(outs), outs.warehouseBucket),
    path.resolve(tablesFile),
    statusFileFor(outs.dataDir),
    // A lost lease is logged (the write it cancels fails with LEASE_LOST) as the API's own lines are.
    new TableLeases(s3Client(outs), outs.warehouseBucket, { role: "api", log: createLogger("lakeform-api").child({ component: "lease" }) }),
  );
}

/**
 * The API's bearer tokens from the stack outputs: apiReadToken reads, apiToken (the write
 * scope) also writes. buildApi takes them as ApiOptions.tokens.
 */
export function apiTokens(outs: Pick<LakeOutputs, "apiToken" | "apiReadToken">): { read: string; write: string } {
  return { read: outs.apiReadToken, write: outs.apiToken };
}
