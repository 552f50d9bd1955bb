/**
 * The reconciler's report: per table, is it in sync, and if not, why. Written atomically to the
 * stack's data dir after every pass; `lakeform status` reads it. It is a report, not state: the
 * reconciler never reads it back to decide what to write (the lake's commit metadata does that).
 */
import type { TableStatus as TableStatusReport } from "./apiReplies";
import { getCondition, Reason } from "./conditions";
import { readJson, writeJsonAtomic } from "./files";
import { formatApplyProgress } from "./progress";

/** A table in the report (lake/apiReplies.ts's TableStatusSchema, which the API serves). */
export type TableStatus = TableStatusReport;

export interface LakeStatus {
  file: string;
  /** The last problem with tables.yaml itself, if the file is invalid now. */
  specError?: string;
  updatedAt: string;
  tables: Record<string, TableStatus>;
}

export function emptyStatus(file: string): LakeStatus {
  return { file, updatedAt: new Date().toISOString(), tables: {} };
}

export function readStatus(file: string): LakeStatus | undefined {
  return readJson<LakeStatus>(file);
}

export function writeStatus(file: string, status: LakeStatus): void {
  writeJsonAtomic(file, { ...status, updatedAt: new Date().toISOString() });
}

/** The Maintained column: when the last maintenance ran, or why it failed. */
function maintained(t: TableStatus): string {
  const c = getCondition(t.conditions, "Maintained");
  if (c?.status === "False") return c.reason;
  if (t.lastMaintenance) return t.lastMaintenance.at.replace(/\.\d+Z$/, "Z");
  return "-";
}

/**
 * A reconciler reports a write in flight every few seconds: a report older than a minute means
 * it stopped reporting (killed mid-write, or its job server not answering), so say how old it is.
 */
function staleNote(at: string, now: Date): string {
  const ageS = Math.floor((now.getTime() - Date.parse(at)) / 1000);
  if (!(ageS > 60)) return "";
  const ago = ageS < 3600 ? `${Math.floor(ageS / 60)} min` : `${Math.floor(ageS / 3600)} h ${Math.floor((ageS % 3600) / 60)} min`;
  return ` (last report ${ago} ago: is the reconciler running?)`;
}

/** One line per table, for terminals: what a data engineer wants to know at a glance. */
/**
 * `unverified`: why no line can be checked now (an engine or the reconciler down): every line
 * then says it is the last one the reconciler wrote, and a synced one shows SYNCED as "unknown".
 */
const ACTED: Record<string, string> = { warn: "warned", drop: "dropped", quarantine: "quarantined", fail: "failed" };

/** The last checked commit's expectation hits (rules no row broke left out): "; expectations: email_shape 3 warned, known_region 2 quarantined". */
function expectationNote(t: TableStatus): string {
  const hits = Object.entries(t.expectations ?? {}).filter(([, e]) => e.failed > 0);
  return hits.length ? `; expectations: ${hits.map(([rule, e]) => `${rule} ${e.failed} ${ACTED[e.action] ?? e.action}`).join(", ")}` : "";
}

export function formatStatus(status: LakeStatus, now = new Date(), opts: { unverified?: string } = {}): string {
  const lines: string[] = [];
  if (status.specError) lines.push(`tables.yaml: INVALID (serving the last valid version)\n${status.specError}\n`);
  const rows = Object.values(status.tables).sort((a, b) => a.table.localeCompare(b.table));
  if (rows.length === 0) lines.push("no tables");
  const header = ["TABLE", "FORMAT", "SYNCED", "SOURCES", "ROWS", "LAST COMMIT", "GENERATION", "MAINTAINED", "REASON"];
  const table = rows.map((t) => {
    const synced = getCondition(t.conditions, "Synced");
    const degraded = getCondition(t.conditions, "Degraded");
    const why = degraded?.status === "True" ? degraded : synced;
    return [
      t.table,
      t.format,
      t.inSync ? (opts.unverified ? "unknown" : "yes") : "NO",
      `${t.sources.applied}/${t.sources.total}`,
      t.rowCount === undefined || t.rowCount === null ? "-" : String(t.rowCount),
      t.lastCommit ? `${t.lastCommit.id} (${t.lastCommit.time})` : "-",
      `${t.observedGeneration ?? "-"}${t.observedGeneration && t.observedGeneration !== t.generation ? ` (want ${t.generation})` : ""}`,
      maintained(t),
      // "UpToDate" says it all; anything else (including a repaired "Recreated") says why.
      (opts.unverified ? `Unverified (${opts.unverified}; as last reported) ` : "") +
      (why?.reason === Reason.Applying && t.applying ? `Applying ${formatApplyProgress(t.applying)}${staleNote(t.applying.at, now)}` : why ? `${why.reason}${why.type === "Synced" && why.reason === "UpToDate" ? "" : `: ${why.message}`}` : "-") +
      expectationNote(t),
    ];
  });
  const last = header.length - 1;
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (i === last ? 0 : r[i].length))));
  const fmt = (r: string[]) => r.map((c, i) => (i === last ? c : c.padEnd(widths[i]))).join("  ");
  if (rows.length > 0) lines.push(fmt(header), ...table.map(fmt));
  return lines.join("\n");
}
