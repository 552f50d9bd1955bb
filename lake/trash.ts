/**
 * The trash: tables a prune dropped softly. A pruned table leaves the metastore at once (Trino no
 * longer lists it) but its files and write journal stay where they were, recorded by a tombstone
 * in the lake itself, one small JSON object per table at _lakeform/trash/<db>/<table>.json. The
 * tombstone says what the table was (format, location, spec) and until when it can be undropped;
 * maintenance purges the files and the journal after that, and removes the tombstone last.
 *
 * While a tombstone is there, the table's location belongs to the trashed table: a new table of
 * the same name is refused (TRASH_CONFLICT) rather than written over it, until it is undropped or
 * purged. Nothing here copies table data.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parse } from "yaml";
import { LakeformError } from "./errors";
import type { TableSpec } from "./spec";
import { projectDir, stackName } from "./stackData";

/** How long a pruned table stays undroppable when neither its spec nor the stack says. */
export const DEFAULT_TRASH_DAYS = 7;

export interface Tombstone {
  /** "<database>.<name>" */
  table: string;
  database: string;
  name: string;
  format: "hudi" | "iceberg";
  /** Where its files are (s3a://bucket/db/name): kept as they were. */
  location: string;
  droppedAt: string;
  /** After this, maintenance may purge the files and the journal. */
  purgeAfter: string;
  trashDays: number;
  /** The tables.yaml that declared it (only that file's reconciler purges it by itself). */
  declaredIn?: string;
  /** The spec it had when it was last declared, as tables.yaml gave it (sanitised). */
  spec?: Partial<TableSpec>;
  /** Its newest commit when it was dropped. */
  lastCommit?: { id: string; time: string };
  rowCount?: number | null;
  /**
   * Its quarantine table (`<name>__quarantine`, the rows its expectations quarantined), trashed,
   * undropped and purged with it; absent when it had none.
   */
  quarantine?: { name: string; location: string };
}

export interface TrashTable {
  database: string;
  name: string;
}

export function tombstoneKey(t: TrashTable): string {
  return `_lakeform/trash/${t.database}/${t.name}.json`;
}

const PREFIX = "_lakeform/trash/";

/** Whether a tombstone's trash period is over. */
export function purgeDue(t: Pick<Tombstone, "purgeAfter">, now = Date.now()): boolean {
  return Date.parse(t.purgeAfter) <= now;
}

/** The tombstones of the warehouse bucket. */
export class TrashStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async get(t: TrashTable): Promise<Tombstone | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: tombstoneKey(t) }));
      const body = await res.Body!.transformToString();
      try {
        return JSON.parse(body) as Tombstone;
      } catch {
        // Unreadable, yet there: the table is in the trash all the same (never purged by guesswork).
        return { table: `${t.database}.${t.name}`, database: t.database, name: t.name, format: "hudi", location: "?", droppedAt: "?", purgeAfter: "9999-12-31T00:00:00.000Z", trashDays: Number.POSITIVE_INFINITY };
      }
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storeError(err, `the tombstone of table ${t.database}.${t.name}`);
    }
  }

  async put(t: Tombstone): Promise<void> {
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: tombstoneKey(t), Body: JSON.stringify(t, null, 2), ContentType: "application/json" }));
    } catch (err) {
      throw storeError(err, `the tombstone of table ${t.table}`);
    }
  }

  async remove(t: TrashTable): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tombstoneKey(t) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw storeError(err, `the tombstone of table ${t.database}.${t.name}`);
    }
  }

  /** Every tombstone, oldest drop first. */
  async list(): Promise<Tombstone[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: PREFIX, ContinuationToken: token }));
        for (const o of res.Contents ?? []) if (o.Key?.endsWith(".json")) keys.push(o.Key);
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw storeError(err, "the trash");
    }
    const out: Tombstone[] = [];
    for (const key of keys) {
      const rest = key.slice(PREFIX.length, -".json".length);
      const slash = rest.indexOf("/");
      if (slash <= 0) continue;
      const t = await this.get({ database: rest.slice(0, slash), name: rest.slice(slash + 1) });
      if (t) out.push(t);
    }
    return out.sort((a, b) => a.droppedAt.localeCompare(b.droppedAt));
  }
}

/**
 * The stack's default trash period: `lakeform:reconciler` `trashDays` in Pulumi.<stack>.yaml
 * (stacks/config.ts validates it at `up`), read without the Pulumi CLI like the data dir is.
 */
export function stackTrashDays(stack = stackName(), root = projectDir()): number {
  try {
    const doc = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> } | null;
    let rec = doc?.config?.["lakeform:reconciler"];
    if (typeof rec === "string") rec = JSON.parse(rec);
    const days = (rec as { trashDays?: unknown } | undefined)?.trashDays;
    if (typeof days === "number" && days > 0) return days;
  } catch {
    // No stack file, or not one we can read: the default.
  }
  return DEFAULT_TRASH_DAYS;
}

/** "6 d 23 h", "4 h 10 min", "12 s": how long until a time, for people. */
export function timeLeft(until: string, now = Date.now()): string {
  const s = Math.floor((Date.parse(until) - now) / 1000);
  if (!Number.isFinite(s)) return "?";
  if (s <= 0) return "due";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === "NoSuchKey" || name === "NotFound" || status(err) === 404;
}

function storeError(err: unknown, what: string): LakeformError {
  return new LakeformError("OBJECT_STORE_ERROR", `${what}: ${(err as Error).message}`, {}, { cause: err });
}
