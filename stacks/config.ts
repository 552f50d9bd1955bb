/**
 * The stack's configuration (Pulumi.<stack>.yaml, namespace `lakeform`), validated with zod so a
 * typo names the key instead of surfacing as a strange failure deep in a provider.
 */
import * as path from "node:path";
import { z } from "zod";
import { LakeformError } from "../lake/errors";

const port = z.number().int().min(1).max(65535);
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name");
const url = (schemes: string[]) =>
  z
    .string()
    .url()
    .refine((u) => schemes.some((s) => u.startsWith(`${s}://`)), `must be a ${schemes.join(" or ")} URL`);
const memory = z.string().regex(/^\d+[mgMG]$/, "must look like 512m or 2g");

/**
 * Services the stack connects to instead of provisioning them (issue 24): each `external` block
 * replaces the service's own settings. Secrets in them (keys, passwords) are set with
 * `pulumi config set --secret --path lakeform:<service>.external.<field> …` and kept as Pulumi
 * secrets from there on (stacks/index.ts).
 */
export const ExternalObjectStoreSchema = z
  .object({
    /** The S3 API, e.g. https://s3.eu-west-1.amazonaws.com or http://minio.internal:9000. */
    endpoint: url(["http", "https"]),
    region: z.string().min(1).default("us-east-1"),
    /** true: https://endpoint/bucket/key (MinIO, Ceph, SeaweedFS); false: https://bucket.endpoint/key (AWS S3's virtual-hosted style). */
    pathStyle: z.boolean().default(true),
    /** The bucket the tables live in (it must exist: Lakeform never creates nor deletes it). */
    bucket: bucketName,
    accessKey: z.string().min(1),
    secretKey: z.string().min(1),
  })
  .strict();
export const ExternalMetastoreSchema = z.object({ uri: z.string().regex(/^thrift:\/\/[^\s:/]+:\d{1,5}$/, "must look like thrift://host:9083") }).strict();
export const ExternalSparkSchema = z
  .object({
    /** A Spark standalone master; Lakeform's job server runs here as the client-mode driver of its executors. */
    master: z.string().regex(/^spark:\/\/[^\s:/]+:\d{1,5}$/, "must look like spark://host:7077 (k8s:// is not supported yet: README, Scaling out)"),
    /** The cluster's spark.authenticate secret, when it has one. */
    authSecret: z.string().min(1).optional(),
    executorMemory: memory.default("1g"),
    executorCores: z.number().int().positive().default(1),
    /** spark.cores.max: the most cores the job server holds on the cluster. */
    maxCores: z.number().int().positive().optional(),
    /** The address executors reach the driver (this machine) at; 127.0.0.1 when the cluster runs here. */
    driverHost: z.string().min(1).default("127.0.0.1"),
  })
  .strict();
const LAKEFORM_CATALOGS = ["hive", "hudi", "iceberg"] as const;
export const ExternalTrinoSchema = z
  .object({
    endpoint: url(["http", "https"]),
    /** Lakeform's writer (its light-path MERGEs, maintenance). */
    user: z.string().min(1),
    password: z.string().min(1),
    /** The API's and LakeShell's reader; the writer's user and password unless given. */
    readUser: z.string().min(1).optional(),
    readPassword: z.string().min(1).optional(),
    /**
     * The catalogs Lakeform reads through, which the cluster must have. Lakeform's SQL names them
     * hive, hudi and iceberg, so those are the only names accepted for now.
     */
    catalogs: z
      .object(Object.fromEntries(LAKEFORM_CATALOGS.map((c) => [c, z.literal(c, { error: `must be "${c}": Lakeform's queries name the catalog ${c}` }).default(c)])) as {
        [K in (typeof LAKEFORM_CATALOGS)[number]]: z.ZodDefault<z.ZodLiteral<K>>;
      })
      .strict()
      .default({ hive: "hive", hudi: "hudi", iceberg: "iceberg" }),
    /** PEM of the CA (or the certificate) an https endpoint's certificate is checked against; the system's CAs unless given. */
    caCertificate: z.string().includes("BEGIN CERTIFICATE", { message: "must be a PEM certificate" }).optional(),
  })
  .strict();

