/**
 * Requests, from a writer that found a table needing a repair (the API's REPAIR_PENDING), that
 * the reconciler pass over that table now rather than at its next resync. One small file per
 * table in the folder beside the reconciler's status file (as prune confirmations are), which
 * the reconciler's watcher (reconciler/watch.ts) turns into a requeue of that table and removes.
 * A request only makes a pass due early: the pass observes and decides as always.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The folder of repair requests for one reconciler: beside its status file. */
export function repairRequestsDir(statusFile: string): string {
  return path.join(path.dirname(statusFile), "repair-requested");
}

const fileOf = (dir: string, id: string) => path.join(dir, `${encodeURIComponent(id)}.json`);

/** Asks for a pass over a table (its id, db.name) now; what is wrong, for the log. */
export function requestRepair(statusFile: string, id: string, reason: string, now = new Date()): void {
  const dir = repairRequestsDir(statusFile);
  fs.mkdirSync(dir, { recursive: true });
  const file = fileOf(dir, id);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ table: id, requestedAt: now.toISOString(), reason }) + "\n");
  fs.renameSync(tmp, file);
}

/** The table a file in the requests folder asks a pass for, or none (a temporary file, another file). */
export function requestedTable(dir: string, file: string): string | undefined {
  if (path.dirname(file) !== dir || !file.endsWith(".json")) return undefined;
  try {
    const id = decodeURIComponent(path.basename(file, ".json"));
    return fileOf(dir, id) === file ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Removes a table's request (its pass is due). */
export function consumeRepairRequest(dir: string, id: string): void {
  fs.rmSync(fileOf(dir, id), { force: true });
}
