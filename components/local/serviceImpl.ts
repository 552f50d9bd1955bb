/**
 * What the local runtime's dynamic providers do. Kept in a module of its own, loaded by path from
 * the provider process (see providers.ts), so the providers' serialized closures stay tiny and
 * this code is ordinary, testable TypeScript.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as os from "node:os";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  DeleteObjectsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { ensureInstalled, type InstallTarget } from "./install";
import { checkHealth, runningPid, startService, stopService, type ProcessSpec } from "./process";

// ---------------------------------------------------------------- services

export interface ServiceInputs {
  service: string;
  install: InstallTarget[];
  /** Absolute path → content: config files written before each start. */
  files: Record<string, string>;
  /** Directories created before start (data, logs). */
  dirs: string[];
  removeBeforeStart: string[];
  process: ProcessSpec;
}

export interface ServiceOutputs extends ServiceInputs {
  pid: number;
  running: boolean;
}

function writeFiles(files: Record<string, string>, dirs: string[]): void {
  for (const d of dirs) fs.mkdirSync(d, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode: 0o600 });
    // writeFileSync's mode applies only to a file it creates: one left by an older Lakeform (or
    // an editor) keeps its mode unless set here. Plan files carry keys and passwords.
    fs.chmodSync(file, 0o600);
  }
}

async function start(inputs: ServiceInputs): Promise<ServiceOutputs> {
  await ensureInstalled(inputs.install);
  writeFiles(inputs.files, inputs.dirs);
  if (!runningPid(inputs.process)) for (const f of inputs.removeBeforeStart ?? []) fs.rmSync(f, { force: true });
  const pid = await startService(inputs.process);
  return { ...inputs, pid, running: true };
}

export const service = {
  async create(inputs: ServiceInputs) {
    const outs = await start(inputs);
    return { id: `${inputs.service}:${inputs.process.pidFile}`, outs };
  },

  /** `pulumi refresh`: a dead (or unhealthy) process shows up as running=false. */
  async read(id: string, props: ServiceOutputs) {
    const pid = runningPid(props.process);
    const running = pid !== undefined && (await checkHealth(props.process.health));
    return { id, props: { ...props, pid: pid ?? 0, running } };
  },

  async diff(_id: string, olds: ServiceOutputs, news: ServiceInputs) {
    const changed = (["install", "files", "dirs", "removeBeforeStart", "process"] as const).filter(
      (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
    );
    // A process found dead by refresh is an update too: `pulumi up` restarts it.
    const changes = changed.length > 0 || !olds.running;
    return { changes, replaces: [] as string[], deleteBeforeReplace: true, stables: [] as string[] };
  },

  async update(_id: string, olds: ServiceOutputs, news: ServiceInputs) {
    const restart = JSON.stringify(olds.files) !== JSON.stringify(news.files) ||
      JSON.stringify(olds.process) !== JSON.stringify(news.process);
    if (restart) await stopService(olds.process);
    return { outs: await start(news) };
  },

  async delete(_id: string, props: ServiceOutputs) {
    await stopService(props.process);
  },
};

// ---------------------------------------------------------------- buckets

export interface BucketInputs {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Delete the objects on destroy; otherwise a bucket holding data is left in place. */
  forceDestroy: boolean;
}

export interface BucketOutputs extends BucketInputs {
  exists: boolean;
}

function s3(b: BucketInputs): S3Client {
  return new S3Client({
    endpoint: b.endpoint,
    region: b.region,
    forcePathStyle: true,
    credentials: { accessKeyId: b.accessKey, secretAccessKey: b.secretKey },
  });
}

async function bucketExists(b: BucketInputs): Promise<boolean> {
  try {
    await s3(b).send(new HeadBucketCommand({ Bucket: b.bucket }));
    return true;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    throw err;
  }
}

async function ensureBucket(b: BucketInputs): Promise<BucketOutputs> {
  if (!(await bucketExists(b))) await s3(b).send(new CreateBucketCommand({ Bucket: b.bucket }));
  return { ...b, exists: true };
}

export const bucket = {
  async create(inputs: BucketInputs) {
    return { id: inputs.bucket, outs: await ensureBucket(inputs) };
  },
  async read(id: string, props: BucketOutputs) {
    let exists = false;
    try {
      exists = await bucketExists(props);
    } catch {
      exists = false; // the server is down: the service resource reports that; recreate on up
    }
    return { id, props: { ...props, exists } };
  },
  async diff(_id: string, olds: BucketOutputs, news: BucketInputs) {
    const replaces = olds.bucket !== news.bucket ? ["bucket"] : [];
    const fields = ["endpoint", "region", "accessKey", "secretKey", "forceDestroy"] as const;
    const changes = replaces.length > 0 || !olds.exists || fields.some((f) => olds[f] !== news[f]);
    return { changes, replaces, deleteBeforeReplace: false };
  },
  async update(_id: string, _olds: BucketOutputs, news: BucketInputs) {
    return { outs: await ensureBucket(news) };
  },
  async delete(_id: string, props: BucketOutputs) {
    const client = s3(props);
    if (!(await bucketExists(props).catch(() => false))) return;
    if (props.forceDestroy) {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: props.bucket, MaxKeys: 1000 }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: props.bucket, Delete: { Objects: keys } }));
      }
    }
    const first = await client.send(new ListObjectsV2Command({ Bucket: props.bucket, MaxKeys: 1 }));
    // Never drop data implicitly: a bucket with objects stays unless forceDestroy says otherwise.
    if ((first.KeyCount ?? 0) === 0) await client.send(new DeleteBucketCommand({ Bucket: props.bucket }));
  },
};

// ---------------------------------------------------------------- credentials

export interface CredentialsInputs {
  /** Prefix of the access key, e.g. "lakeform". */
  prefix: string;
}

export const credentials = {
  async create(inputs: CredentialsInputs) {
    const accessKey = `${inputs.prefix}${crypto.randomBytes(6).toString("hex")}`;
    const secretKey = crypto.randomBytes(24).toString("base64url");
    return { id: accessKey, outs: { ...inputs, accessKey, secretKey } };
  },
  async diff(_id: string, olds: CredentialsInputs, news: CredentialsInputs) {
    return { changes: olds.prefix !== news.prefix, replaces: olds.prefix !== news.prefix ? ["prefix"] : [] };
  },
};

// ---------------------------------------------------------------- certificates

export interface CertificateInputs {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

/** A self-signed EC P-256 certificate for these names, valid ten years, made by openssl. */
export function makeCertificate(inputs: CertificateInputs): { certPem: string; keyPem: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-cert-"));
  try {
    const san = [...inputs.dnsNames.map((d) => `DNS:${d}`), ...inputs.ipAddresses.map((ip) => `IP:${ip}`)].join(",");
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
      "-subj", `/CN=${inputs.commonName}`, "-addext", `subjectAltName=${san}`,
      "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"),
    ], { stdio: ["ignore", "ignore", "pipe"] });
    return { certPem: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"), keyPem: fs.readFileSync(path.join(dir, "key.pem"), "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const certificate = {
  async create(inputs: CertificateInputs) {
    const made = makeCertificate(inputs);
    return { id: crypto.createHash("sha256").update(made.certPem).digest("hex").slice(0, 16), outs: { ...inputs, ...made } };
  },
  async diff(_id: string, olds: CertificateInputs, news: CertificateInputs) {
    const changed = (["commonName", "dnsNames", "ipAddresses"] as const).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: changed.length > 0, replaces: changed };
  },
};
