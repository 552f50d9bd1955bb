import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix, type Runtime } from "./common";
import { dockerName } from "./plans";
import { ExternalServices, type ExternalObjectStoreCheck, type ExternalServicesSpec, type ExternalTrinoCheck } from "./external";
import { GeneratedCredentials } from "./local/providers";
import { Metastore } from "./metastore";
import { ObjectStore, type ObjectStoreEngine } from "./objectStore";
import { Spark, type ExternalSparkCluster } from "./spark";
import type { Toolchain } from "./toolchain";
import { Trino } from "./trino";
import { TRINO_USERS } from "../lake/trino";

export interface LakehouseArgs {
  runtime: Runtime;
  /** local: absolute directory for every service's data and logs. */
  dataDir: string;
  /** docker: the stack's name, the prefix of every container, volume and network name. */
  stack?: string;
  /** What the machine provides: read once at the edge (readToolchain in components/toolchain.ts), a plain object in tests. */
  toolchain: Toolchain;
  /** Each service's `external` (stacks/config.ts): connected to, checked on every `up`, never provisioned nor destroyed. */
  objectStore?: { engine?: ObjectStoreEngine; port?: number; forceDestroy?: boolean; external?: ExternalObjectStoreCheck };
  metastore?: { port?: number; heap?: string; external?: { uri: string } };
  spark?: { port?: number; workers?: number; driverMemory?: string; workerMemory?: string; arrowPathMaxMB?: number; external?: ExternalSparkCluster };
  trino?: { port?: number; workers?: number; heap?: string; external?: Omit<ExternalTrinoCheck, "catalogs"> & { catalogs?: string[] } };
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
  /** The one resource standing for the external services (their checks), if any is external. */
  readonly external?: ExternalServices;
  /** Trino users of Lakeform's writer and reader: TRINO_USERS unless Trino is external. */
  readonly trinoUser: string;
  readonly trinoReadUser: string;
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
    const xs3 = args.objectStore?.external;
    const xtrino = args.trino?.external;
    const warehouseBucket = xs3?.bucket ?? args.warehouseBucket ?? "warehouse";
    this.warehouseBucket = warehouseBucket;
    const spec: ExternalServicesSpec = {
      ...(xs3 ? { objectStore: xs3 } : {}),
      ...(args.metastore?.external ? { metastore: args.metastore.external } : {}),
      ...(args.spark?.external ? { spark: { master: args.spark.external.master } } : {}),
      ...(xtrino ? { trino: { ...xtrino, catalogs: xtrino.catalogs ?? ["hive", "hudi", "iceberg"] } } : {}),
    };
    // Checked before anything else: every engine of the lakehouse waits for it.
    const checks = Object.keys(spec).length ? new ExternalServices(`${name}-external-services`, spec, { parent: this }) : undefined;
    this.external = checks;
    const first = checks ? [checks] : [];
    this.trinoUser = xtrino?.user ?? TRINO_USERS.admin;
    this.trinoReadUser = xtrino ? (xtrino.readUser ?? xtrino.user) : TRINO_USERS.readOnly;
    const creds =
      args.credentials ??
      (xs3 ? { accessKey: xs3.accessKey, secretKey: xs3.secretKey } : new GeneratedCredentials(`${name}-s3-credentials`, { prefix: "lakeform" }, { parent: this }));
    const accessKey = pulumi.output(creds.accessKey);
    // Generated resources keep their names from before (the API token's), so an upgraded stack
    // keeps its token; a secret given in config replaces the generated one.
    const secret = (key: LakehouseSecret, resource: string) =>
      pulumi.secret(args.secrets?.[key] ?? new GeneratedCredentials(`${name}-${resource}`, { prefix: SECRET_PREFIX[key] }, { parent: this }).secretKey);
    this.apiToken = secret("apiToken", "api-token");
    this.apiReadToken = secret("apiReadToken", "api-read-token");
    // An external Trino's users have their own passwords: nothing generated for it.
    this.trinoPassword = xtrino ? pulumi.secret(xtrino.password) : secret("trinoPassword", "trino-password");
    this.trinoReadPassword = xtrino ? pulumi.secret(xtrino.readPassword ?? xtrino.password) : secret("trinoReadPassword", "trino-read-password");
    this.jobServerSecret = secret("jobServerSecret", "job-server-secret");
    const secretKey = pulumi.secret(creds.secretKey);
    const accessKeyOut = xs3 ? pulumi.secret(accessKey) : accessKey;

    let network: pulumi.Input<string> | undefined;
    if (args.runtime === "docker") {
      const site = { prefix: dockerPrefix(args) };
      network = new docker.Network(`${name}-net`, { name: dockerName(site, `${name}-net`), driver: "bridge" }, { parent: this }).name;
    }
    const base = { runtime: args.runtime, dataDir: args.dataDir, network, toolchain: args.toolchain, stack: args.stack };

    this.objectStore = new ObjectStore(
      `${name}-s3`,
      {
        ...base,
        engine: args.objectStore?.engine,
        port: args.objectStore?.port,
        forceDestroy: args.objectStore?.forceDestroy,
        accessKey: accessKeyOut,
        secretKey,
        buckets: [warehouseBucket],
        ...(xs3 ? { external: { endpoint: xs3.endpoint, region: xs3.region, pathStyle: xs3.pathStyle, checks: checks! } } : {}),
      },
      { parent: this, dependsOn: first },
    );
    const s3 = {
      s3Endpoint: this.objectStore.internalEndpoint,
      s3Region: this.objectStore.region,
      s3PathStyle: this.objectStore.pathStyle,
      accessKey: accessKeyOut,
      secretKey,
      warehouseBucket,
    };
    const bucket = this.objectStore.buckets[warehouseBucket];
    this.metastore = new Metastore(
      `${name}-metastore`,
      {
        ...base,
        port: args.metastore?.port,
        heap: args.metastore?.heap,
        ...s3,
        dependsOn: [...first, this.objectStore.server, bucket],
        ...(args.metastore?.external ? { external: { uri: args.metastore.external.uri, checks: checks! } } : {}),
      },
      { parent: this },
    );
    const engines = { ...s3, metastoreUri: this.metastore.internalUri, dependsOn: [...first, this.metastore.server, bucket] };
    // The job server's web UI asks the API's read token (HTTP Basic): one credential for every read.
    this.spark = new Spark(`${name}-spark`, { ...base, ...args.spark, ...engines, jobServerSecret: this.jobServerSecret, uiPassword: this.apiReadToken }, { parent: this });
    this.trino = new Trino(
      `${name}-trino`,
      {
        ...base,
        port: args.trino?.port,
        workers: args.trino?.workers,
        heap: args.trino?.heap,
        ...engines,
        password: this.trinoPassword,
        readPassword: this.trinoReadPassword,
        ...(xtrino ? { external: { endpoint: xtrino.endpoint, caCertificate: xtrino.caCertificate, checks: checks! } } : {}),
      },
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
