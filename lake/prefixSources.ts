/**
 * Watched prefix sources: `s3://bucket/landing/orders/` (a trailing slash), a local folder
 * (`landing/`), or a glob declared with `onChange`. Each object is applied once, in key order,
 * tracked by key and ETag (local: path + size + mtime + content hash), never by time.
 *
 * What a prefix has applied lives in the lake: each write of a prefix's new objects (a batch) has
 * an id (sha256 of the source, its sequence number and its objects' keys and ETags) that is the
 * commit's source hash (lakeform.source_hash, journaled like any write), and a manifest at
 * _lakeform/prefix/<db>/<table>/<source id>/<seq>-<batch id>.json that says every object tracked
 * once that batch is applied (cumulative). A pass lists the prefix (one paginated ListObjectsV2)
 * and the manifests, takes the newest manifest whose batch id the table's commits (or journal)
 * carry, and compares: a restarted or second reconciler agrees, and nothing is read or HEADed per
 * object. A manifest whose batch never committed is ignored.
 *
 * Small CSV/TSV/JSON Lines objects are applied together (concatenated in key order into one landed
 * file, one header kept): a prefix of 500 files is one write, not 500.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { detectFormat, ON_CHANGE, type DetectedFormat, type OnChange, type SourceRead } from "./sourceFormat";
import { sha256, sha256Stream, type SourceHashCache } from "./sourceHash";
import { LakeformError } from "./errors";
import { globToRegExp, isGlob, isS3Source, ObjectStoreError, parseS3Uri, SourceError, type ResolvedSource } from "./sources";

export { ON_CHANGE, type OnChange };

/** Objects at most this big, of a format that concatenates, are applied together. */
export const BATCH_OBJECT_MAX_BYTES = 8 * 1024 * 1024;
export const BATCH_MAX_BYTES = 64 * 1024 * 1024;
export const BATCH_MAX_OBJECTS = 2000;
/** How many objects a batch's landing reads at once. */
const LAND_CONCURRENCY = 16;
export const PREFIX_MANIFESTS = "_lakeform/prefix";

/** Whether a declared source is watched as a prefix: a trailing slash, or a glob declared with onChange. */
export function isPrefixSource(declared: string, read?: SourceRead): boolean {
  return declared.endsWith("/") || (read?.onChange !== undefined && isGlob(declared));
}

/** One object as a listing tells it: S3's ETag and size, a local file's size, mtime and (once read) content hash. */
export interface ListedObject {
  /** s3://bucket/key or an absolute path. */
  location: string;
  size: number;
  etag?: string;
  mtimeMs?: number;
  hash?: string;
}
export type TrackedObject = Omit<ListedObject, "location">;

/** What the lake says a prefix has applied once a batch is in: every object tracked, by location. */
export interface PrefixManifest {
  lakeformPrefix: 1;
  source: string;
  seq: number;
  objects: Record<string, TrackedObject>;
  /** The objects this batch applied, in order. */
  batch: string[];
}

/** A batch of a prefix's objects, written as one source. */
export interface PrefixBatch {
  seq: number;
  /** CSV/TSV objects have a header line (kept once when they are concatenated). */
  header: boolean;
  objects: ListedObject[];
  manifestKey: string;
  manifest: PrefixManifest;
}

/** What a pass saw of a prefix (plan.ts and the status say it). */
export interface PrefixObserved {
  declared: string;
  onChange: OnChange;
  listed: number;
  /** Objects the lake has applied (the newest applied manifest's). */
  tracked: number;
  fresh: number;
  /** Changed objects applied again (reapply), skipped (ignore) or refused (fail). */
  changed: { location: string; was: string; now: string }[];
  batches: number;
}

const stampOf = (o: TrackedObject): string => (o.etag !== undefined ? `ETag ${o.etag}` : `size ${o.size}, mtime ${new Date(o.mtimeMs ?? 0).toISOString()}${o.hash ? `, sha256 ${o.hash.slice(0, 12)}` : ""}`);

