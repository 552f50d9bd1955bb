/**
 * Prometheus metrics of the writes (prom-client), shared by the two writers: the reconciler and
 * the REST API each count the writes they send the Spark job server (`MeteredJobClient`), by
 * table and writer. The API serves them at GET /metrics with the ones it derives from the status
 * report and the job server at scrape time (api/metrics.ts), and the reconciler's: the
 * reconciler has no port, it writes its registry's JSON beside its status report
 * (`reconcilerMetricsFile`), which the API merges in (prom-client's `AggregatorRegistry.aggregate`,
 * the way a cluster's workers are merged).
 *
 * Labels are bounded: a table's id (`<database>.<table>`, of tables.yaml), the writer (api |
 * reconciler), an error code or a status reason; never a source, a commit or a message.
 */
import * as path from "node:path";
import { Counter, Histogram, Registry } from "prom-client";
import { asLakeformError } from "./errors";
import { readJson, writeJsonAtomic } from "./files";
import { JobClient } from "./jobClient";

export type Writer = "api" | "reconciler";

/** Seconds: a small upsert takes a few, a 2M-row load tens, a table timeout is 15 min. */
export const WRITE_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900];

/** The writes one process sends the job server: durations, rows, failures by error code. */
export class WriteMetrics {
  readonly duration: Histogram<"table" | "writer">;
  readonly rows: Counter<"table" | "writer">;
  readonly failures: Counter<"table" | "writer" | "code">;
  readonly expectations: Counter<"table" | "writer" | "rule" | "action">;

  constructor(
    readonly registry: Registry,
    readonly writer: Writer,
  ) {
    this.duration = new Histogram({
      name: "lakeform_write_duration_seconds",
      help: "Writes through the Spark job server that committed, by how long they took (the request, landing excluded)",
      labelNames: ["table", "writer"],
      buckets: WRITE_BUCKETS,
      registers: [registry],
    });
    this.rows = new Counter({ name: "lakeform_rows_written_total", help: "Rows the committed writes wrote (as the job server counts them)", labelNames: ["table", "writer"], registers: [registry] });
    this.expectations = new Counter({
      name: "lakeform_expectation_rows_total",
      help: "Rows committed writes found breaking an expectation (tables.yaml expect:), by rule and action (warn: written, drop: left out, quarantine: in <table>__quarantine)",
      labelNames: ["table", "writer", "rule", "action"],
      registers: [registry],
    });
    this.failures = new Counter({ name: "lakeform_write_failures_total", help: "Writes through the Spark job server that failed, by error code (lake/errorCodes.json)", labelNames: ["table", "writer", "code"], registers: [registry] });
  }

  /** Rows a committed write found breaking an expectation, by rule and action (lake/expectations.ts). */
  expectationRows(table: string, results: { name: string; action: string; failed: number }[] | undefined): void {
    for (const e of results ?? []) this.expectations.inc({ table, writer: this.writer, rule: e.name, action: e.action }, e.failed);
  }

  committed(table: string, seconds: number, rows: number): void {
    this.duration.observe({ table, writer: this.writer }, seconds);
    this.rows.inc({ table, writer: this.writer }, Math.max(0, rows));
  }

  failed(table: string, err: unknown): void {
    this.failures.inc({ table, writer: this.writer, code: asLakeformError(err).code });
  }
}

/** A JobClient whose writes are counted: the one place both writers' writes go through. */
export class MeteredJobClient extends JobClient {
  constructor(
    baseUrl: string,
    opts: ConstructorParameters<typeof JobClient>[1],
    readonly metrics: WriteMetrics,
  ) {
    super(baseUrl, opts);
  }

  override async write(...args: Parameters<JobClient["write"]>): ReturnType<JobClient["write"]> {
    const table = `${args[0].database}.${args[0].name}`;
    const t0 = performance.now();
    try {
      const res = await super.write(...args);
      this.metrics.committed(table, (performance.now() - t0) / 1000, res.rowsWritten);
      this.metrics.expectationRows(table, res.expectations);
      return res;
    } catch (err) {
      this.metrics.failed(table, err);
      throw err;
    }
  }
}

/** What the reconciler leaves for the API to serve: its registry as JSON, and when it wrote it. */
export interface MetricsReport {
  writtenAt: string;
  pid: number;
  metrics: Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;
}

/** The reconciler's metrics report: beside its status report (`<dataDir>/reconciler/metrics.json`). */
export function reconcilerMetricsFile(statusFile: string): string {
  return path.join(path.dirname(statusFile), "metrics.json");
}

export async function writeMetricsReport(file: string, registry: Registry): Promise<void> {
  const report: MetricsReport = { writtenAt: new Date().toISOString(), pid: process.pid, metrics: await registry.getMetricsAsJSON() };
  writeJsonAtomic(file, report);
}

export function readMetricsReport(file: string): MetricsReport | undefined {
  const r = readJson<MetricsReport>(file);
  return r && typeof r.writtenAt === "string" && Array.isArray(r.metrics) ? r : undefined;
}
