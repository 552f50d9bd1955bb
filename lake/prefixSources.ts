/**
 * Watched prefix sources' I/O (lake/prefixPlan.ts has what is pure of them, and the design):
 * listing a prefix or local folder in one paginated listing, the manifests (read once each, kept:
 * they never change), and landing a batch as one file. Everything of prefixPlan is exported from
 * here too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { LakeformError } from "./errors";
import type { DetectedFormat, SourceRead } from "./sourceFormat";
import { sha256Stream, type SourceHashCache } from "./sourceHash";
import { globToRegExp, isGlob, isS3Source, ObjectStoreError, parseS3Uri, SourceError, type ResolvedSource } from "./sources";
import { byLocation, describeChange, diffPrefix, listedKey, needsHash, newestApplied, planBatches, PREFIX_MANIFESTS, sourceIdOf, type ListedObject, type PrefixBatch, type PrefixManifest, type PrefixObserved, type TrackedObject } from "./prefixPlan";

export * from "./prefixPlan";

/** Where an object of a joined batch is in the landed file: its first and last line there (1-based) and how many of its own lines were left out before them (its header). */
interface BatchLine {
  location: string;
  from: number;
  to: number;
  skip: number;
}

/** Line breaks in a buffer (a last line without one is counted by the caller's appended break). */
function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) n++;
  return n + (b.length > 0 && b[b.length - 1] !== 0x0a ? 1 : 0);
}

/** Joined batches whose line index is kept in memory. */
const LINE_INDEXES_KEPT = 32;

/** How many objects a batch's landing reads at once. */
const LAND_CONCURRENCY = 16;

/**
 * The I/O of prefix sources: listing a prefix or folder, the manifests (read once each, kept: they
 * never change), and landing a batch as one file.
 */
