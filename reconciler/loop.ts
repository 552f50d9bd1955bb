/**
 * The reconcile loop: level-triggered, per table. A request names a table only; each pass
 * (reconciler/pass.ts) re-reads the desired state and the lake in full, plans one action, acts,
 * and reports, and says what should happen next. The work queue (reconciler/queue.ts) decides
 * when: at most `passesAtOnce` passes at once (of them at most `concurrency` writing) and one per
 * table, the table due earliest first, exponential backoff per table after failures (reset when
 * the table is back in sync), a pass right away after one that carried out an action, the resync
 * interval otherwise. The loop sleeps
 * until the next table is due or something happens (a requeue, a pass done): it never polls.
 *
 * What makes a table due early: its own input changed (`requeue`, from the watcher), or its spec
 * in tables.yaml changed (`loadDesired`). Nothing else: a failing table keeps its backoff.
 */
import * as path from "node:path";
import type { Logger } from "pino";
import { loadTables, SpecError, tableId, type DesiredState, type TableSpec } from "../lake/spec";
import { emptyStatus, readStatus, writeStatus, type LakeStatus, type TableStatus } from "../lake/status";
import type { LakeDriver, SourceStore } from "./driver";
import type { TableLeases } from "../lake/lease";
import { initialStatus, runPass, withSchedule, type Next, type PassResult, type TableMemory } from "./pass";
import { METRICS_REPORT_EVERY_MS, type ReconcilerMetrics } from "./metrics";
import { Pruner } from "./prune";
import { guardTrash, MemoryTrash, type Trash } from "./trash";
import { backoffDelay, Slots, systemClock, WorkQueue, type Clock } from "./queue";

export { backoffDelay, systemClock, type Clock } from "./queue";

export interface ReconcilerOptions {
  tablesFile: string;
  statusFile: string;
  warehouseBucket: string;
  driver: LakeDriver;
  sources: SourceStore;
  log: Logger;
  /** Re-check every table this often even when nothing changed (drift). */
  resyncMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Writes (and maintenance) carried out at once, by the running loop and by `runOnce` (each table is only ever written by one pass at a time). */
  concurrency?: number;
  /**
   * Passes run at once (8), by the running loop and by `runOnce`: a pass with nothing to do waits
   * on the metastore and the object store, not on the machine, so many overlap; those with a
   * write to carry out take one of `concurrency` slots first.
   */
  passesAtOnce?: number;
  /** Passes one table may take in a row in `runOnce` (each after an action). */
  maxPassesPerRun?: number;
  /** The tables' write leases (lake/lease.ts); without them this process assumes it is the only writer. */
  leases?: TableLeases;
  /** How long `runOnce` waits for a table another writer holds before reporting it as not in sync. */
  standbyMaxMs?: number;
  /** How soon a table another writer holds is looked at again (2 s). */
  standbyMs?: number;
  /** How often a write in flight reports its progress, in the log and the status file (5 s). */
  progressEveryMs?: number;
  /** Pruned tables' tombstones (lake/trash.ts); without it, a process-lifetime trash (tests). */
  trash?: Trash;
  /** How long a pruned table stays undroppable when its spec doesn't say (7 days). */
  trashDays?: number;
  /** The loop's time: the system's, or a fake one in tests. */
  clock?: Clock;
  /** Its metrics (failed passes, the queue), reported beside the status file for the API's /metrics; none in tests that don't ask. */
  metrics?: ReconcilerMetrics;
}

/** What `runOnce` reports per table: the last pass's verdict and what it said to do next, and what all its passes wrote. */
export type TableRunResult = Pick<PassResult, "table" | "ok" | "wrote" | "next">;

/** What changed between two loads of tables.yaml, by table id. */
export interface DesiredChange {
  added: string[];
  changed: string[];
  removed: string[];
}

