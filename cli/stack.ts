/**
 * The stack through Pulumi's Automation API, with the program inline: the same program as
 * index.ts, run in this process, so `lakeform up` needs the Pulumi CLI but no language host.
 */
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { buildLakehouse, stackOutputs } from "../stacks";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** The connection facts a running lakehouse exports (see stacks/index.ts). */
export interface LakeOutputs {
  dataDir: string;
  s3Endpoint: string;
  s3Region: string;
  s3AccessKey: string;
  s3SecretKey: string;
  warehouseBucket: string;
  metastoreUri: string;
  sparkJobServer: string;
  trinoEndpoint: string;
  apiToken: string;
}

export async function selectStack(stackName = process.env.LAKEFORM_STACK ?? "dev"): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName, projectName: "lakeform", program: async () => stackOutputs(buildLakehouse(PROJECT_DIR)) },
    { workDir: PROJECT_DIR },
  );
}

export async function readOutputs(stack?: Stack): Promise<LakeOutputs> {
  const s = stack ?? (await selectStack());
  const outs = await s.outputs();
  const get = (k: keyof LakeOutputs) => {
    const v = outs[k]?.value;
    if (typeof v !== "string") {
      throw new Error(`stack output ${k} is missing: is the lakehouse up? (run: lakeform up)`);
    }
    return v;
  };
  return {
    dataDir: get("dataDir"),
    s3Endpoint: get("s3Endpoint"),
    s3Region: get("s3Region"),
    s3AccessKey: get("s3AccessKey"),
    s3SecretKey: get("s3SecretKey"),
    warehouseBucket: get("warehouseBucket"),
    metastoreUri: get("metastoreUri"),
    sparkJobServer: get("sparkJobServer"),
    trinoEndpoint: get("trinoEndpoint"),
    apiToken: get("apiToken"),
  };
}
