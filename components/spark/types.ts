import { requireAbsolute, requirePort, type EngineConnectionArgs, type RuntimeArgs } from "../common";
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

/** spark-defaults.conf for a given master (and, on a standalone cluster, its executor sizing). */
export function sparkDefaultsFile(
  conn: LakeConnection,
  master: string,
  driverMemory: string,
  jars: string[],
  cluster?: { workers: number; executorMemory: string },
): string {
  return renderProperties(
    {
      ...sparkDefaults(conn, { driverMemory }),
      ...(cluster && cluster.workers > 0 ? clusterSettings(cluster.workers, cluster.executorMemory) : {}),
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
