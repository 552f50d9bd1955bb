/**
 * The reconciler's metrics (prom-client): its writes (lake/metrics.ts, writer "reconciler"), its
 * failed passes by the reason they reported, and its work queue. The reconciler has no port: it
 * writes the registry as JSON beside its status report after every save of the status and every
 * few seconds, and the API serves it at GET /metrics (api/metrics.ts) with its own. One scrape
 * target, behind the API's read token, and nothing new listening.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { reconcilerMetricsFile, WriteMetrics, writeMetricsReport } from "../lake/metrics";
import type { PassResult } from "./pass";

/** How often the report is written while nothing else saves the status (the queue depth changes with time). */
export const METRICS_REPORT_EVERY_MS = 10_000;

export class ReconcilerMetrics {
  readonly registry = new Registry();
  readonly writes = new WriteMetrics(this.registry, "reconciler");
  readonly failures = new Counter({
    name: "lakeform_reconciler_failures_total",
    help: "Passes over a table that failed, by the reason the table reported (BadCsv, SparkUnavailable, …; terminal failures once per input)",
    labelNames: ["table", "reason"],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: "lakeform_reconciler_queue_depth", help: "Tables due for a pass and waiting for a free slot", registers: [this.registry] });
  readonly inFlight = new Gauge({ name: "lakeform_reconciler_passes_in_flight", help: "Passes running now", registers: [this.registry] });
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(statusFile: string) {
    this.file = reconcilerMetricsFile(statusFile);
  }

  /** A pass is over: a failure is counted by its reason (a terminal one remembered from before is no new failure: the pass has none). */
  passDone(result: Pick<PassResult, "table" | "failure">): void {
    if (result.failure) this.failures.inc({ table: result.table, reason: result.failure.error.reason });
  }

  /** Writes the report with the queue as it is now; writes never overlap, the last one wins. */
  report(queue: { depth: number; inFlight: number }): Promise<void> {
    this.queueDepth.set(queue.depth);
    this.inFlight.set(queue.inFlight);
    this.writing = this.writing.then(() => writeMetricsReport(this.file, this.registry)).catch(() => undefined);
    return this.writing;
  }
}
