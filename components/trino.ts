import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { TRINO_USERS } from "../lake/trino";
import { renderProperties, trinoCatalogs, type LakeConnection } from "./connection";
import {
  dockerHealthcheck,
  lakeConnection,
  localProcess,
  requireAbsolute,
  requirePort,
  serviceDirs,
  type EngineConnectionArgs,
  type RuntimeArgs,
} from "./common";
import { findTrinoJavaHome, installPaths } from "./local/install";
import { LocalService, type ServicePlan } from "./local/providers";
import { IMAGES } from "./versions";

export interface TrinoArgs extends RuntimeArgs, EngineConnectionArgs {
  port?: number;
  /** Extra Trino worker nodes; 0 lets the coordinator run tasks itself (one machine). */
  workers?: number;
  /** JVM heap of each node, e.g. "2G". */
  heap?: string;
}

export const TRINO_DEFAULTS = { port: 8080, workers: 0, heap: "2G" };

/** Users Trino knows. The read-only one is enforced by Trino's own access control, not by us. */


export function validateTrinoArgs(args: TrinoArgs): void {
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

export function trinoLocalPlans(args: { dataDir: string; port: number; workers: number; heap: string }, conn: LakeConnection): ServicePlan[] {
  const bin = installPaths();
  const javaHome = findTrinoJavaHome();
  return Array.from({ length: args.workers + 1 }, (_, i): ServicePlan => {
    const service = i === 0 ? "trino" : `trino-worker-${i}`;
    const dirs = serviceDirs(args.dataDir, service);
    const port = args.port + (i === 0 ? 0 : 10 + i);
    const etc = dirs.conf;
    const rel = trinoEtcFiles(
      { coordinator: i === 0, port, discoveryUri: `http://127.0.0.1:${args.port}`, nodeId: `lakeform-${service}`, dataDir: dirs.data, heap: args.heap, bindIp: "127.0.0.1" },
      conn,
      etc,
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
        ports: [port],
        startTimeoutSec: 240,
      }),
    };
  });
}

/**
 * Trino, the SQL reader: catalogs `hive`, `hudi` and `iceberg` over the metastore and the object store.
 */
export class Trino extends pulumi.ComponentResource {
  readonly endpoint: pulumi.Output<string>;
  readonly server: pulumi.Resource;

  constructor(name: string, args: TrinoArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lakeform:index:Trino", name, {}, opts);
    validateTrinoArgs(args);
    const { port = TRINO_DEFAULTS.port, workers = TRINO_DEFAULTS.workers, heap = TRINO_DEFAULTS.heap } = args;
    this.endpoint = pulumi.output(`http://127.0.0.1:${port}`);
    const conn = lakeConnection(args, args.metastoreUri);

    if (args.runtime === "local") {
      const plans = conn.apply((c) => trinoLocalPlans({ dataDir: args.dataDir, port, workers, heap }, c));
      const coordinator = new LocalService(`${name}-coordinator`, plans.apply((p) => p[0]), {
        parent: this,
        dependsOn: args.dependsOn,
      });
      for (let i = 1; i <= workers; i++) {
        new LocalService(`${name}-worker-${i}`, plans.apply((p) => p[i]), { parent: this, dependsOn: [coordinator] });
      }
      this.server = coordinator;
    } else {
      const image = new docker.RemoteImage(`${name}-image`, { name: IMAGES.trino, keepLocally: true }, { parent: this });
      const coordName = `${name}-coordinator`;
      const nodeFiles = (coordinator: boolean, nodeId: string) =>
        conn.apply((c) =>
          Object.entries(
            trinoEtcFiles({ coordinator, port: 8080, discoveryUri: `http://${coordName}:8080`, nodeId, dataDir: "/data/trino", heap }, c, "/etc/trino"),
          ).map(([file, content]) => ({ file: `/etc/trino/${file}`, content })),
        );
      const coordinator = new docker.Container(
        coordName,
        {
          name: coordName,
          image: image.imageId,
          restart: "unless-stopped",
          uploads: nodeFiles(true, "coordinator"),
          ports: [{ internal: 8080, external: port }],
          networksAdvanced: args.network ? [{ name: args.network, aliases: ["trino"] }] : [],
          healthcheck: dockerHealthcheck("curl -fsS http://localhost:8080/v1/info | grep -q '\"starting\":false'", "60s"),
          wait: true,
        },
        { parent: this, dependsOn: args.dependsOn },
      );
      for (let i = 1; i <= workers; i++) {
        new docker.Container(
          `${name}-worker-${i}`,
          {
            name: `${name}-worker-${i}`,
            image: image.imageId,
            restart: "unless-stopped",
            uploads: nodeFiles(false, `worker-${i}`),
            networksAdvanced: args.network ? [{ name: args.network }] : [],
            healthcheck: dockerHealthcheck("curl -fsS http://localhost:8080/v1/info", "60s"),
            wait: true,
          },
          { parent: this, dependsOn: [coordinator] },
        );
      }
      this.server = coordinator;
    }
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
