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
 * The pure parts (the matrix, each finding and its fix, the exit code, the text) are exported for
 * unit tests; the probes only gather facts.
 */
import * as crypto from "node:crypto";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { CANARY_PREFIX, checkMetastore, checkObjectStore, checkTrino, parseCallAnswer, thriftExchange, thriftStringsCall } from "../components/external/checks";
import { VERSIONS } from "../components/versions";
import { JobClient } from "./jobClient";
import type { DoctorResult } from "./jobServerContract";
import type { LakeOutputs } from "./outputKeys";
import { s3Client } from "./outputs";
import type { TableSpec } from "./spec";
import { stackTrino, type TrinoClient } from "./trino";

/** What the engines can read and run together: Lakeform's own versions (components/versions.ts) unless overridden. */
export const MatrixSchema = z
  .object({
    /** Spark's version; its line (major.minor) is what the bundles must be built for. */
    spark: z.string(),
    scala: z.string(),
    hudi: z.string(),
    iceberg: z.string(),
    trino: z.string(),
    /** Hudi table versions Trino's Hudi connector reads (Trino 476: its Hudi 1.0.2 libraries). */
    trinoHudiTableVersions: z.array(z.number().int()),
    /** Hudi table types whose snapshot Trino reads whole (a merge-on-read table: only its base files). */
    trinoHudiTableTypes: z.array(z.string()),
    /** Iceberg format versions Trino reads (v3 came later, as experimental). */
    trinoIcebergFormatVersions: z.array(z.number().int()),
    /** The newest Hive Metastore Spark 3.5, Iceberg's HiveCatalog and Hudi's sync work with (4.0.1 removed get_table). */
    metastoreMax: z.string(),
  })
  .strict();
export type VersionMatrix = z.infer<typeof MatrixSchema>;

export const MATRIX: VersionMatrix = {
  spark: VERSIONS.spark,
  scala: VERSIONS.scala,
  hudi: VERSIONS.hudi,
  iceberg: VERSIONS.iceberg,
  trino: VERSIONS.trino,
  trinoHudiTableVersions: [6, 8],
  trinoHudiTableTypes: ["COPY_ON_WRITE"],
  trinoIcebergFormatVersions: [1, 2],
  metastoreMax: "4.0.0",
};

/** The matrix with a file's overrides (`lakeform doctor --matrix`: a matrix you plan to move to). */
export function matrixWith(overrides: unknown): VersionMatrix {
  return { ...MATRIX, ...MatrixSchema.partial().strict().parse(overrides) };
}

/** The catalogs Lakeform reads through. */
export const TRINO_CATALOGS = ["hive", "hudi", "iceberg"] as const;

export type Side = "lakeform" | "spark" | "trino";
export type CheckStatus = "ok" | "problem" | "warning" | "skipped";

export interface DoctorCheck {
  /** Stable: s3, metastore, spark, trino, spark.s3, trino.metastore.hive, versions.hudi, table.default.leads, … */
  id: string;
  /** Whose side the check is made from. */
  from: Side;
  /** What it checks: a service, a version, a table. */
  to: string;
  status: CheckStatus;
  /** What was seen. */
  detail: string;
  /** How to fix it (problems and warnings). */
  fix?: string;
  /** The problem is a service that doesn't answer (retrying once it is back may be all it takes). */
  unavailable?: boolean;
}

export interface DoctorReport {
  stack: string;
  matrix: VersionMatrix;
  checks: DoctorCheck[];
  problems: number;
  warnings: number;
}

const ok = (id: string, from: Side, to: string, detail: string): DoctorCheck => ({ id, from, to, status: "ok", detail });
const problem = (id: string, from: Side, to: string, detail: string, fix: string, unavailable = false): DoctorCheck => ({
  id,
  from,
  to,
  status: "problem",
  detail,
  fix,
  ...(unavailable ? { unavailable: true } : {}),
});

/** A connection failure (nothing listening, no answer), as opposed to an answer that refuses. */
export function isUnreachable(detail: string): boolean {
  return /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|ETIMEDOUT|unreachable|no answer within|Connection refused|connection closed before|Failed connecting to Hive metastore|TTransportException|fetch failed/i.test(detail);
}

