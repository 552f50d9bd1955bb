/**
 * A CSV ingest body as it streams through the API to the object store: counted against the
 * route's limit, its header record read from the first bytes and checked against the table
 * before the upload completes, and a data row looked for. Nothing else about the rows is looked
 * at here: the job server refuses a ragged record, a value of the wrong type or an empty key
 * before it commits (jobs/lakeform_jobs/csv_source.py), with the line it was on.
 */
import { Readable, Transform, type TransformCallback } from "node:stream";
import { parse as parseCsv } from "csv-parse/sync";
import { sanitizeColumn } from "../lake/columns";
import { LakeformError } from "../lake/errors";
import type { TableSpec } from "../lake/spec";
import { checkCsvFitsTable } from "./validation";

/** The longest header record read before the body is refused: a header, not a file without line breaks. */
export const MAX_HEADER_BYTES = 1024 * 1024;

const NL = 0x0a;
const QUOTE = 0x22;
const isBlank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d || b === NL;

/** The fields of one CSV record (the header), byte-order mark and line end removed. */
export function headerFields(record: Buffer): string[] {
  const text = record.toString("utf8").replace(/^\uFEFF/, "");
  try {
    const [fields] = parseCsv(text, { relax_column_count: true }) as string[][];
    return fields ?? [];
  } catch (err) {
    throw new LakeformError("BAD_CSV", `the CSV's header line is malformed: ${(err as Error).message}`);
  }
}

export interface CsvStreamCheckOptions {
  /** Bytes the body may take; one more is PAYLOAD_TOO_LARGE. */
  maxBytes: number;
  /** Called with the header's fields as sent, before they go on; throws to refuse the body. */
  onHeader: (fields: string[]) => void;
}

/**
 * Passes the body through unchanged. Its first record (a line break ends it when an even number
 * of quotes precede it, as the job server samples a file; empty lines before it are skipped) is
 * handed to onHeader before any of it is passed on; a failure there, a body over maxBytes, or a
 * body with no data row after its header fails the stream, which aborts the upload it feeds.
 */
export class CsvStreamCheck extends Transform {
  bytes = 0;
  header?: string[];
  private hasRow = false;
  /** The body so far, held back until its header record is read (at most MAX_HEADER_BYTES). */
  private held: Buffer = Buffer.alloc(0);
  private scanned = 0;
  private recordStart = 0;
  private inQuotes = false;

  constructor(private readonly opts: CsvStreamCheckOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.opts.maxBytes) {
      done(new LakeformError("PAYLOAD_TOO_LARGE", `the CSV takes more than ${this.opts.maxBytes} bytes, this API's limit for an ingest (lakeform:api.csvLimitBytes)`, { limit: this.opts.maxBytes }));
      return;
    }
    try {
      if (this.header) {
        if (!this.hasRow) this.hasRow = chunk.some((b) => !isBlank(b));
        done(null, chunk);
        return;
      }
      this.held = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
      this.scanHeader();
      if (this.header) {
        // The header passed: what was held back goes on.
        const held = this.held;
        this.held = Buffer.alloc(0);
        done(null, held);
        return;
      }
      if (this.held.length > MAX_HEADER_BYTES) throw new LakeformError("BAD_CSV", `no header line in the CSV's first ${MAX_HEADER_BYTES} bytes`);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.header) {
        const record = this.held.subarray(this.recordStart);
        if (!this.blank(record)) this.acceptHeader(record);
      }
      if (!this.header || !this.hasRow) throw new LakeformError("BAD_CSV", "the CSV needs a header line and at least one row");
      done(null, this.held.length ? this.held : undefined);
    } catch (err) {
      done(err as Error);
    }
  }

  /** Reads on through the held bytes for the end of the header record; accepts it when found. */
  private scanHeader(): void {
    const buf = this.held;
    for (; this.scanned < buf.length; this.scanned++) {
      const b = buf[this.scanned];
      if (b === QUOTE) this.inQuotes = !this.inQuotes;
      else if (b === NL && !this.inQuotes) {
        const record = buf.subarray(this.recordStart, this.scanned);
        if (this.blank(record)) {
          // An empty line before the header: skipped, as the job server skips it.
          this.recordStart = this.scanned + 1;
          continue;
        }
        if (record.length > MAX_HEADER_BYTES) throw new LakeformError("BAD_CSV", `no header line in the CSV's first ${MAX_HEADER_BYTES} bytes`);
        this.acceptHeader(record);
        this.hasRow = buf.subarray(this.scanned + 1).some((x) => !isBlank(x));
        return;
      }
    }
  }

  /** Whether a record before the header is empty (the file's byte-order mark, if any, aside: the job server drops it too). */
  private blank(record: Buffer): boolean {
    const bom = this.recordStart === 0 && record[0] === 0xef && record[1] === 0xbb && record[2] === 0xbf;
    return (bom ? record.subarray(3) : record).every(isBlank);
  }

  private acceptHeader(record: Buffer): void {
    const fields = headerFields(record);
    this.opts.onHeader(fields);
    this.header = fields;
  }
}

/**
 * A check of a streamed CSV against its table: the columns tables.yaml names (key, ordering
 * field, partitions) must be in the header, as checkCsvFitsTable checks a whole body.
 */
export function csvStreamFor(t: Pick<TableSpec, "name" | "primaryKey" | "orderingField" | "partitionBy">, maxBytes: number): CsvStreamCheck {
  return new CsvStreamCheck({ maxBytes, onHeader: (header) => checkCsvFitsTable({ header, columns: header.map(sanitizeColumn), records: [] }, t) });
}

/** The body passed through a check: an error of either is the result's error. */
export function checked(body: Readable, check: CsvStreamCheck): Readable {
  body.once("error", (err) => check.destroy(err));
  return body.pipe(check);
}

/** A body read whole, up to maxBytes (PAYLOAD_TOO_LARGE past it), for small bodies. */
export async function readBounded(body: Readable, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > maxBytes) {
      body.destroy();
      throw new LakeformError("PAYLOAD_TOO_LARGE", `${what} takes up to ${maxBytes} bytes`, { limit: maxBytes });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
