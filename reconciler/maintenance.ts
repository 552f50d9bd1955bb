/**
 * Maintenance, planned like data: from the table's spec (retain, targetFileSizeMB) and what the
 * lake holds (commits, data files), whether the job server should expire history, remove orphan
 * files and compact now. Pure: no I/O, table-driven tests.
 *
 * Hudi cleans, archives and fills small files inline with each write (the job server sets its
 * cleaner, archival and file sizing from the same spec), so for Hudi this plans nothing beyond
 * what the writes did; Iceberg needs the separate pass.
 */
import type { Observation } from "../lake/jobClient";
import { DEFAULT_RETAIN, type TableSpec } from "../lake/spec";
/** Compact once this many data files are under 3/4 of the target size (fewer isn't worth a commit). */
export const SMALL_FILES_TO_COMPACT = 4;

export interface MaintenancePlan {
  due: boolean;
  reasons: string[];
}

export function planMaintenance(spec: Pick<TableSpec, "format" | "retain">, observed: Pick<Observation, "exists" | "commits" | "dataFiles">, now = Date.now()): MaintenancePlan {
  if (!observed.exists || spec.format !== "iceberg") return { due: false, reasons: [] };
  const reasons: string[] = [];
  const retain = spec.retain ?? DEFAULT_RETAIN;
  const commits = observed.commits;
  if ("commits" in retain) {
    if (commits.length > retain.commits) reasons.push(`${commits.length} commits, retain ${retain.commits}`);
  } else if (commits.length > 1) {
    const cutoff = now - retain.days * 86_400_000;
    const old = commits.slice(0, -1).filter((c) => Date.parse(c.time) < cutoff).length;
    if (old > 0) reasons.push(`${old} commit(s) older than ${retain.days} day(s)`);
  }
  const files = observed.dataFiles;
  if (files && files.small >= SMALL_FILES_TO_COMPACT) {
    reasons.push(`${files.small} of ${files.count} data files under 3/4 of the ${Math.round(files.targetBytes / 1048576)} MB target`);
  }
  return { due: reasons.length > 0, reasons };
}
