/**
 * Safe prunes (issue 19, items 1 and 2) against the real lakehouse, both formats, under a running
 * reconciler (its loop and its file watcher, as `lakeform reconcile` runs them):
 *
 *   - `: > tables.yaml` drops nothing: the status shows the spec error, the last valid version is
 *     served, the rows are still in Trino after two passes over every table;
 *   - removing two prune: true tables holds both (PrunePending), nothing dropped;
 *   - `lakeform prune --confirm` lets them go: gone from Trino, files and journal still in S3,
 *     `lakeform trash` lists them; declared again they are refused (TrashConflict), not written over;
 *   - `lakeform undrop` brings each back: the same rows, the same commits, and time travel to
 *     their first commit answers as before;
 *   - a trashed table is purged by the running reconciler once its (short) trash period is over:
 *     files, journal and tombstone gone.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import pino from "pino";
import type { LakeOutputs } from "../../stacks/automation";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { Tombstone } from "../../lake/trash";
import type { TrinoClient } from "../../lake/trino";
import type { Reconciler } from "../../reconciler/loop";
import { createReconciler } from "../../reconciler/runtime";
import { InputWatcher } from "../../reconciler/watch";
import { ensureUp, s3, trino, waitFor } from "./lake";

const sfx = Date.now().toString(36);
const CLI = path.resolve(__dirname, "../../bin/lakeform");
/** Undropped again later: their rows, commits and time travel are compared with before the prune. */
const HA = `sp_hudi_a_${sfx}`;
const IA = `sp_ice_a_${sfx}`;
/** Purged by the reconciler after a trash period of a few seconds. */
const HB = `sp_hudi_b_${sfx}`;
const IB = `sp_ice_b_${sfx}`;
/** How long HB and IB stay in the trash: 0.0002 days, about 17 s. */
const SHORT_TRASH_DAYS = 0.0002;

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let statusFile: string;
let r: Reconciler;
let watcher: InputWatcher;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

interface Decl {
  name: string;
  format: "hudi" | "iceberg";
  trashDays?: number;
}
const ALL: Decl[] = [
  { name: HA, format: "hudi" },
  { name: IA, format: "iceberg" },
  { name: HB, format: "hudi", trashDays: SHORT_TRASH_DAYS },
  { name: IB, format: "iceberg", trashDays: SHORT_TRASH_DAYS },
];
const yamlOf = (tables: Decl[]) =>
  `apiVersion: lakeform/v1\ntables:\n${tables
    .map(
      (x) =>
        `  - name: ${x.name}\n    format: ${x.format}\n    primaryKey: Region Code\n    prune: true\n` +
        (x.trashDays ? `    trash: { days: ${x.trashDays} }\n` : "") +
        "    sources:\n      - data/regions.csv\n      - data/regions-update.csv\n",
    )
    .join("")}`;
const declare = (tables: Decl[]) => fs.writeFileSync(tablesFile, yamlOf(tables));
const only = (...names: string[]) => ALL.filter((d) => names.includes(d.name));
const id = (name: string) => `default.${name}`;
const catalogOf = (d: Decl) => (d.format === "hudi" ? "hudi" : "iceberg");
const spec = (name: string) => jobTable(parseTables(yamlOf(ALL), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);

const reasonOf = (name: string) => getCondition(readStatus(statusFile)?.tables[id(name)]?.conditions ?? [], "Synced")?.reason;
const listed = async (prefix: string) => (await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: prefix }))).KeyCount ?? 0;
const files = (name: string) => listed(`default/${name}/`);
const journal = (name: string) => listed(`_lakeform/journal/default/${name}/`);
const tombstone = (name: string) => listed(`_lakeform/trash/default/${name}.json`);
const rows = async (d: Decl) => (await t.query(`SELECT * FROM ${catalogOf(d)}.default.${d.name} ORDER BY region_code`)).rows;
const inTrino = async (d: Decl) => (await t.query(`SHOW TABLES FROM ${catalogOf(d)}.default LIKE '${d.name}'`)).rows.length > 0;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(CLI, args, { env: { ...process.env, NODE_NO_WARNINGS: "1" }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Every table of `names` passed at least `n` more times than it had when this was called. */
async function passes(names: string[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const since = Date.now();
    r.requeue(names.map(id));
    await waitFor(
      `a pass over ${names.join(", ")}`,
      () => (names.every((x) => Date.parse(readStatus(statusFile)?.tables[id(x)]?.lastPassAt ?? "0") > since) ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 250 },
    );
  }
}

/** What undrop must give back: rows, commit ids, and the rows as of the first commit. */
interface Snapshot {
  rows: unknown[][];
  commits: string[];
  firstCommitRows: unknown[][];
}
const before: Record<string, Snapshot> = {};
async function snapshot(d: Decl): Promise<Snapshot> {
  const seen = await jobs.observe(spec(d.name));
  const commits = seen.commits.map((c) => c.commit);
  const travel = await jobs.travel(spec(d.name), commits[0]);
  const sortRows = (x: unknown[][]) => [...x].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { rows: await rows(d), commits, firstCommitRows: sortRows(travel.rows) };
}

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-prune-"));
  fs.mkdirSync(path.join(dir, "data"));
  fs.copyFileSync(path.resolve(__dirname, "../../examples/data/regions.csv"), path.join(dir, "data", "regions.csv"));
  // A second commit: one region renamed, one added (history to travel back through).
  fs.writeFileSync(path.join(dir, "data", "regions-update.csv"), "Region Code,Region Name,HQ City\nNA,North America (renamed),Toronto\nANZ,Australia and New Zealand,Sydney\n");
  tablesFile = path.join(dir, "tables.yaml");
  statusFile = path.join(dir, "status.json");
  declare(ALL);
  r = createReconciler(outs, { tablesFile, statusFile, log, backoffBaseMs: 200, backoffMaxMs: 2000, resyncMs: 600_000 });
  r.loadDesired();
  watcher = await InputWatcher.start(r, { tablesFile, log });
  r.start();
  await waitFor("every table in sync", () => (r.allInSync() ? true : undefined), { timeoutMs: 600_000, intervalMs: 500 });
  for (const d of ALL) expect(await t.scalar(`SELECT count(*) FROM ${catalogOf(d)}.default.${d.name}`)).toBe(5);
  for (const d of only(HA, IA)) before[d.name] = await snapshot(d);
  expect(before[HA].commits).toHaveLength(2);
  expect(before[IA].commits).toHaveLength(2);
}, 900_000);

