/**
 * Trino, the SQL reader: catalogs `hive`, `hudi` and `iceberg` over the metastore and the object
 * store. The plans of each runtime live beside this file (localPlan.ts, dockerPlan.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix, lakeConnection } from "../common";
import type { LakeConnection } from "../connection";
import { declareDockerPlan } from "../dockerResources";
import { GeneratedCertificate, LocalService } from "../local/providers";
import { PLACEHOLDER_CONNECTION } from "../plans";
import { trinoDockerPlan } from "./dockerPlan";
import { trinoLocalPlans } from "./localPlan";
import { TRINO_DEFAULTS, validateTrinoArgs, type TrinoArgs, type TrinoSecrets } from "./types";

export * from "./types";
export { trinoLocalPlans } from "./localPlan";
export { trinoDockerPlan } from "./dockerPlan";

/** Stands in for the passwords when only the docker plan's shape is wanted (see dockerResources.ts). */
const PLACEHOLDER_TRINO_SECRETS: TrinoSecrets = { password: "placeholder-password-0", readPassword: "placeholder-password-1", certPem: "placeholder", keyPem: "placeholder" };

export class Trino extends pulumi.ComponentResource {
  /** https://127.0.0.1:<port>: the coordinator, asking for a password of its password file. */
  readonly endpoint: pulumi.Output<string>;
  /** The coordinator's self-signed certificate (PEM), which its clients pin; an external cluster's CA, or empty. */
  readonly certificate: pulumi.Output<string>;
  readonly server: pulumi.Resource;
  /** Whether this is someone else's cluster (args.external). */
  readonly external: boolean;

  constructor(name: string, args: TrinoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Trino", name, {}, opts);
    validateTrinoArgs(args);
    const { port = TRINO_DEFAULTS.port, workers = TRINO_DEFAULTS.workers, heap = TRINO_DEFAULTS.heap } = args;
    this.external = !!args.external;
    if (args.external) {
      this.endpoint = pulumi.output(args.external.endpoint);
      this.certificate = pulumi.output(args.external.caCertificate ?? "");
      this.server = args.external.checks;
      this.registerOutputs({ endpoint: this.endpoint, certificate: this.certificate });
      return;
    }
    this.endpoint = pulumi.output(`https://127.0.0.1:${port}`);
    const conn = lakeConnection(args, args.metastoreUri);
    // Clients on the host reach the coordinator as 127.0.0.1 on both runtimes.
    const cert = new GeneratedCertificate(`${name}-certificate`, { commonName: "lakeform-trino", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }, { parent: this });
    this.certificate = cert.certPem;
    const secrets = pulumi
      .all([args.password, args.readPassword, cert.certPem, cert.keyPem])
      .apply(([password, readPassword, certPem, keyPem]): TrinoSecrets => ({ password, readPassword, certPem, keyPem }));

    if (args.runtime === "local") {
      const plans = pulumi
        .all([conn, secrets])
        .apply(([c, s]) => trinoLocalPlans({ dataDir: args.dataDir, port, workers, heap }, args.toolchain, c, s));
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
        ({ c, s }: { c: LakeConnection; s: TrinoSecrets }) => trinoDockerPlan(dockerArgs, args.toolchain, c, s),
        pulumi.all([conn, secrets]).apply(([c, s]) => ({ c, s })),
        { c: PLACEHOLDER_CONNECTION, s: PLACEHOLDER_TRINO_SECRETS },
        { network: args.network, dependsOn: args.dependsOn },
      ).server;
    }
    this.registerOutputs({ endpoint: this.endpoint, certificate: this.certificate });
  }
}
