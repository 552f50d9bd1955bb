/**
 * Diff: desired table × observed lake → what to do. Pure: no I/O, table-driven tests.
 *
 * The lake is the source of truth: a source counts as applied when some commit of the table
 * carries its content hash in the commit metadata. So a restart, or a second reconciler, plans
 * nothing for what is already there.
 */
import type { ResolvedSource } from "../lake/sources";
import type { TableSpec } from "../lake/spec";
import { appliedSourceHashes } from "../lake/commits";
import type { Observation } from "../lake/jobClient";

export type Plan =
  | { kind: "upToDate" }
  | { kind: "apply"; sources: ResolvedSource[]; recreate: boolean; reason: string }
  | { kind: "register"; reason: string }
  | { kind: "refuse"; reason: string };

/** Spec fields that can't change on a table that holds data (the files are laid out by them). */
const IMMUTABLE: (keyof TableSpec)[] = ["format", "primaryKey", "partitionBy"];

export function planTable(
  spec: TableSpec,
  sources: ResolvedSource[],
  observed: Observation,
  lastAppliedSpec?: Partial<TableSpec>,
): Plan {
  if (observed.exists && lastAppliedSpec) {
    for (const field of IMMUTABLE) {
      const before = lastAppliedSpec[field];
      if (before !== undefined && JSON.stringify(before) !== JSON.stringify(spec[field])) {
        return {
          kind: "refuse",
          reason: `${field} changed from ${JSON.stringify(before)} to ${JSON.stringify(spec[field])} on a table that holds data; create a new table instead`,
        };
      }
    }
  }
  // Drift. A table that lost only its catalog entry still has its files and its history: it is
  // put back as it was (nothing rewritten, so rows that came through the API survive too). A
  // table whose files are gone is rebuilt from all of its declared sources.
  if (!observed.inCatalog && observed.filesExist) {
    return { kind: "register", reason: `table is missing from the metastore but its files are intact: re-registering it with its ${observed.commits.length || "existing"} commit(s) of history` };
  }
  // A table without files that had writes before (its journal says which, API ingests included)
  // is rebuilt by replaying them in their order, then whatever declared source is new.
  const journal = observed.filesExist ? [] : (observed.journal ?? []);
  const recreate = !observed.filesExist && (observed.inCatalog || journal.length > 0);
  const replay: ResolvedSource[] = journal.map((e) => ({
    declared: `journal:${e.source}`,
    location: e.uri.replace(/^s3a:/, "s3:"),
    hash: e.sourceHash,
    bytes: 0,
    name: e.source,
  }));
  // Writes whose commits retention expired still count as applied (expiredSourceHashes).
  const applied = appliedSourceHashes(observed);
  const seen = new Set<string>();
  const pending = [...replay, ...sources].filter((s) => {
    if (applied.has(s.hash) || seen.has(s.hash)) return false;
    seen.add(s.hash);
    return true;
  });
  if (pending.length === 0) return { kind: "upToDate" };
  const replayed = pending.filter((s) => s.declared.startsWith("journal:")).length;
  const reason = recreate
    ? `table files are missing from the object store: rebuilding from ${replayed} journaled write(s) and ${pending.length - replayed} other declared source(s)`
    : !observed.exists
      ? `new table: ${pending.length} source(s) to apply`
      : `${pending.length} source(s) not applied yet`;
  return { kind: "apply", sources: pending, recreate, reason };
}
