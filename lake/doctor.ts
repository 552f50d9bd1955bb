/**
 * `lakeform doctor` (issue 22, item 4): the versions a stack runs against the matrix its engines
 * can read, and every connection from every engine's side, each answer a check with what was seen
 * and, when something is wrong, how to fix it.
 *
 * - Lakeform's own side (the reconciler's and the API's: the stack outputs): S3 (a canary put and
 *   deleted), the metastore (Thrift get_all_databases, then get_table, which Hive 4.0.1 removed),
 *   the Spark job server's /healthz, Trino (both users, the catalogs).
 * - Spark's side, asked of the job server (POST /v1/doctor): S3 through S3A (a canary written, read
 *   back, deleted), the metastore through Spark's Hive client, and what it runs (Spark, Scala, the
 *   Hudi and Iceberg bundles, the Hudi table version it writes).
 * - Trino's side: each catalog's metastore (SHOW SCHEMAS), S3 through a canary table over
 *   s3a://<bucket>/_lakeform/canary/trino-<id>/ that Trino writes a row into and reads back (with
 *   the object Lakeform put there first), then dropped and its objects deleted; Trino's version.
 * - Each declared table's files: a Hudi table's version and type (hoodie.properties), an Iceberg
 *   table's format version (its newest metadata file), against what Trino's connectors read.
 *
 * The pure parts (the matrix, each finding and its fix, the exit code, the text) are
 * lake/doctorFindings.ts's, re-exported here; this module's probes only gather facts.
 */
import * as crypto from "node:crypto";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { CANARY_PREFIX, checkMetastore, checkObjectStore, checkTrino, parseCallAnswer, thriftExchange, thriftStringsCall } from "../components/external/checks";
import { JobClient } from "./jobClient";
import type { LakeOutputs } from "./outputKeys";
import { s3Client } from "./outputs";
import type { TableSpec } from "./spec";
import { stackTrino, type TrinoClient } from "./trino";
import { type DoctorCheck, type DoctorReport, MATRIX, TRINO_CATALOGS, type VersionMatrix, hudiTableCheck, icebergTableCheck, isUnreachable, metastoreVersionCheck, newestMetadataKey, ok, parseProperties, problem, report, sparkReachChecks, sparkVersionChecks, trinoVersionCheck } from "./doctorFindings";

export * from "./doctorFindings";
// ------------------------------------------------------------------ probes (facts)

const describe = (err: unknown) => {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.message || e.code || String(err)}${cause && !(e.message ?? "").includes(cause) ? ` (${cause})` : ""}`;
};

/** A promise bounded in time: rejects with "no answer within …" (the work itself is left to finish). */
export function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms / 1000)} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface DoctorInputs {
  stack: string;
  lake: LakeOutputs;
  tables: TableSpec[];
  matrix?: VersionMatrix;
  /** How long one probe may take (default 60 s). */
  timeoutMs?: number;
}

async function lakeformSide(lake: LakeOutputs, m: VersionMatrix, timeoutMs: number): Promise<DoctorCheck[]> {
  const s3 = (async () => {
    const at = `${lake.s3Endpoint}, bucket ${lake.warehouseBucket}`;
    const problems = await within(
      timeoutMs,
      checkObjectStore(
        { endpoint: lake.s3Endpoint, region: lake.s3Region, pathStyle: lake.s3PathStyle !== "false", bucket: lake.warehouseBucket, accessKey: lake.s3AccessKey, secretKey: lake.s3SecretKey },
        at,
      ),
    ).catch((err: unknown) => [`${at}: ${describe(err)}`]);
    return problems.length === 0
      ? ok("s3", "lakeform", "s3", `${at}: a canary written and deleted with the stack's keys`)
      : problem(
          "s3",
          "lakeform",
          "s3",
          problems.join("; "),
          "Lakeform's reconciler and API reach S3 with the stack outputs (s3Endpoint, s3AccessKey, s3SecretKey, warehouseBucket): `lakeform up` writes them again from the stack; is S3 running (`lakeform status`)?",
          problems.some(isUnreachable),
        );
  })();
  const metastore = (async () => {
    const problems = await checkMetastore({ uri: lake.metastoreUri }, lake.metastoreUri).catch((err: unknown) => [`${lake.metastoreUri}: ${describe(err)}`]);
    const reach =
      problems.length === 0
        ? ok("metastore", "lakeform", "metastore", `${lake.metastoreUri}: get_all_databases answered`)
        : problem("metastore", "lakeform", "metastore", problems.join("; "), "is the metastore running (`lakeform status`, `lakeform logs metastore`)? `lakeform up` starts it again", problems.some(isUnreachable));
    const answer = await thriftExchange(lake.metastoreUri, thriftStringsCall("get_table", ["default", `lakeform_doctor_${crypto.randomBytes(4).toString("hex")}`]), parseCallAnswer).catch((err: unknown) => err as Error);
    return [reach, metastoreVersionCheck(answer, lake.metastoreUri, m)];
  })();
  const trino = (async () => {
    const problems = await within(
      timeoutMs,
      checkTrino(
        {
          endpoint: lake.trinoEndpoint,
          user: lake.trinoUser ?? "lakeform",
          password: lake.trinoPassword,
          readUser: lake.trinoReadUser ?? "lakeform_ro",
          readPassword: lake.trinoReadPassword,
          catalogs: [...TRINO_CATALOGS],
          ...(lake.trinoCertificate ? { caCertificate: lake.trinoCertificate } : {}),
        },
        lake.trinoEndpoint,
      ),
    ).catch((err: unknown) => [`${lake.trinoEndpoint}: ${describe(err)}`]);
    return problems.length === 0
      ? ok("trino", "lakeform", "trino", `${lake.trinoEndpoint}: both users' passwords accepted, catalogs ${TRINO_CATALOGS.join(", ")} there`)
      : problem("trino", "lakeform", "trino", problems.join("; "), "is Trino running (`lakeform status`, `lakeform logs trino`)? The passwords and certificate are the stack outputs trinoPassword, trinoReadPassword, trinoCertificate (`lakeform up` writes them again)", problems.some(isUnreachable));
  })();
  return [await s3, ...(await metastore), await trino];
}