export class Reconciler {
  private desired: DesiredState | undefined;
  private status: LakeStatus;
  private readonly queue: WorkQueue;
  private readonly clock: Clock;
  /** Tables with a pass or a drop in flight: the prune sweep leaves them alone. */
  private readonly busy = new Set<string>();
  private readonly passes = new Set<Promise<void>>();
  private readonly memory = new Map<string, TableMemory>();
  private stopper: AbortController | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly pruner: Pruner;
  /** The passes' driver: its observations refuse a table of the name of one in the trash. */
  private readonly passDriver: LakeDriver;
  private pruneDue = Number.POSITIVE_INFINITY;
  private sweeping = false;
  private metricsTimer: ReturnType<typeof setInterval> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private savedAt = 0;
  /** The prune sweep started last (by a load of tables.yaml, or a retry). */
  sweep: Promise<void> = Promise.resolve();
  private readonly opts: Required<ReconcilerOptions>;
  private readonly declaredIn: string;
  /** The writes carried out at once (`concurrency`), whatever number of passes runs. */
  private readonly actSlots: Slots;

  constructor(opts: ReconcilerOptions) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ReconcilerOptions;
    this.opts = {
      resyncMs: 60_000, backoffBaseMs: 2_000, backoffMaxMs: 5 * 60_000, concurrency: 2, passesAtOnce: 8, maxPassesPerRun: 5, standbyMaxMs: 30 * 60_000, standbyMs: 2_000,
      progressEveryMs: 5_000, leases: undefined, trash: new MemoryTrash(), trashDays: undefined, clock: systemClock, metrics: undefined, ...given,
    } as Required<ReconcilerOptions>;
    this.declaredIn = path.resolve(opts.tablesFile);
    this.clock = this.opts.clock;
    this.actSlots = new Slots(this.opts.concurrency);
    this.queue = new WorkQueue({ clock: this.clock, resyncMs: this.opts.resyncMs, backoffBaseMs: this.opts.backoffBaseMs, backoffMaxMs: this.opts.backoffMaxMs });
    const { driver, trash, warehouseBucket, log, leases, trashDays, statusFile } = this.opts;
    this.passDriver = guardTrash(driver, trash);
    this.pruner = new Pruner({
      driver, trash, warehouseBucket, log, leases, trashDays, statusFile, declaredIn: this.declaredIn,
      backoff: (n) => backoffDelay(n, this.opts.backoffBaseMs, this.opts.backoffMaxMs),
    });
    this.status = readStatus(opts.statusFile) ?? emptyStatus(opts.tablesFile);
    this.status.file = opts.tablesFile;
  }

  get lakeStatus(): LakeStatus {
    return this.status;
  }

  get tables(): TableSpec[] {
    return this.desired?.tables ?? [];
  }

  /** When the table is due next (ms since the epoch on the loop's clock; Infinity while a pass runs), for tests and `status`. */
  dueAt(id: string): number | undefined {
    return this.queue.due(id);
  }

  /**
   * Re-reads tables.yaml. Tables that are new or whose spec changed are due at once; the others
   * keep their due time (and backoff). An invalid file is reported, and the last valid state
   * keeps being served.
   */
  loadDesired(): DesiredChange {
    const change: DesiredChange = { added: [], changed: [], removed: [] };
    try {
      const next = loadTables(this.opts.tablesFile);
      if (this.status.specError) this.opts.log.info({ file: this.opts.tablesFile }, "tables.yaml is valid again");
      this.status.specError = undefined;
      const before = new Map((this.desired?.tables ?? []).map((t) => [tableId(t), t.generation]));
      for (const t of next.tables) {
        const id = tableId(t);
        const was = before.get(id);
        if (was === undefined) change.added.push(id);
        else if (was !== t.generation) change.changed.push(id);
      }
      const ids = new Set(next.tables.map(tableId));
      change.removed = [...before.keys()].filter((id) => !ids.has(id));
      this.desired = next;
      this.makeDue([...change.added, ...change.changed]);
      for (const id of change.removed) {
        this.queue.remove(id);
        this.memory.delete(id);
      }
      this.startSweep();
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      this.status.specError = err.message;
      this.opts.log.error({ file: err.file, problems: err.problems }, "tables.yaml is invalid; still serving the last valid version");
    }
    this.save();
    return change;
  }

  /** Asks for a pass over these tables now (their input changed). Other tables keep their due time. */
  requeue(ids: string[]): void {
    this.makeDue(ids);
  }

  private makeDue(ids: string[]): void {
    for (const id of ids) if (this.tables.some((t) => tableId(t) === id)) this.queue.add(id);
  }

  private save(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.savedAt = Date.now();
    writeStatus(this.opts.statusFile, this.status);
    void this.opts.metrics?.report({ depth: this.queue.depth, inFlight: this.queue.inFlight });
  }

  /**
   * A pass that changed nothing of its table's status but the times (lastPassAt, nextAttemptAt)
   * is saved with the next save, at most STATUS_COALESCE_MS later: the status file holds every
   * table, and rewriting it after each unchanged table's pass was most of a pass's time over
   * 1,000 tables (bench/noop-pass.ts). Any other change is saved at once.
   */
  private saveSoon(): void {
    if (Date.now() - this.savedAt >= STATUS_COALESCE_MS) return this.save();
    this.saveTimer ??= setTimeout(() => this.save(), STATUS_COALESCE_MS - (Date.now() - this.savedAt));
    this.saveTimer.unref?.();
  }

  private startSweep(): void {
    // A change while a sweep runs: another sweep right after it (it may have read the old state).
    if (this.sweeping) {
      this.pruneDue = 0;
      return;
    }
    this.sweeping = true;
    this.pruneDue = Number.POSITIVE_INFINITY;
    this.sweep = this.sweepUndeclared().finally(() => {
      this.sweeping = false;
      // The loop may sleep past the sweep's retry time otherwise.
      this.queue.wake();
    });
  }

  /**
   * Tables no longer declared: left alone, or (prune: true) pruned softly, or held until confirmed;
   * the trash purged when due; a failed drop retried with backoff (reconciler/prune.ts).
   */
  private async sweepUndeclared(): Promise<void> {
    const next = await this.pruner.sweep(this.status, new Set(this.tables.map(tableId)), this.busy, () => this.save());
    this.pruneDue = Math.min(this.pruneDue, next);
  }

  /**
   * One pass over one table, then the queue's decision: its status is saved once with the
   * schedule in it (and while an apply runs: when it starts, then with its progress every few
   * seconds). The table is the queue's (taken, or begun) until this returns.
   */
  private async pass(t: TableSpec): Promise<PassResult> {
    const id = tableId(t);
    const log = this.opts.log.child({ table: id, generation: t.generation });
    const prev = this.status.tables[id] ?? initialStatus(t, this.declaredIn);
    let result: PassResult;
    this.busy.add(id);
    try {
      result = await runPass(
        { driver: this.passDriver, sources: this.opts.sources, warehouseBucket: this.opts.warehouseBucket, baseDir: path.dirname(this.declaredIn), leases: this.opts.leases, progressEveryMs: this.opts.progressEveryMs, actSlot: () => this.actSlots.take(), trashDays: this.opts.trashDays },
        t,
        {
          prev,
          declaredIn: this.declaredIn,
          memory: this.memory.get(id) ?? {},
          log,
          standbyMs: this.opts.standbyMs,
          onApplying: (st) => {
            this.status.tables[id] = st;
            this.save();
          },
        },
      );
    } catch (err) {
      // runPass reports every failure itself; this is a bug, not a lake problem.
      log.error({ err: (err as Error).message }, "Table pass crashed; will retry");
      this.queue.crashed(id);
      throw err;
    } finally {
      this.busy.delete(id);
    }
    // A table's pollInterval (tables.yaml) says when a table in sync is looked at again.
    const scheduled = this.queue.done(id, result.next.kind === "done" && t.pollIntervalMs ? { kind: "done", afterMs: t.pollIntervalMs } : result.next);
    this.opts.metrics?.passDone(result);
    if (scheduled.retryAt !== undefined) log.debug({ failures: scheduled.failures, retryInMs: scheduled.retryAt - this.clock.now() }, "Table requeued");
    this.memory.set(id, result.memory);
    const before = this.status.tables[id];
    this.status.tables[id] = result.status = withSchedule(result.status, scheduled);
    if (before && onlyTimesChanged(before, result.status)) this.saveSoon();
    else this.save();
    return result;
  }

  /**
   * Reconciles every table once (the `--once` mode and tests): for each, passes until one
   * carries out no action (at most maxPassesPerRun); up to `passesAtOnce` tables at once, in the
   * order of tables.yaml, at most `concurrency` of them writing. Results in that order.
   */
  async runOnce(): Promise<TableRunResult[]> {
    this.loadDesired();
    await this.sweep;
    const tables = this.tables;
    const results: TableRunResult[] = new Array(tables.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < tables.length; i = next++) results[i] = await this.reconcileTable(tables[i]);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.opts.passesAtOnce, tables.length)) }, worker));
    if (this.saveTimer) this.save();
    return results;
  }

  /** Passes over one table until one carries out no action (at most maxPassesPerRun). */
  async reconcileTable(t: TableSpec): Promise<TableRunResult> {
    const id = tableId(t);
    let wrote = 0;
    let last: PassResult | undefined;
    const standbyUntil = this.clock.now() + this.opts.standbyMaxMs;
    for (let n = 0; n < this.opts.maxPassesPerRun && (!last || last.acted || last.standby); n++) {
      if (last?.standby) {
        // Another writer holds the table: wait its turn (not a pass of ours), then look again.
        if (this.clock.now() > standbyUntil) break;
        n--;
        await this.clock.sleep(waitOf(last.next));
      }
      this.queue.begin(id);
      last = await this.pass(t);
      wrote += last.wrote;
    }
    if (last!.acted) this.opts.log.warn({ table: id, passes: this.opts.maxPassesPerRun }, "Table still had work after the last pass of this run");
    return { table: last!.table, ok: last!.ok && !last!.acted, wrote, next: last!.next };
  }

  /** Starts the loop: due tables are reconciled, each at most once at a time. */
  start(): void {
    this.loadDesired();
    this.stopper = new AbortController();
    this.running = this.run(this.stopper.signal);
    const metrics = this.opts.metrics;
    if (metrics) {
      this.metricsTimer = setInterval(() => void metrics.report({ depth: this.queue.depth, inFlight: this.queue.inFlight }), METRICS_REPORT_EVERY_MS);
      this.metricsTimer.unref?.();
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.sweeping && this.pruneDue <= Date.now()) this.startSweep();
      const free = this.opts.passesAtOnce - this.queue.inFlight;
      for (const id of this.queue.take(free)) {
        const t = this.tables.find((x) => tableId(x) === id);
        if (!t) {
          this.queue.remove(id);
          continue;
        }
        const p: Promise<void> = this.pass(t)
          .then(() => undefined, () => undefined)
          .finally(() => this.passes.delete(p));
        this.passes.add(p);
      }
      // Until the next table is due (only when a slot is free to run it), the sweep's retry, or a wake.
      const pruneIn = this.sweeping ? Number.POSITIVE_INFINITY : this.pruneDue - Date.now();
      await this.queue.wait(signal, { capMs: pruneIn, untilDue: this.queue.inFlight < this.opts.passesAtOnce });
    }
  }

  /** Stops taking work and waits for passes in flight (a write is never cut in half by us). */
  async stop(): Promise<void> {
    this.stopper?.abort();
    clearInterval(this.metricsTimer);
    await this.running;
    while (this.passes.size > 0) await Promise.all([...this.passes]);
    await this.sweep;
    this.save();
  }

  /** True when every desired table is in sync (for `--until-synced` and tests). */
  allInSync(): boolean {
    const tables = this.tables;
    return tables.length > 0 && tables.every((t) => this.status.tables[tableId(t)]?.inSync);
  }
}

/** How long a save of a table's times alone may wait (Reconciler.saveSoon). */
export const STATUS_COALESCE_MS = 1000;

/** Whether two statuses of a table differ only in when it was last passed over and is next due. */
function onlyTimesChanged(a: TableStatus, b: TableStatus): boolean {
  const strip = ({ lastPassAt: _l, nextAttemptAt: _n, ...rest }: TableStatus) => JSON.stringify(rest);
  return strip(a) === strip(b);
}

/** How long a pass asked to wait before the next (a standby's look again). */
const waitOf = (next: Next): number => (next.kind === "requeue" ? (next.afterMs ?? 0) : 0);
