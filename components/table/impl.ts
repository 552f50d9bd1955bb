/**
 * What a Table resource does (loaded by path from the dynamic provider process, see index.ts).
 * tables.yaml is the single source of truth: the reconciler service watches it and writes the
 * table; the resource waits until the reconciler's status says the table is Synced at the spec's
 * generation, and fails with the reason when the reconciler refuses a write. A table declared in
 * code (`new Table(...)`) has its entry written into the stack's tables.yaml first.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import { getCondition, TERMINAL_REASONS } from "../../lake/conditions";
import { writeFileAtomic } from "../../lake/files";
// Static imports only: the provider process loads this file through tsx's require hook, which an import() would bypass.
import { JobClient, tableLocation } from "../../lake/jobClient";
import { s3Client } from "../../lake/outputs";
import { outputsFile } from "../../lake/paths";
import { confirmPrune } from "../../lake/pruneConfirmations";
import { loadTables, type TableSpec } from "../../lake/spec";
import { readOutputsCache } from "../../lake/stackData";
import { readStatus, type TableStatus } from "../../lake/status";
import { planTable, tablePlanLines } from "../../reconciler/tablePlan";
import { tableDiff, type TableSpecData, type TableState } from "./diff";

export interface TableInputs extends TableState {
  tablesFile: string;
  statusFile: string;
  warehouseBucket: string;
  timeoutSec: number;
  /** Declared in code: the entry to write into tablesFile (as the user wrote it). Absent for tables.yaml's own tables. */
  declared?: Record<string, unknown>;
}

export interface TableOutputs extends TableInputs {
  format: string;
  location: string;
  rows: number | null;
  lastCommit: string | null;
  lastCommitTime: string | null;
  exists: boolean;
}

/** Reasons that won't go away by waiting: the write was refused for its input (the terminal codes' reasons, lake/conditions.ts). */
export const REFUSED: ReadonlySet<string> = TERMINAL_REASONS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function progress(msg: string): void {
  // The engine shows a provider's stderr lines with the resource.
  process.stderr.write(`${msg}\n`);
}

function outputsOf(inputs: TableInputs, st: TableStatus | undefined): TableOutputs {
  const ready = st ? getCondition(st.conditions, "Ready") : undefined;
  return {
    ...inputs,
    format: inputs.spec.format,
    location: tableLocation(inputs.warehouseBucket, inputs.spec.database, inputs.spec.name),
    rows: st?.rowCount ?? null,
    lastCommit: st?.lastCommit?.id ?? null,
    lastCommitTime: st?.lastCommit?.time ?? null,
    exists: ready ? ready.reason !== "TableMissing" : true,
  };
}

/** Writes (or replaces) a code-declared table's entry in tables.yaml, keeping the file's comments. */
export function upsertEntry(file: string, name: string, entry: Record<string, unknown> | undefined): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "apiVersion: lakeform/v1\ntables: []\n";
  const doc = parseDocument(text);
  let tables = doc.get("tables");
  if (!isSeq(tables)) {
    doc.set("tables", doc.createNode([]));
    tables = doc.get("tables");
  }
  const seq = tables as import("yaml").YAMLSeq;
  const i = seq.items.findIndex((it) => isMap(it) && String(it.get("name")).toLowerCase() === name.toLowerCase());
  if (entry === undefined) {
    if (i >= 0) seq.items.splice(i, 1);
  } else if (i >= 0) seq.items[i] = doc.createNode(entry);
  else seq.items.push(doc.createNode(entry));
  writeFileAtomic(file, doc.toString());
}

/** Waits until the reconciler reports the table Synced at this spec's generation. */
export async function waitSynced(inputs: TableInputs, startedAt = Date.now()): Promise<TableOutputs> {
  const { tableId, spec } = inputs;
  const deadline = startedAt + inputs.timeoutSec * 1000;
  let said = "";
  const say = (msg: string) => {
    if (msg !== said) progress(`${tableId}: ${msg}`);
    said = msg;
  };
  for (;;) {
    const status = readStatus(inputs.statusFile);
    const st = status?.tables[tableId];
    if (st && st.generation === spec.generation) {
      if (st.observedGeneration === spec.generation && st.inSync) {
        const out = outputsOf(inputs, st);
        say(`Synced at generation ${spec.generation}: ${out.rows ?? "?"} rows, last commit ${out.lastCommit ?? "-"}`);
        return out;
      }
      const degraded = getCondition(st.conditions, "Degraded");
      const passedSince = st.lastPassAt !== undefined && Date.parse(st.lastPassAt) >= startedAt - 1000;
      if (degraded?.status === "True" && REFUSED.has(degraded.reason) && passedSince) {
        throw new Error(`${tableId}: the reconciler refused the write: ${degraded.reason}: ${degraded.message}`);
      }
      const synced = getCondition(st.conditions, "Synced");
      say(`waiting for the reconciler: ${st.sources.applied}/${st.sources.total} sources applied${synced ? `, ${synced.reason}${synced.message ? `: ${synced.message}` : ""}` : ""}`);
    } else if (status?.specError) {
      say(`waiting: ${status.specError.split("\n")[0]}`);
    } else {
      say(`waiting for the reconciler to pick up generation ${spec.generation}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${tableId}: not Synced at generation ${spec.generation} after ${inputs.timeoutSec}s (last: ${said}); is the reconciler running? (lakeform status, lakeform logs reconciler)`);
    }
    await sleep(1000);
  }
}

async function apply(inputs: TableInputs): Promise<TableOutputs> {
  const startedAt = Date.now();
  if (inputs.declared) upsertEntry(inputs.tablesFile, inputs.spec.name, inputs.declared);
  return waitSynced(inputs, startedAt);
}

