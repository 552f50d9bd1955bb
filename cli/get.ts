/**
 * kubectl's reading verbs for tables:
 *
 *   lakeform get tables [names…]    one line per table, from the reconciler's status file (at once)
 *   lakeform describe table <t>     its spec, conditions with their times, columns, files, recent commits
 *   lakeform history <t>            its commits (the lake's own, asked of the Spark job server)
 *
 * The formatting is pure (format*, *Rows) so unit tests check it; the commands take the data
 * they need as arguments, and the end-to-end test runs them through bin/lakeform.
 */
import { getCondition, Reason, type Condition } from "../lake/conditions";
import { asLakeformError, LakeformError } from "../lake/errors";
import { QUARANTINE_SUFFIX } from "../lake/expectations";
import { tableLocation, type CommitInfo, type Observation } from "../lake/jobClient";
import type { LakeOutputs } from "../lake/outputKeys";
import { partitionColumns } from "../lake/partitioning";
import { formatApplyProgress } from "../lake/progress";
import type { TableSpec } from "../lake/spec";
import { readStatus, type LakeStatus, type TableStatus } from "../lake/status";
import { age, formatBytes, renderColumns, serialize, type OutputFormat } from "./output";

type Out = (s: string) => void;

/** "leads" → default.leads; "sales.leads" as it is. */
export function parseTableArg(arg: string): { database: string; name: string; id: string } {
  const m = /^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$/.exec(arg.trim());
  if (!m) throw new LakeformError("BAD_TABLE_NAME", `"${arg}" is not a table name (name, or database.name)`);
  const database = (m[1] ?? "default").toLowerCase();
  const name = m[2].toLowerCase();
  return { database, name, id: `${database}.${name}` };
}

/** The kinds `get` and `describe` know, with the names people type for them. */
const KINDS: Record<string, "tables"> = { tables: "tables", table: "tables", tbl: "tables", t: "tables" };

export function parseKind(kind: string): "tables" {
  const k = KINDS[kind.toLowerCase()];
  if (!k) throw new LakeformError("BAD_REQUEST", `"${kind}" is not a kind lakeform knows: tables (or table)`);
  return k;
}

/** Why a table is where it is: Degraded when it is, else Synced's reason (kubectl's REASON). */
function why(t: TableStatus): Condition | undefined {
  const degraded = getCondition(t.conditions, "Degraded");
  return degraded?.status === "True" ? degraded : getCondition(t.conditions, "Synced");
}

function reasonText(t: TableStatus): string {
  const c = why(t);
  if (c?.reason === Reason.Applying && t.applying) return `Applying ${formatApplyProgress(t.applying)}`;
  return c?.reason ?? "-";
}

const rows = (t: TableStatus) => (t.rowCount === undefined || t.rowCount === null ? "-" : String(t.rowCount));

/** The tables of the status file, by name; only those named (name or database.name) when some are. */
export function selectTables(status: LakeStatus | undefined, names: string[] = []): TableStatus[] {
  const all = Object.values(status?.tables ?? {}).sort((a, b) => a.table.localeCompare(b.table));
  if (names.length === 0) return all;
  const ids = names.map((n) => parseTableArg(n).id);
  const missing = ids.filter((id) => !all.some((t) => t.table === id));
  if (missing.length > 0) {
    throw new LakeformError("UNKNOWN_TABLE", `no table ${missing.join(", ")} in the reconciler's status${all.length ? ` (it has ${all.map((t) => t.table).join(", ")})` : ""}`, {
      table: missing[0],
    });
  }
  return all.filter((t) => ids.includes(t.table));
}

/**
 * `get tables`, for people. NAME FORMAT SYNCED REASON ROWS LAST COMMIT AGE (AGE: since the last
 * commit, how fresh the data is); wide adds SOURCES, GENERATION, FAILURES, LAST PASS, MAINTAINED
 * (how long ago, or why it failed) and the reason's MESSAGE.
 */
