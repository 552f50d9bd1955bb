/**
 * The prune's safety net on the command line:
 *
 *   lakeform prune [--confirm] [tables…]   the prunes held (PrunePending), and their confirmation
 *   lakeform trash [--json]                what can be undropped, and until when
 *   lakeform trash purge <table>           the files and journal of a trashed table, now
 *   lakeform undrop <table>                a trashed table back, with its history
 *
 * Held prunes are read from the reconciler's status file; confirming one records it beside that
 * file (lake/pruneConfirmations.ts) for the reconciler to act on. The trash is the lake's own
 * (tombstones in the warehouse bucket, lake/trash.ts). Each command is a function taking what
 * it needs, so the end-to-end tests run them as a user would.
 */
import * as path from "node:path";
import { getCondition, Reason } from "../lake/conditions";
import { LakeformError } from "../lake/errors";
import { confirmPrune } from "../lake/pruneConfirmations";
import { loadTables, tableId } from "../lake/spec";
import { readStatus } from "../lake/status";
import { timeLeft, type Tombstone } from "../lake/trash";
import { purgeTrashed, undropTable, type TrashDeps, type UndropResult } from "../reconciler/trash";
import { parseTableArg } from "./get";
import { serialize, type OutputFormat } from "./output";

type Out = (s: string) => void;

export { parseTableArg } from "./get";

/** The tables whose prune is held, with why, from the reconciler's status file. */
export function heldPrunes(statusFile: string): { table: string; message: string }[] {
  const st = readStatus(statusFile);
  return Object.values(st?.tables ?? {})
    .map((t) => ({ table: t.table, synced: getCondition(t.conditions, "Synced") }))
    .filter((t) => t.synced?.reason === Reason.PrunePending)
    .map((t) => ({ table: t.table, message: t.synced!.message }))
    .sort((a, b) => a.table.localeCompare(b.table));
}

/**
 * `lakeform prune`: lists the held prunes; with --confirm, confirms them (all of them, or the
 * ones named, each of which must be held), then waits up to waitSec for the reconciler to prune
 * them. Exit 0 when nothing is held or every confirmed table was pruned.
 */
export async function pruneCommand(opts: { statusFile: string; confirm?: boolean; tables?: string[]; waitSec?: number }, out: Out): Promise<number> {
  const held = heldPrunes(opts.statusFile);
  if (held.length === 0) {
    out("no prune is held: nothing to confirm\n");
    return opts.tables?.length ? 3 : 0;
  }
  const heldIds = new Set(held.map((h) => h.table));
  const named = (opts.tables ?? []).map((t) => parseTableArg(t).id);
  const notHeld = named.filter((id) => !heldIds.has(id));
  if (notHeld.length > 0) {
    throw new LakeformError("NOT_FOUND", `no held prune of ${notHeld.join(", ")}; held: ${[...heldIds].join(", ")}`);
  }
  if (!opts.confirm) {
    out(`${held.length} prune(s) held until confirmed (nothing of them is dropped yet):\n`);
    for (const h of held) out(`  ${h.table}\n`);
    out(`${held[0].message.replace(/^removed from tables.yaml with prune: true, but /, "because ")}\n`);
    out("A prune drops the table from the catalog and keeps its files in the trash (lakeform trash; lakeform undrop <table>).\n");
    return 2;
  }
  const ids = named.length > 0 ? named : [...heldIds];
  confirmPrune(opts.statusFile, ids, "lakeform prune --confirm");
  out(`confirmed the prune of ${ids.join(", ")}; the reconciler drops them from the catalog, keeping their files in the trash\n`);
  const deadline = Date.now() + (opts.waitSec ?? 60) * 1000;
  let left = ids;
  for (;;) {
    const tables = readStatus(opts.statusFile)?.tables ?? {};
    left = ids.filter((id) => tables[id]);
    if (left.length === 0 || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (left.length === 0) {
    out(`pruned: ${ids.join(", ")} (lakeform trash lists them; lakeform undrop <table> brings one back)\n`);
    return 0;
  }
  out(`not pruned yet: ${left.join(", ")}: is the reconciler running? (lakeform status; the confirmation stays until it is)\n`);
  return 6;
}

/** The trash, for people: one line per trashed table. */
export function formatTrash(items: Tombstone[], now = Date.now()): string {
  if (items.length === 0) return "the trash is empty";
  const rows = [["TABLE", "FORMAT", "DROPPED", "UNDROP UNTIL", "LEFT", "ROWS", "LAST COMMIT", "LOCATION"]];
  for (const t of items) {
    rows.push([t.table, t.format, t.droppedAt.replace(/\.\d+Z$/, "Z"), t.purgeAfter.replace(/\.\d+Z$/, "Z"), timeLeft(t.purgeAfter, now), t.rowCount === undefined || t.rowCount === null ? "-" : String(t.rowCount), t.lastCommit?.id ?? "-", t.location]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
  for (const t of items) if (t.quarantine) lines.push(`${t.table}: its quarantine table ${t.database}.${t.quarantine.name} (${t.quarantine.location}) is in the trash with it`);
  return lines.join("\n");
}

export async function trashListCommand(deps: Pick<TrashDeps, "trash">, opts: { json?: boolean; format?: OutputFormat }, out: Out): Promise<number> {
  const items = await deps.trash.list();
  const format = opts.format ?? (opts.json ? "json" : "table");
  out(format === "json" || format === "yaml" ? serialize(items, format) : formatTrash(items) + "\n");
  return 0;
}

/** `lakeform trash purge <table>`: its files and journal now, whatever its trash period says. */
export async function trashPurgeCommand(deps: TrashDeps, table: string, out: Out): Promise<number> {
  const t = parseTableArg(table);
  const tomb = await deps.trash.get(t);
  if (!tomb) throw new LakeformError("NOT_FOUND", `table ${t.id} is not in the trash (lakeform trash lists what is)`, { table: t.id });
  const outcome = await purgeTrashed(deps, tomb);
  out(
    outcome === "purged"
      ? `purged ${t.id}: its files at ${tomb.location}${tomb.quarantine ? ` and its quarantine table's at ${tomb.quarantine.location}` : ""} and its journal are deleted; a new table of that name can be declared now\n`
      : `${t.id} is in the metastore again (undropped): nothing purged, its left-over tombstone removed\n`,
  );
  return 0;
}

/** `lakeform undrop <table>`: the table must be declared in tables.yaml again, with its format. */
export async function undropCommand(deps: TrashDeps, opts: { file: string; table: string }, out: Out): Promise<UndropResult> {
  const t = parseTableArg(opts.table);
  const tablesFile = path.resolve(opts.file);
  const spec = loadTables(tablesFile).tables.find((s) => tableId(s) === t.id);
  const res = await undropTable(deps, spec, t, tablesFile);
  out(
    `undropped ${res.table}: ${res.format} table at ${res.location}, ${res.commits} commit(s) of history${res.lastCommit ? ` (newest ${res.lastCommit})` : ""}, ` +
      `${res.registered ? "registered in the metastore again" : "already in the metastore"}; the reconciler manages it again from its next pass\n`,
  );
  if (res.quarantine) {
    out(res.quarantine.missing ? `its quarantine table ${res.quarantine.table} had no files left: not registered\n` : `its quarantine table ${res.quarantine.table} is back with it\n`);
  }
  return res;
}