async function sparkSide(lake: LakeOutputs, m: VersionMatrix, timeoutMs: number): Promise<DoctorCheck[]> {
  const client = new JobClient(lake.sparkJobServer, { secret: lake.jobServerSecret });
  const health = await client.health();
  if (!health) {
    return [
      problem("spark", "lakeform", "spark job server", `${lake.sparkJobServer}/healthz doesn't answer`, "is the Spark job server running (`lakeform status`, `lakeform logs spark`)? `lakeform up` starts it again; Spark's own checks (S3, metastore, versions) need it", true),
    ];
  }
  const checks = [ok("spark", "lakeform", "spark job server", `${lake.sparkJobServer}: up (Spark ${health.spark ?? "?"})`)];
  try {
    const reply = await client.doctor(undefined, timeoutMs + 30_000);
    return [...checks, ...sparkReachChecks(reply, lake), ...sparkVersionChecks(reply, m)];
  } catch (err) {
    return [...checks, problem("spark.doctor", "spark", "spark job server", `the job server's doctor failed: ${describe(err)}`, "an older job server has no doctor operation: `lakeform up` restarts it with this version's")];
  }
}

async function trinoMetastore(trino: TrinoClient, lake: LakeOutputs, timeoutMs: number): Promise<DoctorCheck[]> {
  return Promise.all(
    TRINO_CATALOGS.map(async (c) => {
      const id = `trino.metastore.${c}`;
      try {
        const res = await within(timeoutMs, trino.query(`SHOW SCHEMAS FROM ${c}`));
        return ok(id, "trino", `metastore (catalog ${c})`, `${res.rows.length} schema(s)`);
      } catch (err) {
        const d = describe(err);
        return problem(id, "trino", `metastore (catalog ${c})`, d, `Trino's catalog ${c} (etc/catalog/${c}.properties: hive.metastore.uri; the stack's metastore is ${lake.metastoreUri}) doesn't get answers from the metastore: \`lakeform up\` renders the catalogs again and restarts Trino`, isUnreachable(d));
      }
    }),
  );
}

/**
 * Trino → S3: a canary table over s3a://<bucket>/_lakeform/canary/trino-<id>/ (hive catalog,
 * TEXTFILE, external): Lakeform first puts an object there, Trino inserts a row and reads both
 * back; Lakeform then sees Trino's file in its bucket. The table is dropped and the objects deleted.
 */
