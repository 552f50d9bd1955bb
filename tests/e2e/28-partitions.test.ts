/**
 * Iceberg partitioning as Iceberg does it, against the real lakehouse (issue 22, item 3): an
 * Iceberg table partitioned by day(ts) and bucket(4, id) through tables.yaml, its rows and its
 * partitions as Trino reads them ($partitions), a pruning predicate's rows; then partitionBy
 * changed to month(ts): partition evolution, no rewrite (every data file from before still
 * referenced, unchanged), new rows under the new spec, Trino's counts right over both specs. A
 * Hudi table's partitioning change is still refused, saying why, its rows as they were. A third
 * table takes truncate(2, city) and year(ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TrinoClient } from "../../lake/trino";
import type { LakeOutputs } from "../../stacks/automation";
import { reconcileOnce, tablesWorkspace } from "./lake";

jest.setTimeout(240_000);

const sfx = Date.now().toString(36);
const ICE = `part_ice_${sfx}`;
const HUDI = `part_hudi_${sfx}`;
const TRUNC = `part_trunc_${sfx}`;

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let statusFile: string;

const declare = (icePartitions: string, hudiPartitions: string, iceSources: string) =>
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1
tables:
  - name: ${ICE}
    format: iceberg
    primaryKey: id
    columns: { id: int, ts: timestamp }
    partitionBy: ${icePartitions}
    sources: ${iceSources}
  - name: ${TRUNC}
    format: iceberg
    primaryKey: id
    columns: { id: int, ts: timestamp }
    partitionBy: ["truncate(2, city)", "year(ts)"]
    sources: [jan.csv]
  - name: ${HUDI}
    format: hudi
    primaryKey: id
    partitionBy: ${hudiPartitions}
    sources: [h.csv]
`,
  );
const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
const spec = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);
const synced = (name: string) => getCondition(readStatus(statusFile)?.tables[`default.${name}`]?.conditions ?? [], "Synced");
const q = async (sql: string) => (await t.query(sql)).rows;
const pass = () => reconcileOnce({ outs, tablesFile, statusFile });
/** The table's data files holding its rows now: path → rows. */
const files = async () => Object.fromEntries((await q(`SELECT "$path", count(*) FROM iceberg.default.${ICE} GROUP BY 1`)).map((r) => [String(r[0]), Number(r[1])]));

// Three days of January, eight keys: bucket(4, id) spreads each day's keys over buckets.
const JAN = ["id,ts,city", ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => `${i},2024-01-0${1 + (i % 3)} 1${i}:00:00,c${i}`)].join("\n") + "\n";
// February and March, new keys: written after the evolution.
const LATER = "id,ts,city\n101,2024-02-10 08:00:00,x\n102,2024-02-11 09:00:00,y\n103,2024-03-01 10:00:00,z\n";

beforeAll(async () => {
  ({ outs, t, jobs, dir, tablesFile, statusFile } = await tablesWorkspace("lakeform-partitions-"));
  write("jan.csv", JAN);
  write("later.csv", LATER);
  write("h.csv", "id,region,v\n1,north,a\n2,south,b\n3,north,c\n");
  declare(`["day(ts)", "bucket(4, id)"]`, "[region]", "[jan.csv]");
});

afterAll(async () => {
  await t.query(`DROP TABLE IF EXISTS iceberg.default.${ICE}`).catch(() => undefined);
  await t.query(`DROP TABLE IF EXISTS iceberg.default.${TRUNC}`).catch(() => undefined);
  await t.query(`DROP TABLE IF EXISTS hive.default.${HUDI}`).catch(() => undefined);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

let before: Record<string, number> = {};

test("an Iceberg table partitioned by day(ts) and bucket(4, id): Trino reads its rows and its partitions, and prunes by them", async () => {
  await pass();
  expect(synced(ICE)?.status).toBe("True");
  expect(synced(HUDI)?.status).toBe("True");
  expect(await q(`SELECT count(*) FROM iceberg.default.${ICE}`)).toEqual([[8]]);
  const lake = await jobs.observe(spec(ICE));
  expect(lake.partitionSpec).toEqual(["day(ts)", "bucket(4, id)"]);
  // One partition per (day, bucket) that holds rows: the transforms' values, as Iceberg computes them.
  const parts = await q(`SELECT CAST(partition.ts_day AS varchar), partition.id_bucket, record_count FROM iceberg.default."${ICE}$partitions" ORDER BY 1, 2`);
  expect(new Set(parts.map((p) => p[0]))).toEqual(new Set(["2024-01-01", "2024-01-02", "2024-01-03"]));
  expect(parts.every((p) => Number(p[1]) >= 0 && Number(p[1]) < 4)).toBe(true);
  expect(parts.reduce((n, p) => n + Number(p[2]), 0)).toBe(8);
  // A predicate on the partition source column: the right rows (ids 3, 6 are on Jan 1).
  expect(await q(`SELECT id FROM iceberg.default.${ICE} WHERE ts >= TIMESTAMP '2024-01-01 00:00:00' AND ts < TIMESTAMP '2024-01-02 00:00:00' ORDER BY id`)).toEqual([[3], [6]]);
  // truncate (which Spark's DataFrameWriterV2 lacks: the table is made by SQL) and year.
  expect(synced(TRUNC)?.status).toBe("True");
  expect((await jobs.observe(spec(TRUNC))).partitionSpec).toEqual(["truncate(2, city)", "year(ts)"]);
  const truncated = await q(`SELECT partition.city_trunc, record_count FROM iceberg.default."${TRUNC}$partitions" ORDER BY 1`);
  expect(truncated).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => [`c${i}`, 1]));
  expect(await q(`SELECT count(*) FROM iceberg.default.${TRUNC} WHERE city = 'c3'`)).toEqual([[1]]);
  before = await files();
  expect(Object.keys(before).length).toBeGreaterThanOrEqual(parts.length);
});

