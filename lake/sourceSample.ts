/**
 * The first bytes of a declared source (a local file or an s3:// object), for `lakeform plan`'s
 * estimates: one ranged read, never the whole source. A compressed source's prefix is
 * decompressed as far as it goes (gzip and zstd by Node's zlib); bzip2 has no decompressor here
 * and a Parquet file's rows are in its footer, which the plan doesn't read: their samples say
 * why the plan can't know (SourceSample.unknown) instead of a guess.
 */
import * as fs from "node:fs/promises";
import * as zlib from "node:zlib";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { SourceSample } from "../reconciler/dataPlan";
import type { CsvOptions, DetectedFormat } from "./sourceFormat";
import { parseS3Uri, SourceError, type ResolvedSource } from "./sources";

/** What the plan reads of each source: enough rows for an estimate, little enough to read at once. */
export const PLAN_SAMPLE_BYTES = 1024 * 1024;
/** A compressed source's sample is this much of its (compressed) bytes, decompressed to at most PLAN_INFLATED_BYTES. */
export const PLAN_COMPRESSED_SAMPLE_BYTES = 256 * 1024;
export const PLAN_INFLATED_BYTES = 16 * 1024 * 1024;

/** How the plan reads a source: its detected format and compression, and its CSV options. */
export interface SampleRead {
  detected: DetectedFormat;
  csv?: CsvOptions;
}

async function readHead(s3: S3Client, src: ResolvedSource, want: number): Promise<Buffer> {
  if (src.location.startsWith("s3://")) {
    const { bucket, key } = parseS3Uri(src.location);
    const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${want - 1}` }));
    return Buffer.from(await obj.Body!.transformToByteArray());
  }
  const fh = await fs.open(src.location, "r");
  try {
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A compressed prefix, decompressed as far as it goes: the output (at most `cap` bytes), how many
 * input bytes it came from (about, when the cap stopped it) and whether the stream ended cleanly.
 */
export function inflatePrefix(input: Buffer, make: () => zlib.Gunzip | zlib.ZstdDecompress, cap = PLAN_INFLATED_BYTES): Promise<{ out: Buffer; consumed: number; complete: boolean }> {
  return new Promise((resolve) => {
    const z = make();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      resolve({ out: Buffer.concat(chunks).subarray(0, cap), consumed: complete ? input.length : Math.max(1, Math.min(input.length, z.bytesWritten)), complete });
      z.destroy();
    };
    z.on("data", (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size >= cap) finish(false);
    });
    z.on("end", () => finish(true));
    z.on("error", () => finish(false));
    // In slices, so bytesWritten says about how much input the output so far came from.
    for (let at = 0; at < input.length; at += 16 * 1024) z.write(input.subarray(at, at + 16 * 1024));
    z.end();
  });
}

export async function readSample(s3: S3Client, src: ResolvedSource, read?: SampleRead, maxBytes = PLAN_SAMPLE_BYTES): Promise<SourceSample> {
  const format = read?.detected.format ?? "csv";
  const compression = read?.detected.compression ?? "none";
  const base = { format, ...(read?.csv ? { csv: read.csv } : {}) };
  if (format === "parquet") return { ...base, head: Buffer.alloc(0), whole: false, unknown: "rows unknown for parquet (its row count is in its footer, which the plan doesn't read)" };
  if (compression === "bzip2") return { ...base, head: Buffer.alloc(0), whole: false, unknown: "rows unknown for bzip2 (the plan has no bzip2 decompressor)" };
  const make =
    compression === "gzip" ? () => zlib.createGunzip() : compression === "zstd" && typeof zlib.createZstdDecompress === "function" ? () => zlib.createZstdDecompress() : undefined;
  if (compression === "zstd" && !make) return { ...base, head: Buffer.alloc(0), whole: false, unknown: `rows unknown for zstd (Node ${process.version} has no zstd decompressor)` };
  const want = Math.min(make ? Math.min(maxBytes, PLAN_COMPRESSED_SAMPLE_BYTES) : maxBytes, src.bytes);
  if (want === 0) return { ...base, head: Buffer.alloc(0), whole: true };
  try {
    const raw = await readHead(s3, src, want);
    if (!make) return jsonDocument({ ...base, head: raw, whole: raw.length >= src.bytes });
    const { out, consumed, complete } = await inflatePrefix(raw, make);
    const whole = complete && raw.length >= src.bytes;
    if (out.length === 0 && !whole) return { ...base, head: out, whole: false, unknown: `rows unknown: the first ${raw.length} bytes don't decompress as ${compression}` };
    return jsonDocument({ ...base, head: out, whole, readBytes: consumed });
  } catch (err) {
    throw new SourceError(src.declared, `can't be sampled: ${(err as Error).message}`, { cause: err });
  }
}

/** A JSON source that is one document (an array) larger than the sample: the plan can't count its rows from a prefix. */
function jsonDocument(s: SourceSample): SourceSample {
  if (s.format !== "jsonl" || s.whole || !/^\s*\[/.test(s.head.subarray(0, 1024).toString("utf8").replace(/^\ufeff/, ""))) return s;
  return { ...s, head: Buffer.alloc(0), unknown: "rows unknown: a JSON document (an array) larger than the plan's sample" };
}
