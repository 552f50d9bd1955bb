import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderProperties, sparkDefaults, type LakeConnection } from "./connection";
import {
  dockerHealthcheck,
  lakeConnection,
  localProcess,
  requireAbsolute,
  requirePort,
  serviceDirs,
  type EngineConnectionArgs,
  type RuntimeArgs,
} from "./common";
import { findJava17Home, installPaths } from "./local/install";
import { LocalService, type ServicePlan } from "./local/providers";
import { IMAGES, SPARK_JARS } from "./versions";

/** The job program Spark runs: a warm driver serving Lakeform's write/observe requests. */
export const JOB_SERVER_SCRIPT = path.resolve(__dirname, "..", "jobs", "job_server.py");

export interface SparkArgs extends RuntimeArgs, EngineConnectionArgs {
  /** Port of the Lakeform job server (the warm Spark driver). */
  port?: number;
  /** Standalone Spark workers; 0 runs executors inside the driver (local mode), right for one machine. */
  workers?: number;
  driverMemory?: string;
  workerMemory?: string;
}

export const SPARK_DEFAULTS = { port: 8998, workers: 0, driverMemory: "2g", workerMemory: "2g", masterPort: 7077 };

export function validateSparkArgs(args: SparkArgs): void {
  requirePort("Spark", "port", args.port ?? SPARK_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("Spark", "dataDir", args.dataDir);
  const w = args.workers ?? SPARK_DEFAULTS.workers;
  if (!Number.isInteger(w) || w < 0 || w > 64) throw new Error(`Spark: workers must be an integer from 0 to 64, got ${w}`);
}

/** Hash of the job programs (jobs/*.py), so a changed program restarts the server on `up`. */
export function jobsHash(): string {
  const dir = path.dirname(JOB_SERVER_SCRIPT);
  const h = crypto.createHash("sha256");
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".py")).sort()) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  return h.digest("hex");
}

/** spark-defaults.conf for a given master. */
export function sparkDefaultsFile(conn: LakeConnection, master: string, driverMemory: string, jars: string[]): string {
  return renderProperties({ ...sparkDefaults(conn, { driverMemory }), "spark.master": master, "spark.jars": jars.join(",") }, " ");
}

/** The local job server (and, with workers, a standalone master and its workers). */
export function sparkLocalPlans(
  args: Required<Pick<SparkArgs, "port" | "workers" | "driverMemory" | "workerMemory">> & { dataDir: string },
  conn: LakeConnection,
): { cluster: ServicePlan[]; server: ServicePlan } {
  const bin = installPaths();
  const dirs = serviceDirs(args.dataDir, "spark");
  const defaults = path.join(dirs.conf, "spark-defaults.conf");
  const master = args.workers > 0 ? `spark://127.0.0.1:${SPARK_DEFAULTS.masterPort}` : "local[*]";
  const env = {
    JAVA_HOME: findJava17Home(),
    PYSPARK_PYTHON: bin.python,
    PYSPARK_DRIVER_PYTHON: bin.python,
    SPARK_CONF_DIR: dirs.conf,
    SPARK_LOCAL_IP: "127.0.0.1",
    SPARK_LOCAL_DIRS: path.join(dirs.data, "tmp"),
    // A changed job program is a changed plan: `up` restarts the server with it.
    LAKEFORM_JOBS_SHA256: jobsHash(),
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
      command: [bin.sparkSubmit, "--properties-file", defaults, "--name", "lakeform-job-server", JOB_SERVER_SCRIPT, "--serve", "--port", String(args.port)],
      env,
      health: { http: `http://127.0.0.1:${args.port}/healthz` },
      ports: [args.port],
      startTimeoutSec: 240,
    }),
  };
  return { cluster, server };
}

/**
 * Apache Spark, the writer: a warm driver running Lakeform's job server (Hudi and Iceberg writes,
 * hive sync), optionally on a standalone cluster of `workers`.
 */
export class Spark extends pulumi.ComponentResource {
  /** URL of the job server, for the reconciler. */
  readonly jobServerUrl: pulumi.Output<string>;
  readonly master: pulumi.Output<string>;
  readonly server: pulumi.Resource;

