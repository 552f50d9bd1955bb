/**
 * The reconcile loop: level-triggered, per table. A request names a table only; each pass
 * re-reads the desired state (tables.yaml) and the observed state (the lake) in full, plans,
 * acts, and reports. Failures requeue with per-table exponential backoff; failures that retrying
 * can't fix (a bad CSV, a refused schema change) wait for their input to change.
 */
import * as path from "node:path";
import type { Logger } from "pino";
import { Reason, setCondition, type Condition } from "../lake/conditions";
import { JobError, jobTable, tableLocation, type JobClient, type Observation } from "../lake/jobClient";
import { planTable } from "./plan";
import { planMaintenance } from "./maintenance";
import { appliedSourceHashes } from "../lake/commits";
import { SourceError, type ResolvedSource, type Sources } from "../lake/sources";
import { loadTables, SpecError, tableId, type DesiredState, type TableSpec } from "../lake/spec";
import { emptyStatus, readStatus, writeStatus, type LakeStatus, type TableStatus } from "../lake/status";

export interface ReconcilerOptions {
  tablesFile: string;
  statusFile: string;
  warehouseBucket: string;
  jobs: JobClient;
  sources: Sources;
  log: Logger;
  /** Re-check every table this often even when nothing changed (drift). */
  resyncMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Tables reconciled at once (each table is only ever written by one pass at a time). */
  concurrency?: number;
}

export interface PassResult {
  table: string;
  ok: boolean;
  wrote: number;
  /** When to look at this table again. */
  requeueAfterMs: number;
}

