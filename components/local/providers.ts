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
import { LOG_ROTATION_DEFAULTS, type RotationOptions } from "../../lake/rotatingLog";
import { supervisedProcess, supervisorCommand, type ProcessSpec } from "./process";

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

/**
 * lakeform:logs (optional): `maxBytes` (a service's log is rotated before it passes this size)
 * and `keep` (rotated files kept, <log>.1 … <log>.<keep>); LOG_ROTATION_DEFAULTS where not set.
 */
export function logRotation(raw: unknown): RotationOptions {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (typeof r !== "object" || Array.isArray(r)) throw new Error("lakeform:logs must be an object with maxBytes and keep");
  const maxBytes = r.maxBytes ?? LOG_ROTATION_DEFAULTS.maxBytes;
  const keep = r.keep ?? LOG_ROTATION_DEFAULTS.keep;
  if (typeof maxBytes !== "number" || !Number.isInteger(maxBytes) || maxBytes < 1024) throw new Error(`lakeform:logs.maxBytes must be a whole number of bytes, at least 1024 (got ${JSON.stringify(maxBytes)})`);
  if (typeof keep !== "number" || !Number.isInteger(keep) || keep < 0) throw new Error(`lakeform:logs.keep must be a whole number >= 0 (got ${JSON.stringify(keep)})`);
  return { maxBytes, keep };
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
        // Every local service runs supervised: killed, it comes back without a command.
        process: p.apply((x) => supervisedProcess(x.process, supervisorCommand(), logRotation(new pulumi.Config("lakeform").getObject("logs")))),
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
