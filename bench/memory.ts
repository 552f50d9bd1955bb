/**
 * Memory of a large ingest (issue 11, item 6): a generated CSV of about 1 GB (size in MB as the
 * argument) written by the job server into a new Iceberg and a new Hudi table, with the job
 * server's driver as the stack configures it (2 GiB by default). While each write runs, the
 * resident memory of the driver's JVM and of its Python process is sampled every second; the
 * peaks and the times are printed, and the JVM's own peak (VmHWM) at the end.
 * Prints figures; asserts nothing. Needs a running local stack (LAKEFORM_STACK, default e2e):
 *   node_modules/.bin/tsx bench/memory.ts [MB]
 * The CSV is written to the temporary folder and removed at the end, the tables dropped.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readOutputs } from "../stacks/automation";
import { jobServerProcesses, procKb } from "./proc";
import { JobClient, type JobTable } from "../lake/jobClient";
import { s3Client } from "../lake/outputs";
import { Sources } from "../lake/sources";

const MB = Number(process.argv[2] ?? 1000);

const CITY = ["Berlin", "Lyon", "São Paulo", "Osaka", "Nairobi", "Austin", "Kraków", "Perth"];
function row(id: number): string {
  const created = new Date(Date.UTC(2024, 0, 1) + id * 60_000).toISOString().slice(0, 19).replace("T", " ");
  return `${id},Lead${id},lead.${id}@example.com,"Acme, Inc. ""${id % 97}""",${CITY[id % CITY.length]},${created},${((id * 7919) % 100000) / 100},note number ${id} of the memory bench`;
}

async function writeCsv(file: string, bytes: number): Promise<number> {
  const out = fs.createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r())));
  await write("id,name,email,company,city,created_at,amount,note\n");
  let written = 0;
  let id = 0;
  while (written < bytes) {
    const chunk: string[] = [];
    for (let i = 0; i < 10_000; i++) chunk.push(row(id++));
    const s = chunk.join("\n") + "\n";
    written += Buffer.byteLength(s);
    await write(s);
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return id;
}

const gb = (kb: number) => `${(kb / 1024 / 1024).toFixed(2)} GiB`;

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const { jvm, python } = jobServerProcesses(outs.dataDir);
  const conf = fs.readFileSync(path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf"), "utf8");
  console.log(`job server: JVM pid ${jvm}, Python pid ${python}; ${conf.match(/^spark\.driver\.memory.*$/m)?.[0] ?? "spark.driver.memory not set"}`);
  console.log(`before: JVM RSS ${gb(procKb(jvm, "VmRSS"))} (peak so far ${gb(procKb(jvm, "VmHWM"))}), Python RSS ${gb(procKb(python, "VmRSS"))}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-memory-"));
  const sources = new Sources(s3Client(outs), outs.warehouseBucket);
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const sfx = Date.now().toString(36);
  try {
    const file = path.join(dir, "big.csv");
    let t = Date.now();
    const rows = await writeCsv(file, MB * 1e6);
    const bytes = fs.statSync(file).size;
    console.log(`generated ${rows.toLocaleString()} rows, ${(bytes / 1e6).toFixed(0)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const landed = await sources.landContent("big.csv", fs.readFileSync(file));
    fs.rmSync(file);
    for (const format of ["iceberg", "hudi"] as const) {
      const name = `bench_memory_${format}_${sfx}`;
      const table: JobTable = { name, database: "default", format, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` };
      let peakJvm = 0;
      let peakPy = 0;
      const sampler = setInterval(() => {
        peakJvm = Math.max(peakJvm, procKb(jvm, "VmRSS"));
        peakPy = Math.max(peakPy, procKb(python, "VmRSS"));
      }, 1000);
      t = Date.now();
      try {
        const res = await jobs.write(table, { uri: landed.uri, hash: landed.source.hash, name: "big.csv" }, "1");
        console.log(
          `${format}: ${res.rowsWritten.toLocaleString()} rows (${res.operation}) in ${((Date.now() - t) / 1000).toFixed(1)} s; ` +
            `peak RSS during the write: JVM ${gb(peakJvm)}, Python ${gb(peakPy)}`,
        );
      } catch (err) {
        console.log(`${format}: FAILED after ${((Date.now() - t) / 1000).toFixed(1)} s: ${(err as Error).message}; peak RSS JVM ${gb(peakJvm)}, Python ${gb(peakPy)}`);
      } finally {
        clearInterval(sampler);
        await jobs.drop(table, true).catch(() => undefined);
      }
    }
    console.log(`after: JVM peak RSS (VmHWM) ${gb(procKb(jvm, "VmHWM"))}, Python ${gb(procKb(python, "VmHWM"))}; job server still healthy: ${await jobs.healthy()}`);
    console.log(`(${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
