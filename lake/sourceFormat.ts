/**
 * What a source is and how it is read: its format (csv | tsv | parquet | jsonl) and compression
 * (gzip | zstd | bzip2), from its file name's extension unless tables.yaml declares it, and the
 * CSV options (delimiter, quote, escape, header, nullValues, encoding) of its table or its own.
 *
 * One place decides, for every write path: the extension tables below are also the job server's
 * (written into jobs/lakeform_jobs/contract/constants.json by `npm run schema`, read by
 * jobs/lakeform_jobs/readers/detect.py), and a source lands under a key whose extension names its
 * format and compression (landingExtension), so a landed object says how to read it: a rebuild
 * replaying the journal reads it the same way.
 *
 * zstd is decompressed as it lands (Node's zlib): Hadoop's zstd codec needs a native library the
 * Spark we run doesn't carry. gzip and bzip2 land as they are and Spark's codecs read them.
 */
import * as path from "node:path";
import { z } from "zod";
import { LakeformError } from "./errors";

export const SOURCE_FORMATS = ["csv", "tsv", "parquet", "jsonl"] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];
export const COMPRESSIONS = ["none", "gzip", "zstd", "bzip2"] as const;
export type Compression = (typeof COMPRESSIONS)[number];
/** What a watched prefix source does with an object that changed after it was applied (lake/prefixSources.ts). */
export const ON_CHANGE = ["reapply", "ignore", "fail"] as const;
export type OnChange = (typeof ON_CHANGE)[number];

/** A file name's extension (lower-cased) → its format. Anything else reads as CSV (as every source did before formats). */
export const FORMAT_EXTENSIONS: Record<string, SourceFormat> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".tab": "tsv",
  ".parquet": "parquet",
  ".pq": "parquet",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  // JSON Lines, or one JSON document (an array of objects, or a pretty-printed object): the job server tells which.
  ".json": "jsonl",
};
/** A compressed file's last extension → its compression. */
export const COMPRESSION_EXTENSIONS: Record<string, Exclude<Compression, "none">> = { ".gz": "gzip", ".zst": "zstd", ".bz2": "bzip2" };
/** The extension a compression lands with (zstd lands decompressed). */
const LANDED_COMPRESSION: Record<Compression, string> = { none: "", gzip: ".gz", zstd: "", bzip2: ".bz2" };

/** How many texts `nullValues` may list (the job server's readers/detect.py reads it from the contract's constants). */
export const MAX_NULL_VALUES = 20;

/** CSV options (per table, or per source over its table's). */
export const CsvOptionsSchema = z
  .object({
    delimiter: z.string().length(1, "one character").optional().describe('The field separator (default ",", a TSV\'s tab: "\\t" in double quotes)'),
    quote: z.string().length(1, "one character").optional().describe('The quote character (default ")'),
    escape: z.string().length(1, "one character").optional().describe('The character that escapes a quote inside a quoted field (default: the quote itself, RFC 4180\'s doubled quote)'),
    header: z.boolean().optional().describe("false: the file has no header line; its columns are named c0, c1, … (default true)"),
    nullValues: z
      .union([z.string(), z.array(z.string()).min(1).max(MAX_NULL_VALUES)], { error: `a value or a list of 1 to ${MAX_NULL_VALUES}` })
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional()
      .describe('The text(s) that mean no value (default: an empty field), e.g. "NA" or [NA, "N/A", "-"]'),
    locale: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "a language tag such as de-DE")
      .optional()
      .describe('How declared decimal, date and timestamp columns are written (a BCP 47 tag, default en-US): de-DE reads 1.234,56 as a decimal'),
    encoding: z.string().regex(/^[A-Za-z0-9_.:-]+$/, "a charset name such as utf-8, iso-8859-1, windows-1252").optional().describe("The file's character set (default utf-8)"),
  })
  .strict();
export type CsvOptions = z.output<typeof CsvOptionsSchema>;

/** A source as tables.yaml may declare it: a path, or an object saying how to read it. */
export const SourceEntrySchema = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1).describe("A local path or glob (relative to tables.yaml) or an s3:// URI; ending in / a watched prefix or folder (each new object applied once)"),
      format: z.enum(SOURCE_FORMATS).optional().describe("csv | tsv | parquet | jsonl (default: from the file's extension, else csv)"),
      compression: z.enum(COMPRESSIONS).optional().describe("none | gzip | zstd | bzip2 (default: from the extension: .gz, .zst, .bz2)"),
      csv: CsvOptionsSchema.optional().describe("CSV options for this source, over the table's"),
      onChange: z
        .enum(ON_CHANGE)
        .optional()
        .describe("A watched prefix (path ending in /, or a glob with onChange): an object changed after it was applied is re-applied (reapply: its rows upserted again by key), skipped (ignore) or refused, naming it (fail, the default)"),
    })
    .strict(),
]);
export type SourceEntry = z.output<typeof SourceEntrySchema>;

