/**
 * The checks `up` runs on each external service before anything else (issue 24): each from the
 * side Lakeform's engines use it, the same a doctor would run. Every check answers a list of
 * problems, each naming the config field (lakeform:<service>.external) and what is wrong; empty
 * means the service is usable. Nothing here changes the service but the canary object, which is
 * written and deleted again.
 */
import * as crypto from "node:crypto";
import * as net from "node:net";
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { TrinoClient } from "../../lake/trino";

export interface ExternalObjectStoreCheck {
  endpoint: string;
  region: string;
  pathStyle: boolean;
  bucket: string;
  accessKey: string;
  secretKey: string;
}
export interface ExternalTrinoCheck {
  endpoint: string;
  user: string;
  password: string;
  readUser?: string;
  readPassword?: string;
  catalogs: string[];
  caCertificate?: string;
}
/** What the checks resource carries: one entry per external service of the stack. */
export interface ExternalServicesSpec {
  objectStore?: ExternalObjectStoreCheck;
  metastore?: { uri: string };
  spark?: { master: string };
  trino?: ExternalTrinoCheck;
}

/** Where the canary goes: Lakeform's own prefix of the bucket, never a table's. */
export const CANARY_PREFIX = "_lakeform/canary/";
const TIMEOUT_MS = 10_000;

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : "";
  return `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message || e.code || String(err)}${status}`;
}