export function formatTables(tables: TableStatus[], wide = false, now = Date.now()): string {
  if (tables.length === 0) return "no tables (the reconciler has not reported any: lakeform status)";
  const header = ["NAME", "FORMAT", "SYNCED", "REASON", "ROWS", "LAST COMMIT", "AGE"];
  if (wide) header.push("SOURCES", "GENERATION", "FAILURES", "LAST PASS", "MAINTAINED", "MESSAGE");
  const body = tables.map((t) => {
    const r = [t.table, t.format, t.inSync ? "yes" : "NO", reasonText(t), rows(t), t.lastCommit?.id ?? "-", age(t.lastCommit?.time, now)];
    if (wide) {
      const c = why(t);
      const generation = `${t.observedGeneration ?? "-"}${t.observedGeneration && t.observedGeneration !== t.generation ? ` (want ${t.generation})` : ""}`;
      const maintenance = getCondition(t.conditions, "Maintained");
      const maintained = maintenance?.status === "False" ? maintenance.reason : t.lastMaintenance ? `${age(t.lastMaintenance.at, now)} ago` : "-";
      r.push(`${t.sources.applied}/${t.sources.total}`, generation, String(t.failures ?? 0), age(t.lastPassAt, now), maintained, c && !(c.type === "Synced" && c.reason === Reason.UpToDate) ? c.message : "");
    }
    return r;
  });
  return renderColumns(header, body);
}

export function getTablesCommand(status: LakeStatus | undefined, opts: { names?: string[]; format: OutputFormat }, out: Out): number {
  const tables = selectTables(status, opts.names);
  if (opts.format === "json" || opts.format === "yaml") out(serialize(tables, opts.format));
  else {
    if (status?.specError) out(`tables.yaml: INVALID (serving the last valid version): ${status.specError}\n`);
    out(formatTables(tables, opts.format === "wide") + "\n");
  }
  if (!status) return 1;
  return tables.every((t) => t.inSync) && !status.specError ? 0 : 2;
}

/** `history`, for people: oldest first, as the lake keeps them (the last line is the newest). */
export function formatHistory(commits: CommitInfo[], wide = false, now = Date.now()): string {
  if (commits.length === 0) return "no commits";
  const header = ["COMMIT", "TIME", "AGE", "OPERATION", "INSERTED", "UPDATED", "DELETED", "SOURCE"];
  // Wide: which write path made each commit (arrow, spark; "-" for one Lakeform didn't make), its generation and source hash.
  if (wide) header.splice(header.length - 1, 0, "PATH", "GENERATION", "SOURCE HASH");
  // Expectations' counts (lake/expectations.ts) only when some commit checked them: other tables' history is as it was.
  const expects = commits.some((c) => c.expectations);
  if (expects) header.splice(header.length - 1, 0, "EXPECTATIONS");
  const rules = (c: CommitInfo) => (c.expectations ? Object.entries(c.expectations).map(([name, e]) => `${name} ${e.action} ${e.failed}`).join(", ") || "-" : "-");
  const n = (v: number | undefined) => (v === undefined || v === null ? "-" : String(v));
  return renderColumns(
    header,
    commits.map((c) => {
      const r = [c.commit, c.time, age(c.time, now), c.operation ?? "-", n(c.rowsInserted), n(c.rowsUpdated), n(c.rowsDeleted)];
      if (wide) r.push(c.path ?? "-", c.generation ?? "-", c.sourceHash ? c.sourceHash.slice(0, 12) : "-");
      if (expects) r.push(rules(c));
      r.push(c.source ?? "-");
      return r;
    }),
  );
}

