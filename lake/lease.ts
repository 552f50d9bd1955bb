/**
 * One writer per table across processes: a lease kept in the lake itself, one small JSON object
 * per table at _lakeform/leases/<db>/<table>.json, changed only by conditional writes:
 *
 *   take a free table     PUT If-None-Match: *      (only one of two racing writers creates it)
 *   take an expired one   PUT If-Match: <its ETag>  (only one replaces the version both read)
 *   renew / release       PUT If-Match: <our ETag>  (fails once someone else took it over)
 *
 * The object store answers 412 (or 409 for a racing create) to the loser, who reports Standby
 * (the reconciler) or waits its turn (the API). A holder renews every ttl/3 while it writes; a
 * holder killed mid-write stops renewing, and its lease is free once it expires: no process is
 * blocked forever. Releasing writes an already expired record (never a plain delete, which
 * could remove a lease someone else just took).
 *
 * Fencing: the record carries a generation (a fencing token), one more than the record it replaced
 * each time the lease changes hands (renewals keep it). Every committing request to the job server
 * carries the lease's key and generation (JobClient.fenced), and the job server reads the lease
 * object again right before it commits (jobs/lakeform_jobs/lease.py): a generation that differs, or
 * a lease expired, aborts the write without a commit (LEASE_LOST). A holder whose renewal finds the
 * lease taken, or fails until the lease has expired, logs it and aborts its requests in flight
 * (`signal`); the job server's check holds even when that abort arrives late, or never.
 *
 * Both SeaweedFS 4.48 and MinIO honour these conditions (checked by hand against each; e2e
 * 12-faults runs the lease on SeaweedFS; tests/unit/lease.test.ts runs it on an in-memory store).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as os from "node:os";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Logger } from "pino";
import { LakeformError } from "./errors";

export interface LeaseRecord {
  holder: string;
  purpose: string;
  acquiredAt: string;
  /** Epoch milliseconds; 0 once released. */
  expiresAt: number;
  /** The fencing token: one more each time the lease changes hands (absent in records from before it: 0). */
  generation?: number;
}

/** What a committing request carries: the lease object's key and the generation its sender holds. */
export interface LeaseFence {
  key: string;
  generation: number;
}

export interface LeaseTable {
  database: string;
  name: string;
}

export interface LeaseOptions {
  /** Who holds it, for the loser's message: host, pid and role by default. */
  holder?: string;
  /** How long a lease lasts without renewal. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Where a lost lease is logged. */
  log?: Logger;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;

export function leaseKey(t: LeaseTable): string {
  return `_lakeform/leases/${t.database}/${t.name}.json`;
}

/**
 * A held lease: renewed in the background until released. `lost` says whether it was lost (a
 * renewal found it taken, or renewals failed until it expired); `signal` aborts then, with a
 * LEASE_LOST error as its reason, cancelling the requests made under it.
 */
export class Lease {
  lost = false;
  private timer?: NodeJS.Timeout;
  private readonly aborter = new AbortController();
  constructor(
    private readonly leases: TableLeases,
    readonly table: LeaseTable,
    private etag: string,
    readonly record: LeaseRecord,
  ) {}

  /** What the job server checks before it commits: this lease's key and generation. */
  get fence(): LeaseFence {
    return { key: leaseKey(this.table), generation: this.record.generation ?? 0 };
  }

  /** Aborted (reason: a LEASE_LOST LakeformError) once the lease is lost. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Renews every ttl/3 until release(). */
  keepAlive(ttlMs: number): this {
    this.timer = setInterval(() => void this.keep(), Math.max(1000, Math.floor(ttlMs / 3)));
    this.timer.unref();
    return this;
  }

  /**
   * One renewal as keepAlive makes it: a renewal that fails is logged; the lease is lost (logged,
   * `signal` aborted) when another writer took it over, or when renewals failed until it expired.
   */
  async keep(): Promise<void> {
    try {
      await this.renew();
    } catch (err) {
      // Not lost yet: the lease is ours until it expires, and the next renewal may get through.
      const expired = this.leases.now() >= this.record.expiresAt;
      this.leases.log?.warn({ table: `${this.table.database}.${this.table.name}`, generation: this.fence.generation, expired, err: (err as Error).message }, "Lease renewal failed");
      if (expired) this.lose("its renewals failed until it expired");
    }
  }

  async renew(): Promise<boolean> {
    if (this.lost) return false;
    const expiresAt = this.leases.now() + this.leases.ttlMs;
    const etag = await this.leases.put(this.table, { ...this.record, expiresAt }, { ifMatch: this.etag });
    if (etag === undefined) {
      this.lose("another writer took it over");
      return false;
    }
    this.etag = etag;
    this.record.expiresAt = expiresAt;
    return true;
  }

  /** Marks the lease lost: logged, and the requests under it aborted. */
  private lose(why: string): void {
    if (this.lost) return;
    this.lost = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const table = `${this.table.database}.${this.table.name}`;
    this.leases.log?.error({ table, generation: this.fence.generation, holder: this.record.holder, purpose: this.record.purpose }, `Lease lost: ${why}; cancelling the write in flight`);
    this.aborter.abort(new LakeformError("LEASE_LOST", `the lease of table ${table} was lost (${why}): the write was cancelled`, { table, generation: this.fence.generation }));
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.lost) return;
    // Best effort: a release that doesn't get through leaves a lease that expires by itself.
    await this.leases.put(this.table, { ...this.record, expiresAt: 0 }, { ifMatch: this.etag }).catch(() => undefined);
  }
}

