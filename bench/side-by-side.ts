/**
 * Issue 20's figures side by side, in one run, against the running lakehouse of $LAKEFORM_STACK
 * (default e2e). Prints figures and ratios beside their references; asserts nothing (never a
 * timed test). In order, each as its own process (their full output is printed as they run):
 *
 *   bench/ingest.ts      one generated CSV (BENCH_ROWS, 2,000,000 rows): DuckDB CSV → Parquet, plain
 *                        Spark CSV → Parquet, Lakeform's initial load and 10,000-row upsert per format
 *                        (Iceberg on the default path, Hudi on Spark), tables.yaml edit → rows visible;
 *   bench/arrow-path.ts  the same CSV: pyarrow + pyiceberg alone, Lakeform's Arrow path and its Spark
 *                        path, initial load and upsert (Iceberg);
 *   bench/noop-pass.ts   a pass with nothing to do over BENCH_TABLES (1,000) tables of 10 small sources;
 * then, here: a generated source of BENCH_LARGE_MB (5,000 MB) and one of 10 MB, each declared in a
 * tables.yaml and applied by the reconciler (in this process) through the job server, with the
 * reconciler's and the job server's (JVM, Python) peak RSS sampled every second.
 * DuckDB comes from the bench's own venv in the cache (pip's duckdb, installed once by ingest.ts).
 *
 * Run: node_modules/.bin/tsx bench/side-by-side.ts
 *   BENCH_ROWS=2000000 BENCH_TABLES=1000 BENCH_LARGE_MB=5000; BENCH_SKIP=ingest,arrow,noop,large to leave parts out.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { JobClient } from "../lake/jobClient";
import { createReconciler } from "../reconciler/runtime";
import { readOutputs, type LakeOutputs } from "../stacks/automation";
import { jobServerProcesses, procKb } from "./proc";

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const TABLES = Number(process.env.BENCH_TABLES ?? 1000);
const LARGE_MB = Number(process.env.BENCH_LARGE_MB ?? 5000);
const SKIP = new Set((process.env.BENCH_SKIP ?? "").split(",").filter(Boolean));

/** Runs one bench script, its output passed through, and returns that output. */
function bench(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    console.log(`\n=== ${script} ${args.join(" ")}`);
    const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${code}`))));
  });
}

/** The seconds on the line of `out` that starts with `label`: the first number after the label (arrow-path.ts's lines). */
function seconds(out: string, label: string): number | undefined {
  const line = out.split("\n").find((l) => l.startsWith(label));
  const m = line && /^\s+(\d+(?:\.\d+)?)\s/.exec(line.slice(label.length) + " ");
  return m ? Number(m[1]) : undefined;
}

/** The seconds of ingest.ts's table row that matches `re`: its two last columns are the seconds and the ratio. */
function column(out: string, re: RegExp): number | undefined {
  const cells = out.split("\n").find((l) => re.test(l))?.trim().split(/\s+/);
  const s = cells && Number(cells[cells.length - 2]);
  return s !== undefined && Number.isFinite(s) ? s : undefined;
}

/** A CSV of about `mb` MB, written by a process of its own (so this one's heap, the reconciler's, is not the generator's). Returns its rows. */
async function writeCsv(file: string, mb: number): Promise<number> {
  const script = `const fs = require("node:fs");
const out = fs.createWriteStream(process.argv[1]);
(async () => {
  const write = (s) => (out.write(s) ? Promise.resolve() : new Promise((r) => out.once("drain", r)));
  await write("id,name,email,city,amount,note\\n");
  let written = 0, id = 0;
  while (written < Number(process.argv[2]) * 1e6) {
    const chunk = [];
    for (let i = 0; i < 10000; i++, id++) chunk.push(id + ",Lead " + id + ",lead." + id + '@example.com,"Krak\u00f3w, ""PL""",' + ((id * 7919) % 100000) / 100 + ",note " + id + " of the side-by-side bench");
    const s = chunk.join("\\n") + "\\n";
    written += Buffer.byteLength(s);
    await write(s);
  }
  out.end(() => console.log(id));
})();`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", script, file, String(mb)]);
  return Number(stdout.trim());
}

const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

/** One source of `mb` MB applied by a reconciler in this process; its and the job server's peak RSS. */
async function largeSource(outs: LakeOutputs, mb: number, sfx: string): Promise<{ s: number; rows: number; reconciler: number; before: number; jvm: number; python: number; path?: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-large-"));
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const name = `bench_large_${mb}_${sfx}`;
  try {
    const rows = await writeCsv(path.join(dir, "big.csv"), mb);
    const tablesFile = path.join(dir, "tables.yaml");
    fs.writeFileSync(tablesFile, `apiVersion: lakeform/v1\ntables:\n  - name: ${name}\n    format: iceberg\n    primaryKey: id\n    sources:\n      - big.csv\n`);
    const pids = jobServerProcesses(outs.dataDir);
    const peak = { reconciler: 0, jvm: 0, python: 0, before: procKb(process.pid, "VmRSS") };
    const sample = () => {
      peak.reconciler = Math.max(peak.reconciler, procKb(process.pid, "VmRSS"));
      peak.jvm = Math.max(peak.jvm, procKb(pids.jvm, "VmRSS"));
      peak.python = Math.max(peak.python, procKb(pids.python, "VmRSS"));
    };
    const sampler = setInterval(sample, 1000);
    const t0 = Date.now();
    try {
      const r = createReconciler(outs, { tablesFile, statusFile: path.join(dir, "status.json"), log: pino({ level: "silent" }) });
      for (let round = 0; round < 3 && !(round > 0 && r.allInSync()); round++) await r.runOnce();
      if (!r.allInSync()) throw new Error(`the ${mb} MB source's table did not reach in sync: ${JSON.stringify(r.lakeStatus.tables)}`);
    } finally {
      clearInterval(sampler);
      sample();
    }
    const s = (Date.now() - t0) / 1000;
    const table = { name, database: "default", format: "iceberg" as const, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns" as const, location: `s3a://${outs.warehouseBucket}/default/${name}` };
    const seen = await jobs.observe(table);
    await jobs.drop(table, true).catch(() => undefined);
    // The write's commit (maintenance may have compacted after it: a commit of no path).
    return { s, rows, ...peak, path: seen.commits.filter((c) => c.path).pop()?.path };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const sfx = Date.now().toString(36);
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");
  const lines: [string, string, string, string][] = [];
  const row = (what: string, s: number | undefined, ref: number | undefined, refName: string, target: string) =>
    lines.push([what, s === undefined ? "?" : s.toFixed(1), s !== undefined && ref ? `${(s / ref).toFixed(2)}× ${refName}` : "-", target]);
  console.log(`side by side: ${os.cpus().length} cores, load average at the start ${load()}`);

  if (!SKIP.has("ingest")) {
    const out = await bench("ingest.ts", [String(ROWS)], { BENCH_OTHER_INDEX: "0" });
    const plain = column(out, /^plain Spark CSV → Parquet, schema given\s/);
    row("DuckDB CSV → Parquet, local disk", column(out, /^DuckDB CSV → Parquet \(local disk\)\s/), plain, "plain Spark", "");
    row("plain Spark CSV → Parquet, schema given", plain, plain, "plain Spark", "");
    row("Lakeform initial load, Hudi", column(out, /^Lakeform initial load, hudi/), plain, "plain Spark", "≤ 1.3×");
    row("Lakeform 10,000-row upsert, Hudi", column(out, /^Lakeform 10,000-row upsert into .*, hudi/), plain, "plain Spark's load", "≤ 1.0×");
    // What that upsert rewrote (ingest.ts reads it from the commit's write stats): files and rows.
    const rewrote = /hudi upsert commit: (.*)$/m.exec(out);
    lines.push(["  what the Hudi upsert rewrote", "-", rewrote ? rewrote[1] : "?", ""]);
    const edit = /tables\.yaml edit → .*: (\d+(?:\.\d+)?) s/.exec(out);
    lines.push(["tables.yaml edit → 10,000 rows visible (Hudi)", edit ? edit[1] : "?", "-", "≤ 2 s"]);
  }
  if (!SKIP.has("arrow")) {
    const out = await bench("arrow-path.ts", [String(ROWS)]);
    const refLoad = seconds(out, "pyiceberg alone, initial load");
    const refUp = seconds(out, "pyiceberg alone, upsert");
    row("pyarrow + pyiceberg alone, initial load", refLoad, refLoad, "pyiceberg", "");
    row("Lakeform Arrow path, initial load, Iceberg", seconds(out, "Lakeform Arrow path, initial load"), refLoad, "pyiceberg", "≤ 1.3×");
    row("Lakeform Spark path, initial load, Iceberg", seconds(out, "Lakeform Spark path, initial load"), refLoad, "pyiceberg", "");
    row("pyarrow + pyiceberg alone, 10,000-row upsert", refUp, refUp, "pyiceberg", "");
    row("Lakeform Arrow path, 10,000-row upsert, Iceberg", seconds(out, "Lakeform Arrow path, upsert"), refUp, "pyiceberg", "≤ 1.0×");
    row("Lakeform Spark path, 10,000-row upsert, Iceberg", seconds(out, "Lakeform Spark path, upsert"), refUp, "pyiceberg", "");
  }
  if (!SKIP.has("noop")) {
    const out = await bench("noop-pass.ts", [], { BENCH_TABLES: String(TABLES) });
    const m = /pass with nothing to do over (\d+) tables .*?median (\d+(?:\.\d+)?) s .*?, (\d+(?:\.\d+)?) ms per table/.exec(out);
    lines.push([`a pass with nothing to do, ${m ? m[1] : TABLES} tables × 10 sources`, m ? m[2] : "?", m ? `${m[3]} ms per table` : "-", "≤ 10 ms per table"]);
  }
  if (!SKIP.has("large")) {
    console.log(`\n=== large sources through the reconciler: 10 MB, then ${LARGE_MB.toLocaleString()} MB`);
    const small = await largeSource(outs, 10, sfx);
    const large = await largeSource(outs, LARGE_MB, sfx);
    for (const [mb, r] of [[10, small], [LARGE_MB, large]] as const) {
      console.log(`${mb.toLocaleString()} MB source (${r.rows.toLocaleString()} rows, ${r.path ?? "?"} path): applied in ${r.s.toFixed(1)} s; peak RSS: reconciler ${mib(r.reconciler)} (${mib(r.before)} before the pass), job server JVM ${mib(r.jvm)}, Python ${mib(r.python)}`);
    }
    lines.push([`${LARGE_MB.toLocaleString()} MB source applied by the reconciler (${large.path ?? "?"} path)`, large.s.toFixed(1), `reconciler RSS ${mib(large.reconciler)} (10 MB source: ${mib(small.reconciler)}, +${mib(large.reconciler - small.reconciler)})`, "within 50 MB"]);
    lines.push([`  job server's peak RSS during it`, "-", `JVM ${mib(large.jvm)}, Python ${mib(large.python)}`, ""]);
  }

  const w = [0, 1, 2, 3].map((i) => Math.max(...lines.map((l) => l[i].length), ["what", "s", "ratio", "target"][i].length));
  console.log(`\n${ROWS.toLocaleString()} rows per load; ${os.cpus().length} cores, load average at the end ${load()}`);
  console.log(`${"what".padEnd(w[0])}  ${"s".padStart(w[1])}  ${"ratio".padEnd(w[2])}  target`);
  for (const l of lines) console.log(`${l[0].padEnd(w[0])}  ${l[1].padStart(w[1])}  ${l[2].padEnd(w[2])}  ${l[3]}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