afterAll(async () => {
  await watcher?.close();
  await r?.stop();
});

test("truncating tables.yaml under a running reconciler drops nothing: a spec error, the rows still in Trino after two passes", async () => {
  fs.writeFileSync(tablesFile, ""); // what `: > tables.yaml` leaves
  await waitFor("the spec error in status", () => readStatus(statusFile)?.specError, { timeoutMs: 30_000 });
  const specError = readStatus(statusFile)!.specError!;
  expect(specError).toContain(tablesFile);
  expect(specError).toMatch(/`tables: \[\]`/);
  await passes(ALL.map((d) => d.name), 2);
  for (const d of ALL) {
    expect(await t.scalar(`SELECT count(*) FROM ${catalogOf(d)}.default.${d.name}`)).toBe(5);
    expect(await tombstone(d.name)).toBe(0);
    expect(readStatus(statusFile)!.tables[id(d.name)]?.inSync).toBe(true);
  }
  // Comments only, or a file cut short after `tables:`: the same.
  fs.writeFileSync(tablesFile, "# tables.yaml, being rewritten\n");
  await waitFor("the spec error for a comment-only file", () => (/empty/.test(readStatus(statusFile)?.specError ?? "") ? true : undefined), { timeoutMs: 30_000 });
  fs.writeFileSync(tablesFile, "apiVersion: lakeform/v1\ntables:\n");
  await waitFor("the spec error for a file cut short", () => (/cut short/.test(readStatus(statusFile)?.specError ?? "") ? true : undefined), { timeoutMs: 30_000 });
  for (const d of ALL) expect(await inTrino(d)).toBe(true);

  declare(ALL);
  await waitFor("tables.yaml valid again", () => (readStatus(statusFile)?.specError === undefined ? true : undefined), { timeoutMs: 30_000 });
});

test("removing two prune: true tables holds both (PrunePending) and drops nothing until confirmed", async () => {
  declare(only(HB, IB));
  await waitFor("both prunes held", () => (reasonOf(HA) === "PrunePending" && reasonOf(IA) === "PrunePending" ? true : undefined), { timeoutMs: 30_000 });
  const message = getCondition(readStatus(statusFile)!.tables[id(HA)].conditions, "Synced")!.message;
  expect(message).toContain(`prune 2 tables (${[id(HA), id(IA)].sort().join(", ")})`);
  expect(message).toContain("lakeform prune --confirm");
  // Several sweeps later (they look for a confirmation every second), still nothing dropped.
  await new Promise((res) => setTimeout(res, 4000));
  for (const d of only(HA, IA)) {
    expect(await inTrino(d)).toBe(true);
    expect(await tombstone(d.name)).toBe(0);
  }
  const held = await cli("prune", "--status", statusFile);
  expect(held.code).toBe(2);
  expect(held.stdout).toContain(id(HA));
  expect(held.stdout).toContain(id(IA));
});

