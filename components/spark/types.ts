import * as crypto from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { ArgsError, requireAbsolute, requirePort, type EngineConnectionArgs, type RuntimeArgs } from "../common";
import { renderProperties, sparkDefaults, type LakeConnection } from "../connection";
import type { Toolchain } from "../toolchain";

export interface SparkArgs extends RuntimeArgs, EngineConnectionArgs {
  /** Port of the Lakeform job server (the warm Spark driver). */
  port?: number;
  /** Standalone Spark workers; 0 runs executors inside the driver (local mode), right for one machine. */
  workers?: number;
  driverMemory?: string;
  workerMemory?: string;
  /** What the machine provides (read once at the edge: components/toolchain.ts). */
  toolchain: Toolchain;
  /**
   * The secret every request to the job server carries (the Lakehouse's jobServerSecret); Spark's
   * own RPC secret (master, workers, driver) is derived from it (sparkRpcSecret).
   */
  jobServerSecret: pulumi.Input<string>;
  /** A Spark cluster Lakeform connects to: no master nor workers provisioned; the job server runs here as its client-mode driver. */
  external?: pulumi.Input<ExternalSparkCluster>;
  /**
   * The largest source (MB) the job server's Arrow write path takes (pyarrow + pyiceberg in its
   * Python process, beside the JVM); default: a quarter of driverMemory. 0 turns the path off.
   */
  arrowPathMaxMB?: number;
  /**
   * The password the job server's web UI asks (HTTP Basic, any user name; the Lakehouse gives the
   * API's read token). Local runtime only; without it the UI stays off (as on docker).
   */
  uiPassword?: pulumi.Input<string>;
}

/**
 * An existing standalone cluster. Its executors run Lakeform's writes; the job server (the driver)
 * ships them its jars (spark.jars, served by the driver) and must be reachable from them at
 * driverHost.
 */
export interface ExternalSparkCluster {
  master: string;
  /** The cluster's spark.authenticate secret; none: RPC authentication off, as the cluster has it. */
  authSecret?: string;
  executorMemory: string;
  executorCores: number;
  maxCores?: number;
  driverHost: string;
}

/** The job server's executor settings on an external cluster, and where its executors reach it. */
export function externalClusterSettings(x: ExternalSparkCluster): Record<string, string> {
  return {
    "spark.executor.memory": x.executorMemory,
    "spark.executor.cores": String(x.executorCores),
    ...(x.maxCores ? { "spark.cores.max": String(x.maxCores) } : {}),
    "spark.driver.host": x.driverHost,
  };
}

/** What the job server reads from its environment (jobs/lakeform_jobs/server.py), never from its command line: ps shows that to every user. */
export const JOB_SERVER_ENV = { secret: "LAKEFORM_JOB_SERVER_SECRET", bucket: "LAKEFORM_WAREHOUSE_BUCKET", hosts: "LAKEFORM_JOB_SERVER_HOSTS" } as const;

/** The job server's own settings in its environment: the secret it asks of every request, the only bucket its tables may be in. */
export function jobServerEnv(jobServerSecret: string, warehouseBucket: string): Record<string, string> {
  if (!jobServerSecret) throw new ArgsError("Spark", "jobServerSecret", "must not be empty (the job server refuses to serve without one)");
  return { [JOB_SERVER_ENV.secret]: jobServerSecret, [JOB_SERVER_ENV.bucket]: warehouseBucket };
}

/**
 * Spark's shared RPC secret (spark.authenticate), derived from the job server's secret: one secret
 * to keep, while neither can be read from the other's uses (the RPC one reaches every executor's
 * environment; the job server's stays with the driver).
 */
export function sparkRpcSecret(jobServerSecret: string): string {
  return crypto.createHmac("sha256", jobServerSecret).update("lakeform:spark-rpc-authentication").digest("hex");
}

/**
 * Spark's RPC authentication, for the master, the workers and every driver: an application (or a
 * worker) without the secret can't register with the master, nor reach a driver's or executor's
 * RPC endpoints. Without it any process that reaches the master's port runs code as the stack's
 * user. Only in 0600 properties files: a worker hands the secret to its executors in their
 * environment (_SPARK_AUTH_SECRET), never on their command line.
 */
export function rpcAuthSettings(rpcSecret: string): Record<string, string> {
  return { "spark.authenticate": "true", "spark.authenticate.secret": rpcSecret };
}

/**
 * The properties file a standalone master or worker reads (--properties-file, or
 * $SPARK_CONF_DIR/spark-defaults.conf): RPC authentication; and their web UIs (open to any local
 * process: Spark authenticates RPC, not HTTP) can't kill an app (the job server) or a driver, and
 * the master's REST submission server stays off (it takes no secret).
 */
export function sparkDaemonFile(rpcSecret: string): string {
  return renderProperties({ ...rpcAuthSettings(rpcSecret), "spark.ui.killEnabled": "false", "spark.master.rest.enabled": "false" }, " ");
}

