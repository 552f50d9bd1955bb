/**
 * Helpers for the end-to-end tests: the real local lakehouse of stack "e2e".
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT_DIR, readOutputs, selectStack, type LakeOutputs } from "../../stacks/automation";
import { s3Client } from "../../lake/outputs";
import { TrinoClient } from "../../lake/trino";

export const STACK = "e2e";
process.env.LAKEFORM_STACK = STACK;
// The reconciler and API services stay off for the tests that run reconcilers of their own;
// 05-services turns them on (stacks/config.ts).
process.env.LAKEFORM_SERVICES ??= "0";

let stack: Stack | undefined;

export async function e2eStack(): Promise<Stack> {
  stack ??= await selectStack(STACK);
  return stack;
}

/** Brings the lakehouse up (cheap when it already runs) and returns its outputs. */
export async function ensureUp(): Promise<LakeOutputs> {
  const s = await e2eStack();
  await s.up({ onOutput: (o) => process.env.LAKEFORM_TEST_VERBOSE && process.stderr.write(o) });
  return readOutputs(s);
}

export function trino(outs: LakeOutputs): TrinoClient {
  return new TrinoClient(outs.trinoEndpoint);
}

export function s3(outs: LakeOutputs) {
  return s3Client(outs);
}

export const run = promisify(execFile);

/**
 * The plain Pulumi CLI on the e2e stack, as a user types it (`pulumi up --yes`): the program
 * runs through the nodejs language host, not the Automation API. Returns stdout.
 */
export async function pulumi(...args: string[]): Promise<string> {
  const { stdout } = await run("pulumi", [...args, "--stack", STACK, "--non-interactive"], {
    cwd: PROJECT_DIR,
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (process.env.LAKEFORM_TEST_VERBOSE) process.stderr.write(stdout);
  return stdout;
}