/** Numeric comparison of dotted versions: 1.10.0 > 1.9.2; text after the numbers ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (v.match(/^\d+(?:\.\d+)*/)?.[0] ?? "0").split(".").map(Number);
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** 3.5.5 → 3.5 */
const line = (v: string) => v.split(".").slice(0, 2).join(".");

/** Hudi's default table version for a bundle: 1.0.x writes 8, 1.1 and later 9, 0.x 6. */
export function hudiDefaultTableVersion(bundle: string): number {
  if (compareVersions(bundle, "1.1") >= 0) return 9;
  if (compareVersions(bundle, "1.0") >= 0) return 8;
  return 6;
}

// ------------------------------------------------------------------ findings (pure)

/** Spark's side: its reach of S3 and the metastore, as the job server reported them. */
export function sparkReachChecks(reply: DoctorResult, lake: Pick<LakeOutputs, "warehouseBucket" | "metastoreUri">): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  if (reply.s3) {
    out.push(
      reply.s3.ok
        ? ok("spark.s3", "spark", "s3", reply.s3.detail)
        : problem(
            "spark.s3",
            "spark",
            "s3",
            reply.s3.detail,
            `Spark's S3A settings (spark-defaults: spark.hadoop.fs.s3a.endpoint, access.key, secret.key, path.style.access) don't reach bucket ${lake.warehouseBucket}: \`lakeform up\` renders them from the stack again and restarts the job server; \`lakeform logs spark\` shows S3A's own error`,
            isUnreachable(reply.s3.detail),
          ),
    );
  }
  if (reply.metastore) {
    out.push(
      reply.metastore.ok
        ? ok("spark.metastore", "spark", "metastore", reply.metastore.detail)
        : problem(
            "spark.metastore",
            "spark",
            "metastore",
            reply.metastore.detail,
            `Spark's Hive client (spark.hadoop.hive.metastore.uris, the stack's ${lake.metastoreUri}) doesn't get answers: is the metastore running (\`lakeform status\`, \`lakeform logs metastore\`)? \`lakeform up\` starts it again`,
            isUnreachable(reply.metastore.detail),
          ),
    );
  }
  return out;
}

