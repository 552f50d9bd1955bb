/**
 * What a docker plan is: the images, volumes and containers one component declares, as plain data.
 * Each component's dockerPlan.ts builds one from its args and the toolchain (pure, tested without
 * the engine); components/dockerResources.ts turns it into @pulumi/docker resources.
 */
import { dockerObjectName } from "../lake/paths";
import type { LakeConnection } from "./connection";
import type { LakeformImageName, Toolchain } from "./toolchain";

export interface DockerHealthcheck {
  tests: string[];
  interval: string;
  timeout: string;
  retries: number;
  startPeriod: string;
}

/**
 * A container health check in @pulumi/docker's shape, running `lakeform-healthcheck` (in every
 * Lakeform image: bash only, no curl) with these arguments. It probes the container's own address,
 * where a server bound to it answers as well as one bound to every interface.
 */
export function dockerHealthcheck(args: string[], startPeriodSec = 30): DockerHealthcheck {
  return { tests: ["CMD", "lakeform-healthcheck", ...args], interval: "10s", timeout: "8s", retries: 6, startPeriod: `${startPeriodSec}s` };
}

/** One of Lakeform's images, built by the Pulumi program from its staged context. */
export interface DockerImagePlan {
  /** Resource name; containers name their image by it. */
  key: string;
  /** The image reference: lakeform/<name>:<context hash>, so a changed context is a new image. */
  name: string;
  build: { context: string; args: Record<string, string> };
}

export interface DockerVolumePlan {
  /** Resource name; mounts name their volume by it. */
  key: string;
  /** The volume's name on the Docker host (carries the stack name). */
  name: string;
}

/** A named volume mounted into a container: data lives in volumes, never in bind mounts of host files. */
export interface DockerMount {
  volume: string;
  containerPath: string;
}

export interface DockerContainerPlan {
  /** Resource name. */
  name: string;
  /** The container's name on the Docker host and its host name on the stack's network (carries the stack name). */
  hostname: string;
  /** Key of one of the plan's images. */
  image: string;
  command?: string[];
  /** KEY=value; may carry secrets (filled from the resolved connection). */
  envs: string[];
  /** Files written into the container before it starts; may carry secrets. */
  uploads: { file: string; content: string }[];
  /** Published on the host's loopback only: these services have no authentication of their own. */
  ports: { internal: number; external: number; ip: "127.0.0.1" }[];
  mounts: DockerMount[];
  /** Extra names the container answers to on the stack's network. */
  aliases: string[];
  healthcheck: DockerHealthcheck;
  /** Seconds `up` waits for the container to be healthy (the provider's default, 60 s, is too short for a JVM on 2 cores). */
  waitTimeout: number;
  /** Containers of the same plan that must be healthy first. */
  after: string[];
  /** Waits for the component's own dependencies (the object store, the metastore…). */
  afterDependencies: boolean;
}

export interface DockerPlan {
  images: DockerImagePlan[];
  volumes: DockerVolumePlan[];
  containers: DockerContainerPlan[];
  /** The container the component's `server` is: what dependents wait for. */
  server: string;
}

/** Where a component's containers live: the stack (its name goes into every Docker object's name). */
export interface DockerSite {
  /** Prefix of every container, volume and network name: the stack's name, so two stacks on one host never collide. */
  prefix: string;
}

/** The Docker host's name for one of a stack's objects. */
export function dockerName(site: DockerSite, resourceName: string): string {
  return dockerObjectName(site.prefix, resourceName);
}

/** The image plan of one of Lakeform's images, from the toolchain's staged contexts. */
export function lakeformImage(tc: Toolchain, image: LakeformImageName, key: string): DockerImagePlan {
  const ctx = tc.images?.[image];
  if (!ctx) throw new Error(`${key}: the docker runtime needs the toolchain's image contexts (readToolchain("docker"))`);
  return { key, name: `lakeform/${image}:${ctx.hash.slice(0, 16)}`, build: { context: ctx.dir, args: { BASE: ctx.base } } };
}

/** Seconds a container is given to become healthy on a 2-core machine. */
export const WAIT = { small: 120, jvm: 600 } as const;

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
