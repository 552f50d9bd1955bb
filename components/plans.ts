/**
 * What a docker plan is: the images, volumes and containers one component declares, as plain data.
 * Each component's dockerPlan.ts builds one from its args and the toolchain (pure, tested without
 * the engine); components/dockerResources.ts turns it into @pulumi/docker resources.
 */
import type { LakeConnection } from "./connection";

export interface DockerHealthcheck {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod: string;
}

/** A container health check in @pulumi/docker's shape, from a shell command. */
export function dockerHealthcheck(cmd: string, startPeriod = "30s"): DockerHealthcheck {
  return { tests: ["CMD-SHELL", cmd], interval: "10s", timeout: "5s", retries: 12, startPeriod };
}

export interface DockerImagePlan {
  /** Key the containers name it by, and the suffix of its resource name. */
  key: string;
  /** The image reference, pinned by tag. */
  name: string;
}

export type DockerMount =
  | { volume: string; containerPath: string }
  | { hostPath: string; containerPath: string; readOnly: boolean };

export interface DockerContainerPlan {
  /** Resource name and container name. */
  name: string;
  /** Key of one of the plan's images. */
  image: string;
  command?: string[];
  /** KEY=value; may carry secrets (filled from the resolved connection). */
  envs: string[];
  /** Files written into the container before it starts; may carry secrets. */
  uploads: { file: string; content: string }[];
  ports: { internal: number; external: number }[];
  mounts: DockerMount[];
  /** Extra names the container answers to on the stack's network. */
  aliases: string[];
  healthcheck: DockerHealthcheck;
  /** Containers of the same plan that must be healthy first. */
  after: string[];
  /** Waits for the component's own dependencies (the object store, the metastore…). */
  afterDependencies: boolean;
}

export interface DockerPlan {
  images: DockerImagePlan[];
  /** Named volumes (keys; the resource and volume names). */
  volumes: string[];
  containers: DockerContainerPlan[];
  /** The container the component's `server` is: what dependents wait for. */
  server: string;
}

/** Fields of a container that may carry secrets; every other field is the plan's shape. */
export const SECRET_FIELDS = ["envs", "uploads"] as const;

/** Stands in for the connection when only a plan's shape is wanted (see dockerResources.ts). */
export const PLACEHOLDER_CONNECTION: LakeConnection = {
  s3Endpoint: "http://placeholder:1",
  s3Region: "placeholder",
  accessKey: "placeholder",
  secretKey: "placeholder",
  warehouseBucket: "placeholder",
  metastoreUri: "thrift://placeholder:1",
};
