/** Spark as local processes (the job server, and with workers a standalone master and its workers): pure. */
import * as crypto from "node:crypto";
import * as path from "node:path";
import { localProcess, serviceDirs } from "../common";
import type { LakeConnection } from "../connection";
import type { ServicePlan } from "../local/providers";
import { requireLocal, type Toolchain } from "../toolchain";
import { executorMemory, jobServerEnv, sparkDaemonFile, sparkDefaultsFile, sparkRpcSecret, type ExternalSparkCluster, type SparkUi } from "./types";

/** The job server's UI filter (SparkUiAuthFilter.java), compiled by the job server's start command. */
export const SPARK_UI_FILTER_SOURCE = path.join(__dirname, "..", "local", "java", "SparkUiAuthFilter.java");

export interface SparkLocalArgs {
  dataDir: string;
  port: number;
  workers: number;
  driverMemory: string;
  workerMemory: string;
  /** An existing cluster: the job server is its driver, no master nor workers here. */
  external?: ExternalSparkCluster;
  /** The password the job server's web UI asks (SparkArgs.uiPassword); without it the UI is off. */
  uiPassword?: string;
  /** SparkArgs.arrowPathMaxMB. */
  arrowPathMaxMB?: number;
}

/**
 * Ports of a local standalone cluster, derived from the job server's port (like SeaweedFS's from
 * the S3 port) so two stacks on one machine never share a master: the driver's UI, the master's
 * RPC and UI ports just below it, then one UI port per worker.
 */
export function sparkLocalPorts(port: number, workers: number) {
  return {
    /** The job server's own web UI (the driver's). */
    driverUi: port - 101,
    master: port - 100,
    masterUi: port - 99,
    workerUi: Array.from({ length: workers }, (_, i) => port - 98 + i),
  };
}

/** The master URL the local job server submits to: the standalone master with workers, else in-process executors. */
export function sparkLocalMaster(port: number, workers: number): string {
  return workers > 0 ? `spark://127.0.0.1:${sparkLocalPorts(port, workers).master}` : "local[*]";
}

/**
 * `jobServerSecret`: the secret the job server asks of every request, in its environment (never
 * its command line); Spark's RPC secret, derived from it, is in the 0600 properties files of the
 * master, the workers and the job server's driver.
 */
