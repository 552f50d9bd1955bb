/** Spark as containers (the job server, and with workers a standalone master and its workers): pure. */
import * as path from "node:path";
import type { LakeConnection } from "../connection";
import { jarFileName } from "../local/install";
import { dockerHealthcheck, type DockerContainerPlan, type DockerMount, type DockerPlan } from "../plans";
import type { Toolchain } from "../toolchain";
import { IMAGES, SPARK_JARS } from "../versions";
import { sparkDefaultsFile } from "./types";

export interface SparkDockerArgs {
  /** The component's name: every resource name starts with it. */
  name: string;
  port: number;
  workers: number;
  driverMemory: string;
  workerMemory: string;
}

/** The master URL the job server is given: a standalone master with workers, else in-process executors. */
export function sparkDockerMaster(args: Pick<SparkDockerArgs, "name" | "workers">): string {
  return args.workers > 0 ? `spark://${args.name}-master:7077` : "local[*]";
}

export function sparkDockerPlan(args: SparkDockerArgs, tc: Toolchain, conn: LakeConnection): DockerPlan {
  const { name, port, workers, driverMemory, workerMemory } = args;
  const image = `${name}-image`;
  const masterName = `${name}-master`;
  const master = sparkDockerMaster(args);
  const jarMounts: DockerMount[] = SPARK_JARS.map((coord) => {
    const file = path.join(tc.cache, "jars", jarFileName(coord));
    return { hostPath: file, containerPath: `/opt/lakeform/jars/${path.basename(file)}`, readOnly: true };
  });
  const containerJars = jarMounts.map((m) => m.containerPath);
  const base = { image, envs: [], uploads: [], ports: [], aliases: [], afterDependencies: false };
  const nodes: DockerContainerPlan[] = [];
  if (workers > 0) {
    nodes.push({
      ...base,
      name: masterName,
      command: ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master", "--host", masterName],
      mounts: [],
      healthcheck: dockerHealthcheck("bash -c '</dev/tcp/localhost/7077'"),
      after: [],
    });
    for (let i = 1; i <= workers; i++) {
      nodes.push({
        ...base,
        name: `${name}-worker-${i}`,
        command: ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.worker.Worker", "--memory", workerMemory, master],
        mounts: jarMounts,
        healthcheck: dockerHealthcheck("bash -c '</dev/tcp/localhost/8081'"),
        after: [masterName],
      });
    }
  }
  const serverName = `${name}-job-server`;
  const server: DockerContainerPlan = {
    ...base,
    name: serverName,
    command: ["/opt/spark/bin/spark-submit", "--properties-file", "/opt/spark/conf/spark-defaults.conf", "/opt/lakeform/jobs/job_server.py", "--serve", "--port", "8998"],
    uploads: [{ file: "/opt/spark/conf/spark-defaults.conf", content: sparkDefaultsFile(conn, master, driverMemory, containerJars) }],
    mounts: [...jarMounts, { hostPath: tc.jobs.dir, containerPath: "/opt/lakeform/jobs", readOnly: true }],
    ports: [{ internal: 8998, external: port }],
    aliases: ["spark"],
    healthcheck: dockerHealthcheck("curl -fsS http://localhost:8998/healthz", "120s"),
    after: nodes.map((n) => n.name),
    afterDependencies: true,
  };
  return { images: [{ key: image, name: IMAGES.spark }], volumes: [], containers: [...nodes, server], server: serverName };
}