test("`lakeform prune --confirm`: both leave Trino, their files and journal stay in S3, `lakeform trash` lists them until their purge date", async () => {
  const filesBefore = { [HA]: await files(HA), [IA]: await files(IA) };
  const confirmed = await cli("prune", "--confirm", "--status", statusFile, "--wait", "120");
  expect(confirmed).toMatchObject({ code: 0, stdout: expect.stringContaining("pruned:") });
  for (const d of only(HA, IA)) {
    expect(await inTrino(d)).toBe(false);
    await expect(t.query(`SELECT count(*) FROM ${catalogOf(d)}.default.${d.name}`)).rejects.toThrow(/does not exist/);
    expect(await files(d.name)).toBe(filesBefore[d.name]);
    expect(await journal(d.name)).toBe(2);
    expect(await tombstone(d.name)).toBe(1);
  }
  const trash = await cli("trash", "--json");
  expect(trash.code).toBe(0);
  const items = (JSON.parse(trash.stdout) as Tombstone[]).filter((x) => [id(HA), id(IA)].includes(x.table));
  expect(items.map((x) => [x.table, x.format, x.location]).sort()).toEqual(
    [
      [id(HA), "hudi", `s3a://${outs.warehouseBucket}/default/${HA}`],
      [id(IA), "iceberg", `s3a://${outs.warehouseBucket}/default/${IA}`],
    ].sort(),
  );
  for (const x of items) {
    expect(x.trashDays).toBe(7);
    expect(Date.parse(x.purgeAfter) - Date.parse(x.droppedAt)).toBe(7 * 86_400_000);
    expect(x.rowCount).toBe(5);
  }
  const human = await cli("trash");
  expect(human.stdout).toMatch(new RegExp(`${id(HA)}\\s+hudi\\s+\\S+\\s+\\S+\\s+6 d 23 h`));
});

test("declared again while in the trash, a table is refused (TrashConflict), not written over its trashed files", async () => {
  declare(ALL);
  await waitFor("TrashConflict for both", () => (reasonOf(HA) === "TrashConflict" && reasonOf(IA) === "TrashConflict" ? true : undefined), { timeoutMs: 60_000 });
  const message = getCondition(readStatus(statusFile)!.tables[id(IA)].conditions, "Synced")!.message;
  expect(message).toContain(`lakeform undrop ${id(IA)}`);
  expect(message).toContain(`lakeform trash purge ${id(IA)}`);
  for (const d of only(HA, IA)) expect(await inTrino(d)).toBe(false);
  // The trashed files are as they were: no commit was added to them.
  expect(await journal(HA)).toBe(2);
  expect(await journal(IA)).toBe(2);
});

test("`lakeform undrop` brings each back with the same rows, the same commits, and time travel to its first commit as before", async () => {
  for (const d of only(HA, IA)) {
    const out = await cli("undrop", d.name, "-f", tablesFile);
    expect(out).toMatchObject({ code: 0, stdout: expect.stringContaining(`undropped ${id(d.name)}`) });
    expect(await inTrino(d)).toBe(true);
    const after = await snapshot(d);
    expect(after.rows).toEqual(before[d.name].rows);
    expect(after.commits).toEqual(before[d.name].commits);
    expect(after.firstCommitRows).toEqual(before[d.name].firstCommitRows);
    // The first commit had the 4 regions of regions.csv, NA not yet renamed.
    expect(after.firstCommitRows).toHaveLength(4);
    expect(await tombstone(d.name)).toBe(0);
  }
  // The reconciler manages them again: in sync, nothing rewritten (still two commits each).
  await waitFor("both in sync again", () => (reasonOf(HA) === "UpToDate" && reasonOf(IA) === "UpToDate" ? true : undefined), { timeoutMs: 120_000 });
  for (const d of only(HA, IA)) expect((await jobs.observe(spec(d.name))).commits).toHaveLength(2);
  const trash = JSON.parse((await cli("trash", "--json")).stdout) as Tombstone[];
  expect(trash.map((x) => x.table)).not.toContain(id(HA));
  // Undropping a table that isn't in the trash says so.
  const again = await cli("undrop", HA, "-f", tablesFile);
  expect(again.code).toBe(3);
  expect(again.stderr).toMatch(/not in the trash/);
});

test("after its trash period, the running reconciler purges a pruned table: files, journal and tombstone gone", async () => {
  declare(only(HA, IA));
  await waitFor("both prunes held", () => (reasonOf(HB) === "PrunePending" && reasonOf(IB) === "PrunePending" ? true : undefined), { timeoutMs: 30_000 });
  expect(await cli("prune", "--confirm", id(HB), id(IB), "--status", statusFile, "--wait", "120")).toMatchObject({ code: 0 });
  for (const d of only(HB, IB)) {
    expect(await inTrino(d)).toBe(false);
    expect(await files(d.name)).toBeGreaterThan(0);
    expect(await tombstone(d.name)).toBe(1);
  }
  // About 17 s of trash, then the sweep due at its purgeAfter purges it.
  await waitFor(
    "both purged",
    async () => ((await files(HB)) + (await files(IB)) + (await tombstone(HB)) + (await tombstone(IB)) === 0 ? true : undefined),
    { timeoutMs: 180_000, intervalMs: 1000 },
  );
  for (const d of only(HB, IB)) expect(await journal(d.name)).toBe(0);
  // The undropped tables were not touched.
  for (const d of only(HA, IA)) expect(await rows(d)).toEqual(before[d.name].rows);
});
