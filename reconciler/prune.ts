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
 */
import type { Logger } from "pino";
import { Reason, setCondition } from "../lake/conditions";
import { asLakeformError, LakeformError } from "../lake/errors";
import { jobTable, tableLocation, type JobTable } from "../lake/jobClient";
import type { TableLeases } from "../lake/lease";
import { consumeConfirmation, readConfirmations } from "../lake/pruneConfirmations";
import type { TableSpec } from "../lake/spec";
import type { LakeStatus, TableStatus } from "../lake/status";
import { DEFAULT_TRASH_DAYS, purgeDue, type Tombstone, type TrashTable } from "../lake/trash";
import type { LakeDriver } from "./driver";

/** The tombstones as the pruner needs them (lake/trash.ts's TrashStore; tests pass a Map). */
export interface Trash {
  get(t: TrashTable): Promise<Tombstone | undefined>;
  put(t: Tombstone): Promise<void>;
  remove(t: TrashTable): Promise<void>;
  list(): Promise<Tombstone[]>;
}

/** A trash that lives as long as the process: what a Reconciler without a trash store uses (tests). */
export class MemoryTrash implements Trash {
  readonly items = new Map<string, Tombstone>();
  async get(t: TrashTable) {
    return this.items.get(`${t.database}.${t.name}`);
  }
  async put(t: Tombstone) {
    this.items.set(t.table, t);
  }
  async remove(t: TrashTable) {
    this.items.delete(`${t.database}.${t.name}`);
  }
  async list() {
    return [...this.items.values()];
  }
}

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

const splitId = (id: string): [string, string] => {
  const dot = id.indexOf(".");
  return [id.slice(0, dot), id.slice(dot + 1)];
};

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

// ------------------------------------------------------------------------------------ the drops

export interface TrashDeps {
  driver: LakeDriver;
  trash: Trash;
  warehouseBucket: string;
  log: Pick<Logger, "info" | "warn" | "error">;
  /** The stack's trash period, for tables whose spec doesn't say (7 days). */
  trashDays?: number;
  /** The tables' write leases: a purge or an undrop holds the table's. */
  leases?: TableLeases;
}

/** The tombstone a prune leaves: what the table was, from its last status. */
export function tombstoneFor(id: string, st: TableStatus, warehouseBucket: string, defaultDays: number, now = new Date()): Tombstone {
  const [database, name] = splitId(id);
  const days = st.spec?.trash?.days ?? defaultDays;
  return {
    table: id,
    database,
    name,
    format: st.format,
    location: tableLocation(warehouseBucket, database, name),
    droppedAt: now.toISOString(),
    purgeAfter: new Date(now.getTime() + days * 86_400_000).toISOString(),
    trashDays: days,
    declaredIn: st.declaredIn,
    spec: st.spec,
    lastCommit: st.lastCommit,
    rowCount: st.rowCount,
  };
}

/**
 * Prunes each table softly (all at once; each is one job-server call): a tombstone first (an
 * existing one is kept: its files are already the trashed table's), then the metastore entry is
 * dropped, its files and journal left where they are. Returns the ids dropped and those whose
 * drop failed, with why.
 */
export async function dropTables(deps: TrashDeps, status: LakeStatus, ids: string[]): Promise<{ dropped: string[]; failed: { id: string; message: string }[]; purgeAfter: Record<string, string> }> {
  const dropped: string[] = [];
  const purgeAfter: Record<string, string> = {};
  const failed: { id: string; message: string }[] = [];
  await Promise.all(
    ids.map(async (id) => {
      const [database, name] = splitId(id);
      const st = status.tables[id];
      const location = tableLocation(deps.warehouseBucket, database, name);
      try {
        let tomb = await deps.trash.get({ database, name });
        if (!tomb) {
          tomb = tombstoneFor(id, st, deps.warehouseBucket, deps.trashDays ?? DEFAULT_TRASH_DAYS);
          await deps.trash.put(tomb);
        }
        await deps.driver.drop({ name, database, format: st.format, location }, false);
        deps.log.info(
          { table: id, location, purgeAfter: tomb.purgeAfter },
          `Pruned table removed from tables.yaml (prune: true): dropped from the catalog; its files and journal stay in the trash until ${tomb.purgeAfter} (lakeform undrop ${id})`,
        );
        dropped.push(id);
        purgeAfter[id] = tomb.purgeAfter;
      } catch (err) {
        const e = asLakeformError(err);
        deps.log.error({ table: id, code: e.code, err: e.message }, "Failed to prune table; will retry");
        failed.push({ id, message: e.message });
      }
    }),
  );
  return { dropped, failed, purgeAfter };
}

/** A JobTable for a trashed table: its last declared spec where known, else the tombstone's facts. */
function trashedJobTable(t: Tombstone, warehouseBucket: string): JobTable {
  const s = t.spec ?? {};
  return {
    name: t.name,
    database: t.database,
    format: t.format,
    primaryKey: s.primaryKey ?? [],
    orderingField: s.orderingField,
    partitionBy: s.partitionBy ?? [],
    schemaPolicy: s.schemaPolicy ?? "addColumns",
    deleteWhen: s.deleteWhen,
    retain: s.retain,
    targetFileSizeMB: s.targetFileSizeMB,
    location: tableLocation(warehouseBucket, t.database, t.name),
  };
}

