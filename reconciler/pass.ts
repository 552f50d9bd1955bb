/**
 * One pass over one table, as four functions:
 *
 *   observe  reads the declared sources (hashes) and the table as the lake has it. Never writes.
 *   plan     pure: every decision, repairs included. Up to date, one action to carry out, or a
 *            refusal; the Synced reason; what a terminal failure is remembered by.
 *   act      carries out the one planned action (its driver calls in order). The loop then
 *            requeues the table at once and the next pass observes what the action did. A table
 *            in sync whose maintenance is due (reconciler/maintenance.ts) is maintained by that
 *            pass; a failed maintenance is reported (Maintained: False) and tried on the next.
 *   report   builds the table's status once, from the previous status, observation, plan and outcome.
 *
 * The lake is the source of truth: a source counts as applied when some commit of the table
 * carries its content hash in the commit metadata, so a restart, or a second reconciler, plans
 * nothing for what is already there. What a pass remembers for the next one (`TableMemory`) is
 * only what no observation can tell: which input failed for good, and what the last pass did.
 */
import * as path from "node:path";
import type { Logger } from "pino";
import { Reason, setCondition, type Condition } from "../lake/conditions";
import { LakeformError, type ErrorCode } from "../lake/errors";
import { appliedSourceHashes } from "../lake/commits";
import { jobTable, type JobTable, type MaintainResult, type Observation } from "../lake/jobClient";
import { describeHolder, type Lease, type LeaseRecord, type TableLeases } from "../lake/lease";
import type { ResolvedSource } from "../lake/sources";
import { tableId, type TableSpec } from "../lake/spec";
import type { TableStatus } from "../lake/status";
import { applyProgress, formatApplyProgress, type ApplyProgress } from "../lake/progress";
import { toLakeformError, type LakeDriver, type SourceStore } from "./driver";
import { planMaintenance, type MaintenancePlan } from "./maintenance";

// ------------------------------------------------------------------------------------- observe

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
  const lake = await deps.driver.observe(jobTable(spec, deps.warehouseBucket));
  return { sources, lake };
}

// ---------------------------------------------------------------------------------------- plan

/** One driver call of an action. */
export type Call = { op: "register" } | { op: "resync" } | { op: "forget" } | { op: "clearLeftovers" } | { op: "write"; source: ResolvedSource };

export interface Action {
  kind: "register" | "resync" | "apply";
  /** The driver calls, in order. */
  calls: Call[];
  /** What the action repairs, for the status once the table is back in sync. */
  repair?: "reregistered" | "rebuilt" | "resynced";
  /** For a resync: what lagged. */
  drift?: string[];
  /** Human: why this action. */
  reason: string;
}

/** What the loop keeps of a table between passes: what observing the lake can't tell. */
export interface TableMemory {
  /** The input (see `fingerprint`) a failure that retrying can't fix happened on, and that failure. */
  terminal?: { fingerprint: string; code: ErrorCode; message: string };
  /** The action the previous pass carried out without error. */
  lastAction?: Action;
}

export interface SyncedVerdict {
  status: "True" | "False";
  reason: Reason;
  message: string;
}

export type Plan =
  | { kind: "upToDate"; fingerprint: string; synced: SyncedVerdict; maintenance: MaintenancePlan }
  | { kind: "act"; fingerprint: string; action: Action; synced: SyncedVerdict }
  /** The same input failed for good last time: nothing to try until it changes. */
  | { kind: "wait"; fingerprint: string; error: LakeformError }
  /** A refusal, or a repair that didn't take: reported like a failure of the pass. */
  | { kind: "fail"; fingerprint: string; error: LakeformError };

/** Spec fields that can't change on a table that holds data (the files are laid out by them). */
const IMMUTABLE = ["format", "primaryKey", "partitionBy"] as const;

/** What a terminal failure is remembered by: the spec's generation and the sources' content. */
export function fingerprint(spec: Pick<TableSpec, "generation">, sources: ResolvedSource[]): string {
  return `${spec.generation}:${sources.map((s) => s.hash).join(",")}`;
}

/** The spec's immutable fields as the table's newest commit that recorded them says. */
export function lastAppliedSpec(lake: Observation): Partial<TableSpec> | undefined {
  const recorded = [...lake.commits].reverse().find((c) => c.spec)?.spec;
  if (!recorded) return undefined;
  try {
    return JSON.parse(recorded) as Partial<TableSpec>;
  } catch {
    return undefined;
  }
}

