import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as minio from "@pulumi/minio";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_REGION } from "./connection";
import { dockerHealthcheck, localProcess, requireAbsolute, requirePort, serviceDirs, type RuntimeArgs } from "./common";
import { installPaths } from "./local/install";
import { LocalBucket, LocalService, type ServicePlan } from "./local/providers";
import { IMAGES } from "./versions";

export type ObjectStoreEngine = "seaweedfs" | "minio";

export interface ObjectStoreArgs extends RuntimeArgs {
  /** The S3 server. SeaweedFS installs from PyPI with no build; MinIO is built from the Go proxy. */
  engine?: ObjectStoreEngine;
  /** S3 API port on the host. */
  port?: number;
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
  /** Buckets to create, each a resource of its own. */
  buckets?: string[];
  /** Delete bucket contents on destroy (default false: data is never dropped implicitly). */
  forceDestroy?: boolean;
}

export const OBJECT_STORE_DEFAULTS = { engine: "seaweedfs" as ObjectStoreEngine, port: 8333, buckets: ["warehouse"] };

export function validateObjectStoreArgs(args: ObjectStoreArgs): void {
  requirePort("ObjectStore", "port", args.port ?? OBJECT_STORE_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("ObjectStore", "dataDir", args.dataDir);
  for (const b of args.buckets ?? []) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b)) {
      throw new Error(`ObjectStore: bucket "${b}" is not a valid S3 bucket name`);
    }
  }
}

/** The ports a local SeaweedFS uses, all derived from the S3 port so two stacks can't collide by accident. */
export function seaweedPorts(s3Port: number) {
  // SeaweedFS would otherwise put each gRPC port at http port + 10000, which lands on another
  // stack's range; every port is explicit and within s3Port..s3Port+7.
  return {
    s3: s3Port,
    master: s3Port + 1,
    volume: s3Port + 2,
    filer: s3Port + 3,
    s3Grpc: s3Port + 4,
    masterGrpc: s3Port + 5,
    volumeGrpc: s3Port + 6,
    filerGrpc: s3Port + 7,
  };
}

/** SeaweedFS's identity file: one admin identity with the generated keys. */
export function seaweedS3Config(accessKey: string, secretKey: string): string {
  return JSON.stringify(
    {
      identities: [
        { name: "lakeform", credentials: [{ accessKey, secretKey }], actions: ["Admin", "Read", "Write", "List", "Tagging"] },
      ],
    },
    null,
    2,
  );
}

