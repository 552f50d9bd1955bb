import * as pulumi from "@pulumi/pulumi";
import { LAKEHOUSE_SECRETS, Lakehouse, type LakehouseSecret } from "../components/lakehouse";
import { readToolchain } from "../components/toolchain";
import { LakeServices, outputsFilePath, StackOutputsFile } from "../components/services";
import { tablesFromFile, type Table } from "../components/table";
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

/** Secrets the stack's config sets (`pulumi config set --secret lakeform:apiToken …`): they replace the generated ones. */
function configSecrets(): Partial<Record<LakehouseSecret, pulumi.Output<string>>> {
  const cfg = new pulumi.Config("lakeform");
  const out: Partial<Record<LakehouseSecret, pulumi.Output<string>>> = {};
  for (const key of LAKEHOUSE_SECRETS) {
    const value = cfg.getSecret(key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export interface BuiltLakehouse {
  lake: Lakehouse;
  dataDir: string;
  /** The reconciler and the API (host processes on both runtimes), and one Table per entry of tables.yaml. */
  services?: LakeServices;
  tables: Table[];
}

/** Assembles the stack's Lakehouse from its configuration, with its services and tables. */
export function buildLakehouse(projectDir: string): BuiltLakehouse {
  const config = parseStackConfig(rawConfig(), projectDir);
  const lake = new Lakehouse("lakehouse", {
    runtime: config.runtime,
    dataDir: config.dataDir,
    // The one place the machine is read: install paths, Java homes, the job program's hash.
    toolchain: readToolchain(config.runtime, { objectStore: config.objectStore.engine }),
    stack: pulumi.getStack(),
    warehouseBucket: config.warehouseBucket,
    objectStore: config.objectStore,
    metastore: config.metastore,
    spark: config.spark,
    trino: {
      port: config.trino.port,
      workers: config.trino.workers,
      heap: config.trino.heap,
      external: config.trino.external && { ...config.trino.external, catalogs: Object.values(config.trino.external.catalogs) },
    },
    secrets: configSecrets(),
  });
  const built: BuiltLakehouse = { lake, dataDir: config.dataDir, tables: [] };
  // The reconciler and the API run on this machine on both runtimes, as supervised processes
  // (`lakeform supervise`) talking to the engines' published ports on 127.0.0.1: on the docker
  // runtime, the engines are containers and the loop beside them is the same host process.
  const outputs = stackOutputs(built);
  // Written once the engines are up: what it names must answer when the services start.
  const engines = [lake.objectStore, lake.metastore, lake.spark, lake.trino];
  const outputsFile = new StackOutputsFile("lakehouse-outputs", { file: outputsFilePath(config.dataDir), outputs }, { parent: lake, dependsOn: engines });
  if (!config.services) return built;
  built.services = new LakeServices(
    "lakehouse-services",
    {
      projectDir,
      dataDir: config.dataDir,
      stack: pulumi.getStack(),
      tablesFile: config.tablesFile,
      apiPort: config.api.port,
      apiLimits: config.api,
      resyncSec: config.reconciler.resyncSec,
      outputs,
      outputsFile,
    },
    { parent: lake },
  );
  built.tables = tablesFromFile(
    { tablesFile: config.tablesFile, dataDir: config.dataDir, warehouseBucket: config.warehouseBucket },
    { parent: lake, dependsOn: [built.services.reconciler], timeoutSec: config.reconciler.tableTimeoutSec },
  );
  return built;
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
    trinoCertificate: lake.trino.certificate,
    apiToken: lake.apiToken,
    apiReadToken: lake.apiReadToken,
    trinoPassword: lake.trinoPassword,
    trinoReadPassword: lake.trinoReadPassword,
    jobServerSecret: lake.jobServerSecret,
    // Only where they aren't the defaults (external services): a provisioned stack's outputs, and
    // so its services' plans, stay as they were.
    ...(lake.objectStore.pathStyle ? {} : { s3PathStyle: "false" }),
    sparkUi: lake.spark.uiUrl,
    ...(lake.external && lake.trino.external ? { trinoUser: lake.trinoUser, trinoReadUser: lake.trinoReadUser } : {}),
  };
}
