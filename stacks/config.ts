/**
 * The stack's configuration (Pulumi.<stack>.yaml, namespace `lakeform`), validated with zod so a
 * typo names the key instead of surfacing as a strange failure deep in a provider.
 */
import * as path from "node:path";
import { z } from "zod";

const port = z.number().int().min(1).max(65535);

export const StackConfigSchema = z
  .object({
    runtime: z.enum(["local", "docker"]).default("local"),
    /** Relative paths are resolved against the project directory. */
    dataDir: z.string().min(1).default(".lakeform/dev"),
    warehouseBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).default("warehouse"),
    objectStore: z
      .object({ engine: z.enum(["seaweedfs", "minio"]).optional(), port: port.optional(), forceDestroy: z.boolean().optional() })
      .strict()
      .default({}),
    metastore: z.object({ port: port.optional(), heap: z.string().optional() }).strict().default({}),
    spark: z
      .object({ port: port.optional(), workers: z.number().int().min(0).optional(), driverMemory: z.string().optional() })
      .strict()
      .default({}),
    trino: z
      .object({ port: port.optional(), workers: z.number().int().min(0).optional(), heap: z.string().optional() })
      .strict()
      .default({}),
  })
  .strict();

export type StackConfig = z.infer<typeof StackConfigSchema>;

/** Parses raw config values (already JSON-decoded); throws naming the offending key. */
export function parseStackConfig(raw: Record<string, unknown>, projectDir: string): StackConfig {
  const result = StackConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `lakeform:${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid stack configuration: ${issues}`);
  }
  return { ...result.data, dataDir: path.resolve(projectDir, result.data.dataDir) };
}
