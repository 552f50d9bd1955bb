/**
 * A table's partitioning, as tables.yaml's `partitionBy` says it: one place parses it, says it
 * back in one canonical form, and classifies a change of it.
 *
 * Each entry is a column (identity: the column's values are the partitions) or, for Iceberg
 * tables, one of Iceberg's partition transforms of a column:
 *
 *   year(ts)  month(ts)  day(ts)  hour(ts)     (Spark's plural names years/months/days/hours too)
 *   bucket(16, id)       truncate(4, code)     (a positive whole number, then the column)
 *
 * Column names are CSV header names, matched after sanitising (lake/columns.ts), so `day(Created
 * At)` is `day(created_at)`. The canonical form (`day(created_at)`, `bucket(16, id)`, a plain
 * column for identity) is what the spec, the job server and the commits carry: an identity-only
 * partitioning reads exactly as it did before transforms existed, so older tables keep their
 * generation. Hudi partitions by columns only (its partition path is the values).
 *
 * A change of partitioning (partitionChange) is, for Iceberg, partition evolution: the table's
 * spec changes in its metadata, files already written keep the spec they were written with, new
 * writes use the new one, and nothing is rewritten. For Hudi it rewrites the table (a rebuild).
 */
import { z } from "zod";
import { sanitizeColumn } from "./columns";

export type Transform = "identity" | "year" | "month" | "day" | "hour" | "bucket" | "truncate";

/** One partition field: a transform of a source column (`param`: bucket's count, truncate's width). */
export interface PartitionField {
  transform: Transform;
  column: string;
  param?: number;
}

const TIME: Record<string, Transform> = { year: "year", years: "year", month: "month", months: "month", day: "day", days: "day", hour: "hour", hours: "hour" };
const SIZED: Record<string, Transform> = { bucket: "bucket", truncate: "truncate" };

/** What one entry may be, for the error of one that is none of these. */
export const PARTITION_GRAMMAR = "a column, year(col), month(col), day(col), hour(col), bucket(N, col) or truncate(W, col)";

/** Upper bounds Iceberg itself would take but nobody means: a typo's 1600000 buckets is refused. */
const MAX_BUCKETS = 1_000_000;
const MAX_WIDTH = 1_000_000;

/**
 * One entry of partitionBy, parsed (zod, so a bad one is an issue with its path): a column, or a
 * transform of one. Refuses an unknown transform, a missing or non-numeric parameter, nesting.
 */
export const PartitionEntrySchema = z.string().transform((raw, ctx): PartitionField => {
  const text = raw.trim();
  const call = /^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$/s.exec(text);
  if (!call) {
    if (text === "") ctx.addIssue({ code: "custom", message: "must not be empty" });
    else if (/[()]/.test(text)) ctx.addIssue({ code: "custom", message: `"${raw}" is not ${PARTITION_GRAMMAR}` });
    return { transform: "identity", column: sanitizeColumn(text || "col") };
  }
  const name = call[1].toLowerCase();
  const args = call[2].split(",").map((a) => a.trim());
  const bad = (why: string): PartitionField => {
    ctx.addIssue({ code: "custom", message: `"${raw}": ${why}` });
    return { transform: "identity", column: sanitizeColumn(text) };
  };
  if (args.some((a) => a === "" || /[()]/.test(a))) return bad(`each argument must be a column or a number (${PARTITION_GRAMMAR})`);
  if (name === "identity" || TIME[name]) {
    if (args.length !== 1) return bad(`${name} takes one column, as in ${name}(ts)`);
    return name === "identity" ? { transform: "identity", column: sanitizeColumn(args[0]) } : { transform: TIME[name], column: sanitizeColumn(args[0]) };
  }
  if (SIZED[name]) {
    const example = name === "bucket" ? "bucket(16, id)" : "truncate(4, code)";
    if (args.length !== 2 || !/^\d+$/.test(args[0])) return bad(`${name} takes a whole number, then a column, as in ${example}`);
    const n = Number(args[0]);
    const max = name === "bucket" ? MAX_BUCKETS : MAX_WIDTH;
    if (n < 1 || n > max) return bad(`${name}'s ${name === "bucket" ? "count" : "width"} must be from 1 to ${max}`);
    return { transform: SIZED[name], column: sanitizeColumn(args[1]), param: n };
  }
  const hint = /[^A-Za-z0-9_]/.test(text.slice(0, text.indexOf("("))) ? "" : `; a column whose header has parentheses is named by its sanitised name (${sanitizeColumn(text)})`;
  return bad(`unknown partition transform "${call[1]}": use ${PARTITION_GRAMMAR}${hint}`);
});