/** What `describe table` knows about a table: its declaration, the reconciler's report, and the lake's own observation. */
export interface TableDescription {
  table: string;
  spec?: Omit<TableSpec, "line">;
  /** Where the spec was read: the tables.yaml, or the status file's copy of the last declaration. */
  declaredIn?: string;
  location?: string;
  status?: TableStatus;
  /** The lake's view (columns, rows, commits, data files); absent when it couldn't be asked, with why. */
  observed?: Pick<Observation, "exists" | "inCatalog" | "filesExist" | "rowCount" | "columns" | "commits" | "dataFiles" | "historyExpired" | "catalogDrift">;
  observeError?: string;
  /** The objects under the table's location, from one listing of the object store (every retained file version and the metadata). */
  storage?: { objects: number; bytes: number; parquetFiles: number; parquetBytes: number; truncated: boolean };
  storageError?: string;
}

/** The spec a describe shows: tables.yaml's declaration, else the last one the status file remembers. */
export function findSpec(arg: string, declared: TableSpec[], status: LakeStatus | undefined): { spec?: Omit<TableSpec, "line">; id: string; from: "tables.yaml" | "status" | undefined } {
  const { id } = parseTableArg(arg);
  const spec = declared.find((s) => `${s.database}.${s.name}` === id);
  if (spec) return { spec, id, from: "tables.yaml" };
  const st = status?.tables[id];
  if (st?.spec) return { spec: st.spec, id, from: "status" };
  return { id, from: undefined };
}

const list = (v: string[] | undefined) => (v && v.length ? v.join(", ") : "-");

export function formatDescription(d: TableDescription, recent = 10, now = Date.now()): string {
  const lines: string[] = [];
  const field = (k: string, v: string) => lines.push(`${(k + ":").padEnd(18)}${v}`.trimEnd());
  const s = d.spec;
  const st = d.status;
  field("Name", d.table);
  field("Format", s?.format ?? st?.format ?? "-");
  field("Location", d.location ?? "-");
  field("Declared in", d.declaredIn ?? "-");
  if (s) {
    field("Primary key", list(s.primaryKey));
    field("Ordering field", s.orderingField ?? "-");
    field("Partition by", list(s.partitionBy));
    field("Schema policy", s.schemaPolicy);
    field("Prune", String(Boolean(s.prune)));
    if (s.deleteWhen) field("Delete when", `${s.deleteWhen.column} = ${[s.deleteWhen.equals].flat().join(" | ")}`);
    const retain = s.retain as { commits?: number; days?: number } | undefined;
    field("Retain", retain?.commits !== undefined ? `${retain.commits} commits` : retain?.days !== undefined ? `${retain.days} days` : "-");
    if (s.targetFileSizeMB !== undefined) field("Target file size", `${s.targetFileSizeMB} MB`);
    field("Sources", s.sources.length ? "" : "-");
    for (const src of s.sources) lines.push(`  ${src}`);
    if (s.expect?.length) {
      field("Expectations", s.expect.map((e) => `${e.name} (${e.action})`).join(", "));
      // Where a quarantine rule keeps the rows it leaves out (pruned and undropped with the table).
      if (s.expect.some((e) => e.action === "quarantine")) field("Quarantine", `${s.database}.${s.name}${QUARANTINE_SUFFIX} (lakeform quarantine replay ${s.name})`);
    }
  }
  if (st) {
    field("Synced", `${st.inSync ? "yes" : "NO"} (sources applied ${st.sources.applied}/${st.sources.total}, generation ${st.observedGeneration ?? "-"}${st.observedGeneration !== st.generation ? `, want ${st.generation}` : ""})`);
    field("Rows", rows(st));
    field("Last commit", st.lastCommit ? `${st.lastCommit.id} (${st.lastCommit.time}, ${age(st.lastCommit.time, now)} ago)` : "-");
    field("Last pass", st.lastPassAt ? `${st.lastPassAt} (${age(st.lastPassAt, now)} ago)` : "-");
    if (st.failures) field("Failures", `${st.failures} in a row${st.nextAttemptAt ? `, next attempt ${st.nextAttemptAt}` : ""}`);
    if (st.applying) field("Applying", formatApplyProgress(st.applying));
    if (st.lastMaintenance) field("Maintained", `${st.lastMaintenance.at}: ${st.lastMaintenance.actions.join("; ") || "nothing to do"}`);
  } else field("Synced", "- (not in the reconciler's status)");
  if (d.observed?.dataFiles) {
    const f = d.observed.dataFiles;
    field("Data files", `${f.count} (${formatBytes(f.bytes)}; ${f.small} under 3/4 of the ${formatBytes(f.targetBytes)} target)`);
  }
  if (d.storage) {
    const x = d.storage;
    field("Storage", `${x.truncated ? "at least " : ""}${formatBytes(x.bytes)} in ${x.objects} objects, of which ${x.parquetFiles} parquet files (${formatBytes(x.parquetBytes)}; retained versions included)`);
  } else if (d.storageError) field("Storage", `- (${d.storageError})`);

  lines.push("Conditions:");
  const conds = st?.conditions ?? [];
  if (conds.length === 0) lines.push("  -");
  else
    lines.push(
      indent(
        renderColumns(
          ["TYPE", "STATUS", "REASON", "LAST TRANSITION", "AGE", "MESSAGE"],
          conds.map((c) => [c.type, c.status, c.reason, c.lastTransitionTime, age(c.lastTransitionTime, now), c.message]),
        ),
      ),
    );

  if (d.observeError) {
    lines.push(`Lake:             not observed (${d.observeError})`);
    return lines.join("\n");
  }
  const o = d.observed;
  if (o) {
    if (!o.exists) lines.push(`Lake:             not there (${o.inCatalog ? "in the catalog" : "not in the catalog"}, ${o.filesExist ? "files present" : "no files"})`);
    if (o.catalogDrift?.length) field("Catalog drift", o.catalogDrift.join("; "));
    lines.push("Columns:");
    const key = new Set(s?.primaryKey ?? []);
    const parts = new Set(partitionColumns(s?.partitionBy ?? []));
    lines.push(o.columns.length ? indent(renderColumns(["NAME", "TYPE", "KEY"], o.columns.map((c) => [c.name, c.type, key.has(c.name) ? "primary key" : parts.has(c.name) ? "partition" : ""]))) : "  -");
    const shown = o.commits.slice(-recent);
    lines.push(`Recent commits (${shown.length} of ${o.commits.length}${o.historyExpired ? ", older ones expired by retention" : ""}; lakeform history ${d.table.replace(/^default\./, "")} lists them all):`);
    lines.push(shown.length ? indent(formatHistory(shown, false, now)) : "  -");
  }
  return lines.join("\n");
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");

/** The lake's side of a table, asked of the Spark job server (one observe: columns, rows, commits, data files). */
async function observe(outs: LakeOutputs, spec: Omit<TableSpec, "line">): Promise<Observation> {
  const { JobClient, jobTable } = await import("../lake/jobClient");
  return new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret }).observe(jobTable(spec as TableSpec, outs.warehouseBucket));
}

