/** The object store as a local process (SeaweedFS or MinIO): pure, args + toolchain → plan. */
import * as crypto from "node:crypto";
import * as path from "node:path";
import { localProcess, serviceDirs } from "../common";
import type { ServicePlan } from "../local/providers";
import { requireLocal, type Toolchain } from "../toolchain";
import type { ObjectStoreEngine } from "./types";

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

/** The four JWT sections of SeaweedFS's security.toml Lakeform fills, each with a key of its own. */
export const SEAWEED_JWT_SECTIONS = ["jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read"] as const;

/**
 * SeaweedFS's security.toml (read by the master, the volume server, the filer and the S3 gateway of
 * `weed server`, from the directory -config_dir names): HS256 keys that make the volume server
 * refuse reads and writes, and the filer refuse reads and writes over HTTP, without a JWT signed
 * with them. The S3 gateway signs its own requests with the same keys, so S3 with the access keys
 * works as before. Each key is derived from the S3 secret key (an HMAC per section): secrets of
 * the stack like it, stable across `up`s, and nothing more to keep in the state.
 *
 * What the keys can't close (SeaweedFS 4.48):
 * - the master's HTTP API hands a JWT for any file id to anyone who asks (/dir/assign, and
 *   /dir/lookup?fileId=…&read=yes) and deletes a whole collection on /col/delete: Lakeform runs
 *   `weed server -disableHttp`, which drops the master's and the filer's HTTP APIs altogether
 *   (the S3 gateway talks to both over gRPC). Left on the master's port: its status page
 *   (topology, no data); on the volume port: /status (disk and volume counts, no data).
 * - the gRPC ports (master, volume, filer, S3) take no JWT: SeaweedFS closes them only with mutual
 *   TLS ([grpc] certificates), which Lakeform doesn't configure yet. Any local user can reach
 *   them on 127.0.0.1 (e.g. `weed shell` reads and deletes files through the filer's gRPC).
 *   On docker they are on the stack's network only, never published.
 */
export function seaweedSecurityToml(secretKey: string): string {
  const key = (section: string) => crypto.createHmac("sha256", secretKey).update(`lakeform seaweedfs ${section}`).digest("base64url");
  const sections = SEAWEED_JWT_SECTIONS.map((s) => `[${s}]\nkey = "${key(s)}"\nexpires_after_seconds = 10\n`);
  // The volume server's UI is off once a signing key is set; say so rather than rely on it.
  return [...sections, "[access]\nui = false\n"].join("\n");
}

/** Where the local SeaweedFS's security.toml goes: the `-config_dir` its command names. */
export const SEAWEED_SECURITY_FILE = "security.toml";

export interface ObjectStoreLocalArgs {
  engine: ObjectStoreEngine;
  dataDir: string;
  port: number;
}

/** The local process for the chosen engine. */
export function objectStoreLocalPlan(
  args: ObjectStoreLocalArgs,
  tc: Toolchain,
  creds: { accessKey: string; secretKey: string },
): ServicePlan {
  const { engine, dataDir, port } = args;
  const dirs = serviceDirs(dataDir, "s3");
  const bin = requireLocal(tc, "ObjectStore").paths;
  if (engine === "minio") {
    return {
      service: "s3",
      install: ["minio"],
      files: {},
      dirs: [dirs.data],
      process: localProcess(dataDir, "s3", {
        command: [bin.minio, "server", dirs.data, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${port + 1}`],
        env: { MINIO_ROOT_USER: creds.accessKey, MINIO_ROOT_PASSWORD: creds.secretKey, MINIO_BROWSER: "off", MINIO_UPDATE: "off" },
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
    files: {
      [s3Config]: seaweedS3Config(creds.accessKey, creds.secretKey),
      [path.join(dirs.conf, SEAWEED_SECURITY_FILE)]: seaweedSecurityToml(creds.secretKey),
    },
    dirs: [dirs.data],
    process: localProcess(dataDir, "s3", {
      command: [
        bin.weed,
        // A global flag, before the command: where security.toml is (else ./, ~/.seaweedfs, /etc/seaweedfs).
        `-config_dir=${dirs.conf}`,
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
        // No master or filer HTTP API: the master's hands out JWTs to anyone (seaweedSecurityToml).
        "-disableHttp",
      ],
      env: {},
      health: { http: `http://127.0.0.1:${p.s3}/healthz` },
      ports: Object.values(p),
    }),
  };
}
