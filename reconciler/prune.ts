/**
 * Tables Lakeform reported on that tables.yaml no longer declares: their data is left alone,
 * unless the table said `prune: true`; then it is pruned, which is a soft drop. Level-triggered:
 * the status file remembers what was declared (and by which tables.yaml), so a removal made while
 * no reconciler ran is acted on at the next start, and a drop that failed is tried again.
 *
 * What keeps a mistake from losing data (README, "Reliability"):
 *   - an empty or unreadable tables.yaml is a spec error, never "no tables" (lake/spec.ts);
 *   - a change that would prune more than one table, or every table the file declared, is held:
 *     the tables show PrunePending until each is confirmed (`lakeform prune --confirm`, or
 *     `pulumi up` deleting its Table resource: lake/pruneConfirmations.ts). Once held, a table
 *     stays held until confirmed or declared again, so a partial confirmation doesn't let the
 *     rest through one by one;
 *   - a prune drops the table from the metastore only (Trino no longer lists it). Its files and
 *     write journal stay at its location, recorded by a tombstone (lake/trash.ts) for the trash
 *     period (`trash: { days }`, else the stack's default), then maintenance here purges them;
 *   - `undrop` registers the intact files again (history and time travel as before);
 *   - a table declared under a trashed table's name is refused (TRASH_CONFLICT) by the pass's
 *     observation (guardTrash) instead of being written over the trashed files.
 * The trash itself (drop, purge, undrop, the guard) is reconciler/trash.ts.
 */
import { Reason, setCondition } from "../lake/conditions";
import { asLakeformError, LakeformError } from "../lake/errors";
import { consumeConfirmation, readConfirmations } from "../lake/pruneConfirmations";
import type { LakeStatus, TableStatus } from "../lake/status";
import { purgeDue, type Tombstone } from "../lake/trash";
import { dropTables, purgeTrashed, splitId, type TrashDeps } from "./trash";

// ---------------------------------------------------------------------------------------- plan

export interface PrunePlan {
  /** Undeclared, prune: false: forgotten by the status, data left alone. */
  leave: string[];
  /** Undeclared, prune: true, and allowed now: dropped softly (into the trash). */
  drop: string[];
  /** Undeclared, prune: true, held until confirmed: nothing is done to them. */
  pending: string[];
  /** Why the pending ones are held, for their status. */
  heldBecause?: string;
}

const isPending = (st: TableStatus): boolean => st.conditions.some((c) => c.type === "Synced" && c.reason === Reason.PrunePending);

/**
 * Pure: which reported tables are no longer declared by this tables.yaml, and what to do with
 * each. A prune of more than one table, or of every table the file declared, is held; each held
 * table goes once `confirmed` names it, and stays held (even alone) until then.
 */
export function planPrune(
  status: LakeStatus,
  declared: Set<string>,
  tablesFile: string,
  busy: Set<string> = new Set(),
  confirmed: Set<string> = new Set(),
): PrunePlan {
  const out: PrunePlan = { leave: [], drop: [], pending: [] };
  const candidates: string[] = [];
  for (const [id, st] of Object.entries(status.tables)) {
    if (declared.has(id) || busy.has(id)) continue;
    // Declared by another tables.yaml reconciled into the same lake: not ours to judge.
    if (st.declaredIn && st.declaredIn !== tablesFile) continue;
    (st.prune ? candidates : out.leave).push(id);
  }
  candidates.sort();
  const many = candidates.length > 1;
  const all = candidates.length > 0 && declared.size === 0;
  if (many || all) {
    out.heldBecause = many
      ? `this change to tables.yaml would prune ${candidates.length} tables (${candidates.join(", ")})`
      : "this change to tables.yaml would prune every table it declared";
  }
  for (const id of candidates) {
    if (confirmed.has(id)) out.drop.push(id);
    else if (many || all || isPending(status.tables[id])) out.pending.push(id);
    else out.drop.push(id);
  }
  if (!out.heldBecause && out.pending.length > 0) out.heldBecause = "its prune was held with others' and is not confirmed yet";
  return out;
}

/** The status of a table whose drop is under way. */
export function pruningStatus(st: TableStatus, now = new Date()): TableStatus {
  return {
    ...st,
    inSync: false,
    conditions: setCondition(st.conditions, { type: "Synced", status: "False", reason: Reason.Pruning, message: "removed from tables.yaml with prune: true; dropping it from the catalog (its files go to the trash)" }, now),
  };
}

/** The status of a table whose prune is held until it is confirmed. */
export function prunePendingStatus(st: TableStatus, because: string, now = new Date()): TableStatus {
  const message =
    `removed from tables.yaml with prune: true, but ${because}: nothing is dropped until confirmed. ` +
    "Confirm with `lakeform prune --confirm` (or `pulumi up`, whose preview lists the drops), or declare it again";
  return { ...st, inSync: false, conditions: setCondition(st.conditions, { type: "Synced", status: "False", reason: Reason.PrunePending, message }, now) };
}

