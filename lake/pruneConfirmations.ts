/**
 * Confirmations of held prunes. A prune that would drop more than one table, or every table, is
 * held (PrunePending) until the user confirms it: `lakeform prune --confirm`, or `pulumi up` of
 * the Table resources (each Table removed from the program confirms its own table). A
 * confirmation names exactly one table, as one small file in the folder beside the reconciler's
 * status file, so adding one (the CLI, a Table's delete) and consuming one (the reconciler, once
 * the table is dropped) never rewrite each other's: a table it doesn't name is not confirmed by it.
 *
 * Only node built-ins: the Table resource's provider process loads this too.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface PruneConfirmation {
  table: string;
  confirmedAt: string;
  /** Who confirmed: "lakeform prune --confirm", "pulumi up". */
  by: string;
}

/** The folder of confirmations for one reconciler: beside its status file. */
export function confirmationsDir(statusFile: string): string {
  return path.join(path.dirname(statusFile), "prune-confirmed");
}

const fileOf = (dir: string, id: string) => path.join(dir, `${encodeURIComponent(id)}.json`);

/** Records the confirmation of each table's prune. */
export function confirmPrune(statusFile: string, ids: string[], by: string, now = new Date()): void {
  const dir = confirmationsDir(statusFile);
  fs.mkdirSync(dir, { recursive: true });
  for (const id of ids) {
    const file = fileOf(dir, id);
    const tmp = `${file}.${process.pid}.tmp`;
    const c: PruneConfirmation = { table: id, confirmedAt: now.toISOString(), by };
    fs.writeFileSync(tmp, JSON.stringify(c) + "\n");
    fs.renameSync(tmp, file);
  }
}

/** The tables whose prune is confirmed, by id. */
export function readConfirmations(statusFile: string): Map<string, PruneConfirmation> {
  const dir = confirmationsDir(statusFile);
  const out = new Map<string, PruneConfirmation>();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith(".json")) continue;
    try {
      const c = JSON.parse(fs.readFileSync(path.join(dir, n), "utf8")) as PruneConfirmation;
      if (typeof c.table === "string" && fileOf(dir, c.table) === path.join(dir, n)) out.set(c.table, c);
    } catch {
      // Half-written or not ours: not a confirmation.
    }
  }
  return out;
}

/** Removes a table's confirmation (its prune was done, or it is declared again). */
export function consumeConfirmation(statusFile: string, id: string): void {
  fs.rmSync(fileOf(confirmationsDir(statusFile), id), { force: true });
}