export async function trinoS3Canary(trino: TrinoClient, s3: S3Client, lake: LakeOutputs, timeoutMs: number): Promise<DoctorCheck> {
  const id = crypto.randomBytes(6).toString("hex");
  const prefix = `${CANARY_PREFIX}trino-${id}/`;
  const table = `hive.default.lakeform_doctor_${id}`;
  const location = `s3a://${lake.warehouseBucket}/${prefix}`;
  const to = "s3 (canary table)";
  let seeded = false;
  let created = false;
  const notes: string[] = [];
  try {
    try {
      await s3.send(new PutObjectCommand({ Bucket: lake.warehouseBucket, Key: `${prefix}lakeform.txt`, Body: `lakeform ${id}\n` }), { abortSignal: AbortSignal.timeout(10_000) });
      seeded = true;
    } catch (err) {
      notes.push(`Lakeform's own put of the seed object failed (${describe(err)}), so Trino only writes and reads its own row`);
    }
    await within(timeoutMs, trino.query(`CREATE TABLE ${table} (line varchar) WITH (format = 'TEXTFILE', external_location = '${location}')`));
    created = true;
    await within(timeoutMs, trino.query(`INSERT INTO ${table} VALUES ('trino ${id}')`));
    const lines = (await within(timeoutMs, trino.query(`SELECT line FROM ${table}`))).rows.map((r) => String(r[0]));
    const want = [...(seeded ? [`lakeform ${id}`] : []), `trino ${id}`];
    const missing = want.filter((w) => !lines.includes(w));
    if (missing.length) throw new Error(`Trino read back ${JSON.stringify(lines)}, not ${JSON.stringify(want)}`);
    if (seeded) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: lake.warehouseBucket, Prefix: prefix }));
      const trinos = (listed.Contents ?? []).filter((o) => o.Key !== `${prefix}lakeform.txt`);
      if (trinos.length === 0) throw new Error(`Trino's row is in no object Lakeform sees under s3://${lake.warehouseBucket}/${prefix}: Trino writes to another S3 than the stack's`);
    }
    return ok("trino.s3", "trino", to, `${location}: Trino ${seeded ? "read Lakeform's object, " : ""}wrote a row and read it back${notes.length ? `; ${notes.join("; ")}` : ""}`);
  } catch (err) {
    const d = describe(err);
    return problem(
      "trino.s3",
      "trino",
      to,
      `${location}: ${d}${notes.length ? `; ${notes.join("; ")}` : ""}`,
      "Trino's S3 settings (etc/catalog/*.properties: s3.endpoint, s3.aws-access-key, s3.aws-secret-key, s3.path-style-access) or its metastore (the canary table is made there) don't work: `lakeform up` renders them from the stack again and restarts Trino; `lakeform logs trino` has Trino's own error",
      isUnreachable(d),
    );
  } finally {
    if (created) await within(timeoutMs, trino.query(`DROP TABLE IF EXISTS ${table}`)).catch(() => undefined);
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: lake.warehouseBucket, Prefix: prefix }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: lake.warehouseBucket, Delete: { Objects: keys, Quiet: true } }));
    } catch {
      // Left under Lakeform's own canary prefix, never a table's: harmless, and the next run's are new ones.
    }
  }
}

async function trinoSide(lake: LakeOutputs, m: VersionMatrix, timeoutMs: number): Promise<DoctorCheck[]> {
  const trino = stackTrino(lake, "admin");
  const s3 = s3Client(lake);
  try {
    const version = within(timeoutMs, trino.query("SELECT node_version FROM system.runtime.nodes WHERE coordinator"))
      .then((r) => (r.rows[0]?.[0] === undefined ? undefined : String(r.rows[0][0])))
      .catch(() => undefined);
    const [metastores, canary, v] = await Promise.all([trinoMetastore(trino, lake, timeoutMs), trinoS3Canary(trino, s3, lake, timeoutMs), version]);
    return [...metastores, canary, trinoVersionCheck(v, m)];
  } finally {
    s3.destroy();
  }
}

async function textOf(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(15_000) });
    return await res.Body!.transformToString("utf-8");
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** Each declared table's version facts from its files, read with the stack's keys. */
async function tableSide(lake: LakeOutputs, tables: TableSpec[], m: VersionMatrix): Promise<DoctorCheck[]> {
  const s3 = s3Client(lake);
  try {
    return await Promise.all(
      tables.map(async (t) => {
        const name = `${t.database}.${t.name}`;
        const base = `${t.database}/${t.name}`;
        try {
          if (t.format === "hudi") {
            const text = await textOf(s3, lake.warehouseBucket, `${base}/.hoodie/hoodie.properties`);
            return hudiTableCheck(name, text === undefined ? undefined : parseProperties(text), m);
          }
          const keys: string[] = [];
          let token: string | undefined;
          do {
            const page = await s3.send(new ListObjectsV2Command({ Bucket: lake.warehouseBucket, Prefix: `${base}/metadata/`, ContinuationToken: token }));
            for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token);
          const newest = newestMetadataKey(keys);
          if (!newest) return icebergTableCheck(name, undefined, m);
          const meta = JSON.parse((await textOf(s3, lake.warehouseBucket, newest)) ?? "{}") as { "format-version"?: number };
          return icebergTableCheck(name, { file: newest.slice(base.length + 1), formatVersion: Number(meta["format-version"] ?? 1) }, m);
        } catch (err) {
          return { id: `table.${name}`, from: "lakeform", to: `${name} (${t.format})`, status: "skipped", detail: `its files can't be read: ${describe(err)}` } satisfies DoctorCheck;
        }
      }),
    );
  } finally {
    s3.destroy();
  }
}

/** Every check, all sides at once. */
export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const m = inputs.matrix ?? MATRIX;
  const timeoutMs = inputs.timeoutMs ?? 60_000;
  const [lakeform, spark, trino, tables] = await Promise.all([
    lakeformSide(inputs.lake, m, timeoutMs),
    sparkSide(inputs.lake, m, timeoutMs),
    trinoSide(inputs.lake, m, timeoutMs),
    tableSide(inputs.lake, inputs.tables, m),
  ]);
  return report(inputs.stack, m, [...lakeform, ...spark, ...trino, ...tables]);
}