/** How a declared source is read when it says so (format, compression, CSV options). */
export interface SourceRead {
  format?: SourceFormat;
  compression?: Compression;
  csv?: CsvOptions;
  /** A watched prefix's handling of a changed object. */
  onChange?: OnChange;
}

/**
 * What a write request says of how its source is read (lake/jobServerContract.ts SourceSchema's
 * format, compression and csv), and what a write-journal record keeps of it (JournalEntrySchema's
 * `read`), so a rebuild's replay sends it back as it was.
 */
export const SourceReadRequestSchema = z.strictObject({
  format: z.enum(SOURCE_FORMATS).optional().describe("How the source is read (lake/sourceFormat.ts); absent: from the landed key's extension"),
  compression: z.enum(COMPRESSIONS).optional().describe("absent: from the landed key's extension"),
  csv: z
    .object({
      delimiter: z.string().length(1).optional(),
      quote: z.string().length(1).optional(),
      escape: z.string().length(1).optional(),
      header: z.boolean().optional(),
      nullValues: z.array(z.string()).min(1).max(MAX_NULL_VALUES).optional(),
      locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/).optional(),
      encoding: z.string().regex(/^[A-Za-z0-9_.:-]+$/).optional(),
    })
    .optional()
    .describe("CSV options: the source's over its table's"),
});
export type SourceReadRequest = z.output<typeof SourceReadRequestSchema>;

export interface DetectedFormat {
  format: SourceFormat;
  compression: Compression;
}

/** A file's format and compression: declared first, else from its name's extensions, else CSV. */
export function detectFormat(name: string, declared: SourceRead = {}): DetectedFormat {
  let base = path.basename(name).toLowerCase();
  let compression: Compression = "none";
  const ce = path.extname(base);
  if (COMPRESSION_EXTENSIONS[ce]) {
    compression = COMPRESSION_EXTENSIONS[ce];
    base = base.slice(0, -ce.length);
  }
  const format = declared.format ?? FORMAT_EXTENSIONS[path.extname(base)] ?? "csv";
  return { format, compression: declared.compression ?? compression };
}

/** The extension a source lands with: its format's, and its compression's when it stays compressed. */
export function landingExtension(d: DetectedFormat): string {
  return `.${d.format}${LANDED_COMPRESSION[d.compression]}`;
}

/** The CSV options a source is read with: its own over its table's (undefined when neither says any). */
export function mergeCsvOptions(table?: CsvOptions, source?: CsvOptions): CsvOptions | undefined {
  const merged = { ...(table ?? {}), ...(source ?? {}) };
  return Object.keys(merged).length ? merged : undefined;
}

/** A sensible error when a declared read can't be: Parquet is compressed inside, never by a file codec. */
export function formatProblem(d: DetectedFormat): string | undefined {
  if (d.format === "parquet" && d.compression !== "none") return `a Parquet file is compressed inside; ${d.compression} around it is not read`;
  return undefined;
}

/**
 * How a table's resolved source is read and lands: its declared read (by the path as written in
 * tables.yaml) over its extension, with its table's CSV options under its own. A journal replay
 * is read as its original write was: the read its record kept (`read`, sent back as it is). A
 * record from before records kept it: by the landing key's extension, with the table's CSV options.
 */
export function sourceRead(
  spec: { csv?: CsvOptions; sourceReads?: Record<string, SourceRead> },
  src: { declared: string; location: string; replay?: unknown; read?: SourceReadRequest },
): { detected: DetectedFormat; request: SourceReadRequest } {
  if (src.replay && src.read) {
    const d = detectFormat(src.location, { format: src.read.format, compression: src.read.compression });
    return { detected: d, request: src.read };
  }
  const declared = src.replay ? {} : (spec.sourceReads?.[src.declared] ?? {});
  const detected = detectFormat(src.location, declared);
  const problem = formatProblem(detected);
  if (problem) throw new LakeformError("SOURCE_UNREADABLE", `source ${src.declared}: ${problem}`, { source: src.declared });
  // zstd lands decompressed: the landed object is read as plain.
  const compression = detected.compression === "zstd" ? "none" : detected.compression;
  const csv = detected.format === "csv" || detected.format === "tsv" ? mergeCsvOptions(spec.csv, declared.csv) : undefined;
  return { detected, request: { format: detected.format, compression, ...(csv ? { csv } : {}) } };
}

/** The extension tables as the job server reads them (contract/constants.json). */
export function sourceFormatConstants(): Record<string, unknown> {
  return { formats: SOURCE_FORMATS, compressions: COMPRESSIONS, formatExtensions: FORMAT_EXTENSIONS, compressionExtensions: COMPRESSION_EXTENSIONS, maxNullValues: MAX_NULL_VALUES };
}
