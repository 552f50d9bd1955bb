/**
 * The data's plan (`lakeform plan`): what a pass would do to each table, before anything is
 * written. It is the reconciler's own decision (plan.ts `plan`, on the same observation), with
 * what each write will bring read from a sample of its source: bytes and estimated rows, the
 * schema delta classified against the table's columns and its schemaPolicy (none, additive,
 * refused, needs a rewrite), the deletes a `deleteWhen` rule will make, and the maintenance due.
 *
 * Pure: the sample is given (lake/sourceSample.ts reads it), so unit tests check every class.
 */
import { parse as parseCsv } from "csv-parse/sync";
import { sampleHits, type SampleHit } from "../lake/expectations";
import { sanitizeColumn } from "../lake/columns";
import type { Observation } from "../lake/jobClient";
import type { CsvOptions, SourceFormat } from "../lake/sourceFormat";
import { partitionColumns } from "../lake/partitioning";
import type { ResolvedSource } from "../lake/sources";
import { tableId, type TableSpec } from "../lake/spec";
import type { MaintenancePlan } from "./maintenance";
import type { Plan } from "./plan";

/** The first bytes of a source (decompressed), and whether they are all of it. */
export interface SourceSample {
  head: Buffer;
  whole: boolean;
  /** How the head is read (default csv), with its table's/source's CSV options. */
  format?: SourceFormat;
  csv?: CsvOptions;
  /** How many of the source's bytes the head came from (a compressed source's), default head.length. */
  readBytes?: number;
  /** Why the sample can't tell rows or columns (a Parquet or bzip2 source): the plan says so, not a guess. */
  unknown?: string;
}

export type SchemaChange = "none" | "additive" | "refused" | "needsRewrite" | "unknown";

export interface SourcePlan {
  source: string;
  location: string;
  hash: string;
  bytes: number;
  /** Exact when the sample is the whole file, else estimated from the sample's bytes per row; null when the plan can't know (rowsUnknown says why). */
  rows: number | null;
  rowsExact: boolean;
  rowsUnknown?: string;
  /** The source's columns (sanitised, as the table will name them). */
  columns: string[];
  /** discarded: the columns schemaPolicy discardColumns leaves out (not in added). */
  schema: { change: SchemaChange; added: string[]; reason?: string; discarded?: string[] };
  /** Rows the table's deleteWhen marks for deletion (their keys are deleted), estimated like rows. */
  deletes?: number;
  /** The table's expectations the sample's rows break (lake/expectations.ts sampleHits), estimated like rows. */
  expectations?: SampleHit[];
  /** Rows the source's reader can't give the table (another number of fields, a value that doesn't fit, an empty key), estimated like rows: quarantined (discardRows: left out; strict refuses the write instead). */
  badRows?: { rows: number; action: "quarantine" | "drop"; first: string };
}

export interface TableDataPlan {
  table: string;
  format: TableSpec["format"];
  /** The reconciler's decision: upToDate, act, wait (a failure it won't retry), fail (a refusal). */
  decision: Plan["kind"];
  /** Human: what the pass will do, or why not. */
  reason: string;
  /** For act: what it repairs first (register, rebuild, resync), when it does. */
  repair?: string;
  /** The table as the lake has it now. */
  exists: boolean;
  rowCount: number | null;
  writes: SourcePlan[];
  maintenance?: MaintenancePlan;
  /** The error code of a wait or fail. */
  code?: string;
  /** For act: an Iceberg partitioning change, applied as partition evolution (no data file rewritten): the spec's fields dropped and added. */
  partitions?: { change: "evolve"; drop: string[]; add: string[] };
  /** For act: a rebuild into a new layout (reconciler/rebuildPlan.ts): what changes, from which layout, how much it rewrites (bytes where the format tells). */
  rebuild?: { change: string; previous: { format: string; primaryKey: string[]; partitionBy: string[] }; rows: number | null; bytes: number | null };
}

