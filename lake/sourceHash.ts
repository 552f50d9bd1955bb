/**
 * A source's identity is the sha256 of its content (recorded in every commit it made): hashed by
 * streaming, never held whole, and kept by location while the source's stamp (size + mtime
 * locally, ETag + size on S3) is unchanged, so an unchanged source is not read again
 * (lake/sources.ts's Sources hold one cache each).
 */
import * as crypto from "node:crypto";

/** What identifies a source's content without reading it: size and mtime (local), ETag and size (S3). */
export interface SourceStamp {
  bytes: number;
  /** Local: the modification time in ms; S3: the ETag. */
  version: string;
}

/**
 * Content hashes of sources by location, kept while their stamp (size + mtime, or ETag + size)
 * is the same: an unchanged source is not read again. One per Sources (a process's reconciler
 * keeps it across passes); `hits`/`misses` count lookups, for tests and benches.
 */
export class SourceHashCache {
  private readonly entries = new Map<string, { stamp: SourceStamp; hash: string }>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 100_000) {}

  /** The hash recorded for this location with this stamp, or undefined (then it must be hashed). */
  get(location: string, stamp: SourceStamp): string | undefined {
    const e = this.entries.get(location);
    if (e && e.stamp.bytes === stamp.bytes && e.stamp.version === stamp.version) {
      this.hits++;
      return e.hash;
    }
    this.misses++;
    return undefined;
  }

  set(location: string, stamp: SourceStamp, hash: string): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(location)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(location, { stamp, hash });
  }

  get size(): number {
    return this.entries.size;
  }
}

/** sha256 of a stream, read chunk by chunk (never the whole content in memory). */
export async function sha256Stream(body: AsyncIterable<Uint8Array>): Promise<{ hash: string; bytes: number }> {
  const h = crypto.createHash("sha256");
  let bytes = 0;
  for await (const chunk of body) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { hash: h.digest("hex"), bytes };
}

/** sha256 of content held in memory (a change document, an API upload's buffer). */
export function sha256(data: Buffer | string): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}
