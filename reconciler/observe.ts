/**
 * A pass's first step: the declared sources (expanded and hashed) and the table as the lake has
 * it. Never writes.
 */
import { jobTable, type Observation, type ObserveOptions } from "../lake/jobClient";
import type { TableLeases } from "../lake/lease";
import type { ResolvedSource } from "../lake/sources";
import type { TableSpec } from "../lake/spec";
import type { LakeDriver, SourceStore } from "./driver";

export interface Observed {
  /** The declared sources, expanded and hashed, in order. */
  sources: ResolvedSource[];
  lake: Observation;
}

export interface PassDeps {
  driver: LakeDriver;
  sources: SourceStore;
  warehouseBucket: string;
  /** Folder of tables.yaml: local sources are relative to it. */
  baseDir: string;
  /**
   * The tables' write leases (lake/lease.ts): an action is carried out only by the holder of the
   * table's lease, after observing and planning again under it, so two reconcilers (or a
   * reconciler and the API) never write one table at once nor apply a source twice.
   */
  leases?: TableLeases;
  /** How often a write in flight reports its progress (log line, status): 5 s unless set. */
  progressEveryMs?: number;
}

export async function observe(deps: PassDeps, spec: TableSpec): Promise<Observed> {
  const sources: ResolvedSource[] = [];
  for (const declared of spec.sources) sources.push(...(await deps.sources.resolve(declared, deps.baseDir)));
  return { sources, lake: await observeLake(deps, spec) };
}

/**
 * The table as the lake has it (catalog entry, files, commits, journal), without the declared sources: what a write's repair check needs (plan.ts repairOf).
 * `rows: false` when the row count and data files aren't needed (a write's check: never a Spark count).
 */
export function observeLake(deps: Pick<PassDeps, "driver" | "warehouseBucket">, spec: TableSpec, opts?: ObserveOptions): Promise<Observation> {
  return opts ? deps.driver.observe(jobTable(spec, deps.warehouseBucket), opts) : deps.driver.observe(jobTable(spec, deps.warehouseBucket));
}