export function sparkLocalPlans(args: SparkLocalArgs, tc: Toolchain, conn: LakeConnection, jobServerSecret: string): { cluster: ServicePlan[]; server: ServicePlan } {
  const local = requireLocal(tc, "Spark");
  const bin = local.paths;
  const dirs = serviceDirs(args.dataDir, "spark");
  const defaults = path.join(dirs.conf, "spark-defaults.conf");
  const ext = args.external;
  const workers = ext ? 0 : args.workers;
  const ports = sparkLocalPorts(args.port, workers);
  const master = ext ? ext.master : sparkLocalMaster(args.port, workers);
  // An external cluster's own secret (or none); ours is derived from the job server's.
  const rpcSecret = ext ? ext.authSecret : sparkRpcSecret(jobServerSecret);
  // Each daemon's own properties file: the job server's spark-defaults.conf is written after them.
  const daemonFile = (service: string) => path.join(serviceDirs(args.dataDir, service).conf, "spark-daemon.conf");
  const env = {
    JAVA_HOME: local.java17Home,
    PYSPARK_PYTHON: bin.python,
    PYSPARK_DRIVER_PYTHON: bin.python,
    SPARK_CONF_DIR: dirs.conf,
    SPARK_LOCAL_IP: ext?.driverHost ?? "127.0.0.1",
    SPARK_LOCAL_DIRS: path.join(dirs.data, "tmp"),
    // A changed job program is a changed plan: `up` restarts the server with it.
    LAKEFORM_JOBS_SHA256: tc.jobs.sha256,
  };
  // The master and workers are small daemons; the memory goes to the executors the workers start.
  const daemonEnv = { ...env, SPARK_DAEMON_MEMORY: "512m" };
  const sparkClass = path.join(bin.sparkHome, "bin", "spark-class");
  const cluster: ServicePlan[] = workers > 0 && rpcSecret
    ? [
        {
          service: "spark-master",
          install: ["python"],
          files: { [daemonFile("spark-master")]: sparkDaemonFile(rpcSecret) },
          dirs: [],
          process: localProcess(args.dataDir, "spark-master", {
            command: [
              sparkClass, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", String(ports.master), "--webui-port", String(ports.masterUi),
              "--properties-file", daemonFile("spark-master"),
            ],
            env: daemonEnv,
            health: { tcpPort: ports.master, http: `http://127.0.0.1:${ports.masterUi}/json/` },
            ports: [ports.master, ports.masterUi],
          }),
        },
        ...Array.from({ length: workers }, (_, i): ServicePlan => {
          const service = `spark-worker-${i + 1}`;
          const work = path.join(serviceDirs(args.dataDir, service).data, "work");
          return {
            service,
            install: ["python"],
            files: { [daemonFile(service)]: sparkDaemonFile(rpcSecret) },
            dirs: [work],
            process: localProcess(args.dataDir, service, {
              command: [
                sparkClass, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--memory", args.workerMemory,
                "--webui-port", String(ports.workerUi[i]), "--work-dir", work,
                "--properties-file", daemonFile(service), master,
              ],
              env: daemonEnv,
              // Healthy once registered with the master: its UI names the master it joined.
              health: { http: `http://127.0.0.1:${ports.workerUi[i]}/json/`, bodyIncludes: `"${master}"` },
              ports: [ports.workerUi[i]],
            }),
          };
        }),
      ]
    : [];
  const ui: SparkUi | undefined = args.uiPassword
    ? {
        host: env.SPARK_LOCAL_IP,
        port: ports.driverUi,
        passwordSha256: crypto.createHash("sha256").update(args.uiPassword).digest("hex"),
        classesDir: path.join(dirs.data, "ui-filter"),
      }
    : undefined;
  const submit = [bin.sparkSubmit, "--properties-file", defaults, "--name", "lakeform-job-server", tc.jobs.entry, "--serve", "--port", String(args.port)];
  const server: ServicePlan = {
    service: "spark",
    install: ["python", "jars"],
    files: {
      [defaults]: sparkDefaultsFile(conn, master, args.driverMemory, bin.jars, rpcSecret, ext ? { external: ext } : { workers, executorMemory: executorMemory(args.workerMemory) }, ui, args.arrowPathMaxMB),
    },
    dirs: [dirs.data, env.SPARK_LOCAL_DIRS, ...(ui ? [ui.classesDir] : [])],
    process: localProcess(args.dataDir, "spark", {
      // With the UI: its filter compiled first (again only when the source is newer than the
      // class), against the servlet API in pyspark's jars; then spark-submit in the same process.
      command: ui
        ? [
            "/bin/sh",
            "-c",
            '[ "$1/lakeform/SparkUiAuthFilter.class" -nt "$2" ] || "$0" -nowarn -d "$1" -cp "$3" "$2" || exit 1; shift 3; exec "$@"',
            path.join(local.java17Home, "bin", "javac"),
            ui.classesDir,
            SPARK_UI_FILTER_SOURCE,
            path.join(bin.sparkJarsDir, "*"),
            ...submit,
          ]
        : submit,
      env: { ...env, ...jobServerEnv(jobServerSecret, conn.warehouseBucket) },
      health: { http: `http://127.0.0.1:${args.port}/healthz` },
      ports: ui ? [args.port, ui.port] : [args.port],
      // An upper bound only: a JVM start on a busy 2-core machine can take minutes.
      startTimeoutSec: 600,
    }),
  };
  return { cluster, server };
}