/** A field in the canonical form the spec, the job server and the commits carry. */
export function formatPartitionField(f: PartitionField): string {
  if (f.transform === "identity") return f.column;
  return f.param !== undefined ? `${f.transform}(${f.param}, ${f.column})` : `${f.transform}(${f.column})`;
}

/** A canonical entry (or any valid one) back into its field; throws on one PartitionEntrySchema refuses. */
export function parsePartitionField(entry: string): PartitionField {
  return PartitionEntrySchema.parse(entry);
}

/** The source columns a partitioning reads, each once, in order: what every source must hold. */
export function partitionColumns(partitionBy: readonly string[]): string[] {
  return [...new Set(partitionBy.map((e) => parsePartitionField(e).column))];
}

/**
 * The problems of a table's whole partitioning (its entries parsed): a field twice, two time
 * transforms of one column (Iceberg refuses day(ts) with month(ts): one is redundant), and for
 * Hudi anything but columns. Each with the entry's index and a message naming the table.
 */
export function partitioningProblems(table: string, format: "hudi" | "iceberg", fields: PartitionField[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  const seen = new Map<string, number>();
  const timeOf = new Map<string, number>();
  fields.forEach((f, i) => {
    const text = formatPartitionField(f);
    if (format === "hudi" && f.transform !== "identity") {
      out.push({ index: i, message: `table ${table} is a Hudi table: it partitions by columns only, and ${text} is an Iceberg partition transform (use the column, or format: iceberg)` });
      return;
    }
    if (seen.has(text)) {
      out.push({ index: i, message: `table ${table}: ${text} is already partitionBy[${seen.get(text)}]` });
      return;
    }
    seen.set(text, i);
    if (["year", "month", "day", "hour"].includes(f.transform)) {
      const other = timeOf.get(f.column);
      if (other !== undefined) out.push({ index: i, message: `table ${table}: ${text} and ${formatPartitionField(fields[other])} partition one column by time twice (Iceberg refuses the redundant one): keep one` });
      else timeOf.set(f.column, i);
    }
  });
  return out;
}

export type PartitionChange = "none" | "evolve" | "rebuild";

/**
 * What a change of a table's partitioning takes, for a table that holds data (both sides in
 * canonical form). Iceberg: "evolve", partition evolution (the table's spec changes, files keep
 * theirs, nothing is rewritten), or "none" when only the order of its fields changed (an Iceberg
 * spec's fields are a set: the files are the same). Hudi: "rebuild" on any change, order
 * included (its partition path is the values in order): every file would move.
 *
 * The one classification of a partitioning change: the reconciler's plan, the preview's diff and
 * `lakeform plan` all ask it. A change of format is not this function's (it rebuilds whatever
 * the partitioning does).
 */
export function partitionChange(before: readonly string[] | undefined, after: readonly string[], format: "hudi" | "iceberg"): PartitionChange {
  const was = [...(before ?? [])];
  if (JSON.stringify(was) === JSON.stringify([...after])) return "none";
  if (format === "hudi") return "rebuild";
  const a = new Set(was);
  const b = new Set(after);
  return a.size === b.size && [...a].every((x) => b.has(x)) ? "none" : "evolve";
}

/** The Iceberg partition evolution from one partitioning to another: the fields dropped and added. */
export function partitionEvolution(before: readonly string[], after: readonly string[]): { drop: string[]; add: string[] } {
  return { drop: before.filter((f) => !after.includes(f)), add: after.filter((f) => !before.includes(f)) };
}
