/**
 * Trino, the SQL reader: catalogs `hive`, `hudi` and `iceberg` over the metastore and the object
 * store. The plans of each runtime live beside this file (localPlan.ts, dockerPlan.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix, lakeConnection } from "../common";
import type { LakeConnection } from "../connection";
import { declareDockerPlan } from "../dockerResources";
import { LocalService } from "../local/providers";
import { PLACEHOLDER_CONNECTION } from "../plans";
import { trinoDockerPlan } from "./dockerPlan";
import { trinoLocalPlans } from "./localPlan";
import { TRINO_DEFAULTS, validateTrinoArgs, type TrinoArgs } from "./types";

export * from "./types";
export { trinoLocalPlans } from "./localPlan";
export { trinoDockerPlan } from "./dockerPlan";

export class Trino extends pulumi.ComponentResource {
  readonly endpoint: pulumi.Output<string>;
  readonly server: pulumi.Resource;

  constructor(name: string, args: TrinoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Trino", name, {}, opts);
    validateTrinoArgs(args);
    const { port = TRINO_DEFAULTS.port, workers = TRINO_DEFAULTS.workers, heap = TRINO_DEFAULTS.heap } = args;
    this.endpoint = pulumi.output(`http://127.0.0.1:${port}`);
    const conn = lakeConnection(args, args.metastoreUri);

    if (args.runtime === "local") {
      const plans = conn.apply((c) => trinoLocalPlans({ dataDir: args.dataDir, port, workers, heap }, args.toolchain, c));
      const coordinator = new LocalService(`${name}-coordinator`, plans.apply((p) => p[0]), {
        parent: this,
        dependsOn: args.dependsOn,
      });
      for (let i = 1; i <= workers; i++) {
        new LocalService(`${name}-worker-${i}`, plans.apply((p) => p[i]), { parent: this, dependsOn: [coordinator] });
      }
      this.server = coordinator;
    } else {
      const dockerArgs = { name, port, workers, heap, prefix: dockerPrefix(args) };
      this.server = declareDockerPlan(
        this,
        (c: LakeConnection) => trinoDockerPlan(dockerArgs, args.toolchain, c),
        conn,
        PLACEHOLDER_CONNECTION,
        { network: args.network, dependsOn: args.dependsOn },
      ).server;
    }
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