/** The servlet filter (components/local/java/SparkUiAuthFilter.java) every page of the job server's UI passes through. */
export const SPARK_UI_FILTER = "lakeform.SparkUiAuthFilter";

/** The job server's web UI (the driver's): where it listens, the SHA-256 of the password it asks, where its filter's classes are. */
export interface SparkUi {
  host: string;
  port: number;
  passwordSha256: string;
  classesDir: string;
}

/**
 * The driver's web UI on, behind Lakeform's filter: Spark authenticates RPC, not HTTP, so
 * without it any local process (or a page a browser on the machine opens) could read the job
 * server's jobs, SQL plans and environment. The filter takes Basic credentials whose password
 * hashes to `passwordSha256`, addressed to this host and port only, reads only; the UI's kill
 * links are off as on the master's and workers'. The password's hash is all the configuration
 * holds, under a key naming a password (Spark redacts those on its Environment page).
 */
export function sparkUiSettings(ui: SparkUi): Record<string, string> {
  const hosts = [`${ui.host}:${ui.port}`, ...(ui.host === "127.0.0.1" ? [`localhost:${ui.port}`] : [])];
  return {
    "spark.ui.enabled": "true",
    "spark.ui.port": String(ui.port),
    "spark.ui.killEnabled": "false",
    "spark.ui.filters": SPARK_UI_FILTER,
    [`spark.${SPARK_UI_FILTER}.param.passwordSha256`]: ui.passwordSha256,
    [`spark.${SPARK_UI_FILTER}.param.hosts`]: hosts.join(","),
    "spark.driver.extraClassPath": ui.classesDir,
  };
}

export const SPARK_DEFAULTS = { port: 8998, workers: 0, driverMemory: "2g", workerMemory: "2g", masterPort: 7077 };

export function validateSparkArgs(args: Pick<SparkArgs, "port" | "runtime" | "dataDir" | "workers" | "workerMemory">): void {
  executorMemory(args.workerMemory ?? SPARK_DEFAULTS.workerMemory);
  requirePort("Spark", "port", args.port ?? SPARK_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("Spark", "dataDir", args.dataDir);
  const w = args.workers ?? SPARK_DEFAULTS.workers;
  if (!Number.isInteger(w) || w < 0 || w > 64) throw new Error(`Spark: workers must be an integer from 0 to 64, got ${w}`);
}

/**
 * Executor sizing on a standalone cluster: one single-core executor per worker for each app. The
 * job server is a long-lived app; without a cap it would hold every core of every worker and any
 * other app (a spark-submit, a second driver) would wait forever for one.
 */
export function clusterSettings(workers: number, executorMemory: string): Record<string, string> {
  return { "spark.executor.cores": "1", "spark.cores.max": String(workers), "spark.executor.memory": executorMemory };
}

/** The job server's setting for its Arrow write path's budget, in bytes. */
export const ARROW_PATH_MAX_BYTES = "spark.lakeform.arrowPath.maxBytes";

/** spark-defaults.conf for a given master (and, on a standalone cluster, its executor sizing). */
export function sparkDefaultsFile(
  conn: LakeConnection,
  master: string,
  driverMemory: string,
  jars: string[],
  rpcSecret: string | undefined,
  cluster?: { workers: number; executorMemory: string } | { external: ExternalSparkCluster },
  ui?: SparkUi,
  arrowPathMaxMB?: number,
): string {
  return renderProperties(
    {
      ...sparkDefaults(conn, { driverMemory }),
      // Read by the job server (jobs/lakeform_jobs/arrow/path.py); unset: a quarter of driverMemory.
      ...(arrowPathMaxMB !== undefined ? { [ARROW_PATH_MAX_BYTES]: String(Math.round(arrowPathMaxMB * 1024 * 1024)) } : {}),
      ...(ui ? sparkUiSettings(ui) : {}),
      ...(rpcSecret ? rpcAuthSettings(rpcSecret) : {}),
      ...(cluster && "external" in cluster ? externalClusterSettings(cluster.external) : {}),
      ...(cluster && "workers" in cluster && cluster.workers > 0 ? clusterSettings(cluster.workers, cluster.executorMemory) : {}),
      "spark.master": master,
      "spark.jars": jars.join(","),
    },
    " ",
  );
}

/** Half a worker's memory (at least 512m) per executor: two apps fit on one worker. */
export function executorMemory(workerMemory: string): string {
  const m = /^(\d+)([mg])$/i.exec(workerMemory);
  if (!m) throw new Error(`Spark: workerMemory must look like 2g or 1536m, got "${workerMemory}"`);
  const mb = Number(m[1]) * (m[2].toLowerCase() === "g" ? 1024 : 1);
  return `${Math.max(512, Math.floor(mb / 2))}m`;
}
