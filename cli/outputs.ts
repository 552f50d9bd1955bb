/**
 * The stack outputs for the command line: read from the cache `up` leaves in the stack's data
 * directory (mode 0600), so a command answers without starting the Pulumi CLI. Only when there is
 * no cache (a stack brought up before the cache existed) are they asked of Pulumi, and cached.
 */
import type { LakeOutputs } from "../lake/outputKeys";
import { outputsCacheFile, readOutputsCache, stackDataDir, writeOutputsCache } from "../lake/stackData";

export function outputsFile(): string {
  return process.env.LAKEFORM_OUTPUTS_FILE ?? outputsCacheFile(stackDataDir());
}

export async function lakeOutputs(): Promise<LakeOutputs> {
  const file = outputsFile();
  const cached = readOutputsCache(file);
  if (cached) return cached;
  const { readOutputs } = await import("../stacks/automation");
  const outs = await readOutputs();
  writeOutputsCache(file, outs);
  return outs;
}
