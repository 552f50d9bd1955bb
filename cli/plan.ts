/**
 * `lakeform plan`: what the reconciler would do to each table of tables.yaml, and what its writes
 * will bring, before anything is written (reconciler/dataPlan.ts). Observes the lake through the
 * job server and samples each pending source; writes nothing, takes no lease.
 */
import * as path from "node:path";
import { asLakeformError } from "../lake/errors";
import { JobClient } from "../lake/jobClient";
import type { LakeOutputs } from "../lake/outputKeys";
import { s3Client } from "../lake/outputs";
import { statusFile } from "../lake/paths";
import { loadTables, tableId } from "../lake/spec";
import { readStatus } from "../lake/status";
import type { TableDataPlan } from "../reconciler/dataPlan";
import { planPrune, type PrunePlan } from "../reconciler/prune";
import { planTable, writeBits } from "../reconciler/tablePlan";
import { serialize, type OutputFormat } from "./output";
import { parseTableArg } from "./get";

export interface LakePlan {
  file: string;
  tables: (TableDataPlan | { table: string; decision: "error"; reason: string; code: string })[];
  prune: PrunePlan;
}

export async function lakePlan(lake: LakeOutputs, tablesFile: string, names: string[] = []): Promise<LakePlan> {
  const desired = loadTables(tablesFile);
  const want = new Set(names.map((n) => parseTableArg(n).id));
  const deps = {
    jobs: new JobClient(lake.sparkJobServer, { secret: lake.jobServerSecret }),
    s3: s3Client(lake),
    warehouseBucket: lake.warehouseBucket,
    baseDir: path.dirname(desired.file),
  };
  const tables: LakePlan["tables"] = [];
  for (const spec of desired.tables) {
    if (want.size > 0 && !want.has(tableId(spec))) continue;
    try {
      tables.push(await planTable(deps, spec));
    } catch (err) {
      // One table that can't be observed doesn't hide the others' plans.
      const e = asLakeformError(err);
      tables.push({ table: tableId(spec), decision: "error", reason: e.message, code: e.code });
    }
  }
  const status = readStatus(statusFile(lake.dataDir)) ?? { tables: {} };
  const prune = planPrune(status as Parameters<typeof planPrune>[0], new Set(desired.tables.map(tableId)), desired.file);
  return { file: desired.file, tables, prune };
}

/** People's view: a line per table, a line per write under it, then the prunes and a summary. */
export function formatPlan(p: LakePlan): string {
  const out: string[] = [];
  let change = 0;
  let refused = 0;
  for (const t of p.tables) {
    if (t.decision === "act") {
      change++;
      const writes = "writes" in t ? t.writes : [];
      out.push(`~ ${t.table} (${"format" in t ? t.format : "?"}): ${t.reason}${"repair" in t && t.repair ? ` [repair: ${t.repair}]` : ""}`);
      let writeRefused = false;
      for (const w of writes) {
        const { bits, refused: schemaRefused } = writeBits(w);
        writeRefused ||= schemaRefused;
        out.push(`    + ${w.source}  ${bits.join("  ")}`);
      }
      if (writeRefused) {
        change--;
        refused++;
      }
    } else if (t.decision === "upToDate") {
      const m = "maintenance" in t ? t.maintenance : undefined;
      out.push(`  ${t.table}: up to date (${t.reason})${m?.due ? `; maintenance due: ${m.reasons.join("; ")}` : ""}`);
    } else {
      refused++;
      out.push(`! ${t.table}: ${t.decision === "error" ? "can't be observed" : "refused"} (${"code" in t ? t.code : ""}): ${t.reason}`);
    }
  }
  if (p.prune.drop.length) out.push(`- prune (into the trash): ${p.prune.drop.join(", ")}`);
  if (p.prune.pending.length) out.push(`- prune held until confirmed (${p.prune.heldBecause}): ${p.prune.pending.join(", ")}`);
  if (p.prune.leave.length) out.push(`  no longer declared, data left alone (prune: false): ${p.prune.leave.join(", ")}`);
  const upToDate = p.tables.filter((t) => t.decision === "upToDate").length;
  out.push(`Plan: ${change} table(s) to change, ${upToDate} up to date, ${refused} refused, ${p.prune.drop.length + p.prune.pending.length} to prune.`);
  return out.join("\n") + "\n";
}

/** Exit status: 0 nothing to do, 2 changes pending (like terraform plan -detailed-exitcode), 1 something refused or unobservable. */
export async function planCommand(lake: LakeOutputs, opts: { tablesFile: string; names: string[]; format: OutputFormat }, write: (s: string) => void): Promise<number> {
  const p = await lakePlan(lake, opts.tablesFile, opts.names);
  write(opts.format === "json" || opts.format === "yaml" ? serialize(p, opts.format) : formatPlan(p));
  const refused = p.tables.some((t) => t.decision === "fail" || t.decision === "wait" || t.decision === "error" || ("writes" in t && t.writes.some((w) => w.schema.change === "refused" || w.schema.change === "needsRewrite")));
  if (refused) return 1;
  return p.tables.some((t) => t.decision === "act") || p.prune.drop.length + p.prune.pending.length > 0 ? 2 : 0;
}
