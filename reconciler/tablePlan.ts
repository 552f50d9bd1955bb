/**
 * One table's data plan (dataPlan.ts) from the lake as it is: the reconciler's observation and
 * decision, and a sample of each source its pass would write. `lakeform plan` runs it for every
 * table of tables.yaml; a Table resource's diff runs it for its own table, so `pulumi preview`
 * shows the same detail beside the spec's diff (components/table/impl.ts). Writes nothing, takes
 * no lease.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { JobClient } from "../lake/jobClient";
import { formatBinaryBytes } from "../lake/progress";
import { detectFormat, sourceRead } from "../lake/sourceFormat";
import { readSample, type SampleRead } from "../lake/sourceSample";
import { Sources } from "../lake/sources";
import type { TableSpec } from "../lake/spec";
import { tableDataPlan, type SourceSample, type TableDataPlan } from "./dataPlan";
import { jobDriver, sourceStore } from "./driver";
import { observe, plan } from "./pass";

export interface TablePlanDeps {
  jobs: JobClient;
  s3: S3Client;
  warehouseBucket: string;
  /** tables.yaml's directory: relative sources are found from it. */
  baseDir: string;
}

export async function planTable(deps: TablePlanDeps, spec: TableSpec): Promise<TableDataPlan> {
  const pass = {
    driver: jobDriver(deps.jobs),
    sources: sourceStore(new Sources(deps.s3, deps.warehouseBucket)),
    warehouseBucket: deps.warehouseBucket,
    baseDir: deps.baseDir,
  };
  const observed = await observe(pass, spec);
  const decided = plan(spec, observed);
  const samples = new Map<string, SourceSample>();
  if (decided.kind === "act") {
    for (const c of decided.action.calls) if (c.op === "write") samples.set(c.source.location, await readSample(deps.s3, c.source, sampleRead(spec, c.source)));
  }
  return tableDataPlan(spec, observed.lake, decided, samples);
}

/** How the plan reads a source: as its write will (its format, compression and CSV options). */
function sampleRead(spec: TableSpec, src: Parameters<typeof sourceRead>[1]): SampleRead {
  try {
    const { detected, request } = sourceRead(spec, src);
    return { detected, ...(request.csv ? { csv: request.csv } : {}) };
  } catch {
    // A read the write refuses (Parquet inside a codec): the write says why; the plan can't count it.
    return { detected: { ...detectFormat(src.location), format: "parquet" } };
  }
}

/** A write's rows as the plan says them: exact, ~estimated, or unknown and why. */
export function rowsText(w: { rows: number | null; rowsExact: boolean; rowsUnknown?: string }): string {
  if (w.rows === null) return w.rowsUnknown ?? "rows unknown";
  return `${w.rowsExact ? "" : "~"}${w.rows.toLocaleString("en-US")} rows`;
}

type PlannedWrite = Extract<TableDataPlan, { writes: unknown }>["writes"][number];

/**
 * One planned write as people read it (the preview's line and `lakeform plan`'s): its size, its
 * rows, its schema change, what it leaves out and deletes; `refused` when its schema change is.
 */
export function writeBits(w: PlannedWrite): { bits: string[]; refused: boolean } {
  const n = (x: number) => x.toLocaleString("en-US");
  const bits = [formatBinaryBytes(w.bytes), rowsText(w)];
  let refused = false;
  if (w.schema.change === "additive") bits.push(`schema: additive (+ ${w.schema.added.join(", ")})`);
  else if (w.schema.change === "unknown") bits.push("schema: unknown");
  else if (w.schema.change !== "none") {
    refused = true;
    bits.push(`schema: ${w.schema.change === "needsRewrite" ? "needs a rewrite" : "refused"}: ${w.schema.reason}`);
  }
  if (w.schema.discarded?.length) bits.push(`left out (discardColumns): ${w.schema.discarded.join(", ")}`);
  if (w.deletes !== undefined) bits.push(`deletes: ${w.rowsExact ? "" : "~"}${n(w.deletes)}`);
  if (w.badRows) bits.push(`bad rows: ${w.rowsExact ? "" : "~"}${n(w.badRows.rows)} ${w.badRows.action === "drop" ? "left out (discardRows)" : "quarantined"} (${w.badRows.first})`);
  const hits = (w.expectations ?? []).filter((e) => e.failed > 0);
  if (hits.length) bits.push(`expectations: ${hits.map((e) => `${e.name} ${e.action} ${w.rowsExact ? "" : "~"}${n(e.failed)}`).join(", ")}`);
  if (hits.some((e) => e.action === "fail")) {
    refused = true;
    bits.push("refused: a fail expectation's rule is broken (EXPECTATION_FAILED)");
  }
  return { bits, refused };
}

/** The plan as lines under a resource in `pulumi preview`: what the pass will do, then each write. */
export function tablePlanLines(t: TableDataPlan): string[] {
  if (t.decision === "upToDate") return [`${t.table}: data plan: up to date (${t.reason})${t.maintenance?.due ? `; maintenance due: ${t.maintenance.reasons.join("; ")}` : ""}`];
  if (t.decision !== "act") return [`${t.table}: data plan: refused (${t.code ?? t.decision}): ${t.reason}`];
  const out = [`${t.table}: data plan: ${t.reason}${t.repair ? ` [repair: ${t.repair}]` : ""}`];
  for (const w of t.writes) out.push(`  + ${w.source}  ${writeBits(w).bits.join("  ")}`);
  return out;
}
