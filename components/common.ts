import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LakeformError } from "../lake/errors";
import { servicePaths } from "../lake/paths";
import type { LakeConnection } from "./connection";
import type { ProcessSpec } from "./local/process";

/** Where the services run: local processes on this machine, or containers on a Docker host. */
export type Runtime = "local" | "docker";

/** What every component needs to know about where it runs. */
export interface RuntimeArgs {
  runtime: Runtime;
  /** local: the stack's data directory (absolute); each service keeps data and logs under it. */
  dataDir: string;
  /** docker: the network the containers join, so they reach each other by name. */
  network?: pulumi.Input<string>;
  /** docker: the stack's name, the prefix of every container, volume and network name (two stacks on one host never collide). */
  stack?: string;
}

/** The prefix of a component's Docker object names. */
export function dockerPrefix(args: Pick<RuntimeArgs, "stack">): string {
  return args.stack ?? "lakeform";
}

/** A component given an argument it can't use. */
export class ArgsError extends LakeformError {
  constructor(component: string, field: string, problem: string) {
    super("BAD_REQUEST", `${component}: ${field} ${problem}`, { component, field });
    this.name = "ArgsError";
  }
}

export function requireAbsolute(component: string, field: string, value: string): void {
  if (!path.isAbsolute(value)) throw new ArgsError(component, field, `must be an absolute path, got "${value}"`);
}

export function requirePort(component: string, field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ArgsError(component, field, `must be a TCP port (1-65535), got ${value}`);
  }
}

/** Paths of one local service's files: data, logs, config, pid file, all under the stack's data dir (lake/paths.ts). */
export const serviceDirs = servicePaths;

/** The process part of a local service, with the bookkeeping paths filled in. */
export function localProcess(
  dataDir: string,
  service: string,
  p: Pick<ProcessSpec, "command" | "env" | "health" | "ports"> & Partial<Pick<ProcessSpec, "startTimeoutSec" | "cwd">>,
): ProcessSpec {
  const dirs = serviceDirs(dataDir, service);
  return {
    service,
    cwd: p.cwd ?? dirs.root,
    logFile: dirs.logFile,
    pidFile: dirs.pidFile,
    startTimeoutSec: p.startTimeoutSec ?? 120,
    command: p.command,
    env: p.env,
    health: p.health,
    ports: p.ports,
  };
}

/** Where the warehouse lives: what the metastore, Spark and Trino all need to reach it. */
export interface ObjectStoreConnectionArgs {
  /** S3 endpoint as the service reaches it. */
  s3Endpoint: pulumi.Input<string>;
  s3Region: pulumi.Input<string>;
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
  warehouseBucket: string;
  /** Path-style S3 requests (default true; an external AWS S3 bucket says false). */
  s3PathStyle?: boolean;
  /** Resources that must be up before this service starts. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The engines' args: the object store plus the metastore. */
export interface EngineConnectionArgs extends ObjectStoreConnectionArgs {
  metastoreUri: pulumi.Input<string>;
}

/** Resolves the connection args into the one LakeConnection every renderer takes. */
export function lakeConnection(args: ObjectStoreConnectionArgs, metastoreUri: pulumi.Input<string>): pulumi.Output<LakeConnection> {
  return pulumi
    .all([args.s3Endpoint, args.s3Region, args.accessKey, args.secretKey, metastoreUri])
    .apply(([s3Endpoint, s3Region, accessKey, secretKey, uri]) => ({
      s3Endpoint,
      s3Region,
      accessKey,
      secretKey,
      metastoreUri: uri,
      warehouseBucket: args.warehouseBucket,
      ...(args.s3PathStyle === false ? { pathStyle: false } : {}),
    }));
}
