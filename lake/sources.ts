/**
 * Sources of a table: local files (paths or globs relative to tables.yaml) and s3:// URIs.
 * Each resolves to a content hash, the identity recorded in the lake's commit metadata, and local
 * files are landed in the object store (content-addressed) so Spark reads them from S3 wherever
 * it runs.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, type Readable } from "node:stream";
import * as zlib from "node:zlib";
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { LakeformError } from "./errors";
import { journalKey, type JournalEntry } from "./jobServerContract";
import { sha256, sha256Stream, SourceHashCache, type SourceStamp } from "./sourceHash";
import { PrefixStore, type PrefixBatch } from "./prefixSources";
import { landingExtension, type DetectedFormat, type SourceReadRequest } from "./sourceFormat";

export interface ResolvedSource {
  /** As written in tables.yaml. */
  declared: string;
  /** Local absolute path, or s3:// URI. */
  location: string;
  /** sha256 of the content. */
  hash: string;
  bytes: number;
  /** The name recorded in the commit, when not the location's file name (journal replays). */
  name?: string;
  /**
   * A journal entry replayed by a rebuild: written as often as the journal has it (not "at most
   * once" by hash) and not journaled again (its entry is there already). `of` is the entry's
   * commit, `last` the commit of the journal's last entry when the rebuild began: both go into
   * the replayed commit, so a rebuild that stops partway resumes after the last one replayed.
   */
  replay?: { of: string; last: string };
  /** A journal replay's read, as its record kept it (how the original write read the source); absent in records from before. */
  read?: SourceReadRequest;
  /** A watched prefix's objects written as one source (lake/prefixSources.ts); `hash` is the batch's id. */
  batch?: PrefixBatch;
}

/** A declared source that can't be found or read. */
export class SourceError extends LakeformError {
  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("SOURCE_UNREADABLE", `source ${source}: ${message}`, { source }, options);
    this.name = "SourceError";
  }
}

/** The object store refused or failed a write or listing Lakeform itself makes (landing, journal). */
export class ObjectStoreError extends LakeformError {
  constructor(what: string, options: { cause: unknown }) {
    const e = options.cause as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e?.$metadata?.httpStatusCode;
    super("OBJECT_STORE_ERROR", `object store: ${what} failed: ${e?.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e?.message ?? String(options.cause)}`, { what }, options);
    this.name = "ObjectStoreError";
  }
}

/** Runs one object-store call, naming what it was for if it fails. */
async function objectStore<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new ObjectStoreError(what, { cause: err });
  }
}

/**
 * The part size of a streamed landing: what the upload holds per part (two in flight). A single
 * CopyObject then moves the whole object to its content-addressed key, which S3 allows up to
 * 5 GiB: the most an API ingest may take (stacks/config.ts).
 */
export const LANDING_PART_BYTES = 8 * 1024 * 1024;
export const MAX_STREAMED_LANDING_BYTES = 5 * 1024 ** 3;
/** A journal record's write is tried this many times, waiting this long, then twice as long, between. */
export const JOURNAL_ATTEMPTS = 4;
export const JOURNAL_RETRY_WAIT_MS = 500;

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new SourceError(uri, "is not an s3:// URI");
  return { bucket: m[1], key: m[2] };
}

export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export const isGlob = (s: string): boolean => /[*?]/.test(s);

/** Whether a declared source names S3 objects rather than local files. */
export const isS3Source = (s: string): boolean => /^s3a?:\/\//.test(s);

