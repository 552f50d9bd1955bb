/**
 * Ingest speed, side by side in one run on one generated CSV (2,000,000 leads, about 200 MB):
 *   DuckDB CSV → Parquet (local disk; DuckDB from PyPI, in a virtualenv of the bench's own),
 *   plain Spark CSV → Parquet on the job server's settings (its spark-defaults.conf, S3 to S3),
 *     schema given and schema inferred, timed inside a warmed-up driver (the job server is
 *     warmed up too, by a small write into each format),
 *   Lakeform's initial load into a new Hudi and a new Iceberg table (the job server's write),
 *   Lakeform's 10,000-row upsert (5,000 updated keys picked at random, 5,000 new) into each;
 *   the Hudi load and upsert again on a second job server (same settings) whose upserts use the
 *   other index (LAKEFORM_HUDI_INDEX: SIMPLE when the stack's runs BLOOM, and the reverse), so
 *   the two indexes are compared in one run (BENCH_OTHER_INDEX=0 skips it);
 *   BENCH_HUDI_VARIANTS (a JSON object, label → Hudi write options): the Hudi load and upsert once
 *   per variant on that second job server (the stack's index), each variant's options laid over the
 *   job server's own (LAKEFORM_HUDI_OPTIONS_FILE), so write options are compared in one run;
 *   BENCH_HUDI_ONLY=1 leaves out Iceberg, the tables.yaml edit and the CLI timings;
 *   a tables.yaml edit → 10,000 rows visible in Trino, with `lakeform reconcile` running;
 *   `lakeform status` and `lakeform query "SELECT 1"`, whole processes, medians of 5.
 * Each Lakeform write also as a ratio to plain Spark with the schema given.
 * Prints figures; asserts nothing. Needs a running stack (LAKEFORM_STACK, default e2e):
 *   node_modules/.bin/tsx bench/ingest.ts [rows]
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { readOutputs, type LakeOutputs } from "../stacks/automation";
import { stackTrino } from "../lake/trino";
import { cacheDir, machineInstallPaths } from "../components/local/install";
import { JobClient, type JobTable, type WriteResult, type WriteStageProfile } from "../lake/jobClient";
import { s3Client } from "../lake/outputs";
import { Sources } from "../lake/sources";
import { editToVisible } from "./reconcile";

const run = promisify(execFile);
const ROWS = Number(process.argv[2] ?? 2_000_000);
const UPSERT = 10_000;

const FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas"];
const CITY = ["Berlin", "Lyon", "São Paulo", "Osaka", "Nairobi", "Austin", "Kraków", "Perth"];
const COMPANY = ["Acme, Inc.", "Globex", 'The "Best" Co', "Initech", "Umbrella Ltd", "Stark & Sons"];

function lead(id: number, round: number): string {
  const f = FIRST[id % FIRST.length];
  const c = COMPANY[id % COMPANY.length];
  const created = new Date(Date.UTC(2024, 0, 1) + id * 60_000).toISOString().slice(0, 19).replace("T", " ");
  return [id, f, `Lead${id}`, `${f.toLowerCase()}.${id}@example.com`, `"${c.replace(/"/g, '""')}"`, CITY[id % CITY.length], `+1-555-${String(id % 10000).padStart(4, "0")}`, created, ((id * 7919 + round) % 100000) / 100, round].join(",");
}
const HEADER = "id,first_name,last_name,email,company,city,phone,created_at,amount,revision";
const SCHEMA = "id INT, first_name STRING, last_name STRING, email STRING, company STRING, city STRING, phone STRING, created_at TIMESTAMP, amount DOUBLE, revision INT";

export async function writeCsv(file: string, ids: Iterable<number>, round: number): Promise<void> {
  const out = fs.createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r())));
  await write(HEADER + "\n");
  let buf: string[] = [];
  for (const id of ids) {
    buf.push(lead(id, round));
    if (buf.length === 10_000) {
      await write(buf.join("\n") + "\n");
      buf = [];
    }
  }
  if (buf.length) await write(buf.join("\n") + "\n");
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

export function* range(n: number, from = 0) {
  for (let i = from; i < from + n; i++) yield i;
}

async function duckdb(csv: string, dir: string): Promise<number> {
  const venv = path.join(cacheDir(), "venv-bench-duckdb");
  const py = path.join(venv, "bin", "python");
  if (!fs.existsSync(py)) {
    await run("python3", ["-m", "venv", venv]);
    await run(py, ["-m", "pip", "install", "-q", "duckdb"], { maxBuffer: 16 << 20 });
  }
  // DuckDB draws a progress bar on stdout for long queries: off, and the figure is the last line.
  const script = `import duckdb, sys, time
duckdb.sql("SET enable_progress_bar = false")
t = time.time()
duckdb.sql(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', header=true)) TO '{sys.argv[2]}' (FORMAT parquet)")
print(time.time() - t)`;
  const { stdout } = await run(py, ["-c", script, csv, path.join(dir, "duck.parquet")]);
  return Number(stdout.trim().split("\n").pop());
}

async function plainSpark(uri: string, outUri: string, defaults: string): Promise<{ known: number; inferred: number }> {
  const p = machineInstallPaths();
  const script = path.join(os.tmpdir(), `bench-plain-spark-${process.pid}.py`);
  fs.writeFileSync(
    script,
    `import json, sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("bench-plain-spark").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
uri, out = sys.argv[1], sys.argv[2]
# Warm the driver up first (the job server is warm): one small read and write.
spark.read.option("header", True).csv(uri).limit(1000).write.mode("overwrite").parquet(out + "/warmup")
t0 = time.time()
spark.read.schema(${JSON.stringify(SCHEMA)}).option("header", True).csv(uri).write.mode("overwrite").parquet(out + "/known")
t1 = time.time()
spark.read.option("header", True).option("inferSchema", True).csv(uri).write.mode("overwrite").parquet(out + "/inferred")
t2 = time.time()
print(json.dumps({"known": t1 - t0, "inferred": t2 - t1}))
`,
  );
  const { stdout } = await run(p.sparkSubmit, ["--properties-file", defaults, script, uri, outUri], {
    env: { ...process.env, PYSPARK_PYTHON: p.python, SPARK_LOCAL_IP: "127.0.0.1", SPARK_LOCAL_DIRS: fs.mkdtempSync(path.join(os.tmpdir(), "spark-")) },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

/**
 * A second job server on the stack's settings (its spark-defaults.conf) with the given Hudi upsert
 * index, on a free port; stopped by the returned function.
 */
