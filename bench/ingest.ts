/**
 * Ingest speed, side by side in one run on one generated CSV (2,000,000 leads, about 200 MB):
 *   DuckDB CSV → Parquet (local disk; DuckDB from PyPI, in a virtualenv of the bench's own),
 *   plain Spark CSV → Parquet on the job server's settings (its spark-defaults.conf, S3 to S3),
 *     schema given and schema inferred, timed inside a warmed-up driver,
 *   Lakeform's initial load into a new Hudi and a new Iceberg table (the job server's write),
 *   Lakeform's 10,000-row upsert (5,000 updated keys picked at random, 5,000 new) into each.
 * Each Lakeform figure also as a ratio to plain Spark with the schema given.
 * Prints figures; asserts nothing. Needs a running stack (LAKEFORM_STACK, default e2e):
 *   node_modules/.bin/tsx bench/ingest.ts [rows]
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readOutputs } from "../stacks/automation";
import { cacheDir, machineInstallPaths } from "../components/local/install";
import { JobClient, type JobTable, type WriteResult } from "../lake/jobClient";
import { s3Client } from "../lake/outputs";
import { Sources } from "../lake/sources";

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

async function writeCsv(file: string, ids: Iterable<number>, round: number): Promise<void> {
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

function* range(n: number, from = 0) {
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

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const sources = new Sources(s3Client(outs), outs.warehouseBucket);
  const jobs = new JobClient(outs.sparkJobServer);
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
    for (const format of ["iceberg", "hudi"] as const) {
      const name = `bench_ingest_${format}_${sfx}`;
      const table: JobTable = { name, database: "default", format, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` };
      t = Date.now();
      const res = await jobs.write(table, { uri: landed.uri, hash: landed.source.hash, name: "leads.csv" }, "1");
      results.push({ what: `Lakeform initial load, ${format}`, s: (Date.now() - t) / 1000, res });
      t = Date.now();
      const up = await jobs.write(table, { uri: landedUpsert.uri, hash: landedUpsert.source.hash, name: "upsert.csv" }, "1");
      results.push({ what: `Lakeform ${UPSERT.toLocaleString()}-row upsert into ${ROWS.toLocaleString()} rows, ${format}`, s: (Date.now() - t) / 1000, res: up });
      await jobs.drop(table, true);
    }

    const rows: [string, string, string][] = [
      ["DuckDB CSV → Parquet (local disk)", duck.toFixed(1), (duck / plain.known).toFixed(2) + "×"],
      ["plain Spark CSV → Parquet, schema given", plain.known.toFixed(1), "1.00×"],
      ["plain Spark CSV → Parquet, schema inferred", plain.inferred.toFixed(1), (plain.inferred / plain.known).toFixed(2) + "×"],
      ...results.map((r): [string, string, string] => [`${r.what}${r.res?.operation ? ` (${r.res.operation})` : ""}`, r.s.toFixed(1), (r.s / plain.known).toFixed(2) + "×"]),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`\n${"path".padEnd(w)}  ${"seconds".padStart(8)}  ${"vs plain Spark".padStart(14)}`);
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w)}  ${b.padStart(8)}  ${c.padStart(14)}`);
    console.log(`\n(${ROWS.toLocaleString()} rows, ${(bytes / 1e6).toFixed(0)} MB; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; S3 on ${outs.s3Endpoint})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
