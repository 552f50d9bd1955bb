/**
 * A pass with nothing to do over many tables (issue 20's target: at most 10 ms per table),
 * against the running lakehouse of $LAKEFORM_STACK (default e2e). Prints figures; asserts nothing.
 *
 * What is real and what is not, so the figure means what it says:
 *  - two real tables, one Iceberg and one Hudi, each written by the reconciler from 10 small
 *    sources (10 commits each, through Spark, once);
 *  - BENCH_TABLES (1,000) declared tables of 10 sources each, every source a local file of its
 *    own (10,000 files), with the content of the real tables' sources;
 *  - the reconciler's own loop (runOnce: observe, plan, report, status file, leases, trash
 *    check) runs over every declared table; its driver observes, for each, one of the two real
 *    tables (same format) through the real job server: every observe is a real request answered
 *    from a real table's metadata. The one thing not real: 1,000 tables share two tables' files.
 *    A write would mean the pass had something to do: the driver refuses it.
 * Also printed: the Spark jobs the job server ran during the timed passes (its /healthz count),
 * and one observe alone per format (median of many), to say where a pass's time goes.
 *
 * Run: node_modules/.bin/tsx bench/noop-pass.ts   (BENCH_TABLES=1000, BENCH_PASSES=3)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { JobClient, jobTable } from "../lake/jobClient";
import { TableLeases } from "../lake/lease";
import { s3Client } from "../lake/outputs";
import { Sources } from "../lake/sources";
import { parseTables, type TableSpec } from "../lake/spec";
import { TrashStore } from "../lake/trash";
import { jobDriver, sourceStore, type LakeDriver } from "../reconciler/driver";
import { Reconciler } from "../reconciler/loop";
import { createReconciler } from "../reconciler/runtime";
import { readOutputs, type LakeOutputs } from "../stacks/automation";

const TABLES = Number(process.env.BENCH_TABLES ?? 1000);
const PASSES = Number(process.env.BENCH_PASSES ?? 3);
const SOURCES = 10;
/** Passes at once (the reconciler's passesAtOnce; 1: one table after another). */
const AT_ONCE = Number(process.env.BENCH_AT_ONCE ?? 8);
const TARGET_MS_PER_TABLE = 10;

const csv = (i: number) => `Id,Name,Updated At\n${i},name-${i},2026-12-0${(i % 9) + 1}\n`;
const yaml = (tables: { name: string; format: string; sources: string[] }[]) =>
  `apiVersion: lakeform/v1\ntables:\n${tables
    .map((t) => `  - name: ${t.name}\n    format: ${t.format}\n    primaryKey: Id\n${t.format === "hudi" ? "    orderingField: Updated At\n" : ""}    sources:\n${t.sources.map((s) => `      - ${s}\n`).join("")}`)
    .join("")}`;