/** Reachable, the keys accepted, the bucket there and writable: a canary object put and deleted. */
export async function checkObjectStore(s: ExternalObjectStoreCheck, at = `lakeform:objectStore.external (${s.endpoint}, bucket ${s.bucket})`): Promise<string[]> {
  const client = new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: s.pathStyle,
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    maxAttempts: 2,
  });
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: s.bucket }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return [`${at}: the bucket does not exist (Lakeform never creates an external bucket)`];
      if (status === 403) return [`${at}: the access key is refused or may not use this bucket (HTTP 403)`];
      return [`${at}: unreachable or refused: ${describe(err)}`];
    }
    const key = `${CANARY_PREFIX}${crypto.randomUUID()}`;
    try {
      await client.send(new PutObjectCommand({ Bucket: s.bucket, Key: key, Body: "lakeform canary\n" }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      return [`${at}: the bucket is not writable with these keys (canary ${key}): ${describe(err)}`];
    }
    try {
      await client.send(new DeleteObjectCommand({ Bucket: s.bucket, Key: key }), { abortSignal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      return [`${at}: the canary ${key} was written but can't be deleted (Lakeform deletes files of its tables): ${describe(err)}`];
    }
    return [];
  } finally {
    client.destroy();
  }
}

function hostPort(uri: string): { host: string; port: number } {
  const u = new URL(uri);
  return { host: u.hostname, port: Number(u.port) };
}

/** A Thrift binary-protocol call with no arguments (strict message header, empty args struct). */
export function thriftCall(method: string, seqId = 1): Buffer {
  const name = Buffer.from(method, "utf8");
  const b = Buffer.alloc(4 + 4 + name.length + 4 + 1);
  b.writeUInt32BE(0x80010001, 0); // version 1, message type CALL
  b.writeInt32BE(name.length, 4);
  name.copy(b, 8);
  b.writeInt32BE(seqId, 8 + name.length);
  b.writeUInt8(0, 12 + name.length); // STOP: no arguments
  return b;
}

/**
 * Parses a get_all_databases answer: the database names of a REPLY, or throws with what came
 * back (an EXCEPTION message, a MetaException, bytes that are not Thrift). Undefined: incomplete.
 */
export function parseDatabasesReply(b: Buffer): string[] | undefined {
  if (b.length < 8) return undefined;
  const header = b.readUInt32BE(0);
  if ((header & 0xffff0000) >>> 0 !== 0x80010000) throw new Error(`not a Thrift binary-protocol answer (first bytes ${b.subarray(0, 4).toString("hex")})`);
  const type = header & 0xff;
  const nameLen = b.readInt32BE(4);
  let o = 8 + nameLen + 4;
  if (b.length < o + 1) return undefined;
  if (type === 3) throw new Error("the metastore answered with a Thrift exception");
  if (type !== 2) throw new Error(`unexpected Thrift message type ${type}`);
  const fieldType = b.readUInt8(o);
  if (fieldType === 0) throw new Error("empty reply");
  if (b.length < o + 3) return undefined;
  const fieldId = b.readInt16BE(o + 1);
  o += 3;
  if (fieldId !== 0 || fieldType !== 0x0f) throw new Error(`the metastore refused get_all_databases (field ${fieldId} of type ${fieldType}: a MetaException)`);
  if (b.length < o + 5) return undefined;
  const size = b.readInt32BE(o + 1);
  o += 5;
  const names: string[] = [];
  for (let i = 0; i < size; i++) {
    if (b.length < o + 4) return undefined;
    const len = b.readInt32BE(o);
    if (b.length < o + 4 + len) return undefined;
    names.push(b.subarray(o + 4, o + 4 + len).toString("utf8"));
    o += 4 + len;
  }
  return names;
}

/** A Thrift binary-protocol call whose arguments are strings, as fields 1, 2, … (get_table(dbname, tbl_name)). */
export function thriftStringsCall(method: string, args: string[], seqId = 1): Buffer {
  const head = thriftCall(method, seqId);
  const fields = args.map((a, i) => {
    const v = Buffer.from(a, "utf8");
    const f = Buffer.alloc(1 + 2 + 4 + v.length);
    f.writeUInt8(11, 0); // STRING
    f.writeInt16BE(i + 1, 1);
    f.writeInt32BE(v.length, 3);
    v.copy(f, 7);
    return f;
  });
  // thriftCall ends with the STOP of an empty struct: the fields go before it.
  return Buffer.concat([head.subarray(0, head.length - 1), ...fields, Buffer.from([0])]);
}

/**
 * What a Thrift server made of a call, from its answer: a REPLY (whatever the result, a declared
 * exception included: the server has the method), or an EXCEPTION (a TApplicationException) with
 * its message and type, UNKNOWN_METHOD (1) when the server has no such call. Undefined: incomplete.
 */
export function parseCallAnswer(b: Buffer): { replied: true } | { replied: false; message: string; type?: number } | undefined {
  if (b.length < 8) return undefined;
  const header = b.readUInt32BE(0);
  if ((header & 0xffff0000) >>> 0 !== 0x80010000) throw new Error(`not a Thrift binary-protocol answer (first bytes ${b.subarray(0, 4).toString("hex")})`);
  const kind = header & 0xff;
  if (kind === 2) return { replied: true };
  if (kind !== 3) throw new Error(`unexpected Thrift message type ${kind}`);
  let o = 8 + b.readInt32BE(4) + 4;
  let message = "";
  let type: number | undefined;
  for (;;) {
    if (b.length < o + 1) return undefined;
    const ft = b.readUInt8(o);
    if (ft === 0) return { replied: false, message, type };
    if (b.length < o + 3) return undefined;
    const id = b.readInt16BE(o + 1);
    o += 3;
    if (ft === 11) {
      if (b.length < o + 4) return undefined;
      const len = b.readInt32BE(o);
      if (b.length < o + 4 + len) return undefined;
      if (id === 1) message = b.subarray(o + 4, o + 4 + len).toString("utf8");
      o += 4 + len;
    } else if (ft === 8) {
      if (b.length < o + 4) return undefined;
      if (id === 2) type = b.readInt32BE(o);
      o += 4;
    } else {
      throw new Error(`unexpected field type ${ft} in a Thrift exception`);
    }
  }
}

/** One Thrift exchange on a fresh connection: the request written, the answer parsed as it arrives. */
export function thriftExchange<T>(uri: string, request: Buffer, parse: (b: Buffer) => T | undefined, timeoutMs = TIMEOUT_MS): Promise<T> {
  const { host, port } = hostPort(uri.replace(/^thrift:/, "http:"));
  return new Promise<T>((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (err?: Error, value?: T) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    sock.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs / 1000} s`)));
    sock.on("error", (err) => done(err));
    sock.on("connect", () => sock.write(request));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        const v = parse(buf);
        if (v !== undefined) done(undefined, v);
      } catch (err) {
        done(err as Error);
      }
    });
    sock.on("end", () => done(new Error("the connection closed before an answer")));
  });
}

/** The metastore answers a Thrift call (get_all_databases), as Spark, Hudi's sync and Trino call it. */
export async function checkMetastore(m: { uri: string }, at = `lakeform:metastore.external (${m.uri})`): Promise<string[]> {
  const { host, port } = hostPort(m.uri.replace(/^thrift:/, "http:"));
  try {
    const dbs = await new Promise<string[]>((resolve, reject) => {
      const sock = net.connect({ host, port });
      let buf = Buffer.alloc(0);
      const done = (err?: Error, value?: string[]) => {
        sock.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      sock.setTimeout(TIMEOUT_MS, () => done(new Error(`no answer within ${TIMEOUT_MS / 1000} s (a SASL/Kerberos metastore is not supported)`)));
      sock.on("error", (err) => done(err));
      sock.on("connect", () => sock.write(thriftCall("get_all_databases")));
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        try {
          const v = parseDatabasesReply(buf);
          if (v) done(undefined, v);
        } catch (err) {
          done(err as Error);
        }
      });
      sock.on("end", () => done(new Error("the connection closed before an answer")));
    });
    if (!dbs.includes("default")) return [`${at}: the metastore has no database "default" (its databases: ${dbs.join(", ") || "none"})`];
    return [];
  } catch (err) {
    return [`${at}: ${describe(err)}`];
  }
}

/** The standalone master's RPC port accepts a connection (Spark's own RPC handshake needs a driver). */
export async function checkSparkMaster(s: { master: string }): Promise<string[]> {
  const at = `lakeform:spark.external (${s.master})`;
  const { host, port } = hostPort(s.master.replace(/^spark:/, "http:"));
  try {
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect({ host, port }, () => {
        sock.destroy();
        resolve();
      });
      sock.setTimeout(TIMEOUT_MS, () => {
        sock.destroy();
        reject(new Error(`no connection within ${TIMEOUT_MS / 1000} s`));
      });
      sock.on("error", reject);
    });
    return [];
  } catch (err) {
    return [`${at}: the master is unreachable: ${describe(err)}`];
  }
}

/** Both users' passwords accepted, and the catalogs Lakeform reads through are there. */
export async function checkTrino(t: ExternalTrinoCheck, at = `lakeform:trino.external (${t.endpoint})`): Promise<string[]> {
  const ca = t.caCertificate ? { ca: t.caCertificate } : {};
  const users = [{ field: "user", user: t.user, password: t.password }];
  if (t.readUser && (t.readUser !== t.user || t.readPassword !== t.password)) {
    users.push({ field: "readUser", user: t.readUser, password: t.readPassword ?? t.password });
  }
  const problems: string[] = [];
  for (const u of users) {
    try {
      const res = await new TrinoClient(t.endpoint, { user: u.user, password: u.password, ...ca }).query("SHOW CATALOGS");
      const have = new Set(res.rows.map((r) => String(r[0])));
      const missing = t.catalogs.filter((c) => !have.has(c));
      if (missing.length) problems.push(`${at}: ${u.field} ${u.user} sees no catalog ${missing.join(", ")} (it sees: ${[...have].sort().join(", ")})`);
    } catch (err) {
      problems.push(`${at}: ${u.field} ${u.user}: ${describe(err)}`);
    }
  }
  return problems;
}

/** Every external service's problems, all checked at once. */
export async function checkExternalServices(spec: ExternalServicesSpec): Promise<string[]> {
  const runs = [
    spec.objectStore && checkObjectStore(spec.objectStore),
    spec.metastore && checkMetastore(spec.metastore),
    spec.spark && checkSparkMaster(spec.spark),
    spec.trino && checkTrino(spec.trino),
  ].filter((r): r is Promise<string[]> => !!r);
  return (await Promise.all(runs)).flat();
}
