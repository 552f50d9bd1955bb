/**
 * Every path of a stack, derived in one place: its config file, and under its data directory the
 * stack outputs, the reconciler's status report, and each service's folder (data, config, log,
 * pid file, supervisor state); on the docker runtime, the names of its containers. Pure (no file
 * is read here: lake/stackData.ts reads the config) and free of Pulumi, so the command line, the
 * services, the components and the tests all ask this module instead of joining paths themselves.
 *
 *   <dataDir>/outputs.json                    the stack outputs `up` writes (mode 0600)
 *   <dataDir>/reconciler/status.json          the reconciler's report (lake/status.ts)
 *   <dataDir>/<service>/<service>.pid         a local service's pid file
 *   <dataDir>/<service>/logs/<service>.log    its log (`lakeform logs <service>`)
 *   <dataDir>/<service>/supervisor.json       a supervised service's supervisor state
 *   <dataDir>/<service>/{data,conf}/          its data and config
 *   <dataDir>/api/endpoint.json               where the API listens (`lakeform status` asks it)
 */
import * as path from "node:path";

/** Pulumi.<stack>.yaml: the stack's config, in the project directory. */
export function stackConfigFile(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/** The stack outputs `up` leaves for the command line and the services. */
export function outputsFile(dataDir: string): string {
  return path.join(dataDir, "outputs.json");
}

/** Where the reconciler writes its report. */
export function statusFile(dataDir: string): string {
  return path.join(servicePaths(dataDir, "reconciler").root, "status.json");
}

/** Where `lakeform status` finds the API's address (written by the services component). */
export function apiEndpointFile(dataDir: string): string {
  return path.join(servicePaths(dataDir, "api").root, "endpoint.json");
}

export interface ServicePaths {
  root: string;
  data: string;
  conf: string;
  logFile: string;
  pidFile: string;
  /** A supervised service's supervisor state (cli/supervise.ts). */
  supervisorFile: string;
}

/** One local service's files, all under its folder of the stack's data directory. */
export function servicePaths(dataDir: string, service: string): ServicePaths {
  const root = path.join(dataDir, service);
  return {
    root,
    data: path.join(root, "data"),
    conf: path.join(root, "conf"),
    logFile: path.join(root, "logs", `${service}.log`),
    pidFile: path.join(root, `${service}.pid`),
    supervisorFile: path.join(root, "supervisor.json"),
  };
}

// ------------------------------------------------------------------------------------- docker

/** The Lakehouse component's name in the stack program (stacks/index.ts): every engine's resource names start with it. */
export const LAKEHOUSE = "lakehouse";

/** The Docker host's name for one of a stack's objects: the stack's name first, so two stacks on one host never collide. */
export function dockerObjectName(prefix: string, resourceName: string): string {
  return `${prefix}-${resourceName}`;
}

export type EngineService = "s3" | "metastore" | "spark" | "trino";

/**
 * The container each engine's server runs in, as the components' docker plans name it (the
 * object store's carries its engine; tests/unit/paths.test.ts checks these against the plans).
 */
export function engineContainer(stack: string, service: EngineService, s3Engine: "seaweedfs" | "minio" = "seaweedfs"): string {
  const resource = { s3: `s3-${s3Engine}`, metastore: "metastore-hms", spark: "spark-job-server", trino: "trino-coordinator" }[service];
  return dockerObjectName(stack, `${LAKEHOUSE}-${resource}`);
}

export const isEngineService = (s: string): s is EngineService => s === "s3" || s === "metastore" || s === "spark" || s === "trino";
