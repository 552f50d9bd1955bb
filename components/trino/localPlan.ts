/** Trino as local processes (a coordinator and its workers): pure, args + toolchain → plans. */
import * as path from "node:path";
import { localProcess, serviceDirs } from "../common";
import type { LakeConnection } from "../connection";
import type { ServicePlan } from "../local/providers";
import { requireLocal, type Toolchain } from "../toolchain";
import { trinoEtcFiles, trinoInternalPort, type TrinoSecrets } from "./types";

export interface TrinoLocalArgs {
  dataDir: string;
  port: number;
  workers: number;
  heap: string;
}

/**
 * The coordinator (first) and its workers, each a local process on loopback. Their config files
 * carry the S3 keys, the password file and the shared secret: the local runtime writes every plan
 * file 0600 (components/local/serviceImpl.ts), and none of it goes on a command line.
 */
export function trinoLocalPlans(args: TrinoLocalArgs, tc: Toolchain, conn: LakeConnection, secrets: TrinoSecrets): ServicePlan[] {
  const local = requireLocal(tc, "Trino");
  const bin = local.paths;
  const javaHome = local.trinoJavaHome;
  return Array.from({ length: args.workers + 1 }, (_, i): ServicePlan => {
    const service = i === 0 ? "trino" : `trino-worker-${i}`;
    const dirs = serviceDirs(args.dataDir, service);
    // The coordinator: HTTPS on the stack's port for clients, HTTP beside it for the cluster.
    const internal = trinoInternalPort(args.port);
    const port = i === 0 ? internal : args.port + 10 + i;
    const etc = dirs.conf;
    const rel = trinoEtcFiles(
      {
        coordinator: i === 0,
        port,
        discoveryUri: `http://127.0.0.1:${internal}`,
        nodeId: `lakeform-${service}`,
        dataDir: dirs.data,
        heap: args.heap,
        bindIp: "127.0.0.1",
        ...(i === 0 ? { httpsPort: args.port } : {}),
      },
      conn,
      etc,
      secrets,
    );
    const files = Object.fromEntries(Object.entries(rel).map(([f, c]) => [path.join(etc, f), c]));
    return {
      service,
      install: ["trino"],
      files,
      dirs: [dirs.data, path.join(dirs.data, "var", "log")],
      // The launcher refuses to start while its pid file names a live process, and a zombie
      // left by a killed server counts as live to it; Lakeform tracks the process itself.
      removeBeforeStart: [path.join(dirs.data, "var", "run", "launcher.pid")],
      process: localProcess(args.dataDir, service, {
        command: [path.join(bin.trinoHome, "bin", "launcher"), "run", `--etc-dir=${etc}`, `--data-dir=${dirs.data}`],
        // A fixed PATH: the plan must not depend on the caller's environment, or every `up`
        // from another shell would see a change and restart Trino.
        env: { JAVA_HOME: javaHome, PATH: `${path.join(javaHome, "bin")}:/usr/local/bin:/usr/bin:/bin` },
        health: i === 0 ? { http: `http://127.0.0.1:${port}/v1/info`, bodyIncludes: '"starting":false' } : { http: `http://127.0.0.1:${port}/v1/info` },
        ports: i === 0 ? [args.port, internal] : [port],
        // An upper bound only: a JVM start on a busy 2-core machine can take minutes.
        startTimeoutSec: 600,
      }),
    };
  });
}

