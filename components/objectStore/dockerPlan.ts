/** The object store as a container (MinIO or SeaweedFS): pure, args + toolchain → plan. */
import { dockerHealthcheck, type DockerPlan } from "../plans";
import type { Toolchain } from "../toolchain";
import { IMAGES } from "../versions";
import { seaweedS3Config } from "./localPlan";
import type { ObjectStoreEngine } from "./types";

export interface ObjectStoreDockerArgs {
  /** The component's name: every resource name starts with it. */
  name: string;
  engine: ObjectStoreEngine;
  port: number;
}

/** The container's name and S3 port on the stack's network, as the engines reach it. */
export function objectStoreDockerEndpoint(args: Pick<ObjectStoreDockerArgs, "name" | "engine">): { host: string; port: number } {
  return { host: args.engine === "minio" ? `${args.name}-minio` : `${args.name}-seaweedfs`, port: args.engine === "minio" ? 9000 : 8333 };
}

export function objectStoreDockerPlan(
  args: ObjectStoreDockerArgs,
  _tc: Toolchain,
  creds: { accessKey: string; secretKey: string },
): DockerPlan {
  const { name, engine, port } = args;
  const { host, port: internalPort } = objectStoreDockerEndpoint(args);
  const minio = engine === "minio";
  return {
    images: [{ key: `${name}-image`, name: minio ? IMAGES.minio : IMAGES.seaweedfs }],
    volumes: [`${name}-data`],
    containers: [
      {
        name: host,
        image: `${name}-image`,
        command: minio
          ? ["server", "/data", "--console-address", ":9001"]
          : ["server", "-dir=/data", "-master.telemetry=false", "-s3", "-s3.config=/etc/seaweedfs/s3.json"],
        envs: minio ? [`MINIO_ROOT_USER=${creds.accessKey}`, `MINIO_ROOT_PASSWORD=${creds.secretKey}`, "MINIO_UPDATE=off"] : [],
        uploads: minio ? [] : [{ file: "/etc/seaweedfs/s3.json", content: seaweedS3Config(creds.accessKey, creds.secretKey) }],
        ports: [{ internal: internalPort, external: port }],
        mounts: [{ volume: `${name}-data`, containerPath: "/data" }],
        aliases: ["s3"],
        healthcheck: dockerHealthcheck(minio ? "curl -fsS http://localhost:9000/minio/health/live" : "wget -qO- http://localhost:8333/healthz"),
        after: [],
        afterDependencies: false,
      },
    ],
    server: host,
  };
}
