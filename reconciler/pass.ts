/**
 * One pass over one table: observe → plan → act → report, each step its own module:
 *
 *   observe.ts  reads the declared sources (hashes) and the table as the lake has it. Never writes.
 *   plan.ts     pure: every decision, repairs included. Up to date, one action to carry out, or a
 *               refusal; the Synced reason; what a terminal failure is remembered by.
 *   act.ts      carries out the one planned action (its driver calls in order). The loop then
 *               requeues the table at once and the next pass observes what the action did. A table
 *               in sync whose maintenance is due (reconciler/maintenance.ts) is maintained by that
 *               pass; a failed maintenance is reported (Maintained: False) and tried on the next.
 *   report.ts   builds the table's status once, from the previous status, observation, plan and outcome.
 *
 * The pass says what should happen next (`Next`: done, requeue, terminal); when that is, and the
 * backoff after failures, is the work queue's (reconciler/queue.ts).
 */
import type { Logger } from "pino";
import { isTerminal, Reason } from "../lake/conditions";
import { asLakeformError, type LakeformError } from "../lake/errors";
import { jobTable } from "../lake/jobClient";
import { fencedBy, type Lease, type LeaseRecord } from "../lake/lease";
import { tableId, type TableSpec } from "../lake/spec";
import type { TableStatus } from "../lake/status";
import { act, maintain, type MaintenanceOutcome } from "./act";
import { observe, type Observed, type PassDeps } from "./observe";
import { fingerprint, plan, type Plan, type TableMemory } from "./plan";
import type { Next } from "./queue";
import { report, reportApplying, type Outcome, type Step } from "./report";

export { act, maintain, watchWrite, type ActResult, type MaintenanceOutcome } from "./act";
export { observe, observeLake, type Observed, type PassDeps } from "./observe";
export { fingerprint, lastAppliedSpec, plan, repairOf, type Action, type Call, type Plan, type Repair, type SyncedVerdict, type TableMemory } from "./plan";
export type { Next } from "./queue";
export { initialStatus, report, reportApplying, withSchedule, type Outcome, type ReportInput, type Step } from "./report";

/** How long a pass waits before looking again at a table another writer holds, unless told. */
export const STANDBY_MS = 2_000;

export interface PassContext {
  prev: TableStatus;
  declaredIn: string;
  memory: TableMemory;
  log: Logger;
  /** Saves the status while an apply runs (when it starts, then with its progress). */
  onApplying?: (st: TableStatus) => void;
  /** Delay before looking again at a table another writer holds (STANDBY_MS unless set). */
  standbyMs?: number;
}

export interface PassResult {
  table: string;
  /** What the loop should do with the table next. */
  next: Next;
  /** The pass's verdict: in sync, or an action carried out, or waiting for another writer (not a failure). */
  ok: boolean;
  wrote: number;
  /** Whether the pass carried out an action (the next pass observes its result). */
  acted: boolean;
  /** Whether another writer held the table's lease, so this pass only waited (status Standby). */
  standby?: boolean;
  /** The failure, if the pass failed, and the step it failed in. */
  failure?: { step: Step; error: LakeformError };
  /** The table's status as the pass saw it (the loop adds the queue's schedule: `withSchedule`). */
  status: TableStatus;
  memory: TableMemory;
}

/**
 * observe → plan → act → report. Every failure, whichever step, is handled the same way:
 * turned into a LakeformError and reported with its code's reason; a failure retrying may fix is
 * requeued (the queue backs it off), a terminal one is remembered against its input and not
 * tried again until that changes.
 */