test("partitionBy changed to month(ts): partition evolution, no rewrite; new rows land under the new spec; Trino counts right", async () => {
  const [[snapBefore]] = await q(`SELECT CAST(snapshot_id AS varchar) FROM iceberg.default."${ICE}$snapshots" ORDER BY committed_at DESC LIMIT 1`);
  declare(`["month(ts)"]`, "[region]", "[jan.csv, later.csv]");
  await pass();
  expect(synced(ICE)?.status).toBe("True");
  const lake = await jobs.observe(spec(ICE));
  expect(lake.partitionSpec).toEqual(["month(ts)"]);
  // Snapshot ids are bigints: read as text (a JSON number would round them).
  // The evolution made no snapshot: the next one is later.csv's append, on the one before, deleting no file.
  const [[snap, parent, operation, deleted, added]] = await q(
    `SELECT CAST(snapshot_id AS varchar), CAST(parent_id AS varchar), operation, element_at(summary, 'deleted-data-files'), element_at(summary, 'added-records') FROM iceberg.default."${ICE}$snapshots" WHERE element_at(summary, 'lakeform.source') = 'later.csv'`,
  );
  expect([parent, operation, deleted, added]).toEqual([snapBefore, "append", null, "3"]);
  // As of that snapshot every data file from before is still referenced with its rows (files of the
  // old spec: ts_day=…/id_bucket=…), and the new rows are in files of the new one (ts_month=…).
  const asOf = Object.fromEntries((await q(`SELECT "$path", count(*) FROM iceberg.default.${ICE} FOR VERSION AS OF ${snap} GROUP BY 1`)).map((r) => [String(r[0]), Number(r[1])]));
  for (const [file, n] of Object.entries(before)) expect([file, asOf[file]]).toEqual([file, n]);
  expect(Object.keys(before).every((f) => /\/ts_day=2024-01-0\d\/id_bucket=\d\//.test(f))).toBe(true);
  const fresh = Object.entries(asOf).filter(([f]) => !(f in before));
  expect(fresh.reduce((n, [, c]) => n + c, 0)).toBe(3);
  expect(fresh.every(([f]) => /\/ts_month=2024-0[23]\//.test(f) && !f.includes("ts_day="))).toBe(true);
  // Trino over both specs (and after whatever compaction maintenance did since): all rows, by
  // month, a pruning predicate on each side of the change, the partitions of the new field.
  expect(await q(`SELECT count(*) FROM iceberg.default.${ICE}`)).toEqual([[11]]);
  expect(await q(`SELECT month(ts), count(*) FROM iceberg.default.${ICE} GROUP BY 1 ORDER BY 1`)).toEqual([[1, 8], [2, 2], [3, 1]]);
  expect(await q(`SELECT id FROM iceberg.default.${ICE} WHERE ts >= TIMESTAMP '2024-02-01 00:00:00' AND ts < TIMESTAMP '2024-03-01 00:00:00' ORDER BY id`)).toEqual([[101], [102]]);
  expect(await q(`SELECT id FROM iceberg.default.${ICE} WHERE ts < TIMESTAMP '2024-01-02 00:00:00' ORDER BY id`)).toEqual([[3], [6]]);
  const parts = await q(`SELECT partition.ts_month, record_count FROM iceberg.default."${ICE}$partitions"`);
  expect(parts.reduce((n, p) => n + Number(p[1]), 0)).toBe(11);
  expect(new Set(parts.filter((p) => p[0] !== null).map((p) => String(p[0]))).size).toBeGreaterThanOrEqual(2);
  // The write after the evolution recorded the new partitioning in its commit.
  expect(JSON.parse(lake.commits.find((c) => c.commit === String(snap))?.spec ?? "{}").partitionBy).toEqual(["month(ts)"]);
});

test("a Hudi table's partitioning change is still refused, saying why; its rows stay as they were", async () => {
  declare(`["month(ts)"]`, "[v]", "[jan.csv, later.csv]");
  await pass();
  const c = synced(HUDI);
  expect(c?.status).toBe("False");
  expect(c?.reason).toBe("IncompatibleSpecChange");
  expect(c?.message).toMatch(/partitionBy/);
  expect(await q(`SELECT id, region FROM hudi.default.${HUDI} ORDER BY id`)).toEqual([[1, "north"], [2, "south"], [3, "north"]]);
  // The Iceberg table, meanwhile, is in sync.
  expect(synced(ICE)?.status).toBe("True");
});
