/**
 * The Arrow write path against its references, in one run on one generated CSV (bench/ingest.ts's
 * leads: quoted separators and doubled quotes, a timestamp, a double, ints):
 *   pyiceberg alone: pyarrow's read_csv and pyiceberg's create + append, then its upsert
 *     (Table.upsert, join on id), in a process of its own on the stack's venv, metastore and S3;
 *   Lakeform's Arrow path: the job server's write (path auto) into a new Iceberg table, then the upsert;
 *   Lakeform's Spark path: the same writes with path spark.
 * The upsert is 10,000 rows: 5,000 keys picked at random over the table, 5,000 new. Each figure is
 * printed with its ratio to pyiceberg's, and each Lakeform write with what it did. Asserts nothing.
 * Needs a running stack (LAKEFORM_STACK, default e2e):
 *   node_modules/.bin/tsx bench/arrow-path.ts [rows]
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readOutputs } from "../stacks/automation";
import { machineInstallPaths } from "../components/local/install";
import { JobClient, type JobTable, type WriteResult } from "../lake/jobClient";
import { s3Client } from "../lake/outputs";
import { Sources } from "../lake/sources";
import { writeCsv, range } from "./ingest";

const run = promisify(execFile);
const ROWS = Number(process.argv[2] ?? 2_000_000);
const UPSERT = 10_000;

/** pyiceberg alone on the job server's own settings (its spark-defaults.conf names the metastore and S3). */
async function pyicebergAlone(defaults: string, table: string, location: string, load: string, upsert: string): Promise<{ load: number; upsert: number }> {
  const script = `import json, sys, time
import pyarrow.csv as pcsv
from pyiceberg.catalog.hive import HiveCatalog
conf = dict(l.strip().split(None, 1) for l in open(sys.argv[1]) if l.strip() and not l.startswith("#") and len(l.split(None, 1)) == 2)
cat = HiveCatalog("bench", **{"uri": conf["spark.hadoop.hive.metastore.uris"], "hive.hive2-compatible": "true",
    "s3.endpoint": conf["spark.hadoop.fs.s3a.endpoint"], "s3.access-key-id": conf["spark.hadoop.fs.s3a.access.key"],
    "s3.secret-access-key": conf["spark.hadoop.fs.s3a.secret.key"], "s3.region": conf.get("spark.hadoop.fs.s3a.endpoint.region", "us-east-1")})
t0 = time.time()
df = pcsv.read_csv(sys.argv[4])
tbl = cat.create_table(("default", sys.argv[2]), schema=df.schema, location=sys.argv[3])
tbl.append(df)
t1 = time.time()
up = pcsv.read_csv(sys.argv[5], convert_options=pcsv.ConvertOptions(column_types=df.schema))
tbl = cat.load_table(("default", sys.argv[2]))
tbl.upsert(up.cast(tbl.schema().as_arrow()), join_cols=["id"])
t2 = time.time()
print(json.dumps({"load": t1 - t0, "upsert": t2 - t1}))
`;
  const { stdout } = await run(machineInstallPaths().python, ["-c", script, defaults, table, location, load, upsert], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const sources = new Sources(s3Client(outs), outs.warehouseBucket);
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-bench-arrow-"));
  const sfx = Date.now().toString(36);
  const defaults = path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf");
  try {
    const big = path.join(dir, "leads.csv");
    await writeCsv(big, range(ROWS), 0);
    const bytes = fs.statSync(big).size;
    const picked = new Set<number>();
    let seed = 42;
    while (picked.size < UPSERT / 2) picked.add((seed = (seed * 48271) % 2147483647) % ROWS);
    const small = path.join(dir, "upsert.csv");
    await writeCsv(small, [...picked, ...range(UPSERT / 2, ROWS)], 1);
    const landed = await sources.landContent("leads.csv", fs.readFileSync(big));
    const landedUpsert = await sources.landContent("upsert.csv", fs.readFileSync(small));
    const table = (name: string): JobTable => ({ name, database: "default", format: "iceberg", primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` });

    // The job server warmed up on both paths (its first Spark write after a start runs on a cold JVM).
    for (const p of ["auto", "spark"] as const) {
      const w = table(`bench_arrow_warmup_${p}_${sfx}`);
      await jobs.write(w, { uri: landedUpsert.uri, hash: landedUpsert.source.hash, name: "upsert.csv" }, "1", { path: p });
      await jobs.drop(w, true);
    }
    const name = `bench_pyiceberg_${sfx}`;
    const ref = await pyicebergAlone(defaults, name, `s3a://${outs.warehouseBucket}/default/${name}`, big, small);
    // pyiceberg's Hive catalog has no purge: the job server's drop removes the table and its files.
    await jobs.drop(table(name), true);

    const lakeform = async (p: "auto" | "spark") => {
      const t = table(`bench_arrow_${p}_${sfx}`);
      let at = Date.now();
      const load = await jobs.write(t, { uri: landed.uri, hash: landed.source.hash, name: "leads.csv" }, "1", { path: p });
      const loadS = (Date.now() - at) / 1000;
      at = Date.now();
      const up = await jobs.write(t, { uri: landedUpsert.uri, hash: landedUpsert.source.hash, name: "upsert.csv" }, "1", { path: p });
      const upS = (Date.now() - at) / 1000;
      await jobs.drop(t, true);
      return { loadS, upS, load, up };
    };
    const arrow = await lakeform("auto");
    const spark = await lakeform("spark");

    const line = (what: string, s: number, refS: number, res?: WriteResult) =>
      console.log(`${what.padEnd(44)} ${s.toFixed(1).padStart(7)} s  ${(s / refS).toFixed(2).padStart(5)}× pyiceberg's${res?.operation ? `  (${res.operation})` : ""}`);
    console.log(`\n${ROWS.toLocaleString()} rows, ${(bytes / 1e6).toFixed(0)} MB; upsert ${UPSERT.toLocaleString()} rows (5,000 existing keys at random, 5,000 new)`);
    line("pyiceberg alone, initial load", ref.load, ref.load);
    line("Lakeform Arrow path, initial load", arrow.loadS, ref.load, arrow.load);
    line("Lakeform Spark path, initial load", spark.loadS, ref.load, spark.load);
    line("pyiceberg alone, upsert", ref.upsert, ref.upsert);
    line("Lakeform Arrow path, upsert", arrow.upS, ref.upsert, arrow.up);
    line("Lakeform Spark path, upsert", spark.upS, ref.upsert, spark.up);
    console.log(`\n(${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; S3 on ${outs.s3Endpoint})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
