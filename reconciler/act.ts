/**
 * A pass's action: the one planned action's driver calls, in order (the loop then requeues the
 * table at once and the next pass observes what the action did), the progress of a write in
 * flight, and the maintenance of a table in sync (retention, orphan files, compaction).
 */
import * as path from "node:path";
import type { Logger } from "pino";
import { asLakeformError, LakeformError } from "../lake/errors";
import { jobTable, type JobTable, type MaintainResult } from "../lake/jobClient";
import { applyProgress, formatApplyProgress, type ApplyProgress } from "../lake/progress";
import { sourceRead, type DetectedFormat } from "../lake/sourceFormat";
import type { ResolvedSource } from "../lake/sources";
import type { TableSpec } from "../lake/spec";
import type { MaintenancePlan } from "./maintenance";
import type { PassDeps } from "./observe";
import type { Action } from "./plan";

export interface ActResult {
  /** Sources written. */
  wrote: number;
}

/**
 * Carries out one action's calls in order; the first failure stops it (every call is
 * idempotent, so the retry starts over from a fresh observation).
 */
export async function act(deps: PassDeps & { declaredIn?: string }, spec: TableSpec, action: Action, log: Logger, onProgress?: (p: ApplyProgress) => void): Promise<ActResult> {
  const table: JobTable = jobTable(spec, deps.warehouseBucket);
  let wrote = 0;
  const writes = action.calls.filter((c) => c.op === "write").length;
  for (const call of action.calls) {
    switch (call.op) {
      case "rebuild": {
        if (!deps.driver.rebuild) throw new LakeformError("INTERNAL", "this reconciler's driver can't rebuild a table");
        log.warn({ location: table.location, change: call.change }, `Rebuilding: ${action.reason}`);
        // The replaced table's tombstone names this tables.yaml, whose reconciler purges it when its trash period ends.
        const res = await deps.driver.rebuild(table, call.previous, spec.generation, { trashDays: spec.trash?.days ?? deps.trashDays, declaredIn: deps.declaredIn });
        log.info(
          { change: res.change, rows: res.rows, keys: res.keys, checksum: res.checksum, bytes: res.bytes, shadow: res.shadow, trash: res.trashTable, purgeAfter: res.purgeAfter, settled: res.settled, durationMs: res.durationMs },
          res.rebuilt
            ? `Rebuilt the table (${res.change}): ${res.rows} rows verified and swapped in; the table it replaced is in the trash as ${res.trashTable} until ${res.purgeAfter}`
            : res.settled ? `Settled a rebuild stopped earlier (${res.settled}); the table already has its layout` : "The table already had its layout: nothing rebuilt",
        );
        break;
      }
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
      case "evolvePartitions": {
        const res = await deps.driver.evolvePartitions(table);
        log.info({ before: res.before, after: res.after, dropped: res.dropped, added: res.added }, res.evolved ? "Evolved the table's partition spec (no data file rewritten)" : "The table's partition spec was already the declared one");
        break;
      }
      case "write": {
        const src = call.source;
        const read = sourceRead(spec, src);
        const uri = await deps.sources.land(src, read.detected);
        const t0 = Date.now();
        const name = src.name ?? path.basename(src.location);
        const watch = watchWrite(deps, table, { index: wrote + 1, total: writes, source: name }, log, onProgress);
        const res = await deps.driver
          .write(table, { uri, hash: src.hash, name, ...read.request, ...(src.replay ? { replay: src.replay } : {}) }, spec.generation)
          .catch(async (err: unknown) => {
            throw await withObjectLine(deps, src, read.detected, err);
          })
          .finally(() => watch.stop());
        wrote++;
        const applied = { source: src.declared, file: src.location, commit: res.commit, rows: res.rowsWritten, renamed: res.renamed, addedColumns: res.addedColumns, durationMs: Date.now() - t0 };
        // schemaPolicy's discards are never silent: counted in the commit (lakeform.rows_discarded) and said here.
        // Expectations: every rule's count said; rows left out or quarantined at warn.
        const broke = (res.expectations ?? []).filter((e) => e.failed > 0);
        if (broke.length) {
          log.warn({ ...applied, expectations: res.expectations }, `Applied source; expectations broken: ${broke.map((e) => `${e.name} (${e.action}) ${e.failed}`).join(", ")}`);
        }
        if (res.rowsDiscarded || res.discardedColumns?.length) {
          log.warn({ ...applied, rowsDiscarded: res.rowsDiscarded ?? 0, discarded: res.discarded, discardedColumns: res.discardedColumns }, "Applied source, leaving out what schemaPolicy discards");
        } else log.info(applied, "Applied source");
        break;
      }
    }
  }
  return { wrote };
}

/**
 * A failed write of a watched prefix's joined batch names lines of the landed file: the first
 * one the message names is said as the line of the object it came from, too (details object,
 * objectLine). Any other failure is as it was.
 */
async function withObjectLine(deps: PassDeps, src: ResolvedSource, detected: DetectedFormat, err: unknown): Promise<unknown> {
  const m = src.batch && deps.sources.batchLine ? /\bline (\d+)\b/.exec((err as Error)?.message ?? "") : null;
  if (!m) return err;
  const at = await deps.sources.batchLine!(src, Number(m[1]), detected).catch(() => undefined);
  if (!at) return err;
  const e = asLakeformError(err);
  return new LakeformError(e.code, `${e.message} (line ${m[1]} of the batch is line ${at.line} of ${at.location})`, { ...e.details, object: at.location, objectLine: at.line }, { cause: err });
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
    const error = asLakeformError(err);
    log.error({ code: error.code, err: error.message }, "Failed to maintain table; will retry on the next pass");
    return { done: false, error };
  }
}

/** What became of a maintenance the plan found due: it never fails the pass (the data is in sync). */
export type MaintenanceOutcome = { done: true; result: MaintainResult; at: Date } | { done: false; error: LakeformError };
