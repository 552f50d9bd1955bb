/**
 * Dynamic Pulumi resources of the local runtime: a background service, a bucket, generated
 * credentials.
 *
 * Pulumi serializes a dynamic provider's functions into the state and runs them in a separate
 * provider process. Serializing our modules by value would drag their whole import graph along,
 * so each provider method only loads serviceImpl.ts by absolute path and delegates to it
 * (components/dynamic.ts's implProvider, shared with the table and services resources).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { implProvider } from "../dynamic";
import type { InstallTarget } from "./install";
import type { ProcessSpec } from "./process";

const IMPL = path.join(__dirname, "serviceImpl");

/** The kinds serviceImpl.ts exports, one per resource class below. */
type ImplName = "service" | "bucket" | "credentials" | "certificate";
const providerFor = (kind: ImplName) => implProvider(IMPL, kind);

/** Everything needed to run one local service: what to install, its files, and its process. */
export interface ServicePlan {
  service: string;
  install: InstallTarget[];
  /** Absolute path → content, written before each start. */
  files: Record<string, string>;
  /** Directories created before start. */
  dirs: string[];
  /** Stale files removed before each start (e.g. a launcher's own pid file). */
  removeBeforeStart?: string[];
  process: ProcessSpec;
}

/** A server running as a local background process, installed from registries on first create. */
export class LocalService extends pulumi.dynamic.Resource {
  declare readonly pid: pulumi.Output<number>;
  declare readonly running: pulumi.Output<boolean>;
  declare readonly process: pulumi.Output<ProcessSpec>;

  constructor(name: string, plan: pulumi.Input<ServicePlan>, opts?: pulumi.CustomResourceOptions) {
    const p = pulumi.output(plan);
    super(
      providerFor("service"),
      name,
      {
        service: p.apply((x) => x.service),
        install: p.apply((x) => x.install),
        files: p.apply((x) => x.files),
        dirs: p.apply((x) => x.dirs),
        removeBeforeStart: p.apply((x) => x.removeBeforeStart ?? []),
        process: p.apply((x) => x.process),
        pid: undefined,
        running: undefined,
      },
      // Config files and env carry credentials.
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["files", "process"] }),
      "lakeform",
      "LocalService",
    );
  }
}

export interface LocalBucketArgs {
  endpoint: pulumi.Input<string>;
  region: pulumi.Input<string>;
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
  bucket: pulumi.Input<string>;
  forceDestroy: pulumi.Input<boolean>;
}

/** A bucket on the local S3 server, made through the S3 API itself. */
export class LocalBucket extends pulumi.dynamic.Resource {
  declare readonly bucket: pulumi.Output<string>;
  declare readonly exists: pulumi.Output<boolean>;

  constructor(name: string, args: LocalBucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("bucket"),
      name,
      { ...args, exists: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["secretKey"] }),
      "lakeform",
      "LocalBucket",
    );
  }
}

/** S3 credentials generated once, at first `up`, and kept in the state as a secret. */
export class GeneratedCredentials extends pulumi.dynamic.Resource {
  declare readonly accessKey: pulumi.Output<string>;
  declare readonly secretKey: pulumi.Output<string>;

  constructor(name: string, args: { prefix: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("credentials"),
      name,
      { ...args, accessKey: undefined, secretKey: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["secretKey"] }),
      "lakeform",
      "Credentials",
    );
  }
}

/**
 * A self-signed TLS certificate and its private key (EC P-256), generated once at first `up` with
 * the machine's openssl and kept in the state (the key as a secret): Trino checks passwords only
 * over HTTPS, and its clients pin this certificate. Changing the names it covers makes a new one.
 */
export class GeneratedCertificate extends pulumi.dynamic.Resource {
  declare readonly certPem: pulumi.Output<string>;
  declare readonly keyPem: pulumi.Output<string>;

  constructor(name: string, args: { commonName: pulumi.Input<string>; dnsNames: pulumi.Input<string[]>; ipAddresses: pulumi.Input<string[]> }, opts?: pulumi.CustomResourceOptions) {
    super(
      providerFor("certificate"),
      name,
      { ...args, certPem: undefined, keyPem: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["keyPem"] }),
      "lakeform",
      "Certificate",
    );
  }
}
