/**
 * The Hive Metastore: the catalog Spark, Hudi's hive sync, Iceberg's HiveCatalog and Trino share.
 * The plans of each runtime live beside this file (localPlan.ts, dockerPlan.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix, lakeConnection } from "../common";
import type { LakeConnection } from "../connection";
import { declareDockerPlan } from "../dockerResources";
import { PLACEHOLDER_CONNECTION } from "../plans";
import { LocalService } from "../local/providers";
import { metastoreDockerPlan, metastoreDockerUri } from "./dockerPlan";
import { metastoreLocalPlan } from "./localPlan";
import { METASTORE_DEFAULTS, validateMetastoreArgs, type MetastoreArgs } from "./types";

export * from "./types";
export { metastoreLocalPlan } from "./localPlan";
export { metastoreDockerPlan } from "./dockerPlan";

export class Metastore extends pulumi.ComponentResource {
  /**
   * thrift:// URI for clients on the host (local). On docker the port is not published: this is
   * the URI on the stack's network, the same as internalUri.
   */
  readonly uri: pulumi.Output<string>;
  /** thrift:// URI as the engines reach it. */
  readonly internalUri: pulumi.Output<string>;
  readonly server: pulumi.Resource;

  constructor(name: string, args: MetastoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Metastore", name, {}, opts);
    validateMetastoreArgs(args);
    const { port = METASTORE_DEFAULTS.port, heap = METASTORE_DEFAULTS.heap } = args;
    if (args.external) {
      this.uri = pulumi.output(args.external.uri);
      this.internalUri = this.uri;
      this.server = args.external.checks;
    } else if (args.runtime === "local") {
      this.uri = pulumi.output(`thrift://127.0.0.1:${port}`);
      const plan = lakeConnection(args, this.uri).apply((conn) => metastoreLocalPlan({ dataDir: args.dataDir, port, heap }, args.toolchain, conn));
      this.server = new LocalService(`${name}-server`, plan, { parent: this, dependsOn: args.dependsOn });
      this.internalUri = this.uri;
    } else {
      const dockerArgs = { name, port, heap, prefix: dockerPrefix(args) };
      const uri = metastoreDockerUri(dockerArgs);
      this.server = declareDockerPlan(
        this,
        (c: LakeConnection) => metastoreDockerPlan(dockerArgs, args.toolchain, c),
        lakeConnection(args, uri),
        PLACEHOLDER_CONNECTION,
        { network: args.network, dependsOn: args.dependsOn },
      ).server;
      this.internalUri = pulumi.output(uri);
      this.uri = this.internalUri;
    }
    this.registerOutputs({ uri: this.uri, internalUri: this.internalUri });
  }
}
