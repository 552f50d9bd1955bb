/**
 * The stack's configuration (Pulumi.<stack>.yaml, namespace `lakeform`), validated with zod so a
 * typo names the key instead of surfacing as a strange failure deep in a provider.
 */
import * as path from "node:path";
import { z } from "zod";
import { LakeformError } from "../lake/errors";

const port = z.number().int().min(1).max(65535);

export const StackConfigSchema = z
  .object({
    runtime: z.enum(["local", "docker"]).default("local"),
    /** Relative paths are resolved against the project directory. */
    dataDir: z.string().min(1).default(".lakeform/dev"),
    warehouseBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).default("warehouse"),
    objectStore: z
      .object({ engine: z.enum(["seaweedfs", "minio"]).optional(), port: port.optional(), forceDestroy: z.boolean().optional() })
      .strict()
      .default({}),
    metastore: z.object({ port: port.optional(), heap: z.string().optional() }).strict().default({}),
    spark: z
      .object({
        port: port.optional(),
        workers: z.number().int().min(0).optional(),
        driverMemory: z.string().optional(),
        workerMemory: z.string().optional(),
      })
      .strict()
      .default({}),
    trino: z
      .object({ port: port.optional(), workers: z.number().int().min(0).optional(), heap: z.string().optional() })
      .strict()
      .default({}),
    /** The tables.yaml the reconciler watches and the Table resources are read from (relative: to the project). */
    tablesFile: z.string().min(1).default("examples/tables.yaml"),
    /** Run the reconciler and the API as services of the lakehouse (host processes, on both runtimes). */
    services: z.boolean().default(true),
    /** The REST API's bounds (api/limits.ts has the defaults): a statement timeout, page sizes, body sizes. */
    api: z
      .object({
        port: port.optional(),
        /** POST /query's statement timeout (Trino's query_max_run_time for each query); default 60. */
        queryTimeoutSec: z.number().int().positive().max(24 * 3600).optional(),
        /** POST /query's largest `limit`; default 10,000. */
        queryMaxRows: z.number().int().positive().max(1_000_000).optional(),
        /** POST /query's largest `offset` (offset + limit rows are fetched); default 100,000. */
        queryMaxOffset: z.number().int().nonnegative().max(10_000_000).optional(),
        /** The largest JSON body; default 1 MiB. */
        jsonLimitBytes: z.number().int().positive().max(64 * 1024 * 1024).optional(),
        /** The largest CSV ingest, streamed to the object store; default and most 5 GiB (one CopyObject lands it). */
        csvLimitBytes: z.number().int().positive().max(5 * 1024 ** 3).optional(),
      })
      .strict()
      .default({}),
    reconciler: z
      .object({
        resyncSec: z.number().int().positive().optional(),
        /** How long `up` waits for a table to be in sync before failing its resource. */
        tableTimeoutSec: z.number().int().positive().optional(),
        /**
         * How long a pruned table's files and journal stay in the trash (undroppable) when its spec
         * doesn't say `trash: { days }`: 7 unless set. The reconciler reads it from this file.
         */
        trashDays: z.number().positive().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type StackConfig = z.infer<typeof StackConfigSchema>;

/** Parses raw config values (already JSON-decoded); throws naming the offending key. */
export function parseStackConfig(raw: Record<string, unknown>, projectDir: string): StackConfig {
  // LAKEFORM_SERVICES=0|1 overrides lakeform:services for one run (the end-to-end tests run
  // reconcilers of their own and keep the services off, except the test that checks them).
  const env = process.env.LAKEFORM_SERVICES;
  if (env === "0" || env === "1") raw = { ...raw, services: env === "1" };
  const result = StackConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `lakeform:${i.path.join(".")}: ${i.message}`).join("; ");
    throw new LakeformError("BAD_REQUEST", `invalid stack configuration: ${issues}`);
  }
  return {
    ...result.data,
    dataDir: path.resolve(projectDir, result.data.dataDir),
    tablesFile: path.resolve(projectDir, result.data.tablesFile),
  };
}
