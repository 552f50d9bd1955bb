/**
 * The plan's step for an Iceberg table whose partitioning tables.yaml changed: partition evolution
 * (lake/partitioning.ts partitionChange says "evolve"), decided from the table's own current spec
 * as the observe read it from its metadata (Observation.partitionSpec), so it is level-triggered:
 * once the table's spec is the declared one there is nothing to do, whatever the commits recorded.
 * Pure.
 */
import { LakeformError } from "../lake/errors";
import type { Observation } from "../lake/jobClient";
import { partitionChange, partitionColumns, partitionEvolution } from "../lake/partitioning";
import { tableId, type TableSpec } from "../lake/spec";

export interface PartitionStep {
  /** The driver call: the job server's evolve_partitions (metadata only). */
  call: { op: "evolvePartitions"; drop: string[]; add: string[] };
  /** Human: what changes, for the action's reason. */
  reason: string;
}

const list = (xs: readonly string[]) => `[${xs.join(", ")}]`;

/**
 * The evolution an Iceberg table that exists needs, an error when it can't have it (a partition
 * column the table doesn't have: the source that brings the column comes first, then the change),
 * or undefined: not Iceberg, not there, its spec not told (an older job server), or already the
 * declared one (as a set: an Iceberg spec's fields have no order that matters to its files).
 */
export function partitionStep(spec: TableSpec, lake: Observation): PartitionStep | LakeformError | undefined {
  if (spec.format !== "iceberg" || !lake.exists || lake.partitionSpec === undefined) return undefined;
  if (partitionChange(lake.partitionSpec, spec.partitionBy, "iceberg") !== "evolve") return undefined;
  const have = new Set(lake.columns.map((c) => c.name));
  const missing = partitionColumns(spec.partitionBy).filter((c) => !have.has(c));
  if (missing.length > 0) {
    const message =
      `partitionBy ${list(spec.partitionBy)} of table ${tableId(spec)} names column(s) ${missing.join(", ")} the table doesn't have ` +
      `(its columns: ${[...have].join(", ")}); write a source that brings them under the current partitioning first`;
    return new LakeformError("INCOMPATIBLE_SPEC_CHANGE", message, { field: "partitionBy", from: lake.partitionSpec, to: spec.partitionBy, missing });
  }
  const { drop, add } = partitionEvolution(lake.partitionSpec, spec.partitionBy);
  return {
    call: { op: "evolvePartitions", drop, add },
    reason: `partition evolution, no rewrite: partitionBy ${list(lake.partitionSpec)} → ${list(spec.partitionBy)} (files written before keep their spec; new writes use the new one)`,
  };
}
