/**
 * `lakeform doctor`'s findings (lake/doctor.ts gathers the facts): the version matrix the engines
 * can read, each check's verdict and its fix, the cross-engine hints, the report, its exit code and
 * its text. Pure, so the unit tests give facts and read verdicts.
 */
import { z } from "zod";
import { VERSIONS } from "../components/versions";
import type { DoctorResult } from "./jobServerContract";
import type { LakeOutputs } from "./outputKeys";

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

export const ok = (id: string, from: Side, to: string, detail: string): DoctorCheck => ({ id, from, to, status: "ok", detail });
export const problem = (id: string, from: Side, to: string, detail: string, fix: string, unavailable = false): DoctorCheck => ({
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