/** Spark's simple type names: which values of a source fit a table column of that type. */
function fits(type: string, value: string): boolean {
  const t = type.toLowerCase();
  const v = value.trim();
  if (/^(tinyint|smallint|int|integer)$/.test(t)) return /^[+-]?\d+$/.test(v) && Math.abs(Number(v)) <= 2 ** 31 - 1;
  if (/^(bigint|long)$/.test(t)) return /^[+-]?\d+$/.test(v) && Math.abs(Number(v)) < 2 ** 63;
  if (/^(double|float|real)$/.test(t)) return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) || /^[+-]?(inf|infinity|nan)$/i.test(v);
  const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) {
    const m = /^[+-]?(\d*)\.?(\d*)$/.exec(v);
    return !!m && v !== "" && m[1].replace(/^0+/, "").length <= Number(dec[1]) - Number(dec[2]);
  }
  if (t === "boolean") return /^(true|false)$/i.test(v);
  if (t === "date") return /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));
  if (t.startsWith("timestamp")) return /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v);
  return true;
}

/** A sample's text in its declared encoding (utf-8 when it names none, or one this Node can't decode). */
function sampleText(sample: SourceSample): string {
  let text: string;
  try {
    text = new TextDecoder(sample.csv?.encoding ?? "utf-8").decode(sample.head);
  } catch {
    text = sample.head.toString("utf8");
  }
  text = text.replace(/^\uFEFF/, "");
  if (!sample.whole) {
    const cut = text.lastIndexOf("\n");
    text = cut >= 0 ? text.slice(0, cut + 1) : "";
  }
  return text;
}

/** The complete records of a delimited sample (csv, tsv), with its delimiter, quote and escape. */
function delimitedRecords(text: string, format: SourceFormat, csv: CsvOptions = {}): string[][] {
  const quote = csv.quote ?? '"';
  const opts = { relax_column_count: true, skip_empty_lines: true, relax_quotes: true, delimiter: csv.delimiter ?? (format === "tsv" ? "\t" : ","), quote, escape: csv.escape ?? quote };
  try {
    return parseCsv(text, opts) as string[][];
  } catch {
    // A quoted record cut by the sample's end: drop what follows the last record that parses.
    const lines = text.split("\n");
    for (let n = lines.length - 1; n > 0; n--) {
      try {
        return parseCsv(lines.slice(0, n).join("\n"), opts) as string[][];
      } catch {
        /* shorter */
      }
    }
    return [];
  }
}

/** One JSON value's leaves as the job server flattens them: nested objects into parent_child, arrays (and empty objects) as their JSON text. */
function flattenJson(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) flattenJson(x, prefix ? `${prefix}_${k}` : k, out);
  } else {
    out.set(prefix, v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  }
}