export type TryAcquire = { ok: true; lease: Lease } | { ok: false; heldBy: LeaseRecord };

export class TableLeases {
  readonly holder: string;
  readonly ttlMs: number;
  readonly now: () => number;
  readonly log?: Logger;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    opts: LeaseOptions & { role?: string } = {},
  ) {
    this.holder = opts.holder ?? `${opts.role ?? "lakeform"}@${os.hostname()}:${process.pid}`;
    this.ttlMs = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
  }

  /** The lease record and its ETag, or undefined when the table never had one. */
  async read(t: LeaseTable): Promise<{ record: LeaseRecord; etag: string } | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: leaseKey(t) }));
      const body = await res.Body!.transformToString();
      let record: LeaseRecord;
      try {
        record = JSON.parse(body) as LeaseRecord;
      } catch {
        // Unreadable: treat as expired, so the conditional replace below repairs it.
        record = { holder: "?", purpose: "?", acquiredAt: "", expiresAt: 0 };
      }
      return { record, etag: res.ETag! };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw objectStoreError(err, t);
    }
  }

  /** A conditional PUT: the new ETag, or undefined when the condition failed (someone else won). */
  async put(t: LeaseTable, record: LeaseRecord, cond: { ifMatch?: string; ifNoneMatch?: "*" }): Promise<string | undefined> {
    try {
      const res = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: leaseKey(t),
          Body: JSON.stringify(record),
          ContentType: "application/json",
          IfMatch: cond.ifMatch,
          IfNoneMatch: cond.ifNoneMatch,
        }),
      );
      return res.ETag ?? "";
    } catch (err) {
      if (isConditionFailed(err)) return undefined;
      throw objectStoreError(err, t);
    }
  }

  /** Takes the table's lease if it is free or expired; otherwise says who holds it. */
  async tryAcquire(t: LeaseTable, purpose: string): Promise<TryAcquire> {
    const now = this.now();
    const current = await this.read(t);
    if (current && current.record.expiresAt > now) return { ok: false, heldBy: current.record };
    // A new generation each time the lease changes hands: a writer holding an older one is fenced off.
    const generation = (current?.record.generation ?? 0) + 1;
    const record: LeaseRecord = { holder: this.holder, purpose, acquiredAt: new Date(now).toISOString(), expiresAt: now + this.ttlMs, generation };
    const etag = await this.put(t, record, current ? { ifMatch: current.etag } : { ifNoneMatch: "*" });
    if (etag === undefined) {
      const winner = await this.read(t);
      return { ok: false, heldBy: winner?.record ?? { holder: "another writer", purpose: "?", acquiredAt: "", expiresAt: now + this.ttlMs } };
    }
    return { ok: true, lease: new Lease(this, t, etag, record).keepAlive(this.ttlMs) };
  }

  /** Waits its turn for the lease, at most waitMs; then a retryable TABLE_BUSY error. */
  async acquire(t: LeaseTable, purpose: string, waitMs: number, pollMs = 500): Promise<Lease> {
    const deadline = this.now() + waitMs;
    for (;;) {
      const got = await this.tryAcquire(t, purpose);
      if (got.ok) return got.lease;
      if (this.now() >= deadline) throw busy(t, got.heldBy);
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(50, deadline - this.now()))));
    }
  }

  /** Runs fn holding the table's lease (waiting at most waitMs for it), fenced by it (fencedBy), released afterwards. */
  async with<T>(t: LeaseTable, purpose: string, waitMs: number, fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.acquire(t, purpose, waitMs);
    try {
      return await fencedBy(lease, () => fn(lease));
    } finally {
      await lease.release();
    }
  }
}

const fencing = new AsyncLocalStorage<Pick<Lease, "fence" | "signal">>();

/**
 * Runs fn fenced by a held lease: the job server requests it makes (lake/jobClient.ts) carry the
 * lease's key and generation, and are aborted when the lease is lost.
 */
export function fencedBy<T>(lease: Pick<Lease, "fence" | "signal">, fn: () => Promise<T>): Promise<T> {
  return fencing.run(lease, fn);
}

/** The lease the current call runs fenced by, if any. */
export function currentLease(): Pick<Lease, "fence" | "signal"> | undefined {
  return fencing.getStore();
}

export function describeHolder(r: LeaseRecord): string {
  return `${r.holder} (${r.purpose}, since ${r.acquiredAt || "?"})`;
}

function busy(t: LeaseTable, r: LeaseRecord): LakeformError {
  return new LakeformError("TABLE_BUSY", `table ${t.database}.${t.name} is being written by ${describeHolder(r)}`, { holder: r.holder, purpose: r.purpose });
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === "NoSuchKey" || name === "NotFound" || status(err) === 404;
}

/** 412 Precondition Failed; 409 ConditionalRequestConflict when two creates race. */
function isConditionFailed(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return status(err) === 412 || status(err) === 409 || name === "PreconditionFailed" || name === "ConditionalRequestConflict";
}

function objectStoreError(err: unknown, t: LeaseTable): LakeformError {
  return new LakeformError("OBJECT_STORE_ERROR", `the lease of table ${t.database}.${t.name}: ${(err as Error).message}`, {}, { cause: err });
}