/** What Spark runs against the matrix: its line, and bundles built for that line and Scala, at the matrix's versions. */
export function sparkVersionChecks(reply: DoctorResult, m: VersionMatrix): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const scala = reply.scala ? line(reply.scala) : undefined;
  if (line(reply.spark) !== line(m.spark)) {
    out.push(problem("versions.spark", "spark", "spark version", `Spark ${reply.spark} runs; the matrix is Spark ${m.spark} (line ${line(m.spark)})`, `run Spark ${line(m.spark)} (Lakeform's own: pyspark ${VERSIONS.spark}), or bundles built for ${line(reply.spark)} with a matrix that says so`));
  } else if (scala && scala !== m.scala) {
    out.push(problem("versions.spark", "spark", "spark version", `Spark ${reply.spark} runs on Scala ${reply.scala}; the matrix's bundles are for Scala ${m.scala}`, `use the _${scala} builds of the Hudi and Iceberg bundles, or Spark built for Scala ${m.scala}`));
  } else {
    out.push(ok("versions.spark", "spark", "spark version", `Spark ${reply.spark}${reply.scala ? `, Scala ${reply.scala}` : ""}`));
  }
  const want = { hudi: m.hudi, iceberg: m.iceberg } as const;
  const artifact = { hudi: (l: string, s: string) => `hudi-spark${l}-bundle_${s}`, iceberg: (l: string, s: string) => `iceberg-spark-runtime-${l}_${s}` } as const;
  for (const fmt of ["hudi", "iceberg"] as const) {
    const id = `versions.${fmt}`;
    const b = reply.bundles.find((x) => x.format === fmt);
    const expected = `${artifact[fmt](line(m.spark), m.scala)}:${want[fmt]}`;
    if (!b || !b.version) {
      out.push(problem(id, "spark", `${fmt} bundle`, b?.jar ? `Spark's ${fmt} bundle: ${b.jar}` : `no ${fmt} bundle on Spark's classpath`, `put ${expected} on the job server's classpath (Lakeform's Spark component does: \`lakeform up\`)`));
      continue;
    }
    const name = b.sparkLine && b.scala ? `${artifact[fmt](b.sparkLine, b.scala)} ${b.version}` : `${fmt} ${b.version}`;
    const wrongLine = b.sparkLine && !line(reply.spark).startsWith(b.sparkLine);
    const wrongScala = b.scala && scala && b.scala !== scala;
    if (wrongLine || wrongScala) {
      out.push(problem(id, "spark", `${fmt} bundle`, `${name} is built for Spark ${b.sparkLine} / Scala ${b.scala}; Spark ${reply.spark} runs on Scala ${reply.scala ?? "?"}`, `use the bundle built for this Spark: ${artifact[fmt](line(reply.spark), scala ?? m.scala)}:${b.version}`));
    } else if (b.version !== want[fmt]) {
      out.push(problem(id, "spark", `${fmt} bundle`, `Spark runs ${name}; the matrix has ${fmt} ${want[fmt]}`, `run ${expected} (components/versions.ts), or check the tables with a matrix that has ${b.version} (--matrix)`));
    } else {
      out.push(ok(id, "spark", `${fmt} bundle`, `${name} (${b.jar ?? "?"})`));
    }
  }
  const hudi = reply.bundles.find((x) => x.format === "hudi");
  if (hudi?.version) {
    const set = reply.hudiWriteTableVersion;
    const writes = set !== null ? Number(set) : hudiDefaultTableVersion(hudi.version);
    const how = set !== null ? `hoodie.write.table.version=${set}` : `Hudi ${hudi.version}'s default`;
    out.push(
      m.trinoHudiTableVersions.includes(writes)
        ? ok("versions.hudiTableVersion", "spark", "hudi table version", `Spark writes Hudi table version ${writes} (${how}); Trino ${m.trino} reads ${m.trinoHudiTableVersions.join(", ")}`)
        : problem(
            "versions.hudiTableVersion",
            "spark",
            "hudi table version",
            `Spark writes Hudi table version ${writes} (${how}); Trino ${m.trino} reads only ${m.trinoHudiTableVersions.join(" and ")}`,
            `set hoodie.write.table.version to ${Math.max(...m.trinoHudiTableVersions)} or lower (spark.hadoop.hoodie.write.table.version; Lakeform's Spark sets ${VERSIONS.hudiTableVersion})`,
          ),
    );
  }
  return out;
}

/** Trino's version against the matrix: another one may read other Hudi and Iceberg versions than listed. */
export function trinoVersionCheck(version: string | undefined, m: VersionMatrix): DoctorCheck {
  if (version === undefined) return { id: "versions.trino", from: "trino", to: "trino version", status: "skipped", detail: "Trino's version unknown (Trino didn't answer)" };
  if (version.replace(/-.*$/, "") === m.trino) return ok("versions.trino", "trino", "trino version", `Trino ${version}`);
  return {
    id: "versions.trino",
    from: "trino",
    to: "trino version",
    status: "warning",
    detail: `Trino ${version} runs; the matrix is Trino ${m.trino} (what the Hudi and Iceberg versions it reads are listed for)`,
    fix: `run Trino ${m.trino}, or a --matrix that lists what Trino ${version} reads`,
  };
}

/** A metastore's answer to get_table: a reply of any kind means it has the call. */
export function metastoreVersionCheck(answer: { replied: true } | { replied: false; message: string; type?: number } | Error, uri: string, m: VersionMatrix): DoctorCheck {
  const to = "metastore version";
  if (answer instanceof Error) return { id: "versions.metastore", from: "lakeform", to, status: "skipped", detail: `not checked: ${answer.message}` };
  if (answer.replied) return ok("versions.metastore", "lakeform", to, `${uri} answers get_table (a metastore up to ${m.metastoreMax})`);
  const unknown = answer.type === 1 || /invalid method name/i.test(answer.message);
  return unknown
    ? problem(
        "versions.metastore",
        "lakeform",
        to,
        `${uri} has no Thrift get_table call (${answer.message || "unknown method"}): a Hive Metastore newer than ${m.metastoreMax}`,
        `run a Hive Metastore ${m.metastoreMax} or older (Lakeform's own is ${VERSIONS.hive}): Spark 3.5, Iceberg's HiveCatalog and Hudi's hive sync call get_table, which 4.0.1 removed`,
      )
    : problem("versions.metastore", "lakeform", to, `${uri} refused get_table: ${answer.message}`, "see the metastore's log (`lakeform logs metastore`)");
}

