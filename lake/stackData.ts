/**
 * Where a stack keeps its files, found without the Pulumi CLI: the stack's data directory (from
 * Pulumi.<stack>.yaml's `lakeform:dataDir`) and the stack outputs cached there by `up`. The paths
 * under the data directory are lake/paths.ts's. Cheap to import: only node built-ins.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readJson, writeJsonAtomic } from "./files";
import { OUTPUT_KEYS, type LakeOutputs } from "./outputKeys";
import { stackConfigFile } from "./paths";

export { outputsFile as outputsCacheFile, statusFile as statusFileFor } from "./paths";

/** The project directory (where Pulumi.yaml is), from the source tree or the compiled dist/ one. */
export function projectDir(): string {
  if (process.env.LAKEFORM_ROOT) return process.env.LAKEFORM_ROOT;
  let dir = path.resolve(__dirname, "..");
  if (path.basename(dir) === "dist") dir = path.dirname(dir);
  return dir;
}

export function stackName(): string {
  return process.env.LAKEFORM_STACK ?? "dev";
}

/** The same default as stacks/config.ts's `dataDir`. */
export const DEFAULT_DATA_DIR = ".lakeform/dev";

/** Reads one top-level `lakeform:<key>` scalar from Pulumi.<stack>.yaml (no YAML library needed for that). */
export function stackSetting(key: string, stack = stackName(), root = projectDir()): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(stackConfigFile(root, stack), "utf8");
  } catch {
    return undefined;
  }
  const m = new RegExp(`^\\s+lakeform:${key}:[ \\t]*(.+?)[ \\t]*$`, "m").exec(text);
  if (!m) return undefined;
  return m[1].replace(/^(['"])(.*)\1$/, "$2");
}

/** The same default as stacks/config.ts's `tablesFile`. */
export const DEFAULT_TABLES_FILE = "examples/tables.yaml";

/**
 * The tables.yaml of the stack (`lakeform:tablesFile`, relative to the project), the one its
 * reconciler watches: what `-f` means when a command isn't given one.
 */
export function stackTablesFile(stack = stackName(), root = projectDir()): string {
  return path.resolve(root, stackSetting("tablesFile", stack, root) ?? DEFAULT_TABLES_FILE);
}

export function stackDataDir(stack = stackName(), root = projectDir()): string {
  return path.resolve(root, stackSetting("dataDir", stack, root) ?? DEFAULT_DATA_DIR);
}

export function readOutputsCache(file: string): LakeOutputs | undefined {
  const raw = readJson<Record<string, unknown>>(file);
  if (!raw || typeof raw !== "object") return undefined;
  for (const k of OUTPUT_KEYS) if (typeof raw[k] !== "string") return undefined;
  return raw as LakeOutputs;
}

/** The stack outputs `up` leaves for the command line (mode 0600: they hold the S3 keys and the API token). */
export function writeOutputsCache(file: string, outs: LakeOutputs): void {
  writeJsonAtomic(file, outs, { mode: 0o600 });
}
