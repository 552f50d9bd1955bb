/**
 * A change of a table's layout (format, primaryKey, partitionBy) on a table that holds data, under
 * `onIncompatibleChange: rebuild`: planned as one action, a rebuild (the job server's rebuild.py
 * rewrites the table's current rows into the new layout, verifies them and swaps the new table in).
 * Pure: what changed, how much the rebuild rewrites, and a rebuild left unsettled (its job server
 * killed between the shadow's write and the swap, say), which is settled before anything else.
 */
import { formatBinaryBytes } from "../lake/progress";
import type { Observation } from "../lake/jobClient";
import type { TableSpec } from "../lake/spec";
import REBUILD_REFUSALS from "../lake/rebuildRefusals.json";

/** The layout a table has or is given. */
export interface Layout {
  format: "hudi" | "iceberg";
  primaryKey: string[];
  partitionBy: string[];
}

/** The rebuild call of an action: the layout the table has (the new one is the spec's). */
export interface RebuildCall {
  op: "rebuild";
  previous: Layout;
  /** What changes, for people: "key id → (id, region); format hudi → iceberg". */
  change: string;
}

/**
 * Whether a partitioning change needs the table rewritten. Hudi's partition path is its values in
 * order, so any change does; an Iceberg change is partition evolution (lake/partitioning.ts
 * partitionChange, the "partitions" work) where that is in, so a caller passes it in.
 */
export type PartitionRewrite = (before: readonly string[], after: readonly string[], format: "hudi" | "iceberg") => boolean;
export const anyPartitionChange: PartitionRewrite = (before, after) => JSON.stringify([...before]) !== JSON.stringify([...after]);

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const tuple = (cols: readonly string[]) => (cols.length === 1 ? cols[0] : `(${cols.join(", ")})`);

/** What changes between two layouts, for people; empty when nothing that needs a rebuild does. */
export function layoutChange(before: Layout, after: Layout, partitionRewrite: PartitionRewrite = anyPartitionChange): string[] {
  const out: string[] = [];
  if (before.format !== after.format) out.push(`format ${before.format} → ${after.format}`);
  if (!same(before.primaryKey, after.primaryKey)) out.push(`key ${tuple(before.primaryKey)} → ${tuple(after.primaryKey)}`);
  // A format change rewrites the files anyway: its partitioning goes with it.
  const partitions = before.format !== after.format ? !same(before.partitionBy, after.partitionBy) : partitionRewrite(before.partitionBy, after.partitionBy, after.format);
  if (partitions) out.push(`partitioning [${before.partitionBy.join(", ")}] → [${after.partitionBy.join(", ")}]`);
  return out;
}

/** How much a rebuild rewrites: every current row (and, where the format tells, its bytes). */
export function rewriteSize(lake: Pick<Observation, "rowCount" | "dataFiles">): string {
  const rows = lake.rowCount == null ? "? rows" : `${lake.rowCount.toLocaleString("en-US")} row${lake.rowCount === 1 ? "" : "s"}`;
  const bytes = lake.dataFiles?.bytes;
  return bytes != null ? `${rows} / ${formatBinaryBytes(bytes)}` : rows;
}

/** The layout the lake's table has: its newest commit's recorded spec, its files' format. */
export function currentLayout(lake: Pick<Observation, "format">, before: Partial<TableSpec> | undefined, spec: TableSpec): Layout {
  return {
    format: lake.format ?? before?.format ?? spec.format,
    primaryKey: before?.primaryKey ?? spec.primaryKey,
    partitionBy: before?.partitionBy ?? spec.partitionBy,
  };
}

export interface RebuildStep {
  call: RebuildCall;
  /** "rebuild: 1,200 rows / 2.1 MiB rewritten, key id → (id, region)". */
  reason: string;
  /** Why the job server would refuse it (partitionedHudiRefusal): the plan refuses it instead. */
  refused?: string;
}

const list = (v: readonly string[]) => `[${v.join(", ")}]`;

/**
 * A rebuild whose swap readers could see half-made: the refusal, with what to do; undefined when
 * the swap is one step readers see whole. Away from a partitioned Hudi table, on any metastore: its
 * partitions are entries of their own and Trino reads a table's entry and lists its partitions in two
 * calls, so a query straddling the swap would list the new table's partitions (or none) and answer
 * with rows missing. Into a partitioned Hudi table (the old entry has no partitions to list), only on
 * a metastore that replaces entries whole (Lakeform's own; Hive's alter_table doesn't change an
 * entry's partition keys). Its text is lake/rebuildRefusals.json's, which the job server fills the
 * same way (rebuild_core.refuse_partitioned_hudi_swap, deciding from the metastore's own entry).
 */
export function partitionedHudiRefusal(table: string, before: Layout, after: Layout, replacesWhole: boolean): string | undefined {
  const keys = (l: Layout) => (l.format === "hudi" ? l.partitionBy.map((c) => c.toLowerCase()) : []);
  const kb = keys(before);
  const ka = keys(after);
  if (kb.length === 0 && (ka.length === 0 || replacesWhole)) return undefined;
  const fields = ["format", "primaryKey", "partitionBy"] as const;
  const show = (v: string | readonly string[]) => (typeof v === "string" ? v : list(v));
  const change = fields.filter((f) => !same(before[f], after[f])).map((f) => `${f} ${show(before[f])} → ${show(after[f])}`).join("; ") || "nothing";
  const R = REBUILD_REFUSALS;
  const [why, todo] =
    kb.length > 0
      ? [R.why.fromPartitionedHudi, same(kb, ka) ? R.todo.keyChange : R.todo.fromPartitionedHudi]
      : [R.why.keysChange, before.format === "iceberg" ? R.todo.fromIceberg : R.todo.fromUnpartitionedHudi];
  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (_, k: string) => ({ before: list(kb), after: list(ka), key: list(before.primaryKey), table, change })[k] ?? `{${k}}`);
  return fill(R.refusal.replace("{why}", why).replace("{todo}", todo));
}

/**
 * The rebuild the table needs, or undefined: one left unsettled first (whatever the spec says: the
 * job server removes its shadow, or finishes its swap); then, with onIncompatibleChange: rebuild, a
 * layout change of a table that holds data. `before` is the newest commit's recorded spec.
 */
export function rebuildStep(spec: TableSpec, lake: Observation, before: Partial<TableSpec> | undefined, partitionRewrite: PartitionRewrite = anyPartitionChange): RebuildStep | undefined {
  const was = currentLayout(lake, before, spec);
  const want: Layout = { format: spec.format, primaryKey: spec.primaryKey, partitionBy: spec.partitionBy };
  if (lake.rebuild) {
    const change = lake.rebuild.change || layoutChange(was, want, partitionRewrite).join("; ");
    return { call: { op: "rebuild", previous: was, change }, reason: `a rebuild (${change}) stopped at its ${lake.rebuild.stage} stage: settling it (the table as it was keeps serving until a swap)` };
  }
  if (!lake.exists || spec.onIncompatibleChange !== "rebuild" || (!before && !lake.format)) return undefined;
  const changes = layoutChange(was, want, partitionRewrite);
  if (changes.length === 0) return undefined;
  const change = changes.join("; ");
  const refused = partitionedHudiRefusal(`${spec.database}.${spec.name}`, was, want, lake.replacesWhole === true);
  return { call: { op: "rebuild", previous: was, change }, reason: `rebuild: ${rewriteSize(lake)} rewritten, ${change}`, ...(refused ? { refused } : {}) };
}
