/**
 * Helpers for the end-to-end tests: the real local lakehouse of stack "e2e".
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import pino, { type Logger } from "pino";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT_DIR, readOutputs, selectStack, type LakeOutputs } from "../../stacks/automation";
import { JobClient } from "../../lake/jobClient";
import { s3Client } from "../../lake/outputs";
import { createReconciler } from "../../reconciler/runtime";
import { stackTrino, type TrinoClient } from "../../lake/trino";

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

/** Trino as Lakeform's writer (the admin user, with the stack's password). */
export function trino(outs: LakeOutputs): TrinoClient {
  return stackTrino(outs, "admin");
}

export function s3(outs: LakeOutputs) {
  return s3Client(outs);
}

/**
 * A test's own tables.yaml and status file, in a fresh temporary folder, beside the lakehouse's
 * outputs, Trino and the job server: what a file that runs reconciler passes of its own needs.
 */
export interface TablesWorkspace {
  outs: LakeOutputs;
  t: TrinoClient;
  jobs: JobClient;
  dir: string;
  tablesFile: string;
  statusFile: string;
}

export async function tablesWorkspace(prefix: string): Promise<TablesWorkspace> {
  const outs = await ensureUp();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    outs,
    t: trino(outs),
    jobs: new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret }),
    dir,
    tablesFile: path.join(dir, "tables.yaml"),
    statusFile: path.join(dir, "status.json"),
  };
}

/** One reconciler run (runOnce) over the workspace's tables.yaml, reporting into its status file. */
export async function reconcileOnce(w: Pick<TablesWorkspace, "outs" | "tablesFile" | "statusFile">, log: Logger = pino({ level: "silent" })): Promise<void> {
  const r = createReconciler(w.outs, { tablesFile: w.tablesFile, statusFile: w.statusFile, log });
  await r.runOnce();
  await r.stop();
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

/**
 * Waits until probe() returns something other than undefined, at most timeoutMs. Fails naming
 * what it waited for, with the last thing probe saw (or threw), and at once when gaveUp() says
 * waiting is pointless (a child process that died, say).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; intervalMs?: number; gaveUp?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "nothing yet";
  for (;;) {
    const reason = opts.gaveUp?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = "not yet";
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}
