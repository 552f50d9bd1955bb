/**
 * Helpers for the end-to-end tests: the real local lakehouse of stack "e2e".
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { readOutputs, selectStack, type LakeOutputs } from "../../cli/stack";
import { s3Client } from "../../reconciler/runtime";
import { TrinoClient } from "../../reconciler/trino";

export const STACK = "e2e";
process.env.LAKEFORM_STACK = STACK;

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
