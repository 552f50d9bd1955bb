/**
 * A pass's decision, pure: up to date, one action to carry out, or a refusal; the Synced reason;
 * what a terminal failure is remembered by. Repairs are decided here too (a table missing from
 * the metastore, its files gone, the metastore lagging the table).
 *
 * The lake is the source of truth: a source counts as applied when some commit of the table
 * carries its content hash in the commit metadata, so a restart, or a second reconciler, plans
 * nothing for what is already there. What a pass remembers for the next one (`TableMemory`) is
 * only what no observation can tell: which input failed for good, and what the last pass did.
 */
import { Reason } from "../lake/conditions";
import { appliedSourceHashes } from "../lake/commits";
import { LakeformError, type ErrorCode } from "../lake/errors";
import type { JournalEntry, Observation } from "../lake/jobClient";
import { prefixPendingText, prefixRefusal, prefixSyncedText } from "../lake/prefixSources";
import type { ResolvedSource } from "../lake/sources";
import { partitionChange } from "../lake/partitioning";
import { IMMUTABLE_FIELDS, type TableSpec } from "../lake/spec";
import { planMaintenance, type MaintenancePlan } from "./maintenance";
import { rebuildStep, type RebuildCall } from "./rebuildPlan";
import type { Observed } from "./observe";
import { partitionStep, type PartitionStep } from "./partitionPlan";

