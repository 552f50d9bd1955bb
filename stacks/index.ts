import * as pulumi from "@pulumi/pulumi";
import { Lakehouse } from "../components/lakehouse";
import { readToolchain } from "../components/toolchain";
import type { LakeOutputs } from "../lake/outputs";
import { parseStackConfig, StackConfigSchema } from "./config";

/** Reads the `lakeform:*` keys this stack sets. */
function rawConfig(): Record<string, unknown> {
  const cfg = new pulumi.Config("lakeform");
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(StackConfigSchema.shape)) {
    const value = cfg.get(key);
    if (value === undefined) continue;
    // Structured keys arrive as JSON text, scalars as plain text.
    try {
      raw[key] = JSON.parse(value);
    } catch {
      raw[key] = value;
    }
  }
  return raw;
}

/** Assembles the stack's Lakehouse from its configuration. */
export function buildLakehouse(projectDir: string): { lake: Lakehouse; dataDir: string } {
  const config = parseStackConfig(rawConfig(), projectDir);
  const lake = new Lakehouse("lakehouse", {
    runtime: config.runtime,
    dataDir: config.dataDir,
    // The one place the machine is read: install paths, Java homes, the job program's hash.
    toolchain: readToolchain(config.runtime),
    warehouseBucket: config.warehouseBucket,
    objectStore: config.objectStore,
    metastore: config.metastore,
    spark: config.spark,
    trino: config.trino,
  });
  return { lake, dataDir: config.dataDir };
}

/** The stack outputs the reconciler, the API and LakeShell connect with. */
export function stackOutputs({ lake, dataDir }: { lake: Lakehouse; dataDir: string }): { [K in keyof LakeOutputs]: pulumi.Input<string> } {
  return {
    dataDir,
    s3Endpoint: lake.objectStore.endpoint,
    s3Region: lake.objectStore.region,
    s3AccessKey: lake.objectStore.accessKey,
    s3SecretKey: lake.objectStore.secretKey,
    warehouseBucket: lake.warehouseBucket,
    metastoreUri: lake.metastore.uri,
    sparkJobServer: lake.spark.jobServerUrl,
    trinoEndpoint: lake.trino.endpoint,
    apiToken: lake.apiToken,
  };
}