async function otherJobServer(defaults: string, index: string, outs: Pick<LakeOutputs, "jobServerSecret" | "warehouseBucket">, env: Record<string, string> = {}): Promise<{ jobs: JobClient; stop: () => void }> {
  const p = machineInstallPaths();
  const port = 20_000 + Math.floor(Math.random() * 9_000);
  const entry = path.resolve(__dirname, "..", "jobs", "job_server.py");
  const child = spawn(p.sparkSubmit, ["--properties-file", defaults, "--name", "lakeform-bench-job-server", entry, "--serve", "--port", String(port)], {
    env: { ...process.env, PYSPARK_PYTHON: p.python, PYSPARK_DRIVER_PYTHON: p.python, SPARK_LOCAL_IP: "127.0.0.1", SPARK_LOCAL_DIRS: fs.mkdtempSync(path.join(os.tmpdir(), "spark-")), LAKEFORM_HUDI_INDEX: index, ...env,
      // The stack's secret and bucket, in its environment as the Spark component's plan gives them.
      LAKEFORM_JOB_SERVER_SECRET: outs.jobServerSecret, LAKEFORM_WAREHOUSE_BUCKET: outs.warehouseBucket },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const stop = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      /* gone already */
    }
  };
  const jobs = new JobClient(`http://127.0.0.1:${port}`, { secret: outs.jobServerSecret });
  const deadline = Date.now() + 10 * 60_000;
  while (!(await jobs.healthy())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`the second job server did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { jobs, stop };
}

/**
 * What an upsert's commit rewrote, read from the table itself: Hudi's commit metadata on the
 * timeline (each write stat is a file written; one with a previous commit is a rewritten file),
 * Iceberg's snapshot summary through Trino. The profile behind an upsert's time.
 */
async function upsertProfile(outs: LakeOutputs, format: "iceberg" | "hudi", name: string): Promise<string> {
  if (format === "iceberg") {
    const r = await stackTrino(outs, "admin").query(`SELECT summary FROM iceberg.default."${name}$snapshots" ORDER BY committed_at DESC LIMIT 1`);
    const sum = (r.rows[0]?.[0] ?? {}) as Record<string, string>;
    const n = (k: string) => Number(sum[k] ?? 0);
    return `iceberg upsert snapshot: +${n("added-data-files")} / -${n("deleted-data-files")} data files, +${n("added-delete-files")} delete files, ${n("total-data-files")} data files in the table, ${(n("added-files-size") / 1e6).toFixed(1)} MB written`;
  }
  const s3 = s3Client(outs);
  const prefix = `default/${name}/.hoodie/`;
  const keys: string[] = [];
  for (let token: string | undefined; ; ) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!).filter((k) => /\/\d+(_\d+)?\.commit$/.test(k)));
    if (!page.IsTruncated) break;
    token = page.NextContinuationToken;
  }
  keys.sort();
  const stats = async (key: string) => {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: key }))).Body!.transformToString();
    return Object.values((JSON.parse(body) as { partitionToWriteStats: Record<string, { fileId: string; prevCommit?: string; numWrites: number; numUpdateWrites: number; totalWriteBytes: number }[]> }).partitionToWriteStats).flat();
  };
  if (keys.length < 2) return `hudi upsert: ${keys.length} commit(s) on the timeline, nothing to compare`;
  const [before, after] = [await stats(keys[keys.length - 2]), await stats(keys[keys.length - 1])];
  const rewritten = after.filter((w) => w.prevCommit && w.prevCommit !== "null");
  const files = new Set([...before.map((w) => w.fileId), ...after.map((w) => w.fileId)]).size;
  const sum = (ws: typeof after, f: (w: (typeof after)[number]) => number) => ws.reduce((a, w) => a + f(w), 0);
  return `hudi upsert commit: ${rewritten.length} of ${files} files rewritten, ${after.length - rewritten.length} new; ${sum(after, (w) => w.numWrites).toLocaleString()} rows written for ${sum(after, (w) => w.numUpdateWrites).toLocaleString()} updated; ${(sum(after, (w) => w.totalWriteBytes) / 1e6).toFixed(1)} MB written`;
}

/** A write's profile (WriteResult.profile), a line per stage. */
function stageLines(profile: WriteStageProfile[] | undefined): string {
  if (!profile?.length) return "    (no profile: a job server older than this bench)";
  return profile
    .map((st) => {
      const jobs = st.sparkJobs.reduce((a, j) => a + j.ms, 0);
      const top = st.sparkJobs.slice(0, 5).map((j) => `${j.what.slice(0, 70)} ${(j.ms / 1000).toFixed(1)}`).join(", ");
      return `    ${st.stage.padEnd(14)} ${(st.ms / 1000).toFixed(1).padStart(6)} s  (Spark jobs ${(jobs / 1000).toFixed(1)} s${top ? `: ${top}` : ""})`;
    })
    .join("\n");
}

/** Median wall seconds of a whole `bin/lakeform` process, after one warm-up run. */
async function cliMedian(args: string[], runs = 5): Promise<number> {
  const cli = path.resolve(__dirname, "..", "bin", "lakeform");
  await run(cli, args).catch(() => undefined);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await run(cli, args).catch(() => undefined); // status exits 2 when a table isn't in sync: still timed
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const sources = new Sources(s3Client(outs), outs.warehouseBucket);
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-bench-"));
  const sfx = Date.now().toString(36);
  try {
    const big = path.join(dir, "leads.csv");
    let t = Date.now();
    await writeCsv(big, range(ROWS), 0);
    const bytes = fs.statSync(big).size;
    console.log(`generated ${ROWS.toLocaleString()} rows, ${(bytes / 1e6).toFixed(0)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // 5,000 updates of keys picked at random over the whole table, 5,000 new keys.
    const picked = new Set<number>();
    let seed = 42;
    while (picked.size < UPSERT / 2) picked.add((seed = (seed * 48271) % 2147483647) % ROWS);
    const small = path.join(dir, "upsert.csv");
    await writeCsv(small, [...picked, ...range(UPSERT / 2, ROWS)], 1);

    const landed = await sources.landContent("leads.csv", fs.readFileSync(big));
    const landedUpsert = await sources.landContent("upsert.csv", fs.readFileSync(small));

    const duck = await duckdb(big, dir);
    const defaults = path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf");
    const plain = await plainSpark(landed.uri, `s3a://${outs.warehouseBucket}/_bench/plain-${sfx}`, defaults);

    const results: { what: string; s: number; res?: WriteResult }[] = [];
    const profiles: string[] = [];
    const index = (await jobs.health())?.hudiUpsertIndex ?? "unknown";
    const other = index === "SIMPLE" ? "BLOOM" : "SIMPLE";
    const benchTable = (name: string, format: "iceberg" | "hudi"): JobTable => ({ name, database: "default", format, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` });
    const loadAndUpsert = async (client: JobClient, format: "iceberg" | "hudi", label: string) => {
      const name = `bench_ingest_${format}_${label.replace(/\W/g, "").toLowerCase()}_${sfx}`;
      const table = benchTable(name, format);
      t = Date.now();
      const res = await client.write(table, { uri: landed.uri, hash: landed.source.hash, name: "leads.csv" }, "1");
      results.push({ what: `Lakeform initial load, ${format}${label}`, s: (Date.now() - t) / 1000, res });
      t = Date.now();
      const up = await client.write(table, { uri: landedUpsert.uri, hash: landedUpsert.source.hash, name: "upsert.csv" }, "1");
      results.push({ what: `Lakeform ${UPSERT.toLocaleString()}-row upsert into ${ROWS.toLocaleString()} rows, ${format}${label}`, s: (Date.now() - t) / 1000, res: up });
      profiles.push(`${label.trim() || format}: ${await upsertProfile(outs, format, name).catch((e: Error) => `no profile (${e.message})`)}`);
      await client.drop(table, true);
    };
    // Each job server is warmed up as plain Spark was (its first write after a start runs on a
    // cold JVM and takes about twice as long): the 10,000-row CSV into a scratch table of each format.
    const warmUp = async (client: JobClient) => {
      for (const format of ["iceberg", "hudi"] as const) {
        const table = benchTable(`bench_warmup_${format}_${sfx}`, format);
        await client.write(table, { uri: landedUpsert.uri, hash: landedUpsert.source.hash, name: "upsert.csv" }, "1");
        await client.drop(table, true);
      }
    };
    const hudiOnly = process.env.BENCH_HUDI_ONLY === "1";
    await warmUp(jobs);
    if (!hudiOnly) await loadAndUpsert(jobs, "iceberg", "");
    await loadAndUpsert(jobs, "hudi", ` (${index} index)`);
    const variants = Object.entries(JSON.parse(process.env.BENCH_HUDI_VARIANTS ?? "{}") as Record<string, Record<string, string>>);
    if (variants.length) {
      const optionsFile = path.join(dir, "hudi-options.json");
      fs.writeFileSync(optionsFile, "{}");
      const second = await otherJobServer(defaults, index, outs, { LAKEFORM_HUDI_OPTIONS_FILE: optionsFile });
      try {
        await warmUp(second.jobs);
        await loadAndUpsert(second.jobs, "hudi", ` (${index} index, 2nd job server, no options)`);
        for (const [label, options] of variants) {
          fs.writeFileSync(optionsFile, JSON.stringify(options));
          await loadAndUpsert(second.jobs, "hudi", ` (${label})`).catch((e: Error) => results.push({ what: `hudi (${label}) failed: ${e.message.slice(0, 300)}`, s: NaN }));
        }
      } finally {
        second.stop();
      }
    }
    if (process.env.BENCH_OTHER_INDEX !== "0") {
      const second = await otherJobServer(defaults, other, outs);
      try {
        await warmUp(second.jobs);
        await loadAndUpsert(second.jobs, "hudi", ` (${other} index, 2nd job server)`);
      } finally {
        second.stop();
      }
    }

    const edit = hudiOnly ? undefined : await editToVisible(outs, UPSERT);
    if (edit) {
      await jobs.drop({ name: edit.name, database: "default", format: "hudi", location: `s3a://${outs.warehouseBucket}/default/${edit.name}` }, true).catch(() => undefined);
      fs.rmSync(edit.dir, { recursive: true, force: true });
    }
    const status = hudiOnly ? NaN : await cliMedian(["status"]);
    const query = hudiOnly ? NaN : await cliMedian(["query", "SELECT 1"]);

    const rows: [string, string, string][] = [
      ["DuckDB CSV → Parquet (local disk)", duck.toFixed(1), (duck / plain.known).toFixed(2) + "×"],
      ["plain Spark CSV → Parquet, schema given", plain.known.toFixed(1), "1.00×"],
      ["plain Spark CSV → Parquet, schema inferred", plain.inferred.toFixed(1), (plain.inferred / plain.known).toFixed(2) + "×"],
      ...results.map((r): [string, string, string] => [`${r.what}${r.res?.operation ? ` (${r.res.operation})` : ""}`, r.s.toFixed(1), (r.s / plain.known).toFixed(2) + "×"]),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`\n${"path".padEnd(w)}  ${"seconds".padStart(8)}  ${"vs plain Spark".padStart(14)}`);
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b.padStart(8)}  ${c.padStart(14)}`);
    console.log(`\nwhat each upsert rewrote:\n${profiles.map((p) => `  ${p}`).join("\n")}`);
    console.log(`\nwhere each write's time went (the job server's stages; in each, the Spark jobs it ran, summed by what they did; the rest is the driver's):`);
    for (const r of results) console.log(`  ${r.what}: ${r.s.toFixed(1)} s\n${stageLines(r.res?.profile)}`);
    if (edit) console.log(`\ntables.yaml edit → ${UPSERT.toLocaleString()} rows visible in Trino (hudi, lakeform reconcile running): ${edit.seconds.toFixed(1)} s`);
    if (!hudiOnly) console.log(`lakeform status: ${status.toFixed(2)} s; lakeform query "SELECT 1": ${query.toFixed(2)} s (whole processes, medians of 5)`);
    console.log(`\n(${ROWS.toLocaleString()} rows, ${(bytes / 1e6).toFixed(0)} MB; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; S3 on ${outs.s3Endpoint})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// bench/arrow-path.ts imports its CSV generator: run only as the script.
if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