/** One driver call of an action. */
export type Call = { op: "register" } | { op: "resync" } | { op: "forget" } | { op: "clearLeftovers" } | { op: "write"; source: ResolvedSource } | PartitionStep["call"] | RebuildCall;

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
  // A layout change under onIncompatibleChange: rebuild, or a rebuild left unsettled, is the one action (reconciler/rebuildPlan.ts); not again after it was refused for good.
  const rebuild = memory.terminal?.fingerprint === fp ? undefined : rebuildStep(spec, lake, lake.exists ? lastAppliedSpec(lake) : undefined, (b, a, f) => partitionChange(b, a, f) === "rebuild");
  if (rebuild?.refused) return { kind: "fail", fingerprint: fp, error: new LakeformError("INCOMPATIBLE_SPEC_CHANGE", rebuild.refused) };
  if (rebuild) return { kind: "act", fingerprint: fp, action: { kind: "apply", calls: [rebuild.call], reason: rebuild.reason }, synced: { status: "False", reason: Reason.Applying, message: rebuild.reason } };
  if (memory.terminal?.fingerprint === fp) {
    return { kind: "wait", fingerprint: fp, error: new LakeformError(memory.terminal.code, memory.terminal.message) };
  }
  // A watched prefix's object changed under onChange: fail: nothing is written, the object named.
  const changed = prefixRefusal(observed.prefixes);
  if (changed) return { kind: "fail", fingerprint: fp, error: changed };

  if (lake.exists) {
    const before = lastAppliedSpec(lake);
    for (const field of IMMUTABLE_FIELDS) {
      const was = before?.[field];
      // An Iceberg partitioning change is partition evolution (partitionStep), not a rebuild.
      if (field === "partitionBy" && partitionChange(before?.partitionBy, spec.partitionBy, spec.format) !== "rebuild") continue;
      if (was !== undefined && JSON.stringify(was) !== JSON.stringify(spec[field])) {
        const message = `${field} changed from ${JSON.stringify(was)} to ${JSON.stringify(spec[field])} on a table that holds data; create a new table instead`;
        return { kind: "fail", fingerprint: fp, error: new LakeformError("INCOMPATIBLE_SPEC_CHANGE", message, { field, from: was, to: spec[field] }) };
      }
    }
  }

  const evolve = partitionStep(spec, lake);
  if (evolve instanceof LakeformError) return { kind: "fail", fingerprint: fp, error: evolve };
  const action = withEvolution(chooseAction(lake, sources), evolve);
  if (action) {
    // Level-triggered, with one guard: the action the last pass carried out, planned again,
    // means the lake doesn't show what it did. Retried with backoff, not in a tight loop.
    if (memory.lastAction && sameCalls(memory.lastAction, action)) {
      const message = `the lake doesn't show the result of the last pass's action (${memory.lastAction.reason}); trying again`;
      return { kind: "fail", fingerprint: fp, error: new LakeformError("ACTION_NOT_OBSERVED", message) };
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
          : prefixSyncedText(new Set(sources.filter((s) => applied.has(s.hash) && !s.batch).map((s) => s.hash)).size, observed.prefixes);
  return {
    kind: "upToDate",
    fingerprint: fp,
    synced: { status: "True", reason: repair === "resynced" ? Reason.Resynced : repair ? Reason.Recreated : Reason.UpToDate, message },
    maintenance: planMaintenance(spec, lake, now),
  };
}

/** The partition evolution first, then the writes; a repair first on its own (the next pass evolves). */
function withEvolution(action: Action | undefined, evolve: PartitionStep | undefined): Action | undefined {
  if (!evolve || action?.repair) return action;
  if (!action) return { kind: "apply", calls: [evolve.call], reason: evolve.reason };
  return { ...action, calls: [evolve.call, ...action.calls], reason: `${evolve.reason}; ${action.reason}` };
}

/** A repair the table needs before anything else is written to it (repairOf). */
export interface Repair {
  repair: NonNullable<Action["repair"]>;
  /** Human: what is wrong and what the repair does. */
  reason: string;
  /** For a resync: what lagged. */
  drift?: string[];
}

/**
 * The repair the table needs before anything else is written to it, or none: pure, from the
 * observation alone (no declared source). The pass carries it out first (chooseAction); the API's
 * writes refuse a table that needs one (REPAIR_PENDING), since writing it first would make a new
 * table over the lost one (files gone), over its live files (catalog entry gone), or next to a
 * catalog entry that lags it.
 */
export function repairOf(lake: Observation): Repair | undefined {
  // A table that lost only its catalog entry still has its files and its history: it is put back
  // as it was (nothing rewritten, so rows that came through the API survive too).
  if (!lake.inCatalog && lake.filesExist) {
    return {
      repair: "reregistered",
      reason: `table is missing from the metastore but its files are intact: re-registering it with its ${lake.commits.length || "existing"} commit(s) of history`,
    };
  }
  // A table without files that had writes before (its journal says which, API ingests included),
  // or that the metastore still has, is rebuilt from its journal and its declared sources.
  const journal = lake.filesExist ? [] : (lake.journal ?? []);
  if (!lake.filesExist && (lake.inCatalog || journal.length > 0)) {
    return { repair: "rebuilt", reason: `table files are missing from the object store: rebuilding it from its ${journal.length} journaled write(s) and its declared sources` };
  }
  // A rebuild that stopped partway is not over: the rest of the journal is replayed first.
  const resume = unfinishedRebuild(lake);
  if (resume) {
    return {
      repair: "rebuilt",
      reason: `a rebuild stopped after replaying ${resume.replayed} of ${resume.of} journaled write(s): replaying the other ${resume.rest.length} before anything else is written`,
    };
  }
  // Catalog drift beyond existence: the metastore's entry lags the table's own latest state (a
  // commit whose hive sync didn't happen, say): synced again from the table, nothing rewritten.
  const drift = lake.exists ? (lake.catalogDrift ?? []) : [];
  if (drift.length > 0) return { repair: "resynced", drift, reason: `the metastore lags the table: ${drift.join("; ")}; syncing it again` };
  return undefined;
}

/**
 * A rebuild's replay of the journal: every entry once, in the journal's order (its records are
 * named by time), content written twice written twice, API deletes and updates as they came.
 * An entry is one write: a record read twice (the same commit) is replayed once. Each is read as
 * its write read it: the record's `read` goes with it (lake/sourceFormat.ts sourceRead sends it back).
 */
export function replayOf(journal: JournalEntry[]): ResolvedSource[] {
  const entries = journalWrites(journal);
  const last = entries[entries.length - 1]?.commit ?? "";
  return entries.map((e) => ({
    declared: `journal:${e.source}`,
    location: e.uri.replace(/^s3a:/, "s3:"),
    hash: e.sourceHash,
    bytes: 0,
    name: e.source,
    replay: { of: e.commit, last },
    ...(e.read ? { read: e.read } : {}),
  }));
}

/** The journal's writes, oldest first, each once (a record read twice names the same commit). */
function journalWrites(journal: JournalEntry[]): JournalEntry[] {
  const seen = new Set<string>();
  return journal.filter((e) => !seen.has(e.commit) && seen.add(e.commit));
}

/**
 * A rebuild that stopped partway (its job server killed between two replays, say): the table has
 * files again, and its newest commit is the replay of a journal entry short of the one the
 * rebuild was to end with (SourceSchema's replay: both are kept in each replayed commit). Then
 * the journal entries after the last one replayed, or undefined when no rebuild is unfinished.
 * Writes are refused meanwhile (REPAIR_PENDING), so nothing else lands between two replays.
 */
export function unfinishedRebuild(lake: Observation): { rest: ResolvedSource[]; replayed: number; of: number } | undefined {
  const newest = lake.commits[lake.commits.length - 1];
  if (!lake.filesExist || !newest?.replayOf || !newest.replayLast || newest.replayOf === newest.replayLast) return undefined;
  const entries = journalWrites(lake.journal ?? []);
  const at = entries.findIndex((e) => e.commit === newest.replayOf);
  if (at < 0 || entries[entries.length - 1].commit !== newest.replayLast) return undefined;
  const rest = replayOf(entries).slice(at + 1);
  return { rest, replayed: at + 1, of: entries.length };
}

/**
 * The declared sources still to apply, each at most once: not carried by a commit, an expired
 * commit (expiredSourceHashes) or a journal entry being replayed, and not declared twice.
 */
export function sourcesToApply(lake: Observation, journal: JournalEntry[], sources: ResolvedSource[]): ResolvedSource[] {
  const applied = appliedSourceHashes(lake);
  for (const e of journal) applied.add(e.sourceHash);
  return sources.filter((s) => {
    if (applied.has(s.hash)) return false;
    applied.add(s.hash);
    return true;
  });
}

/** The one action that brings the table closer to its spec, or none when it is there. */
function chooseAction(lake: Observation, sources: ResolvedSource[]): Action | undefined {
  const needed = repairOf(lake);
  // Drift: the catalog entry alone is gone.
  if (needed?.repair === "reregistered") return { kind: "register", calls: [{ op: "register" }], repair: needed.repair, reason: needed.reason };
  // A table without files is rebuilt by replaying its journal in its order, then whatever declared
  // source is new. The whole rebuild is one action; one that stopped partway is resumed after the
  // last entry it replayed (unfinishedRebuild).
  const resume = unfinishedRebuild(lake);
  const journal = lake.filesExist && !resume ? [] : (lake.journal ?? []);
  const rebuild = needed?.repair === "rebuilt";
  const pending = [...(resume ? resume.rest : replayOf(journal)), ...sourcesToApply(lake, journal, sources)];
  if (pending.length === 0) {
    // Catalog drift: with writes pending, the write's own sync does it. Register would leave an
    // entry that exists alone: resync runs the format's sync on it.
    if (needed?.repair !== "resynced") return undefined;
    return { kind: "resync", calls: [{ op: "resync" }], repair: needed.repair, drift: needed.drift, reason: needed.reason };
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
      ? `new table: ${prefixPendingText(pending) ?? `${pending.length} source(s) to apply`}`
      : (prefixPendingText(pending) ?? `${pending.length} source(s) not applied yet`);
  return { kind: "apply", calls, repair: rebuild ? "rebuilt" : undefined, reason };
}