/** One listing of the objects under a table's location (at most 10 pages of 1,000: a bigger table says "at least"). */
async function storageOf(outs: LakeOutputs, location: string): Promise<NonNullable<TableDescription["storage"]>> {
  const [{ ListObjectsV2Command }, { s3Client }] = await Promise.all([import("@aws-sdk/client-s3"), import("../lake/outputs")]);
  const m = /^s3a?:\/\/([^/]+)\/(.*)$/.exec(location);
  if (!m) throw new Error(`not an s3 location: ${location}`);
  const s3 = s3Client(outs);
  const acc = { objects: 0, bytes: 0, parquetFiles: 0, parquetBytes: 0, truncated: false };
  let token: string | undefined;
  try {
    for (let page = 0; ; page++) {
      if (page === 10) {
        acc.truncated = true;
        break;
      }
      const res = await s3.send(new ListObjectsV2Command({ Bucket: m[1], Prefix: `${m[2].replace(/\/$/, "")}/`, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        acc.objects++;
        acc.bytes += o.Size ?? 0;
        if (o.Key?.endsWith(".parquet")) {
          acc.parquetFiles++;
          acc.parquetBytes += o.Size ?? 0;
        }
      }
      if (!res.IsTruncated) break;
      token = res.NextContinuationToken;
    }
  } finally {
    s3.destroy();
  }
  return acc;
}

/** The spec of a table to describe or list the history of; UNKNOWN_TABLE when neither tables.yaml nor the status file has it. */
async function specFor(arg: string, tablesFile: string, status: LakeStatus | undefined): Promise<{ spec: Omit<TableSpec, "line">; id: string; declaredIn: string }> {
  let declared: TableSpec[] = [];
  let unreadable: string | undefined;
  try {
    const { loadTables } = await import("../lake/spec");
    declared = loadTables(tablesFile).tables;
  } catch (err) {
    // tables.yaml missing or invalid: the status file's copy of the declaration still describes it.
    unreadable = (err as Error).message;
  }
  const found = findSpec(arg, declared, status);
  if (!found.spec) {
    throw new LakeformError("UNKNOWN_TABLE", `no table ${found.id} in ${tablesFile}${unreadable ? ` (${unreadable})` : ""} nor in the reconciler's status`, { table: found.id });
  }
  return { spec: found.spec, id: found.id, declaredIn: found.from === "tables.yaml" ? tablesFile : `${status?.tables[found.id]?.declaredIn ?? "?"} (as last declared; not in ${tablesFile})` };
}

export async function describeTableCommand(outs: LakeOutputs, opts: { table: string; tablesFile: string; statusFile: string; format: OutputFormat; recent?: number }, out: Out): Promise<number> {
  const status = readStatus(opts.statusFile);
  const { spec, id, declaredIn } = await specFor(opts.table, opts.tablesFile, status);
  const location = tableLocation(outs.warehouseBucket, spec.database, spec.name);
  const d: TableDescription = { table: id, spec, declaredIn, location, status: status?.tables[id] };
  const [observed, atHome] = await Promise.allSettled([observe(outs, spec), storageOf(outs, location)]);
  let storage = atHome;
  // A rebuilt table's files are where its rebuild wrote them, not at its home location.
  if (observed.status === "fulfilled" && observed.value.location && observed.value.location !== location) {
    d.location = observed.value.location;
    [storage] = await Promise.allSettled([storageOf(outs, d.location)]);
  }
  if (observed.status === "fulfilled") {
    const { exists, inCatalog, filesExist, rowCount, columns, commits, dataFiles, historyExpired, catalogDrift } = observed.value;
    d.observed = { exists, inCatalog, filesExist, rowCount, columns, commits, dataFiles, historyExpired, catalogDrift };
  } else d.observeError = asLakeformError(observed.reason).message;
  const failure = observed.status === "rejected" ? asLakeformError(observed.reason) : undefined;
  if (storage.status === "fulfilled") d.storage = storage.value;
  else d.storageError = (storage.reason as Error).message;
  out(opts.format === "json" || opts.format === "yaml" ? serialize(d, opts.format) : formatDescription(d, opts.format === "wide" ? Math.max(50, opts.recent ?? 10) : (opts.recent ?? 10)) + "\n");
  // The spec and the report are shown either way; the exit code says the lake couldn't be asked.
  return failure ? failure.exitCode : 0;
}

export async function historyCommand(outs: LakeOutputs, opts: { table: string; tablesFile: string; statusFile: string; format: OutputFormat; limit?: number }, out: Out): Promise<number> {
  const { spec, id } = await specFor(opts.table, opts.tablesFile, readStatus(opts.statusFile));
  const o = await observe(outs, spec);
  if (!o.exists) throw new LakeformError("TABLE_MISSING", `table ${id} is declared but not in the lake yet`, { table: id });
  const commits = opts.limit ? o.commits.slice(-opts.limit) : o.commits;
  if (opts.format === "json" || opts.format === "yaml") out(serialize(commits, opts.format));
  else {
    out(formatHistory(commits, opts.format === "wide") + "\n");
    if (o.historyExpired) out("(older commits were expired by the table's retention)\n");
  }
  return 0;
}