/** Local files whose size or mtime differ from what is tracked: their content hash decides whether they changed. */
export function needsHash(listed: ListedObject[], tracked: Record<string, TrackedObject>): ListedObject[] {
  return listed.filter((o) => o.etag === undefined && o.hash === undefined && !(tracked[o.location] && tracked[o.location].size === o.size && tracked[o.location].mtimeMs === o.mtimeMs));
}

/** Whether a listed object is the one tracked (S3: ETag and size; local: size and mtime, else the content hash). */
export function sameObject(o: ListedObject, t: TrackedObject): boolean {
  if (o.etag !== undefined || t.etag !== undefined) return o.etag === t.etag && o.size === t.size;
  if (o.size === t.size && o.mtimeMs === t.mtimeMs) return true;
  return o.hash !== undefined && o.hash === t.hash;
}

/** New and changed objects, in key order. Pure. */
export function diffPrefix(listed: ListedObject[], tracked: Record<string, TrackedObject>): { fresh: ListedObject[]; changed: { obj: ListedObject; was: TrackedObject }[] } {
  const fresh: ListedObject[] = [];
  const changed: { obj: ListedObject; was: TrackedObject }[] = [];
  for (const o of [...listed].sort(byLocation)) {
    const t = tracked[o.location];
    if (!t) fresh.push(o);
    else if (!sameObject(o, t)) changed.push({ obj: o, was: t });
  }
  return { fresh, changed };
}

const listedKey = (o: ListedObject) => `${o.location}\t${o.etag ?? ""}\t${o.size}\t${o.mtimeMs ?? ""}`;

const byLocation = (a: { location: string }, b: { location: string }) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0);

/** Whether objects of this read can be concatenated into one file (one header kept). */
const concatenates = (d: DetectedFormat, read?: SourceRead) =>
  d.compression === "none" && (d.format === "jsonl" || d.format === "csv" || d.format === "tsv") && (!read?.csv?.encoding || /^(utf-?8|us-ascii|ascii|iso-8859-\d+|latin-?1|windows-125\d)$/i.test(read.csv.encoding));

/** A batch's id: what the commit carries as its source hash. */
export function batchId(declared: string, seq: number, objects: ListedObject[]): string {
  return sha256([`lakeform-prefix ${declared} ${seq}`, ...objects.map((o) => `${o.location}\t${o.etag ?? ""}\t${o.size}\t${o.mtimeMs ?? ""}\t${o.hash ?? ""}`)].join("\n"));
}

export const sourceIdOf = (declared: string) => sha256(declared).slice(0, 16);

/**
 * The writes that bring a prefix up to date: its pending objects (key order) in batches, each a
 * source whose hash is its batch id and whose manifest is the tracked state once it is in. Pure.
 */