const sameCalls = (a: Action, b: Action): boolean =>
  a.kind === b.kind &&
  JSON.stringify(a.calls.map((c) => (c.op === "write" ? `write:${c.source.hash}` : c.op))) ===
    JSON.stringify(b.calls.map((c) => (c.op === "write" ? `write:${c.source.hash}` : c.op)));

export function plan(spec: TableSpec, observed: Observed, memory: TableMemory = {}, now = Date.now()): Plan {
  const { sources, lake } = observed;
  const fp = fingerprint(spec, sources);
  if (memory.terminal?.fingerprint === fp) {
    return { kind: "wait", fingerprint: fp, error: new LakeformError(memory.terminal.code, memory.terminal.message) };
  }

  if (lake.exists) {
    const before = lastAppliedSpec(lake);
    for (const field of IMMUTABLE) {
      const was = before?.[field];
      if (was !== undefined && JSON.stringify(was) !== JSON.stringify(spec[field])) {
        const message = `${field} changed from ${JSON.stringify(was)} to ${JSON.stringify(spec[field])} on a table that holds data; create a new table instead`;
        return { kind: "fail", fingerprint: fp, error: new LakeformError("INCOMPATIBLE_SPEC_CHANGE", message, { field, from: was, to: spec[field] }) };
      }
    }
  }

  const action = chooseAction(lake, sources);
  if (action) {
    // Level-triggered, with one guard: the action the last pass carried out, planned again,
    // means the lake doesn't show what it did. Retried with backoff, not in a tight loop.
    if (memory.lastAction && sameCalls(memory.lastAction, action)) {
      const message = `the lake doesn't show the result of the last pass's action (${memory.lastAction.reason}); trying again`;
      return { kind: "fail", fingerprint: fp, error: new LakeformError("SPARK_ERROR", message) };
    }
    return { kind: "act", fingerprint: fp, action, synced: { status: "False", reason: Reason.Applying, message: action.reason } };
  }

  const applied = appliedSourceHashes(lake);
  const repair = memory.lastAction?.repair;
  const message =
    repair === "reregistered"
      ? `table had disappeared from the metastore outside Lakeform; re-registered from its files with its ${lake.commits.length} commit(s) of history`
      : repair === "rebuilt"
        ? `table's files had disappeared outside Lakeform; rebuilt from its write journal and declared sources (${lake.commits.length} write(s) replayed, API ingests included)`
        : repair === "resynced"
          ? `the metastore lagged the table and was synced again (${(memory.lastAction?.drift ?? []).join("; ")}); all sources applied`
          : `all ${new Set(sources.filter((s) => applied.has(s.hash)).map((s) => s.hash)).size} source(s) applied`;
  return {
    kind: "upToDate",
    fingerprint: fp,
    synced: { status: "True", reason: repair === "resynced" ? Reason.Resynced : repair ? Reason.Recreated : Reason.UpToDate, message },
    maintenance: planMaintenance(spec, lake, now),
  };
}

/** The one action that brings the table closer to its spec, or none when it is there. */
function chooseAction(lake: Observation, sources: ResolvedSource[]): Action | undefined {
  // Drift. A table that lost only its catalog entry still has its files and its history: it is
  // put back as it was (nothing rewritten, so rows that came through the API survive too).
  if (!lake.inCatalog && lake.filesExist) {
    return {
      kind: "register",
      calls: [{ op: "register" }],
      repair: "reregistered",
      reason: `table is missing from the metastore but its files are intact: re-registering it with its ${lake.commits.length || "existing"} commit(s) of history`,
    };
  }
  // A table without files that had writes before (its journal says which, API ingests included)
  // is rebuilt by replaying them in their order, then whatever declared source is new. The whole
  // rebuild is one action: once the first write lands, the journal is no longer read.
  const journal = lake.filesExist ? [] : (lake.journal ?? []);
  const rebuild = !lake.filesExist && (lake.inCatalog || journal.length > 0);
  const replay: ResolvedSource[] = journal.map((e) => ({
    declared: `journal:${e.source}`,
    location: e.uri.replace(/^s3a:/, "s3:"),
    hash: e.sourceHash,
    bytes: 0,
    name: e.source,
  }));
  // Writes whose commits retention expired still count as applied (expiredSourceHashes).
  const applied = appliedSourceHashes(lake);
  const seen = new Set<string>();
  const pending = [...replay, ...sources].filter((s) => {
    if (applied.has(s.hash) || seen.has(s.hash)) return false;
    seen.add(s.hash);
    return true;
  });
  if (pending.length === 0) {
    // Catalog drift beyond existence: the metastore's entry lags the table's own latest state
    // (a commit whose hive sync didn't happen, say). Synced again from the table; nothing is
    // rewritten. With writes pending, the write's own sync does it.
    const drift = lake.exists ? (lake.catalogDrift ?? []) : [];
    if (drift.length === 0) return undefined;
    // Register would leave an entry that exists alone: resync runs the format's sync on it.
    return { kind: "resync", calls: [{ op: "resync" }], repair: "resynced", drift, reason: `the metastore lags the table: ${drift.join("; ")}; syncing it again` };
  }
  const calls: Call[] = [];
  if (!lake.filesExist) {
    // A table is about to be made at its location: a catalog entry left by a table whose files
    // were deleted is forgotten (loading that table would fail), and files someone left there
    // are moved aside.
    if (lake.inCatalog) calls.push({ op: "forget" });
    calls.push({ op: "clearLeftovers" });
  }
  calls.push(...pending.map((source) => ({ op: "write" as const, source })));
  const replayed = pending.filter((s) => s.declared.startsWith("journal:")).length;
  const reason = rebuild
    ? `table files are missing from the object store: rebuilding from ${replayed} journaled write(s) and ${pending.length - replayed} other declared source(s)`
    : !lake.exists
      ? `new table: ${pending.length} source(s) to apply`
      : `${pending.length} source(s) not applied yet`;
  return { kind: "apply", calls, repair: rebuild ? "rebuilt" : undefined, reason };
}

