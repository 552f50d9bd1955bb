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

export function validateSparkArgs(args: Pick<SparkArgs, "port" | "runtime" | "dataDir" | "workers">): void {
  requirePort("Spark", "port", args.port ?? SPARK_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("Spark", "dataDir", args.dataDir);
  const w = args.workers ?? SPARK_DEFAULTS.workers;
  if (!Number.isInteger(w) || w < 0 || w > 64) throw new Error(`Spark: workers must be an integer from 0 to 64, got ${w}`);
}

/** spark-defaults.conf for a given master. */
export function sparkDefaultsFile(conn: LakeConnection, master: string, driverMemory: string, jars: string[]): string {
  return renderProperties({ ...sparkDefaults(conn, { driverMemory }), "spark.master": master, "spark.jars": jars.join(",") }, " ");
}