export const table = {
  /** Every preview and up, a new table's too: the data's plan beside the spec's diff, what the table's next pass will do. Inputs unchanged. */
  async check(_olds: unknown, news: TableInputs) {
    await showDataPlan(news);
    return { inputs: news };
  },
  async create(inputs: TableInputs) {
    return { id: inputs.tableId, outs: await apply(inputs) };
  },
  /** `pulumi refresh`: rows and last commit as the reconciler last saw them; a dropped table shows exists: false. */
  async read(id: string, props: TableOutputs) {
    const st = readStatus(props.statusFile)?.tables[props.tableId];
    return { id, props: outputsOf(props, st) };
  },
  async diff(_id: string, olds: TableOutputs, news: TableInputs) {
    const d = tableDiff(olds, news);
    const other = olds.tablesFile !== news.tablesFile || olds.statusFile !== news.statusFile || JSON.stringify(olds.declared) !== JSON.stringify(news.declared);
    return { changes: d.changes || other, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
  },
  async update(_id: string, _olds: TableOutputs, news: TableInputs) {
    return { outs: await apply(news) };
  },
  /**
   * The table left the program. Removed from tables.yaml (or its code) with prune: true, the
   * `pulumi up` that deletes it is the user's confirmation of its prune (its preview listed the
   * drop): confirmed here, then the reconciler drops it softly (out of the catalog, its files and
   * journal kept in the trash for `lakeform undrop`); this waits for that. prune: false leaves
   * its data in the lake. A table tables.yaml still declares (`pulumi destroy`) is neither
   * pruned nor confirmed: its data goes only with the bucket's forceDestroy.
   */
  async delete(_id: string, props: TableOutputs) {
    if (props.declared) upsertEntry(props.tablesFile, props.spec.name, undefined);
    if (!props.spec.prune) {
      progress(`${props.tableId}: no longer declared; prune is false, so its data stays in the lake`);
      return;
    }
    if (stillDeclared(props.tablesFile, props.tableId)) {
      progress(`${props.tableId}: still declared in ${props.tablesFile}: not pruned (its data stays in the lake; \`pulumi destroy\` removes data only with forceDestroy)`);
      return;
    }
    confirmPrune(props.statusFile, [props.tableId], "pulumi up");
    progress(`${props.tableId}: prune confirmed by this update; waiting for the reconciler to drop it (its files stay in the trash: lakeform trash, lakeform undrop ${props.tableId})`);
    const deadline = Date.now() + props.timeoutSec * 1000;
    for (;;) {
      const st = readStatus(props.statusFile)?.tables[props.tableId];
      if (!st) {
        progress(`${props.tableId}: pruned: out of the catalog, its files and journal in the trash (lakeform undrop ${props.tableId} brings it back)`);
        return;
      }
      const degraded = getCondition(st.conditions, "Degraded");
      if (degraded?.status === "True" && degraded.reason === "PruneFailed") throw new Error(`${props.tableId}: prune failed: ${degraded.message}`);
      if (Date.now() > deadline) throw new Error(`${props.tableId}: still not pruned after ${props.timeoutSec}s; is the reconciler running? (its prune is confirmed: the reconciler does it when it runs)`);
      await sleep(1000);
    }
  },
};

/** How long a preview waits for one table's data plan before it says it has none. */
export const DATA_PLAN_TIMEOUT_MS = 30_000;

/**
 * The table's data plan (reconciler/tablePlan.ts, what `lakeform plan` shows for it) as lines
 * under the resource: pending sources with bytes and rows, the schema change, deletes,
 * maintenance. Read with the stack's outputs cache beside the status file (`up` leaves it); none
 * before the lakehouse's first `up`, and a lake that can't be asked says so without failing the
 * preview. Writes nothing.
 */
export async function dataPlanLines(inputs: Pick<TableInputs, "spec" | "tablesFile" | "statusFile" | "tableId">, timeoutMs = DATA_PLAN_TIMEOUT_MS): Promise<string[]> {
  const lake = readOutputsCache(outputsFile(path.dirname(path.dirname(inputs.statusFile))));
  if (!lake) return [];
  const s3 = s3Client(lake);
  let timer: NodeJS.Timeout | undefined;
  try {
    const planned = planTable(
      { jobs: new JobClient(lake.sparkJobServer, { secret: lake.jobServerSecret }), s3, warehouseBucket: lake.warehouseBucket, baseDir: path.dirname(inputs.tablesFile) },
      { ...(inputs.spec as unknown as TableSpec), line: 0 } as TableSpec,
    );
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    return tablePlanLines(await Promise.race([planned, late]));
  } catch (err) {
    return [`${inputs.tableId}: data plan: not available (${(err as Error).message.split("\n")[0]})`];
  } finally {
    clearTimeout(timer);
    s3.destroy();
  }
}

async function showDataPlan(inputs: TableInputs): Promise<void> {
  // One line: the engine shows a provider's output among every resource's, and of a table's
  // lines written at once it showed the first only.
  const lines = await dataPlanLines(inputs).catch(() => []);
  if (lines.length) progress([lines[0], ...lines.slice(1).map((l) => l.trim())].join("; "));
}

/** Whether tables.yaml declares the table now (an unreadable file counts as declaring it: never prune on doubt). */
function stillDeclared(tablesFile: string, tableId: string): boolean {
  try {
    return loadTables(tablesFile).tables.some((t) => `${t.database}.${t.name}` === tableId);
  } catch {
    return true;
  }
}

export type { TableSpecData };
