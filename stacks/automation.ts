/**
 * The stack through Pulumi's Automation API, with the program inline: the same program as
 * index.ts, run in this process, so `lakeform up` needs the Pulumi CLI but no language host.
 */
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { toLakeOutputs, type LakeOutputs } from "../lake/outputs";
import { buildLakehouse, stackOutputs } from "./index";

export const PROJECT_DIR = path.resolve(__dirname, "..");

export async function selectStack(stackName = process.env.LAKEFORM_STACK ?? "dev"): Promise<Stack> {
  return LocalWorkspace.createOrSelectStack(
    { stackName, projectName: "lakeform", program: async () => stackOutputs(buildLakehouse(PROJECT_DIR)) },
    { workDir: PROJECT_DIR },
  );
}

export async function readOutputs(stack?: Stack): Promise<LakeOutputs> {
  const s = stack ?? (await selectStack());
  const outs = await s.outputs();
  return toLakeOutputs(Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, v.value])));
}

export type { LakeOutputs };
