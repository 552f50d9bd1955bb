/**
 * Spark as containers, all from Lakeform's Spark image (pyspark, the Hudi/Iceberg/S3A jars and
 * jobs/ baked in): the job server, and with workers a standalone master and its workers, each its
 * own host on the stack's network. Pure: args + toolchain → plan.
 */
import * as path from "node:path";
import type { LakeConnection } from "../connection";
import { jarFileName } from "../local/install";
import { dockerHealthcheck, dockerName, lakeformImage, WAIT, type DockerContainerPlan, type DockerPlan, type DockerSite } from "../plans";
import type { Toolchain } from "../toolchain";
import { SPARK_JARS } from "../versions";
import { executorMemory, JOB_SERVER_ENV, jobServerEnv, sparkDaemonFile, sparkDefaultsFile, sparkRpcSecret } from "./types";

export interface SparkDockerArgs extends DockerSite {
  /** The component's name: every resource name starts with it. */
  name: string;
  port: number;
  workers: number;
  driverMemory: string;
  workerMemory: string;
}

/** Ports inside the containers (the image's). */
const JOB_SERVER_PORT = 8998;
const MASTER_PORT = 7077;
const WORKER_UI_PORT = 8081;

/** The master URL the job server is given: the standalone master with workers, else in-process executors. */
export function sparkDockerMaster(args: Pick<SparkDockerArgs, "name" | "workers" | "prefix">): string {
  return args.workers > 0 ? `spark://${dockerName(args, `${args.name}-master`)}:${MASTER_PORT}` : "local[*]";
}

/** Where the image's roles read their Spark properties ($SPARK_CONF_DIR/spark-defaults.conf). */
const DEFAULTS_FILE = "/opt/lakeform/conf/spark-defaults.conf";

/**
 * `jobServerSecret` (like the connection's keys, only in envs and uploads): the job server's in its
 * environment, Spark's RPC secret derived from it in every container's spark-defaults.conf.
 */
export function sparkDockerPlan(args: SparkDockerArgs, tc: Toolchain, conn: LakeConnection, jobServerSecret: string): DockerPlan {
  const { name, port, workers, driverMemory, workerMemory } = args;
  const rpcSecret = sparkRpcSecret(jobServerSecret);
  const image = `${name}-image`;
  const master = sparkDockerMaster(args);
  const containerJars = SPARK_JARS.map((coord) => path.posix.join("/opt/lakeform/jars", jarFileName(coord)));
  const node = (resource: string, command: string[], healthcheck: DockerContainerPlan["healthcheck"], after: string[]): DockerContainerPlan => ({
    name: resource,
    hostname: dockerName(args, resource),
    image,
    command,
    envs: [],
    // The master and the workers read it by default: Spark's RPC authentication, so an app or a
    // worker without the secret can't join (the containers' addresses are reachable from the host).
    uploads: [{ file: DEFAULTS_FILE, content: sparkDaemonFile(rpcSecret) }],
    ports: [],
    mounts: [],
    aliases: [],
    healthcheck,
    waitTimeout: WAIT.jvm,
    after,
    afterDependencies: false,
  });
  const nodes: DockerContainerPlan[] = [];
  if (workers > 0) {
    // The master binds its container address (the image's entrypoint); the check probes that address.
    nodes.push(node(`${name}-master`, ["master"], dockerHealthcheck(["tcp", String(MASTER_PORT)], 30), []));
    for (let i = 1; i <= workers; i++) {
      // Healthy once registered: the worker's own JSON then names the master it joined (its
      // "masterurl" is empty until then). By the master's address, not the name it was given:
      // the master advertises the address it binds.
      nodes.push(
        node(`${name}-worker-${i}`, ["worker", master, "--memory", workerMemory], dockerHealthcheck(["http", String(WORKER_UI_PORT), "/json/", '"spark://'], 30), [
          `${name}-master`,
        ]),
      );
    }
  }
  const server: DockerContainerPlan = {
    ...node(`${name}-job-server`, ["job-server"], dockerHealthcheck(["http", String(JOB_SERVER_PORT), "/healthz"], 120), nodes.map((n) => n.name)),
    // The image's entrypoint reads it, and runs the job server on 0.0.0.0 inside the container.
    uploads: [
      {
        file: DEFAULTS_FILE,
        content: sparkDefaultsFile(conn, master, driverMemory, containerJars, rpcSecret, { workers, executorMemory: executorMemory(workerMemory) }),
      },
    ],
    envs: [
      `LAKEFORM_JOB_SERVER_PORT=${JOB_SERVER_PORT}`,
      ...Object.entries(jobServerEnv(jobServerSecret, conn.warehouseBucket)).map(([k, v]) => `${k}=${v}`),
      // Its health check asks by the container's name (lakeform-healthcheck); the host's clients by 127.0.0.1.
      `${JOB_SERVER_ENV.hosts}=${dockerName(args, `${name}-job-server`)}`,
    ],
    ports: [{ internal: JOB_SERVER_PORT, external: port, ip: "127.0.0.1" }],
    afterDependencies: true,
  };
  return { images: [lakeformImage(tc, "spark", image)], volumes: [], containers: [...nodes, server], server: server.name };
}
