/**
 * Status conditions, Kubernetes-style: keyed by type, True/False/Unknown, a CamelCase reason and
 * a human message. Every reason the reconciler reports comes from here: a failure's is its error
 * code's (lake/errorCodes.json, derived below, never listed by hand); the others are the
 * lifecycle reasons, what a pass reports that no error code names.
 */
import type { Condition } from "./apiReplies";
import { ERROR_CODES, type ErrorCode } from "./errors";

/** A condition as reported (lake/apiReplies.ts's ConditionSchema). */
export type { Condition };
export type ConditionType = Condition["type"];
export type ConditionStatus = Condition["status"];

/** What a table goes through that is not a failure of an error code. */
const LIFECYCLE = {
  Pending: "Pending",
  UpToDate: "UpToDate",
  Applying: "Applying",
  /** Ready: False while the table doesn't exist yet (also TABLE_MISSING's reason). */
  TableMissing: "TableMissing",
  Recreated: "Recreated",
  /** The catalog lagged the table (columns, location, metadata pointer) and was synced again. */
  Resynced: "Resynced",
  /** Another writer holds the table's lease: this one waits its turn (not an error; also TABLE_BUSY's reason). */
  Standby: "Standby",
  Healthy: "Healthy",
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

export type LifecycleReason = (typeof LIFECYCLE)[keyof typeof LIFECYCLE];
/** A failure's reason: its error code's in lake/errorCodes.json (BadCsv, SparkUnavailable, …). */
export type FailureReason = (typeof ERROR_CODES)[ErrorCode]["reason"];
export type Reason = LifecycleReason | FailureReason;

/** Every reason by name: the lifecycle ones, and each error code's (`Reason.BadCsv`, …). */
export const Reason: Readonly<typeof LIFECYCLE & Record<string, Reason>> = Object.freeze({
  ...Object.fromEntries(Object.values(ERROR_CODES).map((i) => [i.reason, i.reason])),
  ...LIFECYCLE,
});

/**
 * Whether a failure with this code is terminal: retrying the same input fails the same way (a bad
 * CSV, a refused schema change). It is reported and not tried again until the input changes.
 */
export const isTerminal = (code: ErrorCode): boolean => !ERROR_CODES[code].retryable;

/** The reasons only terminal codes report: a write refused for its input, that waiting won't change. */
export const TERMINAL_REASONS: ReadonlySet<Reason> = new Set(
  Object.values(ERROR_CODES)
    .map((i) => i.reason)
    .filter((r) => Object.entries(ERROR_CODES).every(([code, i]) => i.reason !== r || isTerminal(code as ErrorCode))),
);

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
