/**
 * A pass's report: the table's status, built once from the previous status, what the pass
 * observed, planned and did. The loop adds the queue's decision (`withSchedule`: failures so far,
 * when the next attempt is due); nothing here decides when the table is looked at again.
 */
import { Reason, setCondition, type Condition } from "../lake/conditions";
import { appliedSourceHashes } from "../lake/commits";
import type { LakeformError } from "../lake/errors";
import { describeHolder, type LeaseRecord } from "../lake/lease";
import { formatApplyProgress, type ApplyProgress } from "../lake/progress";
import { tableId, type TableSpec } from "../lake/spec";
import type { TableStatus } from "../lake/status";
import type { MaintenanceOutcome } from "./act";
import type { Observed } from "./observe";
import type { Action, Plan } from "./plan";

export type Step = "observe" | "plan" | "act";

export type Outcome =
  | { ok: true; acted?: Action; wrote: number; maintenance?: MaintenanceOutcome; standby?: LeaseRecord }
  | { ok: false; step: Step; error: LakeformError; wrote: number };

/** A table's status before its first pass. */
export function initialStatus(spec: TableSpec, declaredIn: string, now = new Date()): TableStatus {
  const conditions: Condition[] = [
    { type: "Ready", status: "Unknown", reason: Reason.Pending, message: "not observed yet", lastTransitionTime: now.toISOString() },
    { type: "Synced", status: "Unknown", reason: Reason.Pending, message: "not observed yet", lastTransitionTime: now.toISOString() },
  ];
  return { table: tableId(spec), format: spec.format, generation: spec.generation, inSync: false, sources: { total: 0, applied: 0 }, conditions, failures: 0, prune: spec.prune, declaredIn };
}

/** The status shown while an action writes, saved before it starts so `lakeform status` shows it. */
export function reportApplying(prev: TableStatus, action: Action, now = new Date(), progress?: ApplyProgress, observed?: Observed): TableStatus {
  const message = progress ? `applying ${formatApplyProgress(progress)}` : action.reason;
  const st: TableStatus = { ...prev, inSync: false, applying: progress, conditions: setCondition(prev.conditions, { type: "Synced", status: "False", reason: Reason.Applying, message }, now) };
  // What is declared and applied as observed now (a new table's first pass has reported none yet).
  if (observed) st.sources = sourceCounts(observed);
  return st;
}

function sourceCounts({ lake, sources, prefixes }: Observed): TableStatus["sources"] {
  const applied = appliedSourceHashes(lake);
  const files = sources.filter((s) => !s.batch);
  const counts = { total: new Set(files.map((s) => s.hash)).size, applied: new Set(files.filter((s) => applied.has(s.hash)).map((s) => s.hash)).size };
  // A watched prefix counts its objects: those the lake has applied as they are now, of those listed (an ignored change counts as applied).
  for (const p of prefixes ?? []) {
    const stale = p.onChange === "ignore" ? 0 : p.changed.length;
    counts.applied += p.tracked - stale;
    counts.total += p.tracked + p.fresh;
  }
  return counts;
}

export interface ReportInput {
  prev: TableStatus;
  spec: TableSpec;
  declaredIn: string;
  observed?: Observed;
  plan?: Plan;
  outcome: Outcome;
  now?: Date;
}

/** The table's status after a pass: built once, from what the pass saw, decided and did. */
export function report({ prev, spec, declaredIn, observed, plan: p, outcome, now = new Date() }: ReportInput): TableStatus {
  const { line: _line, ...declaredSpec } = spec;
  // prune, declaredIn and the spec: what a prune after a restart decides and records by (reconciler/prune.ts).
  const st: TableStatus = { ...prev, table: tableId(spec), format: spec.format, generation: spec.generation, prune: spec.prune, declaredIn, spec: declaredSpec, lastPassAt: now.toISOString() };
  delete st.applying; // only while an apply runs
  let conditions = st.conditions;
  if (observed) {
    const { lake } = observed;
    const last = lake.commits[lake.commits.length - 1];
    st.sources = sourceCounts(observed);
    st.lastCommit = last ? { id: last.commit, time: last.time } : undefined;
    // The newest commit that checked expectations (a quarantine replay or a change document may be newer).
    const checked = [...lake.commits].reverse().find((c) => c.expectations);
    st.expectations = checked?.expectations as TableStatus["expectations"];
    st.rowCount = lake.rowCount;
    st.columns = lake.columns.map((c) => c.name);
    conditions = setCondition(conditions, {
      type: "Ready",
      status: lake.exists ? "True" : "False",
      reason: lake.exists ? Reason.Healthy : Reason.TableMissing,
      message: lake.exists ? "table is registered and readable" : "table does not exist yet",
    }, now);
  }
  const error = !outcome.ok ? outcome.error : p?.kind === "wait" || p?.kind === "fail" ? p.error : undefined;
  if (outcome.ok && outcome.standby) {
    // Another writer holds the table: not a failure, and nothing of ours to report but waiting.
    st.inSync = false;
    const message = `another writer holds the table's lease: ${describeHolder(outcome.standby)}; waiting its turn`;
    conditions = setCondition(conditions, { type: "Synced", status: "False", reason: Reason.Standby, message }, now);
  } else if (error) {
    st.inSync = false;
    conditions = setCondition(conditions, { type: "Synced", status: "False", reason: error.reason, message: error.message }, now);
    conditions = setCondition(conditions, { type: "Degraded", status: "True", reason: error.reason, message: error.message }, now);
  } else if (p?.kind === "upToDate" && observed) {
    st.inSync = observed.lake.exists && st.sources.applied === st.sources.total;
    st.observedGeneration = spec.generation;
    conditions = setCondition(conditions, { type: "Synced", ...p.synced }, now);
    conditions = setCondition(conditions, { type: "Degraded", status: "False", reason: Reason.Healthy, message: "last pass succeeded" }, now);
    const m = outcome.ok ? outcome.maintenance : undefined;
    if (m?.done) {
      const { result } = m;
      st.lastMaintenance = { at: m.at.toISOString(), actions: result.actions, commits: result.commitsAfter, dataFiles: result.dataFilesAfter, oldestCommit: result.oldestCommit };
      conditions = setCondition(conditions, { type: "Maintained", status: "True", reason: Reason.Maintained, message: result.actions.length ? result.actions.join("; ") : "nothing to do" }, now);
    } else if (m) {
      conditions = setCondition(conditions, { type: "Maintained", status: "False", reason: Reason.MaintenanceFailed, message: `maintenance failed, will retry: ${m.error.message}` }, now);
    } else {
      const message = spec.format === "hudi" ? "Hudi cleans, archives and sizes files with each write" : "within retention and file-size targets";
      conditions = setCondition(conditions, { type: "Maintained", status: "True", reason: Reason.Maintained, message }, now);
    }
  } else if (p?.kind === "act") {
    // The action is done; the next pass (right away) observes what it did.
    st.inSync = false;
    conditions = setCondition(conditions, { type: "Synced", ...p.synced }, now);
    conditions = setCondition(conditions, { type: "Degraded", status: "False", reason: Reason.Healthy, message: "last pass succeeded" }, now);
  }
  st.conditions = conditions;
  return st;
}

/** The queue's decision, reported: consecutive failures, and when the next attempt is due (after a failure, or a wait for another writer). */
export function withSchedule(st: TableStatus, s: { failures: number; retryAt?: number }): TableStatus {
  return { ...st, failures: s.failures, nextAttemptAt: s.retryAt === undefined ? undefined : new Date(s.retryAt).toISOString() };
}