/** Time spent in each step of the passes (summed over tables: with passes at once, more than the wall time). */
const spent: Record<string, number> = {};
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const s = performance.now();
  try {
    return await fn();
  } finally {
    spent[step] = (spent[step] ?? 0) + performance.now() - s;
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function sparkJobs(jobs: JobClient): Promise<number> {
  const n = (await jobs.health())?.sparkJobs;
  if (typeof n !== "number") throw new Error("the job server's /healthz has no sparkJobs count (an older job server?)");
  return n;
}

/** The two real tables, each written from its 10 sources by the reconciler (Spark). */
async function realTables(outs: LakeOutputs, dir: string, sfx: string): Promise<Record<"hudi" | "iceberg", TableSpec>> {
  for (let i = 1; i <= SOURCES; i++) fs.writeFileSync(path.join(dir, `s${i}.csv`), csv(i));
  const sources = Array.from({ length: SOURCES }, (_, i) => `s${i + 1}.csv`);
  const tablesFile = path.join(dir, "real.yaml");
  fs.writeFileSync(tablesFile, yaml([{ name: `noop_hudi_${sfx}`, format: "hudi", sources }, { name: `noop_ice_${sfx}`, format: "iceberg", sources }]));
  const r = createReconciler(outs, { tablesFile, statusFile: path.join(dir, "real-status.json"), log: pino({ level: "silent" }) });
  const t0 = Date.now();
  for (let round = 0; round < 5 && !(round > 0 && r.allInSync()); round++) await r.runOnce();
  if (!r.allInSync()) throw new Error(`the real tables did not reach in sync: ${JSON.stringify(r.lakeStatus.tables)}`);
  console.log(`real tables: 1 hudi + 1 iceberg, ${SOURCES} sources (commits) each, written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const specs = parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables;
  return { hudi: specs.find((s) => s.format === "hudi")!, iceberg: specs.find((s) => s.format === "iceberg")! };
}

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const sfx = Date.now().toString(36);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-noop-"));
  const real = await realTables(outs, dir, sfx);
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const realTable = { hudi: jobTable(real.hudi, outs.warehouseBucket), iceberg: jobTable(real.iceberg, outs.warehouseBucket) };

  // One observe alone, per format (the real tables, unchanged): the job server's part of a pass.
  for (const format of ["iceberg", "hudi"] as const) {
    await jobs.observe(realTable[format]);
    const ms: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      const o = await jobs.observe(realTable[format]);
      ms.push(performance.now() - s);
      if (o.sparkAsked?.length) throw new Error(`an observe of the unchanged ${format} table asked Spark for ${o.sparkAsked.join(", ")}`);
    }
    console.log(`one observe of an unchanged ${format} table (job server, metadata only): median ${median(ms).toFixed(1)} ms, min ${Math.min(...ms).toFixed(1)} ms (50 runs)`);
  }

  // The declared tables: 10 sources each, every one a file of its own.
  const declared: { name: string; format: string; sources: string[] }[] = [];
  for (let t = 0; t < TABLES; t++) {
    const folder = `g/t${t}`;
    fs.mkdirSync(path.join(dir, folder), { recursive: true });
    const sources: string[] = [];
    for (let i = 1; i <= SOURCES; i++) {
      fs.writeFileSync(path.join(dir, folder, `s${i}.csv`), csv(i));
      sources.push(`${folder}/s${i}.csv`);
    }
    declared.push({ name: `noop_${t}_${sfx}`, format: t % 2 ? "hudi" : "iceberg", sources });
  }
  const tablesFile = path.join(dir, "tables.yaml");
  fs.writeFileSync(tablesFile, yaml(declared));

  const driver = jobDriver(jobs);
  const refuse = (what: string) => async (): Promise<never> => {
    throw new Error(`bench: a pass with nothing to do asked to ${what}`);
  };
  // Each declared table is observed as the real table of its format: a real request, real metadata.
  const mapped: LakeDriver = {
    ...driver,
    observe: (t, opts) => timed("observe", () => driver.observe(realTable[t.format], opts)),
    write: refuse("write"),
    register: refuse("register"),
    resync: refuse("resync"),
    forget: refuse("forget"),
    clearLeftovers: refuse("clear leftovers"),
    drop: refuse("drop"),
    maintain: refuse("maintain"),
  };
  const log = pino({ level: "silent" });
  const store = sourceStore(new Sources(s3Client(outs), outs.warehouseBucket));
  const trash = new TrashStore(s3Client(outs), outs.warehouseBucket);
  const r = new Reconciler({
    tablesFile,
    statusFile: path.join(dir, "status.json"),
    warehouseBucket: outs.warehouseBucket,
    driver: mapped,
    sources: { resolve: (d, b) => timed("sources", () => store.resolve(d, b)), land: refuse("land") },
    leases: new TableLeases(s3Client(outs), outs.warehouseBucket, { role: "reconciler", log }),
    passesAtOnce: AT_ONCE,
    trash: { get: (t) => timed("tombstone", () => trash.get(t)), put: (t) => trash.put(t), remove: (t) => trash.remove(t), list: () => trash.list() },
    log,
  });
  let s = performance.now();
  let res = await r.runOnce();
  const firstMs = performance.now() - s;
  const behind = res.filter((x) => !x.ok || x.wrote > 0);
  if (behind.length || !r.allInSync()) throw new Error(`${behind.length} declared tables were not in sync on the first pass: ${JSON.stringify(behind[0] && r.lakeStatus.tables[behind[0].table]?.conditions)}`);
  console.log(`first pass over ${TABLES} tables (sources hashed for the first time): ${(firstMs / 1000).toFixed(1)} s, ${(firstMs / TABLES).toFixed(1)} ms per table`);

  const before = await sparkJobs(jobs);
  for (const k of Object.keys(spent)) delete spent[k];
  const passes: number[] = [];
  for (let p = 0; p < PASSES; p++) {
    s = performance.now();
    res = await r.runOnce();
    passes.push(performance.now() - s);
    if (res.some((x) => !x.ok || x.wrote > 0) || !r.allInSync()) throw new Error("a pass with nothing to do did something, or found a table not in sync");
  }
  const ran = (await sparkJobs(jobs)) - before;
  const ms = median(passes);
  console.log(
    `pass with nothing to do over ${TABLES} tables x ${SOURCES} sources: median ${(ms / 1000).toFixed(2)} s of ${PASSES} ` +
      `(${passes.map((x) => (x / 1000).toFixed(2)).join(", ")}), ${(ms / TABLES).toFixed(1)} ms per table (target ${TARGET_MS_PER_TABLE} ms), ${AT_ONCE} passes at once; Spark jobs run: ${ran}`,
  );
  const per = (k: string) => `${k} ${((spent[k] ?? 0) / PASSES / TABLES).toFixed(1)} ms`;
  console.log(`where a table's pass time goes (summed per table, each step's own wait): ${["tombstone", "sources", "observe"].map(per).join(", ")}`);
  console.log(`machine: ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  fs.rmSync(path.join(dir, "g"), { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