/** A JSON source that is one document, as the job server reads it (readers/frames.py json_document): its rows, else undefined (JSON Lines). */
function jsonDocumentRows(text: string): unknown[] | undefined {
  const t = text.replace(/^\ufeff/, "").trimStart();
  const first = t.split("\n", 1)[0];
  if (!t.startsWith("[") && !(t.startsWith("{") && t.includes("\n") && !parses(first))) return undefined;
  const v = parseOrUndefined(t);
  return v === undefined ? [undefined] : Array.isArray(v) ? v : [v]; // one that doesn't parse: one record the job server refuses
}
const parses = (s: string) => parseOrUndefined(s) !== undefined;
function parseOrUndefined(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/** A sample's header (raw names) and rows, whatever its format. */
function sampleRecords(sample: SourceSample): { header: string[]; rows: string[][] } {
  const format = sample.format ?? "csv";
  const text = sampleText(sample);
  if (format === "jsonl") {
    // One row per non-empty line (a whole document: per element of its array, or its one
    // object); columns in first-seen order over the sample's rows.
    // A malformed line is still a line the job server reads (its corrupt record): a row without values.
    const values = jsonDocumentRows(text) ?? text.split("\n").filter((l) => l.trim() !== "").map(parseOrUndefined);
    const parsed = values.map((v) => {
      const leaves = new Map<string, string>();
      if (v !== null && typeof v === "object" && !Array.isArray(v)) flattenJson(v, "", leaves);
      return leaves;
    });
    const header = [...new Set(parsed.flatMap((m) => [...m.keys()]))];
    return { header, rows: parsed.map((m) => header.map((h) => m.get(h) ?? "")) };
  }
  const csv = sample.csv ?? {};
  let records = delimitedRecords(text, format, csv);
  const nulls = new Set(csv.nullValues ?? []);
  if (nulls.size) records = records.map((r) => r.map((v) => (nulls.has(v) ? "" : v)));
  if (csv.header === false) {
    const width = Math.max(0, ...records.map((r) => r.length));
    return { header: Array.from({ length: width }, (_, i) => `c${i}`), rows: records };
  }
  const [header = [], ...rows] = records;
  return { header, rows };
}

/** What one source will bring to the table, from its sample. */
export function planSource(spec: TableSpec, lake: Pick<Observation, "exists" | "columns">, src: ResolvedSource, sample: SourceSample): SourcePlan {
  if (sample.unknown) {
    const unknown: SourcePlan = {
      source: src.name ?? src.declared, location: src.location, hash: src.hash, bytes: src.bytes, rows: null, rowsExact: false, rowsUnknown: sample.unknown, columns: [],
      schema: { change: "unknown", added: [], reason: `the plan can't read this source's columns: ${sample.unknown}` },
    };
    return unknown;
  }
  const { header, rows } = sampleRecords(sample);
  const columns = header.map(sanitizeColumn);
  const read = sample.readBytes ?? sample.head.length;
  const scale = sample.whole || read === 0 ? 1 : src.bytes / read;
  const estimate = (n: number) => (sample.whole ? n : Math.round(n * scale));
  const marker = spec.deleteWhen && columns.includes(spec.deleteWhen.column) ? spec.deleteWhen.column : undefined;
  const tableCols = new Map(lake.exists ? lake.columns.map((c) => [c.name, c.type]) : []);

  const required = [...spec.primaryKey, ...partitionColumns(spec.partitionBy), ...(spec.orderingField ? [spec.orderingField] : [])];
  // Beyond the schema (as the write decides, jobs write.py): new columns of a table that exists,
  // and with columns declared, any column neither the table's nor declared (of a new table too).
  const declared = spec.columns ?? {};
  const hasDeclared = Object.keys(declared).length > 0;
  const beyond = columns.filter((c) => c !== marker && !required.includes(c) && !tableCols.has(c) && (lake.exists || hasDeclared) && !(c in declared) && !c.startsWith("_hoodie_"));
  const discarded = spec.schemaPolicy === "discardColumns" ? beyond : [];
  const added = lake.exists ? columns.filter((c) => !tableCols.has(c) && c !== marker && !c.startsWith("_hoodie_") && !discarded.includes(c)) : [];
  const missing = required.filter((c) => !columns.includes(c));
  let schema: SourcePlan["schema"] = { change: added.length > 0 ? "additive" : "none", added, ...(discarded.length ? { discarded } : {}) };
  if (missing.length > 0) {
    schema = { change: "refused", added, reason: `column(s) ${missing.join(", ")} named in tables.yaml are not in the source's header (BAD_CSV)` };
  } else if (beyond.length > 0 && spec.schemaPolicy === "strict") {
    const what = lake.exists && !hasDeclared ? "new column(s)" : "column(s) neither in the table nor declared";
    schema = { change: "refused", added, reason: `schemaPolicy is strict and the source has ${what}: ${beyond.join(", ")} (SCHEMA_REFUSED)` };
  }
  // Bad rows (jobs/lakeform_jobs/bad_rows.py): another number of fields than the header, an
  // empty key, a value that doesn't fit the table's (or, read without a locale, the declared)
  // type. strict refuses the source; discardRows leaves them out; otherwise they're quarantined.
  const typeOf = (c: string): string | undefined => tableCols.get(c) ?? (sample.csv?.locale ? undefined : declared[c]);
  const badRows: { row: number; why: string }[] = [];
  const text = (sample.format ?? "csv") === "csv" || sample.format === "tsv";
  if (schema.change !== "refused") {
    for (const [i, row] of rows.entries()) {
      const misfit = columns.findIndex((c, j) => typeOf(c) !== undefined && (row[j] ?? "") !== "" && !fits(typeOf(c)!, row[j]));
      const emptyKey = spec.primaryKey.find((k) => columns.includes(k) && (row[columns.indexOf(k)] ?? "") === "");
      const why =
        text && row.length !== columns.length ? `has ${row.length} field(s), the header ${columns.length}`
        : misfit >= 0 ? `column ${columns[misfit]}: value ${JSON.stringify(row[misfit])} doesn't fit ${tableCols.has(columns[misfit]) ? "the table's type" : "the declared type"} ${typeOf(columns[misfit])}`
        : emptyKey !== undefined ? `has an empty primary key (${emptyKey})`
        : undefined;
      if (why) badRows.push({ row: i + 1, why });
    }
  }
  const firstBad = badRows[0];
  if (firstBad && spec.schemaPolicy === "strict") {
    schema = { change: "refused", added, reason: `schemaPolicy is strict and row ${firstBad.row} of the source ${firstBad.why}: the write is refused` };
  }

  const out: SourcePlan = {
    source: src.name ?? src.declared,
    location: src.location,
    hash: src.hash,
    bytes: src.bytes,
    rows: estimate(rows.length),
    rowsExact: sample.whole,
    columns,
    schema,
  };
  if (firstBad && spec.schemaPolicy !== "strict") {
    out.badRows = { rows: estimate(badRows.length), action: spec.schemaPolicy === "discardRows" ? "drop" : "quarantine", first: `row ${firstBad.row} ${firstBad.why}` };
  }
  if (spec.deleteWhen) {
    const at = marker ? columns.indexOf(marker) : -1;
    const marked = at < 0 ? 0 : rows.filter((r) => spec.deleteWhen!.equals.includes((r[at] ?? "").trim().toLowerCase())).length;
    out.deletes = estimate(marked);
  }
  if (spec.expect?.length) out.expectations = sampleHits(spec.expect, columns, rows).map((h) => ({ ...h, failed: estimate(h.failed) }));
  return out;
}

/** The data's plan of one table, from the reconciler's plan and the samples of what it will write. */
export function tableDataPlan(spec: TableSpec, lake: Observation, decided: Plan, samples: Map<string, SourceSample>): TableDataPlan {
  const base = { table: tableId(spec), format: spec.format, decision: decided.kind, exists: lake.exists, rowCount: lake.rowCount, writes: [] as SourcePlan[] };
  switch (decided.kind) {
    case "upToDate":
      return { ...base, reason: decided.synced.message, maintenance: decided.maintenance };
    case "wait":
    case "fail":
      return { ...base, reason: decided.error.message, code: decided.error.code };
    case "act": {
      const writes: SourcePlan[] = [];
      // Each write sees the columns the writes before it added (their type is the source's: any value fits).
      let table = { exists: lake.exists, columns: lake.columns };
      for (const call of decided.action.calls) {
        if (call.op !== "write") continue;
        const sample = samples.get(call.source.location);
        if (!sample) continue;
        const w = planSource(spec, table, call.source, sample);
        writes.push(w);
        const known = new Set(table.columns.map((c) => c.name));
        table = { exists: true, columns: [...table.columns, ...w.columns.filter((c) => !known.has(c)).map((name) => ({ name, type: "string" }))] };
      }
      const rebuild = decided.action.calls.find((c) => c.op === "rebuild");
      if (rebuild) return { ...base, reason: decided.action.reason, writes, rebuild: { change: rebuild.change, previous: rebuild.previous, rows: lake.rowCount, bytes: lake.dataFiles?.bytes ?? null } };
      const evolve = decided.action.calls.find((c) => c.op === "evolvePartitions");
      return { ...base, reason: decided.action.reason, repair: decided.action.repair, writes, ...(evolve ? { partitions: { change: "evolve" as const, drop: evolve.drop, add: evolve.add } } : {}) };
    }
  }
}
