/** Spark as local processes (the job server, and with workers a standalone master and its workers): pure. */
import * as path from "node:path";
import { localProcess, serviceDirs } from "../common";
import type { LakeConnection } from "../connection";
import type { ServicePlan } from "../local/providers";
import { requireLocal, type Toolchain } from "../toolchain";
import { SPARK_DEFAULTS, sparkDefaultsFile } from "./types";

export interface SparkLocalArgs {
  dataDir: string;
  port: number;
  workers: number;
  driverMemory: string;
  workerMemory: string;
}

export function sparkLocalPlans(args: SparkLocalArgs, tc: Toolchain, conn: LakeConnection): { cluster: ServicePlan[]; server: ServicePlan } {
  const local = requireLocal(tc, "Spark");
  const bin = local.paths;
  const dirs = serviceDirs(args.dataDir, "spark");
  const defaults = path.join(dirs.conf, "spark-defaults.conf");
  const master = args.workers > 0 ? `spark://127.0.0.1:${SPARK_DEFAULTS.masterPort}` : "local[*]";
  const env = {
    JAVA_HOME: local.java17Home,
    PYSPARK_PYTHON: bin.python,
    PYSPARK_DRIVER_PYTHON: bin.python,
    SPARK_CONF_DIR: dirs.conf,
    SPARK_LOCAL_IP: "127.0.0.1",
    SPARK_LOCAL_DIRS: path.join(dirs.data, "tmp"),
    // A changed job program is a changed plan: `up` restarts the server with it.
    LAKEFORM_JOBS_SHA256: tc.jobs.sha256,
  };
  const sparkClass = path.join(bin.sparkHome, "bin", "spark-class");
  const cluster: ServicePlan[] = args.workers > 0
    ? [
        {
          service: "spark-master",
          install: ["python"],
          files: {},
          dirs: [],
          process: localProcess(args.dataDir, "spark-master", {
            command: [sparkClass, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", String(SPARK_DEFAULTS.masterPort), "--webui-port", "8180"],
            env,
            health: { tcpPort: SPARK_DEFAULTS.masterPort },
            ports: [SPARK_DEFAULTS.masterPort, 8180],
          }),
        },
        ...Array.from({ length: args.workers }, (_, i): ServicePlan => ({
          service: `spark-worker-${i + 1}`,
          install: ["python"],
          files: {},
          dirs: [],
          process: localProcess(args.dataDir, `spark-worker-${i + 1}`, {
            command: [sparkClass, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--memory", args.workerMemory, "--webui-port", String(8181 + i), master],
            env,
            health: { http: `http://127.0.0.1:${8181 + i}/` },
            ports: [8181 + i],
          }),
        })),
      ]
    : [];
  const server: ServicePlan = {
    service: "spark",
    install: ["python", "jars"],
    files: { [defaults]: sparkDefaultsFile(conn, master, args.driverMemory, bin.jars) },
    dirs: [dirs.data, env.SPARK_LOCAL_DIRS],
    process: localProcess(args.dataDir, "spark", {
      command: [bin.sparkSubmit, "--properties-file", defaults, "--name", "lakeform-job-server", tc.jobs.entry, "--serve", "--port", String(args.port)],
      env,
      health: { http: `http://127.0.0.1:${args.port}/healthz` },
      ports: [args.port],
      startTimeoutSec: 240,
    }),
  };
  return { cluster, server };
}
