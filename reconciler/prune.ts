/**
 * Tables Lakeform reported on that tables.yaml no longer declares: their data is left alone,
 * unless the table said `prune: true`, then it is dropped with its files. Level-triggered: the
 * status file remembers what was declared (and by which tables.yaml), so a removal made while no
 * reconciler ran is acted on at the next start, and a drop that failed is tried again.
 */
import type { Logger } from "pino";
import { Reason, setCondition } from "../lake/conditions";
import { tableLocation } from "../lake/jobClient";
import type { LakeStatus, TableStatus } from "../lake/status";
import { toLakeformError, type LakeDriver } from "./driver";

export interface PrunePlan {
  /** Undeclared, prune: false: forgotten by the status, data left alone. */
  leave: string[];
  /** Undeclared, prune: true: dropped with their files. */
  drop: string[];
}

/** Pure: which reported tables are no longer declared by this tables.yaml, and what to do with each. */
export function planPrune(status: LakeStatus, declared: Set<string>, tablesFile: string, busy: Set<string> = new Set()): PrunePlan {
  const out: PrunePlan = { leave: [], drop: [] };
  for (const [id, st] of Object.entries(status.tables)) {
    if (declared.has(id) || busy.has(id)) continue;
    // Declared by another tables.yaml reconciled into the same lake: not ours to judge.
    if (st.declaredIn && st.declaredIn !== tablesFile) continue;
    (st.prune ? out.drop : out.leave).push(id);
  }
  return out;
}

const splitId = (id: string): [string, string] => {
  const dot = id.indexOf(".");
  return [id.slice(0, dot), id.slice(dot + 1)];
};

/** The status of a table whose drop is under way. */
export function pruningStatus(st: TableStatus, now = new Date()): TableStatus {
  return {
    ...st,
    inSync: false,
    conditions: setCondition(st.conditions, { type: "Synced", status: "False", reason: Reason.Pruning, message: "removed from tables.yaml with prune: true; dropping the table and its files" }, now),
  };
}

/** The status of a table whose drop failed: kept, so the drop is tried again. */
export function pruneFailedStatus(st: TableStatus, message: string, now = new Date()): TableStatus {
  return { ...st, conditions: setCondition(st.conditions, { type: "Degraded", status: "True", reason: Reason.PruneFailed, message: `prune failed, will retry: ${message}` }, now) };
}

/**
 * Drops each table with its files (all at once; each is one job-server call). Returns the ids
 * dropped and those whose drop failed, with why.
 */
export async function dropTables(
  deps: { driver: LakeDriver; warehouseBucket: string; log: Logger },
  status: LakeStatus,
  ids: string[],
): Promise<{ dropped: string[]; failed: { id: string; message: string }[] }> {
  const dropped: string[] = [];
  const failed: { id: string; message: string }[] = [];
  await Promise.all(
    ids.map(async (id) => {
      const [database, name] = splitId(id);
      const location = tableLocation(deps.warehouseBucket, database, name);
      try {
        await deps.driver.drop({ name, database, format: status.tables[id].format, location }, true);
        deps.log.info({ table: id, location }, "Pruned table removed from tables.yaml (prune: true): dropped with its files");
        dropped.push(id);
      } catch (err) {
        const e = toLakeformError(err);
        deps.log.error({ table: id, code: e.code, err: e.message }, "Failed to prune table; will retry");
        failed.push({ id, message: e.message });
      }
    }),
  );
  return { dropped, failed };
}