/** Java .properties text as a map (comments, blank lines, `key=value` and `key: value`; \-escapes of : = kept simple). */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (!l || l.startsWith("#") || l.startsWith("!")) continue;
    const m = /^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$/.exec(l);
    if (m) out[m[1].replace(/\\(.)/g, "$1")] = m[2].replace(/\\(.)/g, "$1");
  }
  return out;
}

/** A Hudi table's version and type (its hoodie.properties; undefined: no table there yet) against what Trino reads. */
export function hudiTableCheck(table: string, props: Record<string, string> | undefined, m: VersionMatrix): DoctorCheck {
  const id = `table.${table}`;
  if (!props) return { id, from: "trino", to: `${table} (hudi)`, status: "skipped", detail: "no table files yet (the reconciler creates it)" };
  const version = Number(props["hoodie.table.version"]);
  const type = props["hoodie.table.type"] ?? "COPY_ON_WRITE";
  const wrong: string[] = [];
  const fixes: string[] = [];
  if (!m.trinoHudiTableVersions.includes(version)) {
    wrong.push(`table version ${props["hoodie.table.version"] ?? "?"}, and Trino ${m.trino} reads only ${m.trinoHudiTableVersions.join(" and ")}`);
    fixes.push(
      version > Math.max(...m.trinoHudiTableVersions)
        ? `downgrade it to version ${Math.max(...m.trinoHudiTableVersions)} with Hudi's table downgrade (hudi-cli), and have its writers set hoodie.write.table.version=${Math.max(...m.trinoHudiTableVersions)} (a Hudi ≥ 1.1 writer writes 9 by default)`
        : `upgrade it with Hudi's table upgrade to version ${Math.min(...m.trinoHudiTableVersions.filter((v) => v > version))}`,
    );
  }
  if (!m.trinoHudiTableTypes.includes(type)) {
    wrong.push(`type ${type}, and Trino's Hudi connector reads only ${m.trinoHudiTableTypes.join(", ")} snapshots whole (of a merge-on-read table only its base files: rows still in log files are missing)`);
    fixes.push("Lakeform writes copy-on-write tables: write this one's rows into a copy-on-write table (another writer made it merge-on-read), or compact it before every read");
  }
  if (wrong.length === 0) return ok(id, "trino", `${table} (hudi)`, `Hudi table version ${version}, ${type}`);
  return problem(id, "trino", `${table} (hudi)`, `${table} is a Hudi table of ${wrong.join("; ")}`, fixes.join("; "));
}

/** An Iceberg table's format version (its newest metadata file; undefined: no table there yet) against what Trino reads. */
export function icebergTableCheck(table: string, meta: { file: string; formatVersion: number } | undefined, m: VersionMatrix): DoctorCheck {
  const id = `table.${table}`;
  if (!meta) return { id, from: "trino", to: `${table} (iceberg)`, status: "skipped", detail: "no table files yet (the reconciler creates it)" };
  if (m.trinoIcebergFormatVersions.includes(meta.formatVersion)) return ok(id, "trino", `${table} (iceberg)`, `Iceberg format version ${meta.formatVersion} (${meta.file})`);
  return problem(
    id,
    "trino",
    `${table} (iceberg)`,
    `${table} is an Iceberg table of format version ${meta.formatVersion} (${meta.file}); Trino ${m.trino} reads format versions ${m.trinoIcebergFormatVersions.join(" and ")}`,
    `Iceberg can't lower a table's format version: write its rows into a format-version ${Math.max(...m.trinoIcebergFormatVersions)} table (Lakeform creates v${VERSIONS.icebergFormatVersion}), or read it with Spark`,
  );
}

/** The newest metadata file among a table's metadata/ keys (HiveCatalog's NNNNN-<uuid>.metadata.json, Hadoop's vN.metadata.json). */
export function newestMetadataKey(keys: string[]): string | undefined {
  let best: { key: string; n: number } | undefined;
  for (const key of keys) {
    const m = /(?:^|\/)(?:v)?(\d+)(?:-[^/]*)?\.(?:gz\.)?metadata\.json$/.exec(key);
    if (!m) continue;
    const n = Number(m[1]);
    if (!best || n > best.n || (n === best.n && key > best.key)) best = { key, n };
  }
  return best?.key;
}