export function planBatches(
  where: { database: string; name: string },
  declared: string,
  read: SourceRead | undefined,
  from: { seq: number; objects: Record<string, TrackedObject> },
  pending: ListedObject[],
  splitBefore: (o: ListedObject) => boolean = () => false,
): ResolvedSource[] {
  const groups: ListedObject[][] = [];
  let cur: ListedObject[] = [];
  let curBytes = 0;
  let curKind = "";
  for (const o of pending) {
    const d = detectFormat(o.location, read);
    const kind = `${d.format}/${d.compression}`;
    const joins = concatenates(d, read) && o.size <= BATCH_OBJECT_MAX_BYTES;
    if (cur.length && (!joins || kind !== curKind || splitBefore(o) || cur.length >= BATCH_MAX_OBJECTS || curBytes + o.size > BATCH_MAX_BYTES)) {
      groups.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(o);
    curBytes += o.size;
    curKind = joins ? kind : "";
    if (!joins) {
      groups.push(cur);
      cur = [];
      curBytes = 0;
    }
  }
  if (cur.length) groups.push(cur);
  const out: ResolvedSource[] = [];
  let objects = { ...from.objects };
  let seq = from.seq;
  for (const g of groups) {
    seq++;
    objects = { ...objects };
    for (const { location, ...t } of g) objects[location] = t;
    const id = batchId(declared, seq, g);
    const manifest: PrefixManifest = { lakeformPrefix: 1, source: declared, seq, objects, batch: g.map((o) => o.location) };
    const manifestKey = `${PREFIX_MANIFESTS}/${where.database}/${where.name}/${sourceIdOf(declared)}/${String(seq).padStart(10, "0")}-${id}.json`;
    const first = path.basename(g[0].location);
    const name = g.length === 1 ? first : `${first} … ${path.basename(g[g.length - 1].location)} (${g.length} objects, batch ${seq})`;
    out.push({ declared, location: g[0].location, hash: id, bytes: g.reduce((n, o) => n + o.size, 0), name, batch: { seq, header: read?.csv?.header !== false, objects: g, manifestKey, manifest } });
  }
  return out;
}

/** The manifest to start from: the newest whose batch id is applied, by its key's sequence number. Pure. */
export function newestApplied(keys: string[], applied: Set<string>): string | undefined {
  let best: { seq: number; key: string } | undefined;
  for (const key of keys) {
    const m = /\/(\d{10})-([0-9a-f]{64})\.json$/.exec(key);
    if (!m || !applied.has(m[2])) continue;
    const seq = Number(m[1]);
    if (!best || seq > best.seq) best = { seq, key };
  }
  return best?.key;
}

/**
 * The I/O of prefix sources: listing a prefix or folder, the manifests (read once each, kept: they
 * never change), and landing a batch as one file.
 */
export class PrefixStore {
  private readonly manifests = new Map<string, PrefixManifest>();
  /** Objects (as listed) whose header differs from the one before them: each starts a batch (concatenate). */
  private readonly headerChanges = new Set<string>();

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
    let firstHeader: string | undefined;
    bodies.forEach((b, i) => {
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
        }
      }
      if (body.length === 0) return;
      parts.push(body);
      if (body[body.length - 1] !== 0x0a) parts.push(Buffer.from("\n"));
    });
    return Buffer.concat(parts);
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

/** How a changed object reads in a message. */
export const describeChange = (c: { was: TrackedObject; obj: ListedObject }) => ({ location: c.obj.location, was: stampOf(c.was), now: stampOf(c.obj) });

/** A changed object under onChange: fail: the refusal, naming it (the table is left as it is). */
export function prefixRefusal(prefixes: PrefixObserved[] | undefined): SourceError | undefined {
  const p = prefixes?.find((x) => x.onChange === "fail" && x.changed.length > 0);
  if (!p) return undefined;
  const c = p.changed[0];
  const more = p.changed.length > 1 ? ` (and ${p.changed.length - 1} more: ${p.changed.slice(1, 4).map((x) => x.location).join(", ")}${p.changed.length > 4 ? ", …" : ""})` : "";
  return new SourceError(
    p.declared,
    `${c.location} changed after it was applied (${c.was} → ${c.now})${more}; onChange is fail, so nothing is written: restore it, or set onChange: reapply (its rows upserted again) or ignore`,
  );
}

/** What a pass's writes bring from watched prefixes, for its reason: "3 new object(s) under s3://b/landing/ (1 write)". */
export function prefixPendingText(pending: ResolvedSource[]): string | undefined {
  const by = new Map<string, { objects: number; writes: number }>();
  for (const s of pending) {
    if (!s.batch) continue;
    const e = by.get(s.declared) ?? { objects: 0, writes: 0 };
    e.objects += s.batch.objects.length;
    e.writes++;
    by.set(s.declared, e);
  }
  if (by.size === 0) return undefined;
  const others = pending.filter((s) => !s.batch).length;
  return [...by].map(([d, e]) => `${e.objects} new object(s) under ${d} (${e.writes} write(s))`).join(", ") + (others ? `, and ${others} other source(s)` : "");
}

/** What a table in sync says: "all 2 source(s) applied", and per watched prefix "s3://b/landing/: 503 object(s) applied" (a table of prefixes alone: only those). */
export function prefixSyncedText(files: number, prefixes: PrefixObserved[] | undefined): string {
  const each = (prefixes ?? []).map(
    (p) => `${p.declared}: ${p.tracked} object(s) applied${p.changed.length && p.onChange === "ignore" ? `, ${p.changed.length} changed and ignored (onChange: ignore)` : ""}`,
  );
  return [...(files > 0 || each.length === 0 ? [`all ${files} source(s) applied`] : []), ...each].join("; ");
}
