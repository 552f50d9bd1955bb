import * as path from "node:path";
import { TRINO_USERS } from "../../lake/trino";
import { requireAbsolute, requirePort, type EngineConnectionArgs, type RuntimeArgs } from "../common";
import { renderProperties, trinoCatalogs, type LakeConnection } from "../connection";
import type { Toolchain } from "../toolchain";

export interface TrinoArgs extends RuntimeArgs, EngineConnectionArgs {
  port?: number;
  /** Extra Trino worker nodes; 0 lets the coordinator run tasks itself (one machine). */
  workers?: number;
  /** JVM heap of each node, e.g. "2G". */
  heap?: string;
  /** What the machine provides (read once at the edge: components/toolchain.ts). */
  toolchain: Toolchain;
}

export const TRINO_DEFAULTS = { port: 8080, workers: 0, heap: "2G" };

export function validateTrinoArgs(args: Pick<TrinoArgs, "port" | "runtime" | "dataDir" | "workers" | "heap">): void {
  requirePort("Trino", "port", args.port ?? TRINO_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("Trino", "dataDir", args.dataDir);
  const w = args.workers ?? TRINO_DEFAULTS.workers;
  if (!Number.isInteger(w) || w < 0 || w > 64) throw new Error(`Trino: workers must be an integer from 0 to 64, got ${w}`);
  if (!/^\d+[MG]$/.test(args.heap ?? TRINO_DEFAULTS.heap)) throw new Error(`Trino: heap must look like 2G or 1536M`);
}

export function trinoJvmConfig(heap: string): string {
  return [
    "-server",
    `-Xmx${heap}`,
    "-XX:+UseG1GC",
    "-XX:G1HeapRegionSize=32M",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:ReservedCodeCacheSize=256M",
    "-XX:PerMethodRecompilationCutoff=10000",
    "-XX:PerBytecodeRecompilationCutoff=10000",
    "-Djdk.attach.allowAttachSelf=true",
    "-Djdk.nio.maxCachedBufferSize=2000000",
    "-Dfile.encoding=UTF-8",
    "-XX:+EnableDynamicAgentLoading",
  ].join("\n") + "\n";
}

/** File-based access control: the admin user may write, the read-only user may only read. */
export function trinoAccessRules(): string {
  return JSON.stringify(
    {
      catalogs: [
        { user: TRINO_USERS.admin, allow: "all" },
        { user: TRINO_USERS.readOnly, allow: "read-only" },
        { allow: "none" },
      ],
    },
    null,
    2,
  );
}

/** Every file of a Trino node's etc/ directory, keyed by path relative to etc/. */
export function trinoEtcFiles(
  node: {
    coordinator: boolean;
    port: number;
    discoveryUri: string;
    nodeId: string;
    dataDir: string;
    heap: string;
    /** Local runtime: listen on loopback only (in a container, the container's interfaces). */
    bindIp?: string;
  },
  conn: LakeConnection,
  etcDir: string,
): Record<string, string> {
  const heapMb = node.heap.endsWith("G") ? Number(node.heap.slice(0, -1)) * 1024 : Number(node.heap.slice(0, -1));
  const queryMem = `${Math.max(256, Math.floor(heapMb * 0.4))}MB`;
  const files: Record<string, string> = {
    "node.properties": renderProperties({
      "node.environment": "lakeform",
      "node.id": node.nodeId,
      "node.data-dir": node.dataDir,
      ...(node.bindIp ? { "node.bind-ip": node.bindIp, "node.internal-address": node.bindIp } : {}),
    }),
    "jvm.config": trinoJvmConfig(node.heap),
    "config.properties": renderProperties({
      coordinator: String(node.coordinator),
      "node-scheduler.include-coordinator": "true",
      "http-server.http.port": String(node.port),
      "discovery.uri": node.discoveryUri,
      "query.max-memory": queryMem,
      "query.max-memory-per-node": queryMem,
      ...(node.coordinator ? { "access-control.config-files": path.join(etcDir, "access-control.properties") } : {}),
    }),
    "log.properties": "io.trino=INFO\n",
    "access-control.properties": renderProperties({
      "access-control.name": "file",
      "security.config-file": path.join(etcDir, "rules.json"),
    }),
    "rules.json": trinoAccessRules(),
  };
  for (const [catalog, props] of Object.entries(trinoCatalogs(conn))) {
    files[`catalog/${catalog}.properties`] = renderProperties(props);
  }
  return files;
}

