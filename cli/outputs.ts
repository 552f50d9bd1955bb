/**
 * The stack outputs for the command line: read from the cache `up` leaves in the stack's data
 * directory (mode 0600), so a command answers without starting the Pulumi CLI. Only when there is
 * no cache (a stack brought up before the cache existed) are they asked of Pulumi, and cached.
 */
import { LakeformError } from "../lake/errors";
import type { LakeOutputs } from "../lake/outputKeys";
import { renderColumns, serialize, type OutputFormat } from "./output";
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

/**
 * `lakeform outputs [key]`: every output (secrets as [secret] unless --show-secrets), or one
 * output's bare value for scripts. A secret's value is printed only with --show-secrets; an
 * unknown key is NOT_FOUND naming the keys there are.
 */
export function outputsCommand(
  outs: LakeOutputs,
  opts: { key?: string; showSecrets?: boolean; format: OutputFormat; secretKeys: readonly string[] },
  out: (s: string) => void,
): number {
  const hidden = Object.fromEntries(opts.secretKeys.map((k) => [k, "[secret]"]));
  const shown: Record<string, string> = opts.showSecrets ? { ...outs } : { ...outs, ...hidden };
  if (opts.key !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(outs, opts.key)) {
      throw new LakeformError("NOT_FOUND", `no output ${opts.key}; the outputs are ${Object.keys(outs).join(", ")}`);
    }
    if (opts.secretKeys.includes(opts.key) && !opts.showSecrets) {
      throw new LakeformError("BAD_REQUEST", `${opts.key} is a secret: add --show-secrets to print it`);
    }
    const value = shown[opts.key];
    out(opts.format === "json" || opts.format === "yaml" ? serialize({ [opts.key]: value }, opts.format) : value + (value.endsWith("\n") ? "" : "\n"));
    return 0;
  }
  if (opts.format === "yaml") out(serialize(shown, "yaml"));
  else if (opts.format === "json") out(serialize(shown, "json"));
  else out(renderColumns(["KEY", "VALUE"], Object.entries(shown).map(([k, v]) => [k, v.includes("\n") ? `${v.split("\n")[0]} … (${v.split("\n").length} lines: lakeform outputs ${k})` : v])) + "\n");
  return 0;
}