/** The local process for the chosen engine: pure, so it can be tested without the engine. */
export function objectStoreLocalPlan(
  engine: ObjectStoreEngine,
  dataDir: string,
  port: number,
  accessKey: string,
  secretKey: string,
): ServicePlan {
  const dirs = serviceDirs(dataDir, "s3");
  const bin = installPaths();
  if (engine === "minio") {
    return {
      service: "s3",
      install: ["minio"],
      files: {},
      dirs: [dirs.data],
      process: localProcess(dataDir, "s3", {
        command: [bin.minio, "server", dirs.data, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${port + 1}`],
        env: { MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: "off", MINIO_UPDATE: "off" },
        health: { http: `http://127.0.0.1:${port}/minio/health/live` },
        ports: [port, port + 1],
      }),
    };
  }
  const p = seaweedPorts(port);
  const s3Config = path.join(dirs.conf, "s3.json");
  return {
    service: "s3",
    install: ["python"],
    files: { [s3Config]: seaweedS3Config(accessKey, secretKey) },
    dirs: [dirs.data],
    process: localProcess(dataDir, "s3", {
      command: [
        bin.weed,
        "server",
        `-dir=${dirs.data}`,
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        // SeaweedFS reports usage statistics to its vendor unless told not to.
        "-master.telemetry=false",
        `-master.port=${p.master}`,
        `-master.port.grpc=${p.masterGrpc}`,
        `-volume.port=${p.volume}`,
        `-volume.port.grpc=${p.volumeGrpc}`,
        // Small volumes and a fixed count: with the 30 GB default and max=0 ("free disk / 30 GB"),
        // a second bucket finds no free volume on a typical disk.
        "-master.volumeSizeLimitMB=1024",
        "-volume.max=100",
        "-filer",
        `-filer.port=${p.filer}`,
        `-filer.port.grpc=${p.filerGrpc}`,
        "-s3",
        `-s3.port=${p.s3}`,
        `-s3.port.grpc=${p.s3Grpc}`,
        // Lakeform's catalog is the Hive Metastore: no Iceberg REST or Lance endpoints.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        `-s3.config=${s3Config}`,
      ],
      env: {},
      health: { http: `http://127.0.0.1:${p.s3}/healthz` },
      ports: Object.values(p),
    }),
  };
}

/**
 * S3 object storage: a real S3 server (SeaweedFS or MinIO), and its buckets.
 */
export class ObjectStore extends pulumi.ComponentResource {
  /** S3 endpoint for clients on the host. */
  readonly endpoint: pulumi.Output<string>;
  /** S3 endpoint as the engines reach it (same as `endpoint` locally; by container name on Docker). */
  readonly internalEndpoint: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  readonly accessKey: pulumi.Output<string>;
  readonly secretKey: pulumi.Output<string>;
  readonly buckets: Record<string, pulumi.Resource>;
  /** The resource that is the running server: depend on it to wait for S3. */
  readonly server: pulumi.Resource;

  constructor(name: string, args: ObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:ObjectStore", name, {}, opts);
    validateObjectStoreArgs(args);
    const { engine = OBJECT_STORE_DEFAULTS.engine, port = OBJECT_STORE_DEFAULTS.port, buckets = OBJECT_STORE_DEFAULTS.buckets } = args;
    const forceDestroy = args.forceDestroy ?? false;
    this.region = pulumi.output(DEFAULT_REGION);
    this.accessKey = pulumi.output(args.accessKey);
    this.secretKey = pulumi.secret(args.secretKey);
    this.endpoint = pulumi.output(`http://127.0.0.1:${port}`);
    this.buckets = {};

    if (args.runtime === "local") {
      const plan = pulumi
        .all([args.accessKey, args.secretKey])
        .apply(([ak, sk]) => objectStoreLocalPlan(engine, args.dataDir, port, ak, sk));
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
      // On a Docker host MinIO is the default image; SeaweedFS is offered for parity with local.
      const container = engine === "minio" ? `${name}-minio` : `${name}-seaweedfs`;
      const image = new docker.RemoteImage(`${name}-image`, { name: engine === "minio" ? IMAGES.minio : IMAGES.seaweedfs, keepLocally: true }, { parent: this });
      const volume = new docker.Volume(`${name}-data`, { name: `${name}-data` }, { parent: this });
      const internalPort = engine === "minio" ? 9000 : 8333;
      const server = new docker.Container(
        container,
        {
          name: container,
          image: image.imageId,
          restart: "unless-stopped",
          command: engine === "minio" ? ["server", "/data", "--console-address", ":9001"] : ["server", "-dir=/data", "-master.telemetry=false", "-s3", "-s3.config=/etc/seaweedfs/s3.json"],
          envs: pulumi.all([args.accessKey, args.secretKey]).apply(([ak, sk]) =>
            engine === "minio" ? [`MINIO_ROOT_USER=${ak}`, `MINIO_ROOT_PASSWORD=${sk}`, "MINIO_UPDATE=off"] : [],
          ),
          uploads:
            engine === "seaweedfs"
              ? [{ file: "/etc/seaweedfs/s3.json", content: pulumi.all([args.accessKey, args.secretKey]).apply(([ak, sk]) => seaweedS3Config(ak, sk)) }]
              : [],
          ports: [{ internal: internalPort, external: port }],
          volumes: [{ volumeName: volume.name, containerPath: "/data" }],
          networksAdvanced: args.network ? [{ name: args.network, aliases: ["s3"] }] : [],
          healthcheck: dockerHealthcheck(
            engine === "minio" ? "curl -fsS http://localhost:9000/minio/health/live" : "wget -qO- http://localhost:8333/healthz",
          ),
          wait: true,
        },
        { parent: this },
      );
      this.server = server;
      this.internalEndpoint = pulumi.output(`http://${container}:${internalPort}`);
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
