/**
 * S3 object storage: a real S3 server (SeaweedFS or MinIO) and its buckets. The plans of each
 * runtime live beside this file (localPlan.ts, dockerPlan.ts); this class only declares them.
 */
import * as minio from "@pulumi/minio";
import * as pulumi from "@pulumi/pulumi";
import { dockerPrefix } from "../common";
import { DEFAULT_REGION } from "../connection";
import { declareDockerPlan } from "../dockerResources";
import { LocalBucket, LocalService } from "../local/providers";
import { objectStoreDockerEndpoint, objectStoreDockerPlan } from "./dockerPlan";
import { objectStoreLocalPlan } from "./localPlan";
import { OBJECT_STORE_DEFAULTS, validateObjectStoreArgs, type ObjectStoreArgs } from "./types";

export * from "./types";
export { seaweedPorts, seaweedS3Config, seaweedSecurityToml, SEAWEED_JWT_SECTIONS, objectStoreLocalPlan } from "./localPlan";
export { objectStoreDockerPlan } from "./dockerPlan";

export class ObjectStore extends pulumi.ComponentResource {
  /** S3 endpoint for clients on the host. */
  readonly endpoint: pulumi.Output<string>;
  /** S3 endpoint as the engines reach it (same as `endpoint` locally; by container name on Docker). */
  readonly internalEndpoint: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  readonly accessKey: pulumi.Output<string>;
  readonly secretKey: pulumi.Output<string>;
  readonly buckets: Record<string, pulumi.Resource>;
  /** Path-style requests (endpoint/bucket/key); false for AWS S3's virtual-hosted style. */
  readonly pathStyle: boolean;
  /** The resource that is the running server: depend on it to wait for S3. */
  readonly server: pulumi.Resource;

  constructor(name: string, args: ObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:ObjectStore", name, {}, opts);
    validateObjectStoreArgs(args);
    const { engine = OBJECT_STORE_DEFAULTS.engine, port = OBJECT_STORE_DEFAULTS.port, buckets = OBJECT_STORE_DEFAULTS.buckets } = args;
    const forceDestroy = args.forceDestroy ?? false;
    this.pathStyle = args.external?.pathStyle ?? true;
    if (args.external) {
      // Someone else's S3: no server, no bucket resources. The checks stand for both, so what
      // waits for the server or a bucket waits for them.
      const x = args.external;
      this.region = pulumi.output(x.region);
      this.accessKey = pulumi.secret(args.accessKey);
      this.secretKey = pulumi.secret(args.secretKey);
      this.endpoint = pulumi.output(x.endpoint);
      this.internalEndpoint = this.endpoint;
      this.server = x.checks;
      this.buckets = Object.fromEntries(buckets.map((b) => [b, x.checks]));
      this.registerOutputs({ endpoint: this.endpoint, region: this.region });
      return;
    }
    this.region = pulumi.output(DEFAULT_REGION);
    this.accessKey = pulumi.output(args.accessKey);
    this.secretKey = pulumi.secret(args.secretKey);
    this.endpoint = pulumi.output(`http://127.0.0.1:${port}`);
    this.buckets = {};
    const creds = pulumi.all([args.accessKey, args.secretKey]).apply(([accessKey, secretKey]) => ({ accessKey, secretKey }));

    if (args.runtime === "local") {
      const plan = creds.apply((c) => objectStoreLocalPlan({ engine, dataDir: args.dataDir, port }, args.toolchain, c));
      const server = new LocalService(`${name}-server`, plan, { parent: this });
      this.server = server;
      this.internalEndpoint = this.endpoint;
      for (const b of buckets) {
        this.buckets[b] = new LocalBucket(
          `${name}-${b}`,
          { endpoint: this.endpoint, region: this.region, accessKey: args.accessKey, secretKey: args.secretKey, bucket: b, forceDestroy },
          { parent: this, dependsOn: [server] },
        );
      }
    } else {
      const dockerArgs = { name, engine, port, prefix: dockerPrefix(args) };
      const { server } = declareDockerPlan(
        this,
        (c: { accessKey: string; secretKey: string }) => objectStoreDockerPlan(dockerArgs, args.toolchain, c),
        creds,
        { accessKey: "", secretKey: "" },
        { network: args.network },
      );
      this.server = server;
      const internal = objectStoreDockerEndpoint(dockerArgs);
      this.internalEndpoint = pulumi.output(`http://${internal.host}:${internal.port}`);
      const provider = new minio.Provider(
        `${name}-minio-provider`,
        { minioServer: `127.0.0.1:${port}`, minioUser: args.accessKey, minioPassword: args.secretKey, minioRegion: DEFAULT_REGION, minioSsl: false },
        { parent: this, dependsOn: [server] },
      );
      for (const b of buckets) {
        this.buckets[b] = new minio.S3Bucket(`${name}-${b}`, { bucket: b, forceDestroy }, { parent: this, provider, dependsOn: [server] });
      }
    }

    this.registerOutputs({
      endpoint: this.endpoint,
      internalEndpoint: this.internalEndpoint,
      region: this.region,
      accessKey: this.accessKey,
      secretKey: this.secretKey,
    });
  }
}