export class Sources {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    /** Hashes of unchanged sources (size + mtime, ETag + size): kept across passes. */
    readonly hashes: SourceHashCache = new SourceHashCache(),
  ) {
    this.prefixes = new PrefixStore(s3, bucket, hashes);
  }

  /** Watched prefixes: their listings, manifests and batches. */
  readonly prefixes: PrefixStore;

  /** A local file's hash: from the cache while its size and mtime are the same, else streamed. */
  private async hashLocal(declared: string, file: string): Promise<ResolvedSource> {
    const st = await fs.promises.stat(file);
    const stamp: SourceStamp = { bytes: st.size, version: String(st.mtimeMs) };
    const cached = this.hashes.get(file, stamp);
    if (cached) return { declared, location: file, hash: cached, bytes: st.size };
    const { hash, bytes } = await sha256Stream(fs.createReadStream(file));
    // Changed while read: its stamp now says so, and the next pass hashes it again.
    const after = await fs.promises.stat(file);
    if (after.size === st.size && after.mtimeMs === st.mtimeMs) this.hashes.set(file, stamp, hash);
    return { declared, location: file, hash, bytes };
  }

  /** Expands one declared source into files, sorted by name, each hashed. */
  async resolve(declared: string, baseDir: string): Promise<ResolvedSource[]> {
    if (isS3Source(declared)) return this.resolveS3(declared);
    const abs = path.resolve(baseDir, declared);
    let files: string[];
    if (isGlob(abs)) {
      const dir = abs.slice(0, abs.search(/[*?]/)).replace(/[^/]*$/, "");
      const re = globToRegExp(abs);
      files = fs.existsSync(dir)
        ? (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter((f) => re.test(f))
        : [];
      if (files.length === 0) throw new SourceError(declared, `matches no file (looked in ${dir})`);
    } else {
      if (!fs.existsSync(abs)) throw new SourceError(declared, `file not found: ${abs}`);
      files = [abs];
    }
    const out: ResolvedSource[] = [];
    for (const f of files.sort()) {
      try {
        out.push(await this.hashLocal(declared, f));
      } catch (err) {
        throw new SourceError(declared, `can't read ${f}: ${(err as Error).message}`, { cause: err });
      }
    }
    return out;
  }

  private async resolveS3(uri: string): Promise<ResolvedSource[]> {
    const { bucket, key } = parseS3Uri(uri);
    // Each object with its ETag and size when the listing told them (a glob), else a HEAD asks.
    const keys: { key: string; etag?: string; size?: number }[] = [];
    if (isGlob(key)) {
      const prefix = key.slice(0, key.search(/[*?]/));
      const re = globToRegExp(key);
      let token: string | undefined;
      do {
        const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })).catch((err: unknown) => {
          // A bucket that isn't there or isn't ours to read is the declared source's problem; anything else, the store's.
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === 403 || status === 404) throw new SourceError(uri, `can't list s3://${bucket}/${prefix}: ${(err as Error).name}`, { cause: err });
          throw new ObjectStoreError(`listing s3://${bucket}/${prefix}`, { cause: err });
        });
        for (const o of page.Contents ?? []) if (o.Key && re.test(o.Key)) keys.push({ key: o.Key, etag: o.ETag, size: o.Size });
        token = page.NextContinuationToken;
      } while (token);
      if (keys.length === 0) throw new SourceError(uri, "matches no object");
    } else keys.push({ key });
    const out: ResolvedSource[] = [];
    for (const { key: k, ...listed } of keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      const location = `s3://${bucket}/${k}`;
      try {
        let etag = listed.etag;
        let size = listed.size;
        if (etag === undefined || size === undefined) {
          const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: k }));
          etag = head.ETag;
          size = head.ContentLength;
        }
        const stamp: SourceStamp | undefined = etag !== undefined && size !== undefined ? { bytes: size, version: etag } : undefined;
        const cached = stamp && this.hashes.get(location, stamp);
        if (cached) {
          out.push({ declared: uri, location, hash: cached, bytes: stamp.bytes });
          continue;
        }
        // Cached under the stamp of the version read (the GET's own ETag and length).
        const obj = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
        const { hash, bytes } = await sha256Stream(obj.Body as AsyncIterable<Uint8Array>);
        if (obj.ETag !== undefined) this.hashes.set(location, { bytes, version: obj.ETag }, hash);
        out.push({ declared: uri, location, hash, bytes });
      } catch (err) {
        throw new SourceError(uri, `can't read s3://${bucket}/${k}: ${(err as Error).name}`, { cause: err });
      }
    }
    return out;
  }

  /**
   * Where a source's content lands in the object store, by hash: landing twice is a no-op. Its
   * extension names how it is read (lake/sourceFormat.ts landingExtension; a CSV's is .csv, as
   * every source's was before formats).
   */
  landingKey(src: ResolvedSource, detected?: DetectedFormat): string {
    return `_lakeform/landing/${src.hash.slice(0, 2)}/${src.hash}${detected ? landingExtension(detected) : ".csv"}`;
  }

  /**
   * Lands a source in the warehouse bucket by its hash and returns the s3a:// URI Spark reads: a
   * local file by multipart upload (streamed, any size), an s3:// object copied into the lake's own
   * landing area (so a rebuild from the journal needs nothing outside the lake). A journal replay
   * is read where its entry says (already the lake's). Landed already: nothing is sent.
   */
  async land(src: ResolvedSource, detected?: DetectedFormat): Promise<string> {
    if (src.replay) return src.location.replace(/^s3:/, "s3a:");
    // A prefix's batch: its manifest first (nothing reads it until the batch's commit is there).
    if (src.batch) await this.prefixes.record(src.batch);
    const key = this.landingKey(src, detected);
    const landed = `s3a://${this.bucket}/${key}`;
    if (src.location.startsWith("s3://")) {
      const from = parseS3Uri(src.location);
      if (from.bucket === this.bucket && from.key === key) return landed;
    }
    const exists = await this.s3
      .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
      .then(() => true)
      .catch(() => false);
    if (exists) return landed;
    const what = `landing ${src.declared} at s3://${this.bucket}/${key}`;
    if (src.batch && src.batch.objects.length > 1) {
      const body = await this.prefixes.concatenate(src, detected ?? { format: "csv", compression: "none" }, src.batch.header);
      await objectStore(what, () => this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body })));
      return landed;
    }
    if (detected?.compression === "zstd") {
      // Decompressed as it lands (Spark's Hadoop has no zstd codec without its native library).
      let body: Readable;
      if (src.location.startsWith("s3://")) {
        const from = parseS3Uri(src.location);
        body = (await objectStore(`reading ${src.location}`, () => this.s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: from.key })))).Body as Readable;
      } else body = fs.createReadStream(src.location);
      const inflate = zlib.createZstdDecompress();
      body.once("error", (err) => inflate.destroy(err));
      await this.upload(what, key, body.pipe(inflate));
      return landed;
    }
    if (src.location.startsWith("s3://")) {
      const from = parseS3Uri(src.location);
      if (src.bytes <= MAX_STREAMED_LANDING_BYTES) {
        // A prefix's object is copied only as it was listed (its ETag): changed since, the copy fails and the next pass lists it again.
        const etag = src.batch?.objects[0].etag;
        await objectStore(what, () => this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: `${from.bucket}/${encodeURI(from.key)}`, ...(etag ? { CopySourceIfMatch: etag } : {}) })));
      } else {
        // Over a single copy's limit: streamed through here in parts.
        const obj = await objectStore(`reading ${src.location}`, () => this.s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: from.key })));
        await this.upload(what, key, obj.Body as Readable);
      }
    } else {
      await this.upload(what, key, fs.createReadStream(src.location));
    }
    return landed;
  }

  /** A multipart upload of a stream (a part or two held at a time), any size. */
  private async upload(what: string, key: string, body: Readable): Promise<void> {
    const upload = new Upload({ client: this.s3, params: { Bucket: this.bucket, Key: key, Body: body }, partSize: LANDING_PART_BYTES, queueSize: 2, leavePartsOnError: false });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      throw new ObjectStoreError(what, { cause: err });
    }
  }

  /**
   * Adds a write that didn't go through the job server (the Iceberg light path) to the table's
   * write journal, in the job server's format (the layout is lake/jobServerContract.ts's JOURNAL, which
   * jobs/lakeform_jobs/journal.py reads; both checked against tests/fixtures/journal-entry.json): one JSON
   * object per write at _lakeform/journal/<db>/<table>/<UTC yyyyMMddHHmmssSSS>-<commit>.json,
   * with the source's `read` as its write request had it, when it said one.
   */
  async journal(database: string, table: string, entry: Omit<JournalEntry, "time">): Promise<void> {
    const stamp = new Date().toISOString().replace(/[-:TZ.]/g, "");
    const key = journalKey(database, table, stamp, entry.commit);
    // Retried as the job server's journal is (4 attempts, 0.5 s doubling); still failing, the
    // write's report fails loudly (OBJECT_STORE_ERROR) with its commit named.
    for (let attempt = 1, waitMs = JOURNAL_RETRY_WAIT_MS; ; attempt++, waitMs *= 2) {
      try {
        await objectStore(`journaling commit ${entry.commit} at s3://${this.bucket}/${key}`, () =>
          this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify({ ...entry, time: stamp }), ContentType: "application/json" })),
        );
        return;
      } catch (err) {
        if (attempt >= JOURNAL_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  }

  /**
   * Lands a change made by hand (a delete or an update) as a JSON document; the job server tells
   * it from a CSV by its name (…change.json). Its hash includes the request time, so the same
   * statement run twice is two writes, both journaled.
   */
  async landChange(doc: object): Promise<{ source: ResolvedSource; uri: string }> {
    const data = Buffer.from(JSON.stringify(doc));
    const hash = sha256(data);
    const source: ResolvedSource = { declared: "change", location: "change:", hash, bytes: data.length };
    const key = `_lakeform/landing/${hash.slice(0, 2)}/${hash}.change.json`;
    await objectStore(`landing a change at s3://${this.bucket}/${key}`, () => this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentType: "application/json" })));
    return { source, uri: `s3a://${this.bucket}/${key}` };
  }

  /**
   * Lands CSV content as it streams in (an API upload of any size), hashed on the way: it is
   * uploaded in parts (a few MiB held at a time) under _lakeform/landing/incoming/, then copied
   * to its content-addressed key (landingKey) once its hash is known, and the incoming object
   * removed. The body failing (refused by a check it was piped through, the client gone) aborts
   * the upload and is the error thrown, as it is; the store failing is OBJECT_STORE_ERROR.
   */
  async landStream(name: string, body: Readable): Promise<{ source: ResolvedSource; uri: string }> {
    const hash = crypto.createHash("sha256");
    let bytes = 0;
    let bodyError: unknown;
    const incoming = `_lakeform/landing/incoming/${crypto.randomUUID()}.csv`;
    const hashed = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    body.once("error", (err) => {
      bodyError = err;
      hashed.destroy(err);
    });
    body.pipe(hashed);
    const upload = new Upload({ client: this.s3, params: { Bucket: this.bucket, Key: incoming, Body: hashed }, partSize: LANDING_PART_BYTES, queueSize: 2, leavePartsOnError: false });
    try {
      await upload.done();
    } catch (err) {
      if (bodyError !== undefined) throw bodyError;
      body.destroy();
      throw new ObjectStoreError(`landing ${name} at s3://${this.bucket}/${incoming}`, { cause: err });
    }
    if (bodyError !== undefined) throw bodyError;
    const source: ResolvedSource = { declared: name, location: `upload:${name}`, hash: hash.digest("hex"), bytes };
    const key = this.landingKey(source);
    try {
      const exists = await this.s3
        .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
        .then(() => true)
        .catch(() => false);
      if (!exists) {
        await objectStore(`landing ${name} at s3://${this.bucket}/${key}`, () => this.s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${incoming}` })));
      }
    } finally {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: incoming })).catch(() => undefined);
    }
    return { source, uri: `s3a://${this.bucket}/${key}` };
  }

  /** Lands raw CSV content (an API upload) and returns its source record and URI. */
  async landContent(name: string, data: Buffer): Promise<{ source: ResolvedSource; uri: string }> {
    const hash = sha256(data);
    const source: ResolvedSource = { declared: name, location: `upload:${name}`, hash, bytes: data.length };
    const key = this.landingKey(source);
    await objectStore(`landing ${name} at s3://${this.bucket}/${key}`, () => this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data })));
    return { source, uri: `s3a://${this.bucket}/${key}` };
  }
}
