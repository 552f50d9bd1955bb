/**
 * Which commit a user means: `since`/`until` of changes and the asOf of time travel, checked
 * against the commits a table still has. Pure (no I/O), so the rules are tested without a lake.
 *
 * A commit id must be one of the table's commits. A timestamp selects the last commit at or
 * before it. When retention expired older commits (`historyExpired`), anything older than the
 * oldest commit still kept is refused with COMMIT_EXPIRED naming that commit; when nothing was
 * ever expired, a time before the first commit simply means "before the table had rows".
 */
import { LakeformError } from "./errors";
import type { CommitInfo } from "./jobClient";

/** An asOf parsed: a commit id, or a moment in epoch milliseconds. */
export type CommitRef = { kind: "commit"; commit: string } | { kind: "timestamp"; epochMillis: number; input?: string };

export interface History {
  /** Oldest first, as the job server lists them. */
  commits: Pick<CommitInfo, "commit" | "time">[];
  historyExpired?: boolean;
}

function expired(table: string, what: string, h: History): LakeformError {
  const oldest = h.commits[0];
  return new LakeformError(
    "COMMIT_EXPIRED",
    `${what} is older than the history ${table} keeps: the oldest commit still there is ${oldest.commit} (${oldest.time}); older commits were expired by its retention`,
    { oldestCommit: oldest.commit, oldestTime: oldest.time },
  );
}

const describe = (ref: CommitRef) => (ref.kind === "commit" ? `commit ${ref.commit}` : `time ${ref.input ?? new Date(ref.epochMillis).toISOString()}`);

/**
 * The commit a ref names, or null for a time before the table's first commit (only when no
 * history was expired). Throws COMMIT_EXPIRED or UNKNOWN_COMMIT.
 */
export function resolveCommit(table: string, h: History, ref: CommitRef): string | null {
  if (h.commits.length === 0) throw new LakeformError("TABLE_MISSING", `table ${table} has no commits yet`);
  if (ref.kind === "commit") {
    if (h.commits.some((c) => c.commit === ref.commit)) return ref.commit;
    // Hudi instants are times: one before the oldest kept is an expired commit. Iceberg snapshot
    // ids are not ordered, so an unknown one is expired exactly when some history was.
    const hudiOlder = /^\d{14,17}$/.test(ref.commit) && /^\d{14,17}$/.test(h.commits[0].commit) && ref.commit.padEnd(17, "0") < h.commits[0].commit.padEnd(17, "0");
    if (h.historyExpired && (hudiOlder || !/^\d{14,17}$/.test(h.commits[0].commit))) throw expired(table, describe(ref), h);
    throw new LakeformError(
      "UNKNOWN_COMMIT",
      `${table} has no commit ${ref.commit}; its commits run from ${h.commits[0].commit} (${h.commits[0].time}) to ${h.commits[h.commits.length - 1].commit} (${h.commits[h.commits.length - 1].time})`,
      { oldestCommit: h.commits[0].commit },
    );
  }
  let found: string | null = null;
  for (const c of h.commits) if (Date.parse(c.time) <= ref.epochMillis) found = c.commit;
  if (found === null && h.historyExpired) throw expired(table, describe(ref), h);
  return found;
}

/**
 * The range of a changes request: commits after `since` up to and including `until` (the
 * newest when absent). `since` null means from the first commit on.
 */
export function resolveChangeRange(table: string, h: History, since: CommitRef, until?: CommitRef): { since: string | null; until: string } {
  const from = resolveCommit(table, h, since);
  const newest = h.commits[h.commits.length - 1].commit;
  if (!until) return { since: from, until: newest };
  const to = resolveCommit(table, h, until);
  if (to === null) throw new LakeformError("BAD_REQUEST", `until ${describe(until)} is before ${table}'s first commit`);
  const index = (c: string | null) => (c === null ? -1 : h.commits.findIndex((x) => x.commit === c));
  if (index(to) < index(from)) throw new LakeformError("BAD_REQUEST", `until (${to}) is before since (${from})`);
  return { since: from, until: to };
}

/**
 * Source hashes the table holds: those its commits record, and those of writes whose commits
 * retention expired (the job server reads them from the write journal).
 */
export function appliedSourceHashes(observed: { exists: boolean; commits: Pick<CommitInfo, "sourceHash">[]; expiredSourceHashes?: string[] }): Set<string> {
  if (!observed.exists) return new Set();
  return new Set([...observed.commits.map((c) => c.sourceHash), ...(observed.expiredSourceHashes ?? [])].filter((h): h is string => Boolean(h)));
}
