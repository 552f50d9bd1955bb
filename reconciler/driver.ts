/**
 * What the reconciler needs of the lake, as a narrow interface: the pass depends on these verbs
 * only, so its tests hand it plain objects of functions. `jobDriver` adapts the Spark job
 * server's client (lake/jobClient.ts) and the sources (lake/sources.ts) to it.
 *
 * Every verb is idempotent: the pass may call any of them again after a failure or a restart.
 * Failures come out as LakeformError (lake/errors.ts): its code decides the status reason and
 * whether retrying the same input can help.
 */
import { asLakeformError } from "../lake/errors";
import type { JobClient, JobTable, MaintainResult, Observation, ObserveOptions, WriteProgress, WriteResult } from "../lake/jobClient";
import type { JobReply, JobRequest } from "../lake/jobServerContract";
import type { PrefixStore } from "../lake/prefixSources";
import type { ResolvedSource, Sources } from "../lake/sources";
import type { DetectedFormat, SourceReadRequest } from "../lake/sourceFormat";

export type DropTable = Pick<JobTable, "name" | "database" | "format" | "location">;

export interface LakeDriver {
  /** The table as the lake has it: catalog entry, files, commits (with their source records), rows. Never writes. From its metadata alone when it hasn't changed. */
  observe(table: JobTable, opts?: ObserveOptions): Promise<Observation>;
  /** Upserts one landed CSV into the table, recording its source hash and the spec generation in the commit. */
  write(table: JobTable, source: { uri: string; hash: string; name: string; replay?: { of: string; last: string } } & SourceReadRequest, generation: string): Promise<WriteResult>;
  /** Puts a table whose files are intact back into the metastore, with its history. */
  register(table: JobTable): Promise<void>;
  /** Syncs the metastore entry of a table that is there again from its latest commit (catalog drift); nothing is rewritten. */
  resync(table: JobTable): Promise<{ resynced: boolean; drift: string[] }>;
  /** Iceberg partition evolution to the table's partitionBy: its spec changes in the metadata, no data file is rewritten. */
  evolvePartitions(table: JobTable): Promise<JobReply<"evolve_partitions">>;
  /** Rewrites the table into its spec's layout from its current rows, verified, swapped in in one metastore step (reconciler/rebuildPlan.ts). */
  rebuild?(table: JobTable, previous: JobRequest<"rebuild">["previous"], generation: string, opts?: { trashDays?: number; declaredIn?: string }): Promise<JobReply<"rebuild">>;
  /** Removes only the table's metastore entry (its files are gone), without loading the table. */
  forget(table: DropTable): Promise<void>;
  /** Moves files left at the table's location (where no table is) aside, so a new table can be made there. */
  clearLeftovers(table: DropTable): Promise<void>;
  /** Drops the table; with purge, its files and write journal too. */
  drop(table: DropTable, purge: boolean): Promise<void>;
  /** Retention, orphan files and compaction, between writes (under the table's write lock). */
  maintain(table: JobTable): Promise<MaintainResult>;
  /** The table's writes in flight (stage, rows and bytes done); optional: without it nothing reports progress. */
  progress?(table: JobTable): Promise<WriteProgress[]>;
}

/** Where a table's declared sources come from: local files and s3:// objects, hashed; landed for Spark. */
export interface SourceStore {
  /** Expands one declared source (path, glob or s3:// URI, relative to baseDir) into files, each hashed. Never writes. */
  resolve(declared: string, baseDir: string): Promise<ResolvedSource[]>;
  /** Lands a source in the object store (content-addressed, so twice is a no-op); returns the URI Spark reads. */
  land(src: ResolvedSource, detected?: DetectedFormat): Promise<string>;
  /** A watched prefix's pending writes against what the table has applied (lake/prefixSources.ts PrefixStore.resolve). Never writes. */
  resolvePrefix?: PrefixStore["resolve"];
  /** A joined batch's line as its object's (lake/prefixSources.ts PrefixStore.lineOf). */
  batchLine?: PrefixStore["lineOf"];
}

const wrap = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (err) {
    throw asLakeformError(err);
  }
};

export function jobDriver(jobs: JobClient): LakeDriver {
  return {
    observe: (table, opts) => wrap(() => jobs.observe(table, opts)),
    // A declared source is applied at most once, whoever else asked for it meanwhile. A journal
    // replay is written as often as the journal has it, and not journaled again. A source's bad
    // rows are quarantined, its good rows written: a file that landed has nobody to answer a
    // refusal (schemaPolicy strict still refuses it, jobs/lakeform_jobs/bad_rows.py).
    write: (table, { replay, ...source }, generation) =>
      wrap(() => jobs.write(table, replay ? { ...source, once: false, journal: false, replay } : { ...source, once: true }, generation, { badRows: "quarantine" })),
    register: (table) => wrap(async () => void (await jobs.register(table))),
    resync: (table) => wrap(() => jobs.resync(table)),
    evolvePartitions: (table) => wrap(() => jobs.evolvePartitions(table)),
    rebuild: (table, previous, generation, opts) => wrap(() => jobs.rebuild(table, previous, generation, opts)),
    forget: (table) => wrap(async () => void (await jobs.forgetCatalog(table))),
    clearLeftovers: (table) => wrap(async () => void (await jobs.clearLeftovers(table))),
    drop: (table, purge) => wrap(async () => void (await jobs.drop(table, purge))),
    maintain: (table) => wrap(() => jobs.maintain(table)),
    progress: (table) => wrap(() => jobs.progress(table)),
  };
}

export function sourceStore(sources: Pick<Sources, "resolve" | "land"> & Partial<Pick<Sources, "prefixes">>): SourceStore {
  const prefixes = sources.prefixes;
  return {
    resolve: (declared, baseDir) => wrap(() => sources.resolve(declared, baseDir)),
    land: (src, detected) => wrap(() => sources.land(src, detected)),
    ...(prefixes
      ? { resolvePrefix: (...args: Parameters<PrefixStore["resolve"]>) => wrap(() => prefixes.resolve(...args)), batchLine: (...args: Parameters<PrefixStore["lineOf"]>) => prefixes.lineOf(...args) }
      : {}),
  };
}