// ----------------------------------------------------------------------------------------- act

export interface ActResult {
  /** Sources written. */
  wrote: number;
}

/**
 * Carries out one action's calls in order; the first failure stops it (every call is
 * idempotent, so the retry starts over from a fresh observation).
 */
export async function act(deps: PassDeps, spec: TableSpec, action: Action, log: Logger, onProgress?: (p: ApplyProgress) => void): Promise<ActResult> {
  const table: JobTable = jobTable(spec, deps.warehouseBucket);
  let wrote = 0;
  const writes = action.calls.filter((c) => c.op === "write").length;
  for (const call of action.calls) {
    switch (call.op) {
      case "register":
        log.warn({ location: table.location }, `Drift: ${action.reason}`);
        await deps.driver.register(table);
        break;
      case "resync": {
        log.warn({ location: table.location, drift: action.drift }, `Drift: ${action.reason}`);
        const res = await deps.driver.resync(table);
        log.info({ resynced: res.resynced, drift: res.drift }, res.resynced ? "Resynced the metastore from the table's latest commit" : "The metastore no longer lagged the table: nothing to resync");
        break;
      }
      case "forget":
        await deps.driver.forget(table);
        log.warn({ location: table.location }, "Forgot the catalog entry of a table whose files are gone");
        break;
      case "clearLeftovers":
        await deps.driver.clearLeftovers(table);
        break;
      case "write": {
        const src = call.source;
        const uri = await deps.sources.land(src);
        const t0 = Date.now();
        const name = src.name ?? path.basename(src.location);
        const watch = watchWrite(deps, table, { index: wrote + 1, total: writes, source: name }, log, onProgress);
        const res = await deps.driver.write(table, { uri, hash: src.hash, name }, spec.generation).finally(() => watch.stop());
        wrote++;
        log.info(
          { source: src.declared, file: src.location, commit: res.commit, rows: res.rowsWritten, renamed: res.renamed, addedColumns: res.addedColumns, durationMs: Date.now() - t0 },
          "Applied source",
        );
        break;
      }
    }
  }
  return { wrote };
}

/**
 * While a write runs, every `progressEveryMs` (5 s): the job server's progress of it, as a log
 * line and through `onProgress` (the status file). Best effort: a job server that can't tell
 * (an older one, or busy past the poll's timeout) leaves the write alone. `stop()` waits for a
 * poll in flight, so nothing is reported after the write's result.
 */
export function watchWrite(
  deps: Pick<PassDeps, "driver" | "progressEveryMs">,
  table: JobTable,
  where: { index: number; total: number; source: string },
  log: Logger,
  onProgress?: (p: ApplyProgress) => void,
): { stop(): Promise<void> } {
  const poll = deps.driver.progress?.bind(deps.driver);
  if (!poll) return { stop: async () => {} };
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = async () => {
    const writes = await poll(table).catch(() => undefined);
    if (stopped || !writes) return;
    const p = writes.find((w) => w.source === where.source) ?? writes[0];
    const a = applyProgress(where.index, where.total, where.source, p);
    log.info(
      { source: a.source, stage: a.stage, percent: a.percent, bytesRead: a.bytesRead, bytesTotal: a.bytesTotal, rowsRead: a.rowsRead, rowsTotal: a.rowsTotal, elapsedMs: a.elapsedMs },
      `Write progress: ${formatApplyProgress(a)}`,
    );
    onProgress?.(a);
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(tick);
  }, deps.progressEveryMs ?? 5000);
  timer.unref?.();
  return {
    stop: async () => {
      clearInterval(timer);
      stopped = true;
      await inFlight;
    },
  };
}

