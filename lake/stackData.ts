/**
 * Where a stack keeps its files, found without the Pulumi CLI: the stack's data directory (from
 * Pulumi.<stack>.yaml's `lakeform:dataDir`), the stack outputs cached there by `up`, and each
 * service's log and pid file. Cheap to import: only node built-ins.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { OUTPUT_KEYS, type LakeOutputs } from "./outputKeys";

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
    text = fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8");
  } catch {
    return undefined;
  }
  const m = new RegExp(`^\\s+lakeform:${key}:[ \\t]*(.+?)[ \\t]*$`, "m").exec(text);
  if (!m) return undefined;
  return m[1].replace(/^(['"])(.*)\1$/, "$2");
}

export function stackDataDir(stack = stackName(), root = projectDir()): string {
  return path.resolve(root, stackSetting("dataDir", stack, root) ?? DEFAULT_DATA_DIR);
}

/** The stack outputs `up` leaves for the command line (mode 0600: they hold the S3 keys and the API token). */
export function outputsCacheFile(dataDir: string): string {
  return path.join(dataDir, "outputs.json");
}

export function readOutputsCache(file: string): LakeOutputs | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  for (const k of OUTPUT_KEYS) if (typeof raw[k] !== "string") return undefined;
  return raw as LakeOutputs;
}

export function writeOutputsCache(file: string, outs: LakeOutputs): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(outs, null, 2) + "\n", { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/** A local service's log file, as components/common.ts serviceDirs lays it out. */
export function serviceLogFile(dataDir: string, service: string): string {
  return path.join(dataDir, service, "logs", `${service}.log`);
}

export function servicePidFile(dataDir: string, service: string): string {
  return path.join(dataDir, service, `${service}.pid`);
}

/** Where the reconciler writes its report, under the stack's data directory. */
export function statusFileFor(dataDir: string): string {
  return path.join(dataDir, "reconciler", "status.json");
}
