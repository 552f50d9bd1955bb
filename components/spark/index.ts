/**
 * Apache Spark, the writer: a warm driver running Lakeform's job server (Hudi and Iceberg writes,
 * hive sync), optionally on a standalone cluster of `workers`. The plans of each runtime live
 * beside this file (localPlan.ts, dockerPlan.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix, lakeConnection } from "../common";
import type { LakeConnection } from "../connection";
import { declareDockerPlan } from "../dockerResources";
import { LocalService } from "../local/providers";
import { PLACEHOLDER_CONNECTION } from "../plans";
import { sparkDockerMaster, sparkDockerPlan } from "./dockerPlan";
import { sparkLocalMaster, sparkLocalPlans, sparkLocalPorts } from "./localPlan";
import { SPARK_DEFAULTS, validateSparkArgs, type SparkArgs } from "./types";

export * from "./types";
export { sparkLocalMaster, sparkLocalPlans, sparkLocalPorts } from "./localPlan";
export { sparkDockerPlan } from "./dockerPlan";

/** Stands in for the job server's secret when only the docker plan's shape is wanted. */
const PLACEHOLDER_SECRET = "placeholder-job-server-secret";

export class Spark extends pulumi.ComponentResource {
  /** URL of the job server, for the reconciler. */
  readonly jobServerUrl: pulumi.Output<string>;
  readonly master: pulumi.Output<string>;
  readonly server: pulumi.Resource;
  /** The job server's web UI (behind its password, SparkArgs.uiPassword); "" where it is off (docker, no password). */
  readonly uiUrl: pulumi.Output<string>;

  constructor(name: string, args: SparkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Spark", name, {}, opts);
    validateSparkArgs(args);
    const port = args.port ?? SPARK_DEFAULTS.port;
    const workers = args.workers ?? SPARK_DEFAULTS.workers;
    const driverMemory = args.driverMemory ?? SPARK_DEFAULTS.driverMemory;
    const workerMemory = args.workerMemory ?? SPARK_DEFAULTS.workerMemory;
    this.jobServerUrl = pulumi.output(`http://127.0.0.1:${port}`);
    const conn = lakeConnection(args, args.metastoreUri);
    const secret = pulumi.secret(args.jobServerSecret);
    const uiPassword = pulumi.secret(pulumi.output(args.uiPassword ?? ""));
    const uiUrl = (host: string) => (args.uiPassword !== undefined ? `http://${host}:${sparkLocalPorts(port, 0).driverUi}/` : "");

    if (args.external) {
      // Someone else's cluster: only Lakeform's job server runs here, as the cluster's driver.
      const plan = pulumi
        .all([conn, secret, pulumi.secret(args.external), uiPassword])
        .apply(([c, s, external, ui]) => sparkLocalPlans({ dataDir: args.dataDir, port, workers: 0, driverMemory, workerMemory, external, uiPassword: ui || undefined, arrowPathMaxMB: args.arrowPathMaxMB }, args.toolchain, c, s).server);
      this.server = new LocalService(`${name}-job-server`, plan, { parent: this, dependsOn: args.dependsOn });
      this.master = pulumi.output(args.external).apply((x) => x.master);
      this.uiUrl = pulumi.unsecret(pulumi.output(args.external).apply((x) => uiUrl(x.driverHost)));
    } else if (args.runtime === "local") {
      const plans = pulumi
        .all([conn, secret, uiPassword])
        .apply(([c, s, ui]) => sparkLocalPlans({ dataDir: args.dataDir, port, workers, driverMemory, workerMemory, uiPassword: ui || undefined, arrowPathMaxMB: args.arrowPathMaxMB }, args.toolchain, c, s));
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
      this.master = pulumi.output(sparkLocalMaster(port, workers));
      this.uiUrl = pulumi.output(uiUrl("127.0.0.1"));
    } else {
      const dockerArgs = { name, port, workers, driverMemory, workerMemory, prefix: dockerPrefix(args) };
      this.server = declareDockerPlan(
        this,
        (v: { conn: LakeConnection; secret: string }) => sparkDockerPlan(dockerArgs, args.toolchain, v.conn, v.secret),
        pulumi.all([conn, secret]).apply(([c, s]) => ({ conn: c, secret: s })),
        { conn: PLACEHOLDER_CONNECTION, secret: PLACEHOLDER_SECRET },
        { network: args.network, dependsOn: args.dependsOn },
      ).server;
      this.master = pulumi.output(sparkDockerMaster(dockerArgs));
      this.uiUrl = pulumi.output("");
    }
    this.registerOutputs({ jobServerUrl: this.jobServerUrl, master: this.master, uiUrl: this.uiUrl });
  }
}