/**
 * Maintenance of a table in sync (retention, orphan files, compaction): done by the job server
 * under the table's write lock, so never at the same time as a write to it.
 */
export async function maintain(deps: PassDeps, spec: TableSpec, due: MaintenancePlan, log: Logger): Promise<MaintenanceOutcome> {
  try {
    log.info({ reasons: due.reasons }, "Maintaining table");
    const result = await deps.driver.maintain(jobTable(spec, deps.warehouseBucket));
    log.info({ actions: result.actions, commits: result.commitsAfter, dataFiles: result.dataFilesAfter, durationMs: result.durationMs }, "Maintained table");
    return { done: true, result, at: new Date() };
  } catch (err) {
    const error = toLakeformError(err);
    log.error({ code: error.code, err: error.message }, "Failed to maintain table; will retry on the next pass");
    return { done: false, error };
  }
}

// -------------------------------------------------------------------------------------- report

export type Step = "observe" | "plan" | "act";

/** What became of a maintenance the plan found due: it never fails the pass (the data is in sync). */
export type MaintenanceOutcome = { done: true; result: MaintainResult; at: Date } | { done: false; error: LakeformError };

export type Outcome =
  | { ok: true; acted?: Action; wrote: number; maintenance?: MaintenanceOutcome; standby?: LeaseRecord }
  | { ok: false; step: Step; error: LakeformError; wrote: number };

/** A failure's reason in status: the error code's (lake/errorCodes.json). */
const reasonOf = (err: LakeformError): Reason => err.reason as Reason;

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

function sourceCounts({ lake, sources }: Observed): TableStatus["sources"] {
  const applied = appliedSourceHashes(lake);
  return { total: new Set(sources.map((s) => s.hash)).size, applied: new Set(sources.filter((s) => applied.has(s.hash)).map((s) => s.hash)).size };
}

export interface ReportInput {
  prev: TableStatus;
  spec: TableSpec;
  declaredIn: string;
  observed?: Observed;
  plan?: Plan;
  outcome: Outcome;
  /** When the loop looks at the table again after a failure that retrying may fix. */
  retryAt?: Date;
  now?: Date;
}

/** The table's status after a pass: built once, from what the pass saw, decided and did. */
export function report({ prev, spec, declaredIn, observed, plan: p, outcome, retryAt, now = new Date() }: ReportInput): TableStatus {
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
    st.nextAttemptAt = retryAt?.toISOString();
    const message = `another writer holds the table's lease: ${describeHolder(outcome.standby)}; waiting its turn`;
    conditions = setCondition(conditions, { type: "Synced", status: "False", reason: Reason.Standby, message }, now);
  } else if (error) {
    st.inSync = false;
    // Waiting on a terminal failure is not a new failure.
    st.failures = p?.kind === "wait" && outcome.ok ? prev.failures : prev.failures + 1;
    st.nextAttemptAt = retryAt?.toISOString();
    conditions = setCondition(conditions, { type: "Synced", status: "False", reason: reasonOf(error), message: error.message }, now);
    conditions = setCondition(conditions, { type: "Degraded", status: "True", reason: reasonOf(error), message: error.message }, now);
  } else if (p?.kind === "upToDate" && observed) {
    st.inSync = observed.lake.exists && st.sources.applied === st.sources.total;
    st.observedGeneration = spec.generation;
    st.failures = 0;
    st.nextAttemptAt = undefined;
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
    st.nextAttemptAt = undefined;
    conditions = setCondition(conditions, { type: "Synced", ...p.synced }, now);
    conditions = setCondition(conditions, { type: "Degraded", status: "False", reason: Reason.Healthy, message: "last pass succeeded" }, now);
  }
  st.conditions = conditions;
  return st;
}

// ------------------------------------------------------------------------------ the whole pass

export interface PassTiming {
  resyncMs: number;
  /** Delay before retrying after the given number of consecutive failures. */
  backoff(failures: number): number;
  /** Delay before looking again at a table another writer holds (2 s by default). */
  standbyMs?: number;
}

export interface PassResult {
  table: string;
  ok: boolean;
  wrote: number;
  /** Whether the pass carried out an action (the next pass observes its result). */
  acted: boolean;
  /** Whether another writer held the table's lease, so this pass only waited (status Standby). */
  standby?: boolean;
  /** When to look at this table again. */
  requeueAfterMs: number;
  status: TableStatus;
  memory: TableMemory;
}

