import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix, type Runtime } from "./common";
import { dockerName } from "./plans";
import { GeneratedCredentials } from "./local/providers";
import { Metastore } from "./metastore";
import { ObjectStore, type ObjectStoreEngine } from "./objectStore";
import { Spark } from "./spark";
import type { Toolchain } from "./toolchain";
import { Trino } from "./trino";

export interface LakehouseArgs {
  runtime: Runtime;
  /** local: absolute directory for every service's data and logs. */
  dataDir: string;
  /** docker: the stack's name, the prefix of every container, volume and network name. */
  stack?: string;
  /** What the machine provides: read once at the edge (readToolchain in components/toolchain.ts), a plain object in tests. */
  toolchain: Toolchain;
  objectStore?: { engine?: ObjectStoreEngine; port?: number; forceDestroy?: boolean };
  metastore?: { port?: number; heap?: string };
  spark?: { port?: number; workers?: number; driverMemory?: string; workerMemory?: string };
  trino?: { port?: number; workers?: number; heap?: string };
  /** Bucket the tables live in. */
  warehouseBucket?: string;
  /**
   * S3 credentials. Left out, they are generated on first `up` and kept in the state as secrets,
   * so no default password ever exists.
   */
  credentials?: { accessKey: pulumi.Input<string>; secretKey: pulumi.Input<string> };
  /**
   * The stack's other secrets, each generated on the first `up` and kept in the state as a secret
   * unless given here (stack config: `pulumi config set --secret lakeform:<name> …`, then `up`).
   */
  secrets?: Partial<Record<LakehouseSecret, pulumi.Input<string>>>;
}

/** The secrets a lakehouse holds besides its S3 keys. */
export const LAKEHOUSE_SECRETS = ["apiToken", "apiReadToken", "trinoPassword", "trinoReadPassword", "jobServerSecret"] as const;
export type LakehouseSecret = (typeof LAKEHOUSE_SECRETS)[number];
const SECRET_PREFIX: Record<LakehouseSecret, string> = {
  apiToken: "lakeform-api-",
  apiReadToken: "lakeform-api-read-",
  trinoPassword: "lakeform-trino-",
  trinoReadPassword: "lakeform-trino-ro-",
  jobServerSecret: "lakeform-jobs-",
};

/**
 * The whole lakehouse: S3 storage, the Hive Metastore, Spark and Trino, wired to one set of
 * connection settings.
 */
export class Lakehouse extends pulumi.ComponentResource {
  readonly objectStore: ObjectStore;
  readonly metastore: Metastore;
  readonly spark: Spark;
  readonly trino: Trino;
  readonly warehouseBucket: string;
  /** Bearer token of the REST API's write scope (and read), generated on first `up` and kept secret. */
  readonly apiToken: pulumi.Output<string>;
  /** Bearer token of the REST API's read scope. */
  readonly apiReadToken: pulumi.Output<string>;
  /** Trino passwords of Lakeform's writer (TRINO_USERS.admin) and reader (TRINO_USERS.readOnly). */
  readonly trinoPassword: pulumi.Output<string>;
  readonly trinoReadPassword: pulumi.Output<string>;
  /** The secret every request to the Spark job server must carry. */
  readonly jobServerSecret: pulumi.Output<string>;

  constructor(name: string, args: LakehouseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Lakehouse", name, {}, opts);
    const warehouseBucket = args.warehouseBucket ?? "warehouse";
    this.warehouseBucket = warehouseBucket;
    const creds =
      args.credentials ?? new GeneratedCredentials(`${name}-s3-credentials`, { prefix: "lakeform" }, { parent: this });
    const accessKey = pulumi.output(creds.accessKey);
    // Generated resources keep their names from before (the API token's), so an upgraded stack
    // keeps its token; a secret given in config replaces the generated one.
    const secret = (key: LakehouseSecret, resource: string) =>
      pulumi.secret(args.secrets?.[key] ?? new GeneratedCredentials(`${name}-${resource}`, { prefix: SECRET_PREFIX[key] }, { parent: this }).secretKey);
    this.apiToken = secret("apiToken", "api-token");
    this.apiReadToken = secret("apiReadToken", "api-read-token");
    this.trinoPassword = secret("trinoPassword", "trino-password");
    this.trinoReadPassword = secret("trinoReadPassword", "trino-read-password");
    this.jobServerSecret = secret("jobServerSecret", "job-server-secret");
    const secretKey = pulumi.secret(creds.secretKey);

    let network: pulumi.Input<string> | undefined;
    if (args.runtime === "docker") {
      const site = { prefix: dockerPrefix(args) };
      network = new docker.Network(`${name}-net`, { name: dockerName(site, `${name}-net`), driver: "bridge" }, { parent: this }).name;
    }
    const base = { runtime: args.runtime, dataDir: args.dataDir, network, toolchain: args.toolchain, stack: args.stack };

    this.objectStore = new ObjectStore(
      `${name}-s3`,
      { ...base, ...args.objectStore, accessKey, secretKey, buckets: [warehouseBucket] },
      { parent: this },
    );
    const s3 = {
      s3Endpoint: this.objectStore.internalEndpoint,
      s3Region: this.objectStore.region,
      accessKey,
      secretKey,
      warehouseBucket,
    };
    const bucket = this.objectStore.buckets[warehouseBucket];
    this.metastore = new Metastore(
      `${name}-metastore`,
      { ...base, ...args.metastore, ...s3, dependsOn: [this.objectStore.server, bucket] },
      { parent: this },
    );
    const engines = { ...s3, metastoreUri: this.metastore.internalUri, dependsOn: [this.metastore.server, bucket] };
    this.spark = new Spark(`${name}-spark`, { ...base, ...args.spark, ...engines, jobServerSecret: this.jobServerSecret }, { parent: this });
    this.trino = new Trino(
      `${name}-trino`,
      { ...base, ...args.trino, ...engines, password: this.trinoPassword, readPassword: this.trinoReadPassword },
      { parent: this },
    );

    this.registerOutputs({
      s3Endpoint: this.objectStore.endpoint,
      metastoreUri: this.metastore.uri,
      sparkJobServer: this.spark.jobServerUrl,
      trinoEndpoint: this.trino.endpoint,
    });
  }
}
