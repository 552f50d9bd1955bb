/**
 * Progress of a write in flight, as people read it: the job server's figures (GET /progress,
 * lake/jobClient.ts's WriteProgress) turned into one line for the reconciler's log, the status
 * file (`lakeform status`: "Applying 2/3 sources: 45 % (…)") and the API. The percentage is the
 * current stage's: the bytes of the CSV its Spark work has read so far (checking keys reads the
 * file once, writing reads it again), so it restarts when a stage does, and the stage is named.
 */
import type { ApplyProgress } from "./apiReplies";
import type { WriteProgress } from "./jobClient";

/** Where a reconciler's apply is: which of the action's sources, and that write's progress (lake/apiReplies.ts). */
export type { ApplyProgress };

/** Bytes for people: 950 B, 12 kB, 92 MB, 1.2 GB (decimal units, as file sizes are shown). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** Bytes in binary units, for sizes people compare: 812 B, 4.2 KiB, 13.0 MiB, 2.1 GiB. */
export function formatBinaryBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

const count = (n: number) => n.toLocaleString("en-US");

/** "writing, 92 MB of 203 MB read, 900,000 of 2,000,000 rows": the figures known so far. */
export function describeWrite(p: { stage: string; bytesRead?: number; bytesTotal?: number; rowsRead?: number; rowsTotal?: number | null }): string {
  const parts = [p.stage];
  if (p.bytesTotal) parts.push(p.bytesRead !== undefined ? `${formatBytes(p.bytesRead)} of ${formatBytes(p.bytesTotal)} read` : `${formatBytes(p.bytesTotal)} to read`);
  // Spark's input records count each file's header line too ("5 of 4 rows"): never more than the total.
  if (p.rowsRead) parts.push(p.rowsTotal ? `${count(Math.min(p.rowsRead, p.rowsTotal))} of ${count(p.rowsTotal)} rows` : `${count(p.rowsRead)} rows`);
  else if (p.rowsTotal) parts.push(`${count(p.rowsTotal)} rows`);
  return parts.join(", ");
}

/** The job server's report on one write, as where an apply is. */
export function applyProgress(index: number, total: number, source: string, p: WriteProgress | undefined, now = new Date()): ApplyProgress {
  const out: ApplyProgress = { index, total, source, stage: p?.stage ?? "starting", at: now.toISOString() };
  if (!p) return out;
  if (p.percent !== undefined) out.percent = p.percent;
  if (p.bytesRead !== undefined) out.bytesRead = p.bytesRead;
  if (p.bytesTotal) out.bytesTotal = p.bytesTotal;
  if (p.rowsRead !== undefined) out.rowsRead = p.rowsRead;
  if (p.rowsTotal !== undefined) out.rowsTotal = p.rowsTotal;
  out.elapsedMs = p.elapsedMs;
  return out;
}

/** "2/3 sources: 45 % (leads.csv: writing, 92 MB of 203 MB read, 900,000 of 2,000,000 rows)" */
export function formatApplyProgress(a: ApplyProgress): string {
  const pct = a.percent !== undefined ? `: ${a.percent} %` : "";
  return `${a.index}/${a.total} source${a.total === 1 ? "" : "s"}${pct} (${a.source}: ${describeWrite(a)})`;
}
