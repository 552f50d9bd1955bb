/**
 * Watched prefix sources, what is pure of them (lake/prefixSources.ts has their I/O, PrefixStore): `s3://bucket/landing/orders/` (a trailing slash), a local folder
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
import * as path from "node:path";
import { detectFormat, ON_CHANGE, type DetectedFormat, type OnChange, type SourceRead } from "./sourceFormat";
import { sha256 } from "./sourceHash";
import { isGlob, SourceError, type ResolvedSource } from "./sources";

export { ON_CHANGE, type OnChange };

/** Objects at most this big, of a format that concatenates, are applied together. */
export const BATCH_OBJECT_MAX_BYTES = 8 * 1024 * 1024;
export const BATCH_MAX_BYTES = 64 * 1024 * 1024;
export const BATCH_MAX_OBJECTS = 2000;
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

/** An object as listed, for what is remembered of it by the process. */
export const listedKey = (o: ListedObject) => `${o.location}\t${o.etag ?? ""}\t${o.size}\t${o.mtimeMs ?? ""}`;

export const byLocation = (a: { location: string }, b: { location: string }) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0);

/** Whether objects of this read can be concatenated into one file (one header kept). */
export const concatenates = (d: DetectedFormat, read?: SourceRead) =>
  d.compression === "none" && (d.format === "jsonl" || d.format === "csv" || d.format === "tsv") && (!read?.csv?.encoding || /^(utf-?8|us-ascii|ascii|iso-8859-\d+|latin-?1|windows-125\d)$/i.test(read.csv.encoding));

/** Whether an object's name allows a whole JSON document (`.json`, also compressed), not only JSON Lines. */
export const mayBeJsonDocument = (location: string) => /\.json(\.(gz|bz2|zst))?$/i.test(location);

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
    // A .json object may be one JSON document (an array of objects), which can't be joined to another: a write of its own.
    const joins = concatenates(d, read) && o.size <= BATCH_OBJECT_MAX_BYTES && !mayBeJsonDocument(o.location);
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
