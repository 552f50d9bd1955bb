/**
 * Repair first: a write into a table the reconciler must repair first (its files gone, its
 * metastore entry gone, or the metastore lagging it: reconciler/plan.ts repairOf) is refused,
 * REPAIR_PENDING (409, retryable), naming the repair, and the reconciler is asked to do it now.
 */
import { LakeformError } from "../lake/errors";
import type { Observation } from "../lake/jobClient";
import { requestRepair } from "../lake/repairRequests";
import { tableId, type TableSpec } from "../lake/spec";
import { repairOf, type Repair } from "../reconciler/plan";

/** What the reconciler does for each repair, as a refusal names it. */
const REPAIR_VERB: Record<Repair["repair"], string> = { reregistered: "re-register", rebuilt: "rebuild", resynced: "resync" };

/**
 * The refusal of a write into a table that needs a repair first (plan.ts repairOf), or none. Pure.
 * Writing first would make a new table over the lost one (its files gone: the journal never
 * replayed), over its live files (its catalog entry gone: Iceberg's old snapshots orphaned, Hudi
 * keys duplicated), or beside a catalog entry that lags it. Retryable: the reconciler's next pass
 * over the table (at most its resync interval away) carries the repair out.
 */
export function repairPending(t: Pick<TableSpec, "database" | "name">, lake: Observation): LakeformError | undefined {
  const needed = repairOf(lake);
  if (!needed) return undefined;
  const action = REPAIR_VERB[needed.repair];
  return new LakeformError(
    "REPAIR_PENDING",
    `table ${t.database}.${t.name} is not written until the reconciler has repaired it (${action}): ${needed.reason}; the reconciler is asked to do it now: retry once it has`,
    { table: `${t.database}.${t.name}`, repair: action, ...(needed.drift ? { drift: needed.drift } : {}) },
  );
}

/**
 * Asks the reconciler (`lakeform reconcile` beside the same status file) for a pass over the
 * table now (lake/repairRequests.ts) rather than at its next resync. Best effort: the refusal
 * stands either way.
 */
export function nudged(statusFile: string, t: Pick<TableSpec, "database" | "name">, refusal: LakeformError): LakeformError {
  try {
    requestRepair(statusFile, tableId(t), refusal.message);
  } catch {
    // No status folder to write to: the reconciler's resync finds the table all the same.
  }
  return refusal;
}
