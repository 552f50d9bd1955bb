import type * as pulumi from "@pulumi/pulumi";
import { requireAbsolute, requirePort, type RuntimeArgs } from "../common";
import type { Toolchain } from "../toolchain";

export type ObjectStoreEngine = "seaweedfs" | "minio";

export interface ObjectStoreArgs extends RuntimeArgs {
  /** The S3 server. SeaweedFS installs from PyPI with no build; MinIO is built from the Go proxy. */
  engine?: ObjectStoreEngine;
  /** S3 API port on the host. */
  port?: number;
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
  /** Buckets to create, each a resource of its own. */
  buckets?: string[];
  /** Delete bucket contents on destroy (default false: data is never dropped implicitly). */
  forceDestroy?: boolean;
  /** What the machine provides (read once at the edge: components/toolchain.ts). */
  toolchain: Toolchain;
  /**
   * An S3 service Lakeform connects to instead of running one: nothing is provisioned, `buckets`
   * (the warehouse bucket) must exist, and `checks` (components/external) has tried it.
   */
  external?: { endpoint: string; region: string; pathStyle: boolean; checks: pulumi.Resource };
}

export const OBJECT_STORE_DEFAULTS = { engine: "seaweedfs" as ObjectStoreEngine, port: 8333, buckets: ["warehouse"] };

export function validateObjectStoreArgs(args: Pick<ObjectStoreArgs, "port" | "runtime" | "dataDir" | "buckets">): void {
  requirePort("ObjectStore", "port", args.port ?? OBJECT_STORE_DEFAULTS.port);
  if (args.runtime === "local") requireAbsolute("ObjectStore", "dataDir", args.dataDir);
  for (const b of args.buckets ?? []) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b)) {
      throw new Error(`ObjectStore: bucket "${b}" is not a valid S3 bucket name`);
    }
  }
}
