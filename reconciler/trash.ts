/**
 * The trash: a pruned table's files and write journal kept at its location, recorded by a
 * tombstone (lake/trash.ts), until the trash period ends. Here a prune's drop from the metastore
 * (dropTables), a purge once the period is over (purgeTrashed), an undrop that registers the
 * intact files again (undropTable), and the guard that refuses a table declared over a trashed
 * one (guardTrash, TRASH_CONFLICT). What decides a prune is reconciler/prune.ts.
 */
import type { Logger } from "pino";
import type { UndropResult } from "../lake/apiReplies";
import { asLakeformError, LakeformError } from "../lake/errors";
import { jobTable, tableLocation, type JobTable } from "../lake/jobClient";
import type { TableLeases } from "../lake/lease";
import { QUARANTINE_SUFFIX } from "../lake/expectations";
import type { TableSpec } from "../lake/spec";
import type { LakeStatus, TableStatus } from "../lake/status";
import { DEFAULT_TRASH_DAYS, type Tombstone, type TrashTable } from "../lake/trash";
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

/** "<database>.<table>" as its two parts. */
export const splitId = (id: string): [string, string] => {
  const dot = id.indexOf(".");
  return [id.slice(0, dot), id.slice(dot + 1)];
};

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
 * A table's quarantine table (`<name>__quarantine`, lake/expectations.ts) as the job server
 * writes it (expectations_spark.py quarantine_table): the table's format and database, its own
 * location beside the table's, keyed by _qkey. A trashed table takes it with it.
 */
export function quarantineJobTable(t: Pick<JobTable, "name" | "database" | "format">, warehouseBucket: string): JobTable {
  const name = t.name + QUARANTINE_SUFFIX;
  return { name, database: t.database, format: t.format, primaryKey: ["_qkey"], partitionBy: [], schemaPolicy: "addColumns", location: tableLocation(warehouseBucket, t.database, name) };
}

/** The table's quarantine table when it has one (in the metastore or with files), for its tombstone. */
async function quarantineOf(deps: TrashDeps, t: Pick<JobTable, "name" | "database" | "format">): Promise<Tombstone["quarantine"]> {
  const q = quarantineJobTable(t, deps.warehouseBucket);
  const seen = await deps.driver.observe(q);
  return seen.inCatalog || seen.filesExist ? { name: q.name, location: q.location } : undefined;
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
        // Its quarantine table goes with it (listed in its tombstone before either is dropped).
        const quarantine = await quarantineOf(deps, { name, database, format: st.format });
        let tomb = await deps.trash.get({ database, name });
        if (!tomb) {
          tomb = { ...tombstoneFor(id, st, deps.warehouseBucket, deps.trashDays ?? DEFAULT_TRASH_DAYS), ...(quarantine ? { quarantine } : {}) };
          await deps.trash.put(tomb);
        } else if (quarantine && !tomb.quarantine) {
          tomb = { ...tomb, quarantine };
          await deps.trash.put(tomb);
        }
        if (tomb.quarantine) await deps.driver.drop({ name: tomb.quarantine.name, database, format: st.format, location: tomb.quarantine.location }, false);
        await deps.driver.drop({ name, database, format: st.format, location }, false);
        deps.log.info(
          { table: id, location, purgeAfter: tomb.purgeAfter, quarantine: tomb.quarantine?.name },
          `Pruned table removed from tables.yaml (prune: true): dropped from the catalog${tomb.quarantine ? `, with its quarantine table ${database}.${tomb.quarantine.name}` : ""}; ` +
            `its files and journal stay in the trash until ${tomb.purgeAfter} (lakeform undrop ${id})`,
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
    const q = t.quarantine;
    // Under its own lease (the job server fences each table's requests by that table's lease).
    if (q) await underLease(deps, { database: t.database, name: q.name }, "purge of a pruned table's quarantine table", () => deps.driver.drop({ name: q.name, database: t.database, format: t.format, location: q.location }, true));
    await deps.driver.drop(table, true);
    await deps.trash.remove(t);
    deps.log.info({ table: t.table, location: t.location, droppedAt: t.droppedAt, quarantine: t.quarantine?.name }, "Purged a pruned table's files and journal after its trash period");
    return "purged";
  });
}

/** What an undrop did (lake/apiReplies.ts's UndropResultSchema). */
export type { UndropResult };

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
    const quarantine = tomb.quarantine ? await undropQuarantine(deps, table, id) : undefined;
    await deps.trash.remove(t);
    const after = registered ? await deps.driver.observe(table) : seen;
    deps.log.info({ table: id, location: table.location, commits: after.commits.length, quarantine: quarantine?.table }, "Undropped a pruned table: registered again from its files, with its history");
    return {
      table: id, format: tomb.format, location: table.location, registered, commits: after.commits.length, lastCommit: after.commits[after.commits.length - 1]?.commit,
      ...(quarantine ? { quarantine } : {}),
    };
  });
}

/** The trashed table's quarantine table registered again beside it (its files gone: said, not fatal). */
async function undropQuarantine(deps: TrashDeps, table: JobTable, id: string): Promise<NonNullable<UndropResult["quarantine"]>> {
  const q = quarantineJobTable(table, deps.warehouseBucket);
  const qid = `${q.database}.${q.name}`;
  // Under its own lease (the job server fences each table's requests by that table's lease).
  return underLease(deps, q, "undrop of a pruned table's quarantine table", async () => {
    const seen = await deps.driver.observe(q);
    if (seen.inCatalog) return { table: qid, registered: false };
    if (!seen.filesExist) {
      deps.log.warn({ table: id, quarantine: qid, location: q.location }, "The undropped table's quarantine table has no files left: it is not registered");
      return { table: qid, registered: false, missing: true };
    }
    await deps.driver.register(q);
    return { table: qid, registered: true };
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