/** With `external`, the provisioning fields of that service are refused: they would do nothing. */
function externalExcludes<T extends z.ZodObject>(schema: T, fields: string[]) {
  return schema.superRefine((v: Record<string, unknown>, ctx) => {
    if (v.external === undefined) return;
    for (const f of fields) {
      if (v[f] !== undefined) ctx.addIssue({ code: "custom", path: [f], message: `is for a service Lakeform provisions; this one is external` });
    }
  });
}

export const StackConfigSchema = z
  .object({
    runtime: z.enum(["local", "docker"]).default("local"),
    /** Relative paths are resolved against the project directory. */
    dataDir: z.string().min(1).default(".lakeform/dev"),
    /** The bucket of a provisioned object store; an external one names its own (objectStore.external.bucket). */
    warehouseBucket: bucketName.optional(),
    objectStore: externalExcludes(
      z
        .object({
          engine: z.enum(["seaweedfs", "minio"]).optional(),
          port: port.optional(),
          forceDestroy: z.boolean().optional(),
          external: ExternalObjectStoreSchema.optional(),
        })
        .strict(),
      ["engine", "port", "forceDestroy"],
    ).default({}),
    metastore: externalExcludes(
      z.object({ port: port.optional(), heap: z.string().optional(), external: ExternalMetastoreSchema.optional() }).strict(),
      ["port", "heap"],
    ).default({}),
    spark: externalExcludes(
      z
        .object({
          /** The job server's port (it runs on this machine, also against an external cluster). */
          port: port.optional(),
          workers: z.number().int().min(0).optional(),
          driverMemory: z.string().optional(),
          workerMemory: z.string().optional(),
          /** The largest source (MB) the job server's Arrow write path takes; default a quarter of driverMemory, 0: off. */
          arrowPathMaxMB: z.number().min(0).optional(),
          external: ExternalSparkSchema.optional(),
        })
        .strict(),
      ["workers", "workerMemory"],
    ).default({}),
    trino: externalExcludes(
      z
        .object({ port: port.optional(), workers: z.number().int().min(0).optional(), heap: z.string().optional(), external: ExternalTrinoSchema.optional() })
        .strict(),
      ["port", "workers", "heap"],
    ).default({}),
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

export type StackConfig = Omit<z.infer<typeof StackConfigSchema>, "warehouseBucket"> & { warehouseBucket: string };
export type ExternalObjectStore = z.infer<typeof ExternalObjectStoreSchema>;
export type ExternalMetastore = z.infer<typeof ExternalMetastoreSchema>;
export type ExternalSpark = z.infer<typeof ExternalSparkSchema>;
export type ExternalTrino = z.infer<typeof ExternalTrinoSchema>;

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
  const data = result.data;
  const external = data.objectStore.external;
  if (external && data.warehouseBucket !== undefined && data.warehouseBucket !== external.bucket) {
    throw new LakeformError(
      "BAD_REQUEST",
      `invalid stack configuration: lakeform:warehouseBucket: "${data.warehouseBucket}" is not the external object store's bucket "${external.bucket}" (leave it out: objectStore.external.bucket names it)`,
    );
  }
  const anyExternal = [data.objectStore, data.metastore, data.spark, data.trino].some((s) => s.external !== undefined);
  if (anyExternal && data.runtime !== "local") {
    throw new LakeformError("BAD_REQUEST", `invalid stack configuration: lakeform:runtime: external services work with the local runtime only for now (README, Scaling out)`);
  }
  return {
    ...data,
    warehouseBucket: external?.bucket ?? data.warehouseBucket ?? "warehouse",
    dataDir: path.resolve(projectDir, result.data.dataDir),
    tablesFile: path.resolve(projectDir, result.data.tablesFile),
  };
}
