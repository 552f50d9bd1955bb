/**
 * GET /metrics: Prometheus's text format (prom-client), read scope like every read route. One
 * scrape serves the whole of Lakeform's loop:
 * - per table, from the reconciler's status report (lake/status.ts), at scrape time: whether it
 *   is in sync and why (`lakeform_table_synced{table,reason}`), seconds since its last commit,
 *   its rows, its sources not applied yet, its consecutive failures;
 * - the job server's writes in flight per table (its GET /progress), and whether it answered;
 * - the writes of both writers (lake/metrics.ts): this API's own, and the reconciler's with its
 *   failed passes by reason and its queue, from the report it writes beside its status file
 *   (reconciler/metrics.ts; the reconciler has no port), with how old that report is.
 *
 * Labels are bounded: the tables are those of this API's tables.yaml (and any its status still
 * reports, such as one held for a prune), never a source, a commit id or a message.
 */
import { AggregatorRegistry, Gauge, Registry } from "prom-client";
import type { WriteProgress } from "../lake/jobClient";
import { MeteredJobClient, readMetricsReport, reconcilerMetricsFile, type MetricsReport } from "../lake/metrics";
import { tableId } from "../lake/spec";
import { getCondition } from "../lake/conditions";
import type { LakeStatus, TableStatus } from "../lake/status";
import type { LakeService } from "./service";

/** What one scrape is made of: read by `scrapeMetrics`, mapped to metrics by `metricsRegistry` (pure). */
export interface ScrapeInput {
  now: Date;
  status: LakeStatus | undefined;
  /** The tables tables.yaml declares now (ids); undefined when the file can't be read. */
  declared: string[] | undefined;
  /** The tables.yaml this API serves: only its tables are reported from the status file. */
  tablesFile: string;
  /** The job server's writes in flight; undefined when it didn't answer. */
  writesInFlight: WriteProgress[] | undefined;
  /** The reconciler's metrics report, if one is there. */
  reconciler: MetricsReport | undefined;
}

/** The reason a table's sync state carries: a degradation's, else the Synced condition's (as `lakeform status` shows it). */
export function syncReason(t: TableStatus | undefined): string {
  if (!t) return "Pending";
  const degraded = getCondition(t.conditions, "Degraded");
  if (degraded?.status === "True") return degraded.reason;
  return getCondition(t.conditions, "Synced")?.reason ?? "Pending";
}

/** The tables a scrape reports: declared now, and those of the same tables.yaml the status still has. */
export function reportedTables(input: Pick<ScrapeInput, "status" | "declared" | "tablesFile">): string[] {
  const ids = new Set(input.declared ?? []);
  for (const [id, t] of Object.entries(input.status?.tables ?? {})) if (t.declaredIn === undefined || t.declaredIn === input.tablesFile) ids.add(id);
  return [...ids].sort();
}

/** The metrics derived at scrape time, as a registry of their own (pure: everything comes in `input`). */
export function metricsRegistry(input: ScrapeInput): Registry {
  const reg = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [reg] });
  const synced = gauge("lakeform_table_synced", "1 when the table is in sync with tables.yaml, else 0; reason says why (UpToDate, Applying, BadCsv, …)", ["table", "reason"]);
  const commitAge = gauge("lakeform_table_last_commit_age_seconds", "Seconds since the table's newest commit", ["table"]);
  const rows = gauge("lakeform_table_rows", "Rows in the table at the reconciler's last observation", ["table"]);
  const pending = gauge("lakeform_table_sources_pending", "Declared sources not applied yet", ["table"]);
  const failing = gauge("lakeform_table_consecutive_failures", "Failed passes over the table in a row (0 once in sync)", ["table"]);
  const inFlight = gauge("lakeform_jobserver_writes_in_flight", "Writes the Spark job server runs now, per table", ["table"]);
  const jobServerUp = gauge("lakeform_jobserver_up", "1 when the Spark job server answered for its writes in flight");
  const specValid = gauge("lakeform_tables_yaml_valid", "1 when tables.yaml is valid, 0 while the last valid version is served");

  const tables = reportedTables(input);
  const now = input.now.getTime();
  for (const id of tables) {
    const t = input.status?.tables[id];
    synced.set({ table: id, reason: syncReason(t) }, t?.inSync ? 1 : 0);
    const at = t?.lastCommit ? Date.parse(t.lastCommit.time) : Number.NaN;
    if (Number.isFinite(at)) commitAge.set({ table: id }, Math.max(0, (now - at) / 1000));
    if (typeof t?.rowCount === "number") rows.set({ table: id }, t.rowCount);
    if (t) pending.set({ table: id }, Math.max(0, t.sources.total - t.sources.applied));
    failing.set({ table: id }, t?.failures ?? 0);
  }
  jobServerUp.set(input.writesInFlight ? 1 : 0);
  if (input.writesInFlight) {
    const known = new Set(tables);
    for (const id of tables) inFlight.set({ table: id }, 0);
    // A write of a table this API doesn't serve (another tables.yaml's) is counted apart: its name is not a label here.
    for (const w of input.writesInFlight) inFlight.inc({ table: known.has(w.table) ? w.table : "other" });
  }
  specValid.set(input.status?.specError || input.declared === undefined ? 0 : 1);
  // Absent, rather than 0, when no reconciler has reported: a report is never as fresh as that.
  if (input.reconciler) {
    gauge("lakeform_reconciler_report_age_seconds", "Seconds since the reconciler last wrote its metrics report (it writes one every 10 s while it runs)").set(Math.max(0, (now - Date.parse(input.reconciler.writtenAt)) / 1000));
  }
  return reg;
}

/** The API's own metrics registry: its JobClient's, when its writes are counted (api/runtime.ts). */
function ownRegistry(lake: Pick<LakeService, "jobs">): Registry | undefined {
  return lake.jobs instanceof MeteredJobClient ? lake.jobs.metrics.registry : undefined;
}

/** One scrape: the status, tables.yaml, the job server's progress and the reconciler's report, merged with this API's writes. */
export async function scrapeMetrics(lake: Pick<LakeService, "status" | "specs" | "jobs" | "tablesFile" | "statusFile">, now = new Date()): Promise<{ contentType: string; text: string }> {
  let declared: string[] | undefined;
  try {
    declared = lake.specs().map(tableId);
  } catch {
    declared = undefined;
  }
  const writesInFlight = await lake.jobs.progress().catch(() => undefined);
  const input: ScrapeInput = { now, status: lake.status(), declared, tablesFile: lake.tablesFile, writesInFlight, reconciler: readMetricsReport(reconcilerMetricsFile(lake.statusFile)) };
  const parts = [await metricsRegistry(input).getMetricsAsJSON()];
  const own = ownRegistry(lake);
  if (own) parts.push(await own.getMetricsAsJSON());
  if (input.reconciler) parts.push(input.reconciler.metrics);
  // The writes of both writers share names (told apart by `writer`): summed per label set, as a cluster's workers are.
  const merged = AggregatorRegistry.aggregate(parts);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