/**
 * Where one side's failure alone points: S3 or the metastore refusing one engine while the others
 * get through is that engine's settings, not the service. Adds that to the fix of the failing check.
 */
export function crossEngineHints(checks: DoctorCheck[]): DoctorCheck[] {
  const by = new Map(checks.map((c) => [c.id, c]));
  const groups: Record<string, string[]> = {
    s3: ["s3", "spark.s3", "trino.s3"],
    metastore: ["metastore", "spark.metastore", ...TRINO_CATALOGS.map((c) => `trino.metastore.${c}`)],
  };
  const where: Record<string, string> = {
    s3: "the stack outputs Lakeform's reconciler and API use (`lakeform outputs`, written by `lakeform up`)",
    "spark.s3": "Spark's spark-defaults (spark.hadoop.fs.s3a.*)",
    "trino.s3": "Trino's catalog files (etc/catalog/*.properties: s3.*)",
    metastore: "the stack outputs (metastoreUri)",
    "spark.metastore": "Spark's spark.hadoop.hive.metastore.uris",
  };
  for (const c of TRINO_CATALOGS) where[`trino.metastore.${c}`] = `Trino's etc/catalog/${c}.properties (hive.metastore.uri)`;
  return checks.map((c) => {
    if (c.status !== "problem") return c;
    for (const [service, ids] of Object.entries(groups)) {
      if (!ids.includes(c.id)) continue;
      const others = ids.filter((i) => i !== c.id && by.get(i)?.status === "ok");
      if (others.length === 0) {
        const failing = ids.filter((i) => by.get(i)?.status === "problem");
        if (failing.length > 1) return { ...c, fix: `${c.fix} (${service} fails from every side checked: the service itself, more likely than one engine's settings)` };
        return c;
      }
      return { ...c, fix: `${c.fix}. ${service} answers ${others.map((i) => by.get(i)!.from).join(" and ")} but not ${c.from}: ${where[c.id] ?? c.from}'s settings differ from theirs` };
    }
    return c;
  });
}

export function report(stack: string, matrix: VersionMatrix, checks: DoctorCheck[]): DoctorReport {
  const hinted = crossEngineHints(checks);
  return {
    stack,
    matrix,
    checks: hinted,
    problems: hinted.filter((c) => c.status === "problem").length,
    warnings: hinted.filter((c) => c.status === "warning").length,
  };
}

/** 0: nothing wrong (warnings are printed); 6: every problem is a service that doesn't answer (retry once it is back); 1: anything else wrong. */
export function doctorExitCode(r: DoctorReport): number {
  const problems = r.checks.filter((c) => c.status === "problem");
  if (problems.length === 0) return 0;
  return problems.every((c) => c.unavailable) ? 6 : 1;
}

const MARK: Record<CheckStatus, string> = { ok: "ok", problem: "PROBLEM", warning: "warning", skipped: "-" };

/** People's view: a line per check (status, from → to, what was seen), the fix under each problem and warning. */
export function formatDoctor(r: DoctorReport): string {
  const m = r.matrix;
  const out = [
    `lakeform doctor: stack ${r.stack}; the matrix: Spark ${m.spark} / Scala ${m.scala}, Hudi ${m.hudi}, Iceberg ${m.iceberg}, Trino ${m.trino}, metastore ≤ ${m.metastoreMax}`,
  ];
  const route = (c: DoctorCheck) => `${c.from} → ${c.to}`;
  const width = Math.max(...r.checks.map((c) => route(c).length), 10);
  for (const c of r.checks) {
    out.push(`  ${MARK[c.status].padEnd(7)}  ${route(c).padEnd(width)}  ${c.detail}`);
    if (c.fix && (c.status === "problem" || c.status === "warning")) out.push(`  ${"".padEnd(7)}  ${"".padEnd(width)}  fix: ${c.fix}`);
  }
  out.push(r.problems === 0 ? `No problems found${r.warnings ? ` (${r.warnings} warning(s))` : ""}.` : `${r.problems} problem(s)${r.warnings ? `, ${r.warnings} warning(s)` : ""} found.`);
  return out.join("\n") + "\n";
}

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