async function underLease<T>(deps: Pick<TrashDeps, "leases">, t: TrashTable, purpose: string, fn: () => Promise<T>): Promise<T> {
  if (!deps.leases) return fn();
  return deps.leases.with(t, purpose, 60_000, fn);
}

export type PurgeOutcome = "purged" | "undropped";

/**
 * Purges one trashed table: its files and journal, then its tombstone. Under the table's lease,
 * after observing it: a table that is in the metastore again (an undrop that didn't get to remove
 * the tombstone) is never purged; its tombstone is removed instead.
 */
export async function purgeTrashed(deps: TrashDeps, t: Tombstone): Promise<PurgeOutcome> {
  const table = trashedJobTable(t, deps.warehouseBucket);
  return underLease(deps, t, "purge of a pruned table's trash", async () => {
    const seen = await deps.driver.observe(table);
    if (seen.inCatalog) {
      await deps.trash.remove(t);
      deps.log.warn({ table: t.table }, "A trashed table is in the metastore again (undropped): its tombstone is removed, nothing purged");
      return "undropped";
    }
    await deps.driver.drop(table, true);
    await deps.trash.remove(t);
    deps.log.info({ table: t.table, location: t.location, droppedAt: t.droppedAt }, "Purged a pruned table's files and journal after its trash period");
    return "purged";
  });
}

export interface UndropResult {
  table: string;
  format: "hudi" | "iceberg";
  location: string;
  /** Whether the metastore entry was made now (false: it was there already, the tombstone was left over). */
  registered: boolean;
  commits: number;
  lastCommit?: string;
}

/**
 * Brings a trashed table back: its intact files are registered in the metastore again (Hudi:
 * hive sync from its timeline; Iceberg: register_table on its newest metadata file), nothing is
 * copied or rewritten, so its rows, commits and time travel are what they were; then its
 * tombstone is removed. The table must be declared in tables.yaml again (`spec`), with the
 * format it had: otherwise the reconciler would not manage it (a prune: true table would go
 * again at the next prune).
 */
export async function undropTable(deps: TrashDeps, spec: TableSpec | undefined, t: TrashTable, tablesFile: string): Promise<UndropResult> {
  const id = `${t.database}.${t.name}`;
  const tomb = await deps.trash.get(t);
  if (!tomb) throw new LakeformError("NOT_FOUND", `table ${id} is not in the trash (lakeform trash lists what is)`, { table: id });
  if (!spec) {
    throw new LakeformError(
      "BAD_REQUEST",
      `table ${id} is in the trash but not declared in ${tablesFile}: declare it there again first (it was ${describeSpec(tomb)}), then undrop it; ` +
        "an undropped table that tables.yaml doesn't declare would not be managed (or would be pruned again)",
      { table: id },
    );
  }
  if (spec.format !== tomb.format) {
    throw new LakeformError("BAD_REQUEST", `table ${id} is declared as ${spec.format} but the trashed table is ${tomb.format}: declare it as ${tomb.format} to undrop it, or purge it (lakeform trash purge ${id})`, { table: id });
  }
  const table = jobTable(spec, deps.warehouseBucket);
  return underLease(deps, t, "undrop of a pruned table", async () => {
    const seen = await deps.driver.observe(table);
    if (!seen.filesExist) throw new LakeformError("NOT_FOUND", `table ${id}'s files are no longer at ${table.location}: nothing to undrop`, { table: id });
    let registered = false;
    if (!seen.inCatalog) {
      await deps.driver.register(table);
      registered = true;
    }
    await deps.trash.remove(t);
    const after = registered ? await deps.driver.observe(table) : seen;
    deps.log.info({ table: id, location: table.location, commits: after.commits.length }, "Undropped a pruned table: registered again from its files, with its history");
    return { table: id, format: tomb.format, location: table.location, registered, commits: after.commits.length, lastCommit: after.commits[after.commits.length - 1]?.commit };
  });
}

function describeSpec(t: Tombstone): string {
  const s = t.spec;
  return s ? `${t.format}, primaryKey [${(s.primaryKey ?? []).join(", ")}]${s.partitionBy?.length ? `, partitionBy [${s.partitionBy.join(", ")}]` : ""}` : t.format;
}

/**
 * The pass's driver, with its observations refusing a table that is in the trash: a new table of
 * that name would be written over the trashed table's files (or re-register them silently, then
 * be purged under it). Retryable: it clears once the table is undropped or purged.
 */
export function guardTrash(driver: LakeDriver, trash: Pick<Trash, "get">): LakeDriver {
  return {
    ...driver,
    observe: async (table, opts) => {
      const tomb = await trash.get(table);
      if (tomb) {
        const id = `${table.database}.${table.name}`;
        throw new LakeformError(
          "TRASH_CONFLICT",
          `table ${id} was pruned at ${tomb.droppedAt} and is in the trash until ${tomb.purgeAfter} (its files are kept at ${tomb.location}): ` +
            `a table of that name would write over them. Undrop it (\`lakeform undrop ${id}\`: its rows and history come back) or purge it with \`lakeform trash purge ${id}\``,
          { table: id, droppedAt: tomb.droppedAt, purgeAfter: tomb.purgeAfter },
        );
      }
      return opts ? driver.observe(table, opts) : driver.observe(table);
    },
  };
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