export class PrefixStore {
  private readonly manifests = new Map<string, PrefixManifest>();
  /** Objects (as listed) whose header differs from the one before them: each starts a batch (concatenate). */
  private readonly headerChanges = new Set<string>();
  /** Where each object of a joined batch starts in the landed file (by batch id), for errors' line numbers. */
  private readonly lineIndexes = new Map<string, BatchLine[]>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly hashes: SourceHashCache,
  ) {}

  /** Every object under the prefix (or matching the glob), in key order: one paginated listing; a local folder's files with their size and mtime. */
  async list(declared: string, baseDir: string): Promise<ListedObject[]> {
    if (isS3Source(declared)) {
      const { bucket, key } = parseS3Uri(declared);
      const prefix = isGlob(key) ? key.slice(0, key.search(/[*?]/)) : key;
      const re = isGlob(key) ? globToRegExp(key) : undefined;
      const out: ListedObject[] = [];
      for await (const o of this.listKeys(bucket, prefix, declared)) {
        if (o.key.endsWith("/") || (re && !re.test(o.key))) continue;
        out.push({ location: `s3://${bucket}/${o.key}`, size: o.size, etag: o.etag });
      }
      return out.sort(byLocation);
    }
    const abs = path.resolve(baseDir, declared);
    const dir = isGlob(abs) ? abs.slice(0, abs.search(/[*?]/)).replace(/[^/]*$/, "") : abs;
    const re = isGlob(abs) ? globToRegExp(abs) : undefined;
    if (!fs.existsSync(dir)) throw new SourceError(declared, `folder not found: ${dir}`);
    const out: ListedObject[] = [];
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const file = path.join(dir, f);
      if (re && !re.test(file)) continue;
      const st = await fs.promises.stat(file).catch(() => undefined);
      if (!st?.isFile() || path.basename(file).startsWith(".")) continue;
      out.push({ location: file, size: st.size, mtimeMs: st.mtimeMs });
    }
    return out.sort(byLocation);
  }

  private async *listKeys(bucket: string, prefix: string, declared: string): AsyncGenerator<{ key: string; size: number; etag?: string }> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })).catch((err: unknown) => {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 403 || status === 404) throw new SourceError(declared, `can't list s3://${bucket}/${prefix}: ${(err as Error).name}`, { cause: err });
        throw new ObjectStoreError(`listing s3://${bucket}/${prefix}`, { cause: err });
      });
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag };
      token = page.NextContinuationToken;
    } while (token);
  }

  /**
   * A prefix's pending writes against what the lake has applied (`applied`: the table's source
   * hashes, its journal's included): new objects, and changed ones as onChange says (fail: none,
   * the plan refuses naming them).
   */
  async resolve(where: { database: string; name: string }, declared: string, read: SourceRead | undefined, baseDir: string, applied: Set<string>): Promise<{ sources: ResolvedSource[]; observed: PrefixObserved }> {
    const onChange = read?.onChange ?? "fail";
    let listed = await this.list(declared, baseDir);
    const from = await this.tracked(where, declared, applied);
    const toHash = new Set(needsHash(listed, from.objects).map((o) => o.location));
    if (toHash.size) {
      const hashed: ListedObject[] = [];
      for (const o of listed) hashed.push(toHash.has(o.location) ? await this.hashLocal(declared, o) : o);
      listed = hashed;
    }
    const { fresh, changed } = diffPrefix(listed, from.objects);
    // Under fail the writes reapply would make are still planned (the plan refuses them, prefixRefusal): their ids keep the refusal's input, so it is looked at again when an object moves.
    const pending = onChange === "ignore" ? fresh : [...fresh, ...changed.map((c) => c.obj)].sort(byLocation);
    const sources = planBatches(where, declared, read, from, pending, (o) => this.headerChanges.has(listedKey(o)));
    return {
      sources,
      observed: { declared, onChange, listed: listed.length, tracked: Object.keys(from.objects).length, fresh: fresh.length, changed: changed.map(describeChange), batches: sources.length },
    };
  }

  /** A local file's content hash (kept by size + mtime across passes). */
  async hashLocal(declared: string, o: ListedObject): Promise<ListedObject> {
    const stamp = { bytes: o.size, version: String(o.mtimeMs) };
    const cached = this.hashes.get(o.location, stamp);
    if (cached) return { ...o, hash: cached };
    const { hash } = await sha256Stream(fs.createReadStream(o.location)).catch((err: unknown) => {
      throw new SourceError(declared, `can't read ${o.location}: ${(err as Error).message}`, { cause: err });
    });
    this.hashes.set(o.location, stamp, hash);
    return { ...o, hash };
  }

  /** The tracked state of a prefix: the newest manifest whose batch the table has applied (none: nothing tracked). */
  async tracked(where: { database: string; name: string }, declared: string, applied: Set<string>): Promise<{ seq: number; objects: Record<string, TrackedObject> }> {
    const prefix = `${PREFIX_MANIFESTS}/${where.database}/${where.name}/${sourceIdOf(declared)}/`;
    const keys: string[] = [];
    for await (const o of this.listKeys(this.bucket, prefix, declared)) keys.push(o.key);
    const key = newestApplied(keys, applied);
    if (!key) return { seq: 0, objects: {} };
    let m = this.manifests.get(key);
    if (!m) {
      const obj = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).catch((err: unknown) => {
        throw new ObjectStoreError(`reading s3://${this.bucket}/${key}`, { cause: err });
      });
      m = JSON.parse(await obj.Body!.transformToString()) as PrefixManifest;
      this.manifests.set(key, m);
    }
    return { seq: m.seq, objects: m.objects };
  }

  /** Writes a batch's manifest (before its write: a batch that never commits leaves one nothing reads). */
  async record(batch: PrefixBatch): Promise<void> {
    await this.s3
      .send(new PutObjectCommand({ Bucket: this.bucket, Key: batch.manifestKey, Body: JSON.stringify(batch.manifest), ContentType: "application/json" }))
      .catch((err: unknown) => {
        throw new ObjectStoreError(`recording s3://${this.bucket}/${batch.manifestKey}`, { cause: err });
      });
  }

  /**
   * One file of a batch's objects, in key order: a CSV's or TSV's header once (each object's
   * own must be the same), JSON Lines as they are; each object ends with a line break.
   */
  async concatenate(src: ResolvedSource, detected: DetectedFormat, header: boolean): Promise<Buffer> {
    const objects = src.batch!.objects;
    const bodies: Buffer[] = new Array(objects.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < objects.length; i = next++) bodies[i] = await this.read(src.declared, objects[i]);
    };
    await Promise.all(Array.from({ length: Math.min(LAND_CONCURRENCY, objects.length) }, worker));
    const parts: Buffer[] = [];
    const index: BatchLine[] = [];
    let lines = 0;
    let firstHeader: string | undefined;
    bodies.forEach((b, i) => {
      let skip = 0;
      let body = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
      if (header && detected.format !== "jsonl") {
        const nl = body.indexOf(0x0a);
        const line = (nl < 0 ? body : body.subarray(0, nl)).toString("utf8").replace(/\r$/, "");
        if (firstHeader === undefined) firstHeader = line;
        else {
          if (line !== firstHeader) {
            // Joined objects share one header: this one (a column added, say) starts a batch of its own, planned again now.
            this.headerChanges.add(listedKey(objects[i]));
            const was = `${objects[0].location}'s (${JSON.stringify(firstHeader.slice(0, 200))})`;
            throw new LakeformError("BATCH_REPLANNED", `source ${src.declared}: ${objects[i].location}'s header (${JSON.stringify(line.slice(0, 200))}) differs from ${was}: it starts a batch of its own, planned again on the next attempt`, { source: src.declared, object: objects[i].location });
          }
          body = nl < 0 ? Buffer.alloc(0) : body.subarray(nl + 1);
          skip = 1;
        }
      }
      if (body.length === 0) return;
      const from = lines + 1;
      lines += countLines(body);
      index.push({ location: objects[i].location, from, to: lines, skip });
      parts.push(body);
      if (body[body.length - 1] !== 0x0a) parts.push(Buffer.from("\n"));
    });
    this.lineIndexes.set(src.hash, index);
    // The newest few only: an index is asked for by the write that follows its landing.
    for (const old of this.lineIndexes.keys()) if (this.lineIndexes.size > LINE_INDEXES_KEPT) this.lineIndexes.delete(old);
    return Buffer.concat(parts);
  }

  /**
   * A line of a joined batch's landed file as the line of the object it came from (errors name
   * the landed file's lines). Known once the batch was landed by this process, else its objects
   * are read again (an error's path only); undefined for a batch of one object or a line beyond.
   */
  async lineOf(src: ResolvedSource, line: number, detected: DetectedFormat): Promise<{ location: string; line: number } | undefined> {
    if (!src.batch || src.batch.objects.length < 2) return undefined;
    if (!this.lineIndexes.has(src.hash)) await this.concatenate(src, detected, src.batch.header).catch(() => undefined);
    const at = (this.lineIndexes.get(src.hash) ?? []).find((e) => e.from <= line && line <= e.to);
    return at && { location: at.location, line: line - at.from + 1 + at.skip };
  }

  private async read(declared: string, o: ListedObject): Promise<Buffer> {
    try {
      if (!isS3Source(o.location)) return await fs.promises.readFile(o.location);
      const { bucket, key } = parseS3Uri(o.location);
      const obj = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(o.etag ? { IfMatch: o.etag } : {}) }));
      return Buffer.from(await obj.Body!.transformToByteArray());
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      const why = e.$metadata?.httpStatusCode === 412 ? "changed since it was listed (its ETag moved); the next pass lists it again" : `${e.name ?? "Error"}: ${(err as Error).message}`;
      throw new SourceError(declared, `can't read ${o.location}: ${why}`, { cause: err });
    }
  }
}
