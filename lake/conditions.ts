/**
 * Status conditions, Kubernetes-style: keyed by type, True/False/Unknown, a CamelCase reason and
 * a human message. Every reason the reconciler reports lives here.
 */
export type ConditionType = "Ready" | "Synced" | "Degraded" | "Maintained";
export type ConditionStatus = "True" | "False" | "Unknown";

export const Reason = {
  Pending: "Pending",
  UpToDate: "UpToDate",
  SourcesPending: "SourcesPending",
  Applying: "Applying",
  Applied: "Applied",
  TableMissing: "TableMissing",
  Recreated: "Recreated",
  /** The catalog lagged the table (columns, location, metadata pointer) and was synced again. */
  Resynced: "Resynced",
  /** Another writer holds the table's lease: this one waits its turn (not an error). */
  Standby: "Standby",
  InvalidSpec: "InvalidSpec",
  SourceUnreadable: "SourceUnreadable",
  BadCsv: "BadCsv",
  SchemaRefused: "SchemaRefused",
  IncompatibleSpecChange: "IncompatibleSpecChange",
  SparkError: "SparkError",
  SparkUnavailable: "SparkUnavailable",
  Healthy: "Healthy",
  Removed: "Removed",
  Pruning: "Pruning",
  PruneFailed: "PruneFailed",
  /**
   * Lifecycle: removed from tables.yaml with prune: true in a change that would drop more than one
   * table, or every table: held (nothing dropped) until `lakeform prune --confirm` or `pulumi up`.
   */
  PrunePending: "PrunePending",
  Maintained: "Maintained",
  MaintenanceFailed: "MaintenanceFailed",
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
  lastTransitionTime: string;
}

/** Sets a condition, keeping lastTransitionTime when the status doesn't change. */
export function setCondition(
  conditions: Condition[],
  next: Omit<Condition, "lastTransitionTime">,
  now = new Date(),
): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
}

export function getCondition(conditions: Condition[], type: ConditionType): Condition | undefined {
  return conditions.find((c) => c.type === type);
}
