import * as crypto from "node:crypto";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
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
  /** Password of TRINO_USERS.admin, Lakeform's writer (the lakehouse generates it). */
  password: pulumi.Input<string>;
  /** Password of TRINO_USERS.readOnly, the API's and LakeShell's reader. */
  readPassword: pulumi.Input<string>;
  /**
   * A Trino cluster Lakeform connects to instead of running one (`checks`, components/external,
   * has tried it): nothing provisioned, no certificate generated; `caCertificate` is what its
   * clients trust for an https endpoint (empty: the system's CAs).
   */
  external?: { endpoint: string; caCertificate?: pulumi.Input<string>; checks: pulumi.Resource };
}

/**
 * What a node's config needs besides the connection: the passwords of Lakeform's two Trino users,
 * and the coordinator's TLS certificate and key (Trino checks passwords over HTTPS only: over
 * HTTP it takes any user name without one, or refuses).
 */
export interface TrinoSecrets {
  password: string;
  readPassword: string;
  /** PEM: the coordinator's self-signed certificate (its clients pin it) and its private key. */
  certPem: string;
  keyPem: string;
}

/**
 * The coordinator's plain-HTTP port beside the HTTPS one clients use: workers announce themselves
 * and fetch tasks over it (signed with the shared secret), and health checks read /v1/info there.
 * Any other request over HTTP is refused (403). port + 1: port + 10 is the API's default
 * (8090 beside Trino's 8080), and workers' own ports are port + 10 + i, i >= 1.
 */
export function trinoInternalPort(port: number): number {
  return port + 1;
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

/**
 * File-based access control: the admin user may write, the read-only user may only read. Without
 * query rules Trino lets every user view and kill every query: the reader (whose statements come
 * from API callers) would see the writer's statements, values included, in system.runtime.queries
 * and could kill them. With these, the reader runs, views and kills only its own queries.
 */
export function trinoAccessRules(): string {
  return JSON.stringify(
    {
      catalogs: [
        { user: TRINO_USERS.admin, allow: "all" },
        { user: TRINO_USERS.readOnly, allow: "read-only" },
        { allow: "none" },
      ],
      queries: [
        { user: TRINO_USERS.admin, allow: ["execute", "kill", "view"] },
        { user: TRINO_USERS.readOnly, allow: ["execute"] },
      ],
    },
    null,
    2,
  );
}

/**
 * Trino 476's file authenticator reads PBKDF2 as `iterations:salt:hash`, salt and hash in lower-case
 * hex, the hash PBKDF2WithHmacSHA1 with the hash's own length as key length, at least 1000
 * iterations (plugin/password-authenticators, EncryptionUtil.doesPBKDF2PasswordMatch), or bcrypt
 * `$2y$`. PBKDF2 needs nothing but Node's crypto.
 */
export const TRINO_PBKDF2 = { iterations: 100_000, digest: "sha1", keyBytes: 32, saltBytes: 16 } as const;

/**
 * One line of Trino's password file. The salt is derived from the password and the user (an HMAC),
 * not drawn at random: the plan must render the same file on every `up`, or each `up` would
 * restart Trino. A random salt guards against tables precomputed over common passwords; these
 * passwords are 192 random bits (components/lakehouse.ts), where no such table exists.
 */
export function trinoPasswordLine(user: string, password: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(user)) throw new Error(`Trino: user name "${user}" can't go in a password file`);
  if (password.length < 16) throw new Error(`Trino: the password of ${user} is shorter than 16 characters`);
  const salt = crypto.createHmac("sha256", password).update(`lakeform trino password salt ${user}`).digest().subarray(0, TRINO_PBKDF2.saltBytes);
  const hash = crypto.pbkdf2Sync(password, salt, TRINO_PBKDF2.iterations, TRINO_PBKDF2.keyBytes, TRINO_PBKDF2.digest);
  return `${user}:${TRINO_PBKDF2.iterations}:${salt.toString("hex")}:${hash.toString("hex")}`;
}

/** The coordinator's password file: Lakeform's writer and reader, nobody else. */
export function trinoPasswordFile(secrets: Pick<TrinoSecrets, "password" | "readPassword">): string {
  return [trinoPasswordLine(TRINO_USERS.admin, secrets.password), trinoPasswordLine(TRINO_USERS.readOnly, secrets.readPassword)].join("\n") + "\n";
}

/**
 * The secret coordinator and workers sign their internal requests with
 * (internal-communication.shared-secret), derived from the writer's password: a secret of the
 * stack like it, never a constant, and no third secret to keep in the state.
 */
export function trinoSharedSecret(secrets: Pick<TrinoSecrets, "password">): string {
  return crypto.createHmac("sha256", secrets.password).update("lakeform trino internal-communication.shared-secret").digest("base64url");
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
    /** Coordinator: the HTTPS port clients (and their passwords) use; `port` is then plain HTTP for the cluster itself. */
    httpsPort?: number;
  },
  conn: LakeConnection,
  etcDir: string,
  secrets: TrinoSecrets,
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
      // Coordinator and workers sign their requests to each other with it; Trino refuses to start
      // with authentication on and no shared secret.
      "internal-communication.shared-secret": trinoSharedSecret(secrets),
      ...(node.coordinator
        ? {
            "access-control.config-files": path.join(etcDir, "access-control.properties"),
            // Clients authenticate with a password from the password file, over HTTPS: Trino
            // checks passwords only there. Over HTTP it would authenticate anyone by the user
            // name alone once allow-insecure-over-http is true; false refuses every HTTP request
            // but the cluster's own (signed with the shared secret) and public ones like
            // /v1/info, which the health checks read.
            "http-server.authentication.type": "PASSWORD",
            "http-server.authentication.allow-insecure-over-http": "false",
            ...(node.httpsPort
              ? {
                  "http-server.https.enabled": "true",
                  "http-server.https.port": String(node.httpsPort),
                  "http-server.https.keystore.path": path.join(etcDir, "https.pem"),
                }
              : {}),
          }
        : {}),
    }),
    "log.properties": "io.trino=INFO\n",
    "access-control.properties": renderProperties({
      "access-control.name": "file",
      "security.config-file": path.join(etcDir, "rules.json"),
    }),
    "rules.json": trinoAccessRules(),
  };
  if (node.coordinator) {
    files["password-authenticator.properties"] = renderProperties({
      "password-authenticator.name": "file",
      "file.password-file": path.join(etcDir, "password.db"),
    });
    files["password.db"] = trinoPasswordFile(secrets);
    // A PEM keystore: the private key and the certificate in one file.
    if (node.httpsPort) files["https.pem"] = `${secrets.keyPem.trimEnd()}\n${secrets.certPem.trimEnd()}\n`;
  }
  for (const [catalog, props] of Object.entries(trinoCatalogs(conn))) {
    files[`catalog/${catalog}.properties`] = renderProperties(props);
  }
  return files;
}