/** The status of a table whose drop failed: kept, so the drop is tried again. */
export function pruneFailedStatus(st: TableStatus, message: string, now = new Date()): TableStatus {
  return { ...st, conditions: setCondition(st.conditions, { type: "Degraded", status: "True", reason: Reason.PruneFailed, message: `prune failed, will retry: ${message}` }, now) };
}

// ----------------------------------------------------------------------------------- the sweep

export interface PrunerOptions extends TrashDeps {
  /** This reconciler's tables.yaml (absolute). */
  declaredIn: string;
  /** Its status file: confirmations are beside it. */
  statusFile: string;
  /** Delay before retrying after the given number of consecutive failed sweeps. */
  backoff(failures: number): number;
  /** How often held prunes look for their confirmation (1 s). */
  pendingPollMs?: number;
  /** How often the trash is looked at for tables due for purging, at most (10 min). */
  purgeCheckMs?: number;
}

/**
 * The sweep over undeclared tables and the trash, with what it remembers between sweeps (its
 * failures, when the trash is due a look). The loop calls `sweep` after every load of
 * tables.yaml and again when the time it returned comes.
 */
export class Pruner {
  private failures = 0;
  private purgeCheckAt = 0;

  constructor(private readonly opts: PrunerOptions) {}

  /**
   * One sweep: forgets tables removed with prune: false, prunes softly those allowed, holds the
   * others (PrunePending), purges the trash that is due. `busy` (tables with a pass or a drop
   * in flight) is left out, and holds the tables dropped meanwhile. Returns when the next sweep
   * is due (ms since the epoch).
   */
  async sweep(status: LakeStatus, declared: Set<string>, busy: Set<string>, save: () => void): Promise<number> {
    const { log, statusFile } = this.opts;
    const before = JSON.stringify(status.tables);
    const confirmations = readConfirmations(statusFile);
    // A confirmation of a table declared again, or no longer reported, is spent.
    for (const id of confirmations.keys()) {
      if (declared.has(id) || !status.tables[id]) {
        consumeConfirmation(statusFile, id);
        confirmations.delete(id);
      }
    }
    const p = planPrune(status, declared, this.opts.declaredIn, busy, new Set(confirmations.keys()));
    for (const id of p.leave) {
      log.info({ table: id }, "Table removed from tables.yaml; its data is left alone (prune: false)");
      delete status.tables[id];
    }
    for (const id of p.pending) {
      if (!isPending(status.tables[id])) log.warn({ table: id, held: p.pending }, `Prune held until confirmed: ${p.heldBecause}`);
      status.tables[id] = prunePendingStatus(status.tables[id], p.heldBecause ?? "it is held");
    }
    let failed = 0;
    if (p.drop.length > 0) {
      for (const id of p.drop) {
        busy.add(id);
        status.tables[id] = pruningStatus(status.tables[id]);
      }
      save();
      try {
        const res = await dropTables(this.opts, status, p.drop);
        for (const id of res.dropped) {
          delete status.tables[id];
          consumeConfirmation(statusFile, id);
          // The trash is looked at again when this table's trash period ends, if that is sooner.
          this.purgeCheckAt = Math.min(this.purgeCheckAt, Date.parse(res.purgeAfter[id]));
        }
        for (const { id, message } of res.failed) status.tables[id] = pruneFailedStatus(status.tables[id], message);
        failed += res.failed.length;
      } finally {
        for (const id of p.drop) busy.delete(id);
      }
    }
    if (JSON.stringify(status.tables) !== before) save();
    const now = Date.now();
    if (now >= this.purgeCheckAt) {
      const purge = await this.purgeDue(now);
      this.purgeCheckAt = purge.next;
      failed += purge.failed;
    }
    let next = this.purgeCheckAt;
    if (failed > 0) {
      this.failures++;
      next = Math.min(next, now + this.opts.backoff(this.failures));
    } else this.failures = 0;
    if (p.pending.length > 0) next = Math.min(next, now + (this.opts.pendingPollMs ?? 1000));
    return next;
  }

  /** Purges this file's trashed tables whose trash period is over; says when to look again, and how many failed. */
  private async purgeDue(now: number): Promise<{ next: number; failed: number }> {
    const { log } = this.opts;
    let next = now + (this.opts.purgeCheckMs ?? 10 * 60_000);
    let failed = 0;
    let trashed: Tombstone[];
    try {
      trashed = await this.opts.trash.list();
    } catch (err) {
      const e = asLakeformError(err);
      log.error({ code: e.code, err: e.message }, "Failed to look at the trash for tables to purge; will retry");
      return { next, failed: 1 };
    }
    for (const t of trashed) {
      // Another tables.yaml's trash is its reconciler's to purge (or `lakeform trash purge`).
      if (t.declaredIn !== this.opts.declaredIn) continue;
      if (!purgeDue(t, now)) {
        next = Math.min(next, Date.parse(t.purgeAfter));
        continue;
      }
      try {
        await purgeTrashed(this.opts, t);
      } catch (err) {
        const e = asLakeformError(err);
        log.error({ table: t.table, code: e.code, err: e.message }, "Failed to purge a trashed table; will retry");
        failed++;
      }
    }
    return { next, failed };
  }
}