export async function runPass(deps: PassDeps, spec: TableSpec, ctx: PassContext): Promise<PassResult> {
  const { prev, memory, log } = ctx;
  const started = Date.now();
  let observed: Observed | undefined;
  let p: Plan | undefined;
  let outcome: Outcome;
  let step: Step = "observe";
  let wrote = 0;
  let lease: Lease | undefined;
  let standby: LeaseRecord | undefined;
  let releaseSlot: (() => void) | undefined;
  try {
    observed = await observe(deps, spec);
    step = "plan";
    p = plan(spec, observed, memory);
    if (p.kind === "fail") throw p.error;
    if (deps.actSlot && (p.kind === "act" || (p.kind === "upToDate" && p.maintenance.due))) {
      // A write (or maintenance) to carry out: one of the bounded slots first (the lease, below, observes and plans again).
      releaseSlot = await deps.actSlot();
    }
    if (p.kind === "act" && deps.leases) {
      // Only the lease holder acts, on what it observes once it holds the lease: whatever another
      // writer did in between (the same source applied, say) is seen, and not done again.
      const got = await deps.leases.tryAcquire({ database: spec.database, name: spec.name }, `reconciler: ${p.action.reason}`);
      if (!got.ok) standby = got.heldBy;
      else {
        lease = got.lease;
        observed = await observe(deps, spec);
        p = plan(spec, observed, memory);
        if (p.kind === "fail") throw p.error;
      }
    }
    step = "act";
    if (standby) {
      log.info({ holder: standby.holder, purpose: standby.purpose }, "Standby: another writer holds the table's lease");
    } else if (p.kind === "act") {
      log.info({ calls: p.action.calls.map((c) => c.op), sources: p.action.calls.filter((c) => c.op === "write").length }, `${p.action.kind === "apply" ? "Applying" : "Repairing"}: ${p.action.reason}`);
      const action = p.action;
      const applying = action.kind === "apply" ? ctx.onApplying : undefined;
      const seen = observed;
      applying?.(reportApplying(prev, action, new Date(), undefined, seen));
      const acting = () => act({ ...deps, declaredIn: ctx.declaredIn }, spec, action, log, applying && ((progress) => applying(reportApplying(prev, action, new Date(), progress, seen))));
      wrote = (await (lease ? fencedBy(lease, acting) : acting())).wrote;
    }
    let maintenance: MaintenanceOutcome | undefined;
    if (p.kind === "upToDate" && p.maintenance.due && deps.leases && !lease) {
      // Maintenance rewrites files too: only under the lease, else left to the next pass.
      const got = await deps.leases.tryAcquire({ database: spec.database, name: spec.name }, "reconciler: maintenance");
      if (got.ok) lease = got.lease;
      else standby = got.heldBy;
    }
    if (p.kind === "upToDate" && p.maintenance.due && !standby) {
      const due = p.maintenance;
      const maintaining = () => maintain(deps, spec, due, log);
      maintenance = await (lease ? fencedBy(lease, maintaining) : maintaining());
      // What maintenance changed (the newest commit, the rows): observed again, nothing decided on it.
      if (maintenance.done) observed = { ...observed, lake: await deps.driver.observe(jobTable(spec, deps.warehouseBucket)).catch(() => observed!.lake) };
    }
    outcome = standby ? { ok: true, wrote: 0, standby } : { ok: true, acted: p.kind === "act" ? p.action : undefined, wrote, maintenance };
  } catch (err) {
    outcome = { ok: false, step, error: asLakeformError(err), wrote };
  } finally {
    await lease?.release();
    releaseSlot?.();
  }

  const nextMemory: TableMemory = { terminal: memory.terminal };
  let next: Next = { kind: "done" };
  if (!outcome.ok) {
    const { error } = outcome;
    const terminal = isTerminal(error.code);
    log.error(
      { step: outcome.step, code: error.code, reason: error.reason, err: error.message, detail: (error as { detail?: string }).detail ?? error.details.detail },
      terminal ? "Table write refused; waiting for its input to change" : "Table pass failed; will retry",
    );
    if (!terminal) next = { kind: "requeue" };
    else {
      next = { kind: "terminal", reason: error.reason };
      if (observed) nextMemory.terminal = { fingerprint: fingerprint(spec, observed.sources), code: error.code, message: error.message };
    }
  } else if (p?.kind === "wait") {
    // The same input's terminal failure, remembered: reported again, not a new failure.
    next = { kind: "terminal", reason: p.error.reason, again: true };
  } else if (outcome.standby) {
    // Back soon: the holder's write is under way; its result is observed before anything is planned.
    nextMemory.lastAction = memory.lastAction;
    next = { kind: "requeue", afterMs: ctx.standbyMs ?? STANDBY_MS };
  } else if (p?.kind === "act") {
    nextMemory.lastAction = p.action;
    next = { kind: "requeue", afterMs: 0 };
  } else if (p?.kind === "upToDate") {
    nextMemory.terminal = undefined;
    // A repair's reason (Recreated, Resynced) and what it repaired are said once, with the line.
    const repaired = p.synced.reason !== Reason.UpToDate ? { reason: p.synced.reason, message: p.synced.message } : {};
    log[prev.inSync && !memory.lastAction ? "debug" : "info"]({ rows: observed?.lake.rowCount, durationMs: Date.now() - started, ...repaired }, "Table in sync");
  }
  const status = report({ prev, spec, declaredIn: ctx.declaredIn, observed, plan: p, outcome });
  const standing = outcome.ok && !!outcome.standby;
  return {
    table: tableId(spec),
    next,
    ok: outcome.ok && p?.kind !== "wait",
    wrote,
    acted: outcome.ok && !standing && p?.kind === "act",
    standby: standing,
    failure: outcome.ok ? undefined : { step: outcome.step, error: outcome.error },
    status,
    memory: nextMemory,
  };
}