  constructor(name: string, args: SparkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Spark", name, {}, opts);
    validateSparkArgs(args);
    const port = args.port ?? SPARK_DEFAULTS.port;
    const workers = args.workers ?? SPARK_DEFAULTS.workers;
    const driverMemory = args.driverMemory ?? SPARK_DEFAULTS.driverMemory;
    const workerMemory = args.workerMemory ?? SPARK_DEFAULTS.workerMemory;
    this.jobServerUrl = pulumi.output(`http://127.0.0.1:${port}`);
    const conn = lakeConnection(args, args.metastoreUri);

    if (args.runtime === "local") {
      const plans = conn.apply((c) => sparkLocalPlans({ dataDir: args.dataDir, port, workers, driverMemory, workerMemory }, c));
      const clusterNodes: pulumi.Resource[] = [];
      for (let i = 0; i < (workers > 0 ? workers + 1 : 0); i++) {
        clusterNodes.push(
          new LocalService(
            i === 0 ? `${name}-master` : `${name}-worker-${i}`,
            plans.apply((p) => p.cluster[i]),
            { parent: this, dependsOn: i === 0 ? args.dependsOn : [clusterNodes[0]] },
          ),
        );
      }
      this.server = new LocalService(
        `${name}-job-server`,
        plans.apply((p) => p.server),
        { parent: this, dependsOn: [...((args.dependsOn as pulumi.Resource[]) ?? []), ...clusterNodes] },
      );
      this.master = plans.apply((p) => (p.cluster.length > 0 ? `spark://127.0.0.1:${SPARK_DEFAULTS.masterPort}` : "local[*]"));
    } else {
      const image = new docker.RemoteImage(`${name}-image`, { name: IMAGES.spark, keepLocally: true }, { parent: this });
      const masterName = `${name}-master`;
      const master = workers > 0 ? `spark://${masterName}:7077` : "local[*]";
      const jarMounts = installPaths().jars.map((file) => ({
        hostPath: file,
        containerPath: `/opt/lakeform/jars/${path.basename(file)}`,
        readOnly: true,
      }));
      const containerJars = jarMounts.map((m) => m.containerPath);
      const nodes: docker.Container[] = [];
      if (workers > 0) {
        nodes.push(
          new docker.Container(
            masterName,
            {
              name: masterName,
              image: image.imageId,
              restart: "unless-stopped",
              command: ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.master.Master", "--host", masterName],
              networksAdvanced: args.network ? [{ name: args.network }] : [],
              healthcheck: dockerHealthcheck("bash -c '</dev/tcp/localhost/7077'"),
              wait: true,
            },
            { parent: this },
          ),
        );
        for (let i = 1; i <= workers; i++) {
          nodes.push(
            new docker.Container(
              `${name}-worker-${i}`,
              {
                name: `${name}-worker-${i}`,
                image: image.imageId,
                restart: "unless-stopped",
                command: ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.worker.Worker", "--memory", workerMemory, master],
                volumes: jarMounts,
                networksAdvanced: args.network ? [{ name: args.network }] : [],
                healthcheck: dockerHealthcheck("bash -c '</dev/tcp/localhost/8081'"),
                wait: true,
              },
              { parent: this, dependsOn: [nodes[0]] },
            ),
          );
        }
      }
      const serverName = `${name}-job-server`;
      this.server = new docker.Container(
        serverName,
        {
          name: serverName,
          image: image.imageId,
          restart: "unless-stopped",
          command: ["/opt/spark/bin/spark-submit", "--properties-file", "/opt/spark/conf/spark-defaults.conf", "/opt/lakeform/jobs/job_server.py", "--serve", "--port", "8998"],
          uploads: [{ file: "/opt/spark/conf/spark-defaults.conf", content: conn.apply((c) => sparkDefaultsFile(c, master, driverMemory, containerJars)) }],
          volumes: [
            ...jarMounts,
            { hostPath: path.dirname(JOB_SERVER_SCRIPT), containerPath: "/opt/lakeform/jobs", readOnly: true },
          ],
          ports: [{ internal: 8998, external: port }],
          networksAdvanced: args.network ? [{ name: args.network, aliases: ["spark"] }] : [],
          healthcheck: dockerHealthcheck("curl -fsS http://localhost:8998/healthz", "120s"),
          wait: true,
        },
        { parent: this, dependsOn: [...nodes, ...((args.dependsOn as pulumi.Resource[]) ?? [])] },
      );
      this.master = pulumi.output(master);
    }
    this.registerOutputs({ jobServerUrl: this.jobServerUrl, master: this.master });
  }
}