/** Per-item exponential backoff, capped, with a little jitter so tables don't retry in lockstep. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.9 + 0.2 * random()));
}

const errorReason = (err: unknown): { reason: Reason; message: string; terminal: boolean } => {
  if (err instanceof SourceError) return { reason: Reason.SourceUnreadable, message: err.message, terminal: true };
  if (err instanceof JobError) {
    const reason =
      err.kind === "BadCsv" ? Reason.BadCsv
      : err.kind === "SchemaRefused" ? Reason.SchemaRefused
      : err.kind === "Unavailable" ? Reason.SparkUnavailable
      : Reason.SparkError;
    return { reason, message: err.message, terminal: err.terminal };
  }
  return { reason: Reason.SparkError, message: (err as Error).message ?? String(err), terminal: false };
};

const splitId = (id: string): [string, string] => {
  const dot = id.indexOf(".");
  return [id.slice(0, dot), id.slice(dot + 1)];
};

export class Reconciler {
  private desired: DesiredState | undefined;
  private status: LakeStatus;
  private readonly inFlight = new Set<string>();
  private readonly due = new Map<string, number>();
  /** Fingerprint of the input (spec generation + source hashes) a terminal failure happened on. */
  private readonly terminalInput = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** The prune sweep started by the last load of tables.yaml. */
  sweep: Promise<void> = Promise.resolve();
  private readonly opts: Required<Omit<ReconcilerOptions, "jobs" | "sources" | "log">> & Pick<ReconcilerOptions, "jobs" | "sources" | "log">;

  constructor(opts: ReconcilerOptions) {
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ReconcilerOptions;
    this.opts = { resyncMs: 60_000, backoffBaseMs: 2_000, backoffMaxMs: 5 * 60_000, concurrency: 2, ...given };
    this.status = readStatus(opts.statusFile) ?? emptyStatus(opts.tablesFile);
    this.status.file = opts.tablesFile;
  }

  get lakeStatus(): LakeStatus {
    return this.status;
  }

  /** Re-reads tables.yaml. An invalid file is reported, and the last valid state keeps being served. */
  loadDesired(): DesiredState | undefined {
    try {
      const next = loadTables(this.opts.tablesFile);
      if (this.status.specError) this.opts.log.info({ file: this.opts.tablesFile }, "tables.yaml is valid again");
      this.status.specError = undefined;
      this.desired = next;
      for (const t of next.tables) if (!this.due.has(tableId(t))) this.due.set(tableId(t), 0);
      for (const id of [...this.due.keys()]) if (!next.tables.some((t) => tableId(t) === id)) this.due.delete(id);
      this.sweep = this.sweepUndeclared();
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      this.status.specError = err.message;
      this.opts.log.error({ file: err.file, problems: err.problems }, "tables.yaml is invalid; still serving the last valid version");
    }
    this.save();
    return this.desired;
  }

  /** Asks for a pass over every table now (a source or tables.yaml changed). */
  requeueAll(): void {
    for (const t of this.desired?.tables ?? []) this.due.set(tableId(t), 0);
  }

  /**
   * Tables Lakeform reported on that tables.yaml no longer declares: their data is left alone,
   * unless the table said `prune: true`, then it is dropped with its files. Level-triggered: the
   * status file remembers what was declared, so a removal made while the reconciler was down is
   * acted on at its next start, and a prune that failed is tried again on the next pass.
   */
  private async sweepUndeclared(): Promise<void> {
    const wanted = new Set((this.desired?.tables ?? []).map(tableId));
    const work: Promise<void>[] = [];
    for (const [id, st] of Object.entries(this.status.tables)) {
      if (wanted.has(id) || this.inFlight.has(id)) continue;
      // Declared by another tables.yaml reconciled into the same lake: not ours to judge.
      if (st.declaredIn && st.declaredIn !== path.resolve(this.opts.tablesFile)) continue;
      if (!st.prune) {
        this.opts.log.info({ table: id }, "Table removed from tables.yaml; its data is left alone (prune: false)");
        delete this.status.tables[id];
        continue;
      }
      this.inFlight.add(id);
      const [database, name] = splitId(id);
      const location = tableLocation(this.opts.warehouseBucket, database, name);
      st.inSync = false;
      st.conditions = setCondition(st.conditions, { type: "Synced", status: "False", reason: Reason.Pruning, message: "removed from tables.yaml with prune: true; dropping the table and its files" });
      work.push(
        this.opts.jobs
          .drop({ name, database, format: st.format, location }, true)
          .then(() => {
            this.opts.log.info({ table: id, location }, "Pruned table removed from tables.yaml (prune: true): dropped with its files");
            delete this.status.tables[id];
          })
          .catch((err) => {
            const message = `prune failed, will retry: ${(err as Error).message}`;
            st.conditions = setCondition(st.conditions, { type: "Degraded", status: "True", reason: Reason.PruneFailed, message });
            this.opts.log.error({ table: id, err: (err as Error).message }, "Failed to prune table; will retry on the next pass");
          })
          .finally(() => {
            this.inFlight.delete(id);
            this.save();
          }),
      );
    }
    this.save();
    await Promise.all(work);
  }

  private save(): void {
    writeStatus(this.opts.statusFile, this.status);
  }

  private tableStatus(t: TableSpec): TableStatus {
    const id = tableId(t);
    const prev = this.status.tables[id];
    const conditions: Condition[] = prev?.conditions ?? [
      { type: "Ready", status: "Unknown", reason: Reason.Pending, message: "not observed yet", lastTransitionTime: new Date().toISOString() },
      { type: "Synced", status: "Unknown", reason: Reason.Pending, message: "not observed yet", lastTransitionTime: new Date().toISOString() },
    ];
    const st: TableStatus = {
      table: id,
      format: t.format,
      generation: t.generation,
      observedGeneration: prev?.observedGeneration,
      inSync: prev?.inSync ?? false,
      sources: prev?.sources ?? { total: 0, applied: 0 },
      lastCommit: prev?.lastCommit,
      rowCount: prev?.rowCount,
      columns: prev?.columns,
      conditions,
      failures: prev?.failures ?? 0,
      prune: t.prune,
      declaredIn: path.resolve(this.opts.tablesFile),
    };
    this.status.tables[id] = st;
    return st;
  }

  /** One pass over one table: observe, plan, act, report. */
  async reconcileTable(t: TableSpec): Promise<PassResult> {
    const id = tableId(t);
    const log = this.opts.log.child({ table: id, generation: t.generation });
    const st = this.tableStatus(t);
    const started = Date.now();
    let wrote = 0;
    let sources: ResolvedSource[] = [];
    try {
      const baseDir = path.dirname(this.opts.tablesFile);
      for (const declared of t.sources) sources.push(...(await this.opts.sources.resolve(declared, baseDir)));
      const fingerprint = `${t.generation}:${sources.map((s) => s.hash).join(",")}`;
      if (this.terminalInput.get(id) === fingerprint) {
        // Same input that failed for good last time: nothing new to try until it changes.
        return { table: id, ok: false, wrote: 0, requeueAfterMs: this.opts.resyncMs };
      }
      this.terminalInput.delete(id);
      const table = jobTable(t, this.opts.warehouseBucket);
      let observed = await this.opts.jobs.observe(table);
      const planFor = (o: Observation) => {
        const lastSpec = [...o.commits].reverse().find((c) => c.spec)?.spec;
        return planTable(t, sources, o, lastSpec ? JSON.parse(lastSpec) : undefined);
      };
      let plan = planFor(observed);
      let reregistered = false;
      if (plan.kind === "register") {
        log.warn({ location: table.location }, `Drift: ${plan.reason}`);
        await this.opts.jobs.register(table);
        reregistered = true;
        observed = await this.opts.jobs.observe(table);
        plan = planFor(observed);
        if (plan.kind === "register") throw new JobError("SparkError", "the table is still missing from the metastore after re-registering it");
      }
      if (plan.kind === "refuse") {
        throw Object.assign(new JobError("BadRequest", plan.reason), { reasonOverride: Reason.IncompatibleSpecChange });
      }
      if (plan.kind === "apply") {
        log.info({ sources: plan.sources.length, recreate: plan.recreate }, `Applying: ${plan.reason}`);
        st.conditions = setCondition(st.conditions, { type: "Synced", status: "False", reason: Reason.Applying, message: plan.reason });
        this.save();
        for (const src of plan.sources) {
          const uri = await this.opts.sources.land(src);
          const t0 = Date.now();
          const res = await this.opts.jobs.write(table, { uri, hash: src.hash, name: src.name ?? path.basename(src.location) }, t.generation);
          wrote++;
          log.info(
            { source: src.declared, file: src.location, commit: res.commit, rows: res.rowsWritten, renamed: res.renamed, addedColumns: res.addedColumns, durationMs: Date.now() - t0 },
            "Applied source",
          );
        }
        observed = await this.opts.jobs.observe(table);
      }
      this.report(st, t, sources, observed, reregistered ? "reregistered" : plan.kind === "apply" && plan.recreate ? "rebuilt" : undefined);
      await this.maintain(st, t, table, observed, log);
      st.failures = 0;
      st.nextAttemptAt = undefined;
      log[wrote > 0 ? "info" : "debug"]({ wrote, rows: observed.rowCount, durationMs: Date.now() - started }, "Table in sync");
      return { table: id, ok: true, wrote, requeueAfterMs: this.opts.resyncMs };
    } catch (err) {
      const { reason, message, terminal } = errorReason(err);
      const finalReason = (err as { reasonOverride?: Reason }).reasonOverride ?? reason;
      st.failures += 1;
      st.inSync = false;
      const delay = terminal ? this.opts.resyncMs : backoffDelay(st.failures, this.opts.backoffBaseMs, this.opts.backoffMaxMs);
      if (terminal) this.terminalInput.set(id, `${t.generation}:${sources.map((s) => s.hash).join(",")}`);
      st.nextAttemptAt = terminal ? undefined : new Date(Date.now() + delay).toISOString();
      st.conditions = setCondition(st.conditions, { type: "Synced", status: "False", reason: finalReason, message });
      st.conditions = setCondition(st.conditions, { type: "Degraded", status: "True", reason: finalReason, message });
      log.error(
        { reason: finalReason, err: message, detail: (err as JobError).detail, failures: st.failures, retryInMs: terminal ? undefined : delay },
        terminal ? "Table write refused; waiting for its input to change" : "Table pass failed; will retry",
      );
      return { table: id, ok: false, wrote, requeueAfterMs: delay };
    } finally {
      st.lastPassAt = new Date().toISOString();
      this.save();
    }
  }

  /**
   * Maintenance after the pass's writes, when the plan says it is due: done by the job server
   * under the table's write lock, so never concurrently with a write to it. A failure is
   * reported (Maintained: False) and tried again on the next pass; the data stays in sync.
   */
  private async maintain(st: TableStatus, t: TableSpec, table: ReturnType<typeof jobTable>, observed: Observation, log: Logger): Promise<void> {
    const plan = planMaintenance(t, observed);
    if (!plan.due) {
      st.conditions = setCondition(st.conditions, {
        type: "Maintained",
        status: "True",
        reason: Reason.Maintained,
        message: t.format === "hudi" ? "Hudi cleans, archives and sizes files with each write" : "within retention and file-size targets",
      });
      return;
    }
    try {
      log.info({ reasons: plan.reasons }, "Maintaining table");
      const res = await this.opts.jobs.maintain(table);
      st.lastMaintenance = { at: new Date().toISOString(), actions: res.actions, commits: res.commitsAfter, dataFiles: res.dataFilesAfter, oldestCommit: res.oldestCommit };
      const message = res.actions.length ? res.actions.join("; ") : "nothing to do";
      st.conditions = setCondition(st.conditions, { type: "Maintained", status: "True", reason: Reason.Maintained, message });
      log.info({ actions: res.actions, commits: res.commitsAfter, dataFiles: res.dataFilesAfter, durationMs: res.durationMs }, "Maintained table");
      const after = await this.opts.jobs.observe(table);
      st.lastCommit = after.commits.length ? { id: after.commits[after.commits.length - 1].commit, time: after.commits[after.commits.length - 1].time } : st.lastCommit;
    } catch (err) {
      const message = `maintenance failed, will retry: ${(err as Error).message}`;
      st.conditions = setCondition(st.conditions, { type: "Maintained", status: "False", reason: Reason.MaintenanceFailed, message });
      log.error({ err: (err as Error).message }, "Failed to maintain table; will retry on the next pass");
    }
  }

  private report(st: TableStatus, t: TableSpec, sources: ResolvedSource[], observed: Observation, repaired?: "reregistered" | "rebuilt"): void {
    const applied = appliedSourceHashes(observed);
    const last = observed.commits[observed.commits.length - 1];
    st.inSync = observed.exists && sources.every((s) => applied.has(s.hash));
    st.observedGeneration = t.generation;
    st.sources = { total: new Set(sources.map((s) => s.hash)).size, applied: new Set(sources.filter((s) => applied.has(s.hash)).map((s) => s.hash)).size };
    st.lastCommit = last ? { id: last.commit, time: last.time } : undefined;
    st.rowCount = observed.rowCount;
    st.columns = observed.columns.map((c) => c.name);
    st.conditions = setCondition(st.conditions, {
      type: "Ready",
      status: observed.exists ? "True" : "False",
      reason: observed.exists ? Reason.Healthy : Reason.TableMissing,
      message: observed.exists ? "table is registered and readable" : "table does not exist yet",
    });
    st.conditions = setCondition(st.conditions, {
      type: "Synced",
      status: st.inSync ? "True" : "False",
      reason: repaired ? Reason.Recreated : st.inSync ? Reason.UpToDate : Reason.SourcesPending,
      message: repaired === "reregistered"
        ? `table had disappeared from the metastore outside Lakeform; re-registered from its files with its ${observed.commits.length} commit(s) of history`
        : repaired === "rebuilt"
          ? `table's files had disappeared outside Lakeform; rebuilt from its write journal and declared sources (${observed.commits.length} write(s) replayed, API ingests included)`
          : st.inSync
          ? `all ${st.sources.total} source(s) applied`
          : `${st.sources.total - st.sources.applied} source(s) not applied`,
    });
    st.conditions = setCondition(st.conditions, { type: "Degraded", status: "False", reason: Reason.Healthy, message: "last pass succeeded" });
  }

  /** Reconciles every table once (the `--once` mode and tests). */
  async runOnce(): Promise<PassResult[]> {
    const desired = this.loadDesired();
    await this.sweep;
    const results: PassResult[] = [];
    for (const t of desired?.tables ?? []) results.push(await this.reconcileTable(t));
    return results;
  }

  /** Starts the loop: due tables are reconciled, each at most once at a time. */
  start(): void {
    this.loadDesired();
    const tick = () => {
      if (this.stopping) return;
      const now = Date.now();
      for (const t of this.desired?.tables ?? []) {
        const id = tableId(t);
        if (this.inFlight.size >= this.opts.concurrency) break;
        if (this.inFlight.has(id) || (this.due.get(id) ?? 0) > now) continue;
        this.inFlight.add(id);
        this.due.set(id, Number.POSITIVE_INFINITY);
        this.reconcileTable(t)
          .then((r) => {
            // A requeue asked for while this pass ran (due reset to 0) wins over the pass's own.
            if (this.due.get(id) === Number.POSITIVE_INFINITY) this.due.set(id, Date.now() + r.requeueAfterMs);
          })
          .finally(() => this.inFlight.delete(id));
      }
      this.timer = setTimeout(tick, 250);
    };
    tick();
  }

  /** Stops taking work and waits for passes in flight (a write is never cut in half by us). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 200));
    await this.sweep;
    this.save();
  }

  /** True when every desired table is in sync (for `--until-synced` and tests). */
  allInSync(): boolean {
    const tables = this.desired?.tables ?? [];
    return tables.length > 0 && tables.every((t) => this.status.tables[tableId(t)]?.inSync);
  }
}
