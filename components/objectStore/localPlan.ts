/** The object store as a local process (SeaweedFS or MinIO): pure, args + toolchain → plan. */
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
    files: { [s3Config]: seaweedS3Config(creds.accessKey, creds.secretKey) },
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