/**
 * observe → plan → act → report. Every failure, whichever step, is handled the same way:
 * turned into a LakeformError, reported with its code's reason, and requeued: with backoff when
 * retrying can help, otherwise remembered against its input and not retried until that changes.
 */
export async function runPass(
  deps: PassDeps,
  spec: TableSpec,
  ctx: { prev: TableStatus; declaredIn: string; memory: TableMemory; timing: PassTiming; log: Logger; onApplying?: (st: TableStatus) => void },
): Promise<PassResult> {
  const { prev, memory, timing, log } = ctx;
  const started = Date.now();
  let observed: Observed | undefined;
  let p: Plan | undefined;
  let outcome: Outcome;
  let step: Step = "observe";
  let wrote = 0;
  let lease: Lease | undefined;
  let standby: LeaseRecord | undefined;
  try {
    observed = await observe(deps, spec);
    step = "plan";
    p = plan(spec, observed, memory);
    if (p.kind === "fail") throw p.error;
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
      wrote = (await act(deps, spec, action, log, applying && ((progress) => applying(reportApplying(prev, action, new Date(), progress, seen))))).wrote;
    }
    let maintenance: MaintenanceOutcome | undefined;
    if (p.kind === "upToDate" && p.maintenance.due && deps.leases && !lease) {
      // Maintenance rewrites files too: only under the lease, else left to the next pass.
      const got = await deps.leases.tryAcquire({ database: spec.database, name: spec.name }, "reconciler: maintenance");
      if (got.ok) lease = got.lease;
      else standby = got.heldBy;
    }
    if (p.kind === "upToDate" && p.maintenance.due && !standby) {
      maintenance = await maintain(deps, spec, p.maintenance, log);
      // What maintenance changed (the newest commit, the rows): observed again, nothing decided on it.
      if (maintenance.done) observed = { ...observed, lake: await deps.driver.observe(jobTable(spec, deps.warehouseBucket)).catch(() => observed!.lake) };
    }
    outcome = standby ? { ok: true, wrote: 0, standby } : { ok: true, acted: p.kind === "act" ? p.action : undefined, wrote, maintenance };
  } catch (err) {
    outcome = { ok: false, step, error: toLakeformError(err), wrote };
  } finally {
    await lease?.release();
  }

  const nextMemory: TableMemory = { terminal: memory.terminal };
  let requeueAfterMs = timing.resyncMs;
  let retryAt: Date | undefined;
  if (!outcome.ok) {
    const { error } = outcome;
    const failures = prev.failures + 1;
    if (error.retryable) {
      requeueAfterMs = timing.backoff(failures);
      retryAt = new Date(Date.now() + requeueAfterMs);
    } else if (observed) {
      nextMemory.terminal = { fingerprint: fingerprint(spec, observed.sources), code: error.code, message: error.message };
    }
    log.error(
      { step: outcome.step, code: error.code, reason: error.reason, err: error.message, detail: (error as { detail?: string }).detail ?? error.details.detail, failures, retryInMs: error.retryable ? requeueAfterMs : undefined },
      error.retryable ? "Table pass failed; will retry" : "Table write refused; waiting for its input to change",
    );
  } else if (outcome.standby) {
    // Back soon: the holder's write is under way; its result is observed before anything is planned.
    nextMemory.lastAction = memory.lastAction;
    requeueAfterMs = timing.standbyMs ?? 2_000;
    retryAt = new Date(Date.now() + requeueAfterMs);
  } else if (p?.kind === "act") {
    nextMemory.lastAction = p.action;
    requeueAfterMs = 0;
  } else if (p?.kind === "upToDate") {
    nextMemory.terminal = undefined;
    // A repair's reason (Recreated, Resynced) and what it repaired are said once, with the line.
    const repaired = p.synced.reason !== Reason.UpToDate ? { reason: p.synced.reason, message: p.synced.message } : {};
    log[prev.inSync && !memory.lastAction ? "debug" : "info"]({ rows: observed?.lake.rowCount, durationMs: Date.now() - started, ...repaired }, "Table in sync");
  }
  const status = report({ prev, spec, declaredIn: ctx.declaredIn, observed, plan: p, outcome, retryAt });
  const standing = outcome.ok && !!outcome.standby;
  return { table: tableId(spec), ok: outcome.ok && p?.kind !== "wait", wrote, acted: outcome.ok && !standing && p?.kind === "act", standby: standing, requeueAfterMs, status, memory: nextMemory };
}
