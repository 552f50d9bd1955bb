/**
 * A pass's first step: the declared sources (expanded and hashed) and the table as the lake has
 * it. Never writes.
 */
import { jobTable, type Observation, type ObserveOptions } from "../lake/jobClient";
import type { TableLeases } from "../lake/lease";
import { appliedSourceHashes } from "../lake/commits";
import { isPrefixSource, type PrefixObserved } from "../lake/prefixSources";
import { mergeCsvOptions } from "../lake/sourceFormat";
import { SourceError, type ResolvedSource } from "../lake/sources";
import type { TableSpec } from "../lake/spec";
import type { LakeDriver, SourceStore } from "./driver";

export interface Observed {
  /** The declared sources, expanded and hashed, in order. */
  sources: ResolvedSource[];
  lake: Observation;
  /** The watched prefixes among them: what each listing showed against what the lake has applied. */
  prefixes?: PrefixObserved[];
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
  /**
   * Waits for one of the slots that bound the writes carried out at once (the reconciler's
   * `concurrency`) and returns its release: a pass that has an action (or maintenance) to carry
   * out takes one before its lease; a pass with nothing to do takes none, so many run at once.
   */
  actSlot?: () => Promise<() => void>;
  /** The stack's trash period (days) for a table that sets none: how long a rebuild keeps the table it replaced. */
  trashDays?: number;
}

export async function observe(deps: PassDeps, spec: TableSpec): Promise<Observed> {
  const resolved: (ResolvedSource[] | undefined)[] = [];
  for (const declared of spec.sources) resolved.push(isPrefixSource(declared, spec.sourceReads?.[declared]) ? undefined : await deps.sources.resolve(declared, deps.baseDir));
  const lake = await observeLake(deps, spec);
  if (!resolved.includes(undefined)) return { sources: resolved.flat() as ResolvedSource[], lake };
  // Watched prefixes: listed, and compared with what the table's commits (or journal) say is applied.
  const applied = appliedSourceHashes(lake);
  for (const e of lake.journal ?? []) applied.add(e.sourceHash);
  const prefixes: PrefixObserved[] = [];
  for (const [i, declared] of spec.sources.entries()) {
    if (resolved[i]) continue;
    if (!deps.sources.resolvePrefix) throw new SourceError(declared, "a watched prefix needs a source store that lists prefixes");
    const read = spec.sourceReads?.[declared];
    const csv = mergeCsvOptions(spec.csv, read?.csv);
    const p = await deps.sources.resolvePrefix(spec, declared, { ...read, ...(csv ? { csv } : {}) }, deps.baseDir, applied);
    resolved[i] = p.sources;
    prefixes.push(p.observed);
  }
  return { sources: resolved.flat() as ResolvedSource[], lake, prefixes };
}

/**
 * The table as the lake has it (catalog entry, files, commits, journal), without the declared sources: what a write's repair check needs (plan.ts repairOf).
 * `rows: false` when the row count and data files aren't needed (a write's check: never a Spark count).
 */
export function observeLake(deps: Pick<PassDeps, "driver" | "warehouseBucket">, spec: TableSpec, opts?: ObserveOptions): Promise<Observation> {
  return opts ? deps.driver.observe(jobTable(spec, deps.warehouseBucket), opts) : deps.driver.observe(jobTable(spec, deps.warehouseBucket));
}
