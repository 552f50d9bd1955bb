/**
 * The reconciler and the REST API as local services: each runs under `lakeform supervise`, which
 * starts it again within a second or two whenever it dies. Pure: args in, plans out.
 */
import * as path from "node:path";
import { apiEndpointFile, servicePaths } from "../../lake/paths";
import { LOG_ROTATION_DEFAULTS } from "../../lake/rotatingLog";
import { localProcess } from "../common";
import type { ServicePlan } from "../local/providers";

export interface ServicesArgs {
  /** The project directory (bin/lakeform lives there). */
  projectDir: string;
  /** The stack's data directory (absolute). */
  dataDir: string;
  stack: string;
  /** The tables.yaml the reconciler watches and the API serves (absolute). */
  tablesFile: string;
  apiPort: number;
  /** The API's bounds (lakeform:api.*); absent ones keep the API's defaults (api/limits.ts). */
  apiLimits?: ApiServiceLimits;
  /** The stack outputs file the services read their connection from (written by StackOutputsFile). */
  outputsFile: string;
  /**
   * Hashes that restart the services on `up` when they change: the outputs (new keys) and the
   * command line's sources (new code).
   */
  outputsHash: string;
  codeHash: string;
  /** Seconds between full re-checks of every table. */
  resyncSec?: number;
}

export const SERVICES_DEFAULTS = { apiPort: 8090, resyncSec: 60 };

/** lakeform:api's bounds, as stacks/config.ts reads them. */
export interface ApiServiceLimits {
  queryTimeoutSec?: number;
  queryMaxRows?: number;
  queryMaxOffset?: number;
  jsonLimitBytes?: number;
  csvLimitBytes?: number;
}

/** `lakeform api`'s flags for the bounds a stack sets. */
export function apiLimitArgs(limits: ApiServiceLimits = {}): string[] {
  const flags: [string, number | undefined][] = [
    ["--query-timeout", limits.queryTimeoutSec],
    ["--query-max-rows", limits.queryMaxRows],
    ["--query-max-offset", limits.queryMaxOffset],
    ["--json-limit", limits.jsonLimitBytes],
    ["--csv-limit", limits.csvLimitBytes],
  ];
  return flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)]));
}

function supervised(args: ServicesArgs, service: string, command: string[]): string[] {
  const bin = path.join(args.projectDir, "bin", "lakeform");
  const { supervisorFile, logFile } = servicePaths(args.dataDir, service);
  // The log rotated by size (lake/rotatingLog.ts), as the engines' are.
  const log = ["--log", logFile, "--log-max-bytes", String(LOG_ROTATION_DEFAULTS.maxBytes), "--log-keep", String(LOG_ROTATION_DEFAULTS.keep)];
  return [bin, "supervise", "--service", service, "--state", supervisorFile, ...log, "--", bin, ...command];
}

export function servicesLocalPlans(args: ServicesArgs): { reconciler: ServicePlan; api: ServicePlan } {
  const env = {
    LAKEFORM_STACK: args.stack,
    LAKEFORM_OUTPUTS_FILE: args.outputsFile,
    // The log file is read by `lakeform logs`, which prettifies it for terminals.
    LAKEFORM_LOG_FORMAT: "json",
    LAKEFORM_OUTPUTS_SHA256: args.outputsHash,
    LAKEFORM_CODE_SHA256: args.codeHash,
    NODE_NO_WARNINGS: "1",
  };
  const rec = servicePaths(args.dataDir, "reconciler");
  const api = servicePaths(args.dataDir, "api");
  const endpoint = `http://127.0.0.1:${args.apiPort}`;
  return {
    reconciler: {
      service: "reconciler",
      install: [],
      files: {},
      dirs: [path.dirname(rec.logFile)],
      process: localProcess(args.dataDir, "reconciler", {
        command: supervised(args, "reconciler", ["reconcile", "-f", args.tablesFile, "--resync", String(args.resyncSec ?? SERVICES_DEFAULTS.resyncSec)]),
        env,
        // The loop has no port; its supervisor answers for it (`lakeform status` shows both).
        health: {},
        ports: [],
        cwd: args.projectDir,
        startTimeoutSec: 180,
      }),
    },
    api: {
      service: "api",
      install: [],
      // Where `lakeform status` finds the API to ask its /healthz.
      files: { [apiEndpointFile(args.dataDir)]: JSON.stringify({ endpoint }) + "\n" },
      dirs: [path.dirname(api.logFile)],
      process: localProcess(args.dataDir, "api", {
        command: supervised(args, "api", ["api", "-f", args.tablesFile, "--port", String(args.apiPort), "--host", "127.0.0.1", ...apiLimitArgs(args.apiLimits)]),
        env,
        // 503 is the API answering that an engine is down: the API itself is up.
        health: { http: `${endpoint}/healthz`, statuses: [200, 503] },
        ports: [args.apiPort],
        cwd: args.projectDir,
        startTimeoutSec: 180,
      }),
    },
  };
}
