import type * as pulumi from "@pulumi/pulumi";
import { requireAbsolute, requirePort, type ObjectStoreConnectionArgs, type RuntimeArgs } from "../common";
import type { Toolchain } from "../toolchain";

export interface MetastoreArgs extends RuntimeArgs, ObjectStoreConnectionArgs {
  /** Thrift port on the host. */
  port?: number;
  /** JVM heap, e.g. "512m". */
  heap?: string;
  /** What the machine provides (read once at the edge: components/toolchain.ts). */
  toolchain: Toolchain;
  /** A metastore Lakeform connects to instead of running one (`checks`, components/external, has tried it). */
  external?: { uri: string; checks: pulumi.Resource };
}

export const METASTORE_DEFAULTS = { port: 9083, heap: "512m" };

export function validateMetastoreArgs(args: Pick<MetastoreArgs, "port" | "runtime" | "dataDir" | "heap">): void {
  requirePort("Metastore", "port", args.port ?? METASTORE_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("Metastore", "dataDir", args.dataDir);
  if (!/^\d+[mg]$/.test(args.heap ?? METASTORE_DEFAULTS.heap)) throw new Error(`Metastore: heap must look like 512m or 1g`);
}
