/** The object store as a container (SeaweedFS or MinIO, Lakeform's images): pure, args + toolchain → plan. */
import { dockerHealthcheck, dockerName, lakeformImage, WAIT, type DockerPlan, type DockerSite } from "../plans";
import type { Toolchain } from "../toolchain";
import { seaweedS3Config, seaweedSecurityToml } from "./localPlan";
import type { ObjectStoreEngine } from "./types";

export interface ObjectStoreDockerArgs extends DockerSite {
  /** The component's name: every resource name starts with it. */
  name: string;
  engine: ObjectStoreEngine;
  port: number;
}

/** The container's host name and S3 port on the stack's network, as the engines reach it. */
export function objectStoreDockerEndpoint(args: Pick<ObjectStoreDockerArgs, "name" | "engine" | "prefix">): { host: string; port: number } {
  return { host: dockerName(args, `${args.name}-${args.engine}`), port: args.engine === "minio" ? 9000 : 8333 };
}

export function objectStoreDockerPlan(
  args: ObjectStoreDockerArgs,
  tc: Toolchain,
  creds: { accessKey: string; secretKey: string },
): DockerPlan {
  const { name, engine, port } = args;
  const { host, port: internalPort } = objectStoreDockerEndpoint(args);
  const minio = engine === "minio";
  const resource = `${name}-${engine}`;
  const volume = { key: `${name}-data`, name: dockerName(args, `${name}-data`) };
  return {
    images: [lakeformImage(tc, engine, `${name}-image`)],
    volumes: [volume],
    containers: [
      {
        name: resource,
        hostname: host,
        image: `${name}-image`,
        // The images' own entrypoints run the server on /data (SeaweedFS: master, volume, filer and
        // S3 in one process, its identities from the uploaded s3.json).
        envs: minio ? [`MINIO_ROOT_USER=${creds.accessKey}`, `MINIO_ROOT_PASSWORD=${creds.secretKey}`, "MINIO_UPDATE=off", "MINIO_BROWSER=off"] : [],
        // SeaweedFS: the identities, and the JWT keys that close the volume and filer APIs (the
        // image's entrypoint runs `weed -config_dir=/etc/seaweedfs server -disableHttp`).
        uploads: minio
          ? []
          : [
              { file: "/etc/seaweedfs/s3.json", content: seaweedS3Config(creds.accessKey, creds.secretKey) },
              { file: "/etc/seaweedfs/security.toml", content: seaweedSecurityToml(creds.secretKey) },
            ],
        // S3 only: MinIO's console is off (MINIO_BROWSER=off) and SeaweedFS's master, volume and
        // filer ports stay on the stack's network.
        ports: [{ internal: internalPort, external: port, ip: "127.0.0.1" }],
        mounts: [{ volume: volume.key, containerPath: "/data" }],
        aliases: [],
        healthcheck: dockerHealthcheck(minio ? ["http", "9000", "/minio/health/live"] : ["http", "8333", "/healthz"]),
        waitTimeout: WAIT.small,
        after: [],
        afterDependencies: false,
      },
    ],
    server: resource,
  };
}
