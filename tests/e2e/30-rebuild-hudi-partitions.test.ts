/**
 * Rebuilds where one side is a partitioned Hudi table (issue 22, item 2), against the real
 * lakehouse. Hive's alter_table can't swap them (it refuses to change an entry's partition keys, and
 * a partitioned Hudi table's partitions are entries of their own at locations under the table's),
 * so Lakeform's metastore replaces the entry whole in one call (MetastoreServer.java: the table
 * renamed to its trash name, the shadow to the table's, under its write lock). Both ways and with
 * the same partition keys: a Hudi table unpartitioned → partitioned, an Iceberg partitioned one →
 * Hudi partitioned; then a key change of the partitioned Hudi table and that one back to Iceberg.
 * Readers polling count(*) through Trino's hive catalog see the table's rows throughout; the
 * replaced tables are in the trash; a write after the swap lands in the new table's partitions.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { TrashStore } from "../../lake/trash";
import { reconcileOnce, s3, tablesWorkspace, type TablesWorkspace } from "./lake";
import { expectRowsThroughout, rebuildProbes } from "./rebuildProbes";

jest.setTimeout(300_000);

const sfx = Date.now().toString(36);
const HUDI = `rbp_h_${sfx}`;
const ICE = `rbp_i_${sfx}`;
const ROWS = 30;
let w: TablesWorkspace;

const declare = (hudi: { format: string; partitionBy: string; primaryKey?: string; sources?: string }, ice: { format: string }) =>
  fs.writeFileSync(
    w.tablesFile,
    `apiVersion: lakeform/v1
tables:
  - name: ${HUDI}
    format: ${hudi.format}
    primaryKey: ${hudi.primaryKey ?? "id"}
    partitionBy: ${hudi.partitionBy}
    onIncompatibleChange: rebuild
    sources: ${hudi.sources ?? "[r.csv]"}
  - name: ${ICE}
    format: ${ice.format}
    primaryKey: id
    partitionBy: [region]
    onIncompatibleChange: rebuild
    sources: [r.csv]
`,
  );
const pass = () => reconcileOnce(w, pino({ level: "silent" }));
const { synced, count, checksum, spec, pollReader, partitions } = rebuildProbes(() => w);
const ours = async () => (await new TrashStore(s3(w.outs), w.outs.warehouseBucket).list()).filter((x) => x.name.includes(sfx));

beforeAll(async () => {
  w = await tablesWorkspace("lakeform-rebuild-hudi-partitions-");
  fs.writeFileSync(path.join(w.dir, "r.csv"), ["id,region,amount", ...Array.from({ length: ROWS }, (_, i) => `${i + 1},${["eu", "us", "ap"][i % 3]},${(i * 2.5).toFixed(1)}`)].join("\n") + "\n");
  declare({ format: "hudi", partitionBy: "[]" }, { format: "iceberg" });
  await pass();
  expect([synced(HUDI), synced(ICE)].map((c) => `${c?.status}: ${c?.message}`)).toEqual([expect.stringMatching(/^True/), expect.stringMatching(/^True/)]);
  expect(await count(HUDI)).toBe(ROWS);
  expect(await count(ICE)).toBe(ROWS);
});

test("Hudi unpartitioned → partitioned and Iceberg partitioned → Hudi partitioned are rebuilt, swapped in whole; readers see the rows throughout", async () => {
  const before = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) };
  declare({ format: "hudi", partitionBy: "[region]" }, { format: "hudi" });
  const readers = { [HUDI]: pollReader(HUDI), [ICE]: pollReader(ICE) };
  await pass();
  await Promise.all(Object.values(readers).map((r) => r.stop()));
  for (const r of Object.values(readers)) expectRowsThroughout(r, ROWS);
  for (const name of [HUDI, ICE]) {
    const c = synced(name);
    expect(`${c?.status}: ${c?.message}`).toMatch(/^True/);
    expect(await checksum(name)).toBe(before[name]);
    // A Hudi table partitioned by region now: one metastore partition a region, under the shadow's location.
    expect(await partitions(name)).toEqual(["ap", "eu", "us"]);
    const o = await w.jobs.observe(spec(name));
    expect(o).toMatchObject({ format: "hudi", replacesWhole: true });
    expect(o.location).toMatch(new RegExp(`/default/${name}-r\\d+$`));
  }
  // No shadow entry left; the replaced tables are in the trash, none under its trash name in the metastore.
  expect((await w.t.query(`SHOW TABLES FROM hive.default LIKE 'rbp_%${sfx}__%'`)).rows).toEqual([]);
  expect((await ours()).map((x) => [x.name.replace(/__before_\d+$/, ""), x.format, x.rowCount]).sort()).toEqual([[HUDI, "hudi", ROWS], [ICE, "iceberg", ROWS]].sort());
});

test("the partitioned Hudi table's key change and its way back to Iceberg are rebuilt too; a write after the swap lands in its partitions", async () => {
  const before = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) };
  declare({ format: "hudi", partitionBy: "[region]", primaryKey: "[id, region]" }, { format: "iceberg" });
  const readers = { [HUDI]: pollReader(HUDI), [ICE]: pollReader(ICE) };
  await pass();
  await Promise.all(Object.values(readers).map((r) => r.stop()));
  for (const r of Object.values(readers)) expectRowsThroughout(r, ROWS);
  expect(`${synced(HUDI)?.status}: ${synced(HUDI)?.message}`).toMatch(/^True/);
  expect(`${synced(ICE)?.status}: ${synced(ICE)?.message}`).toMatch(/^True/);
  expect(await checksum(HUDI)).toBe(before[HUDI]);
  expect(await checksum(ICE)).toBe(before[ICE]);
  expect(await partitions(HUDI)).toEqual(["ap", "eu", "us"]);
  expect(Number(await w.t.scalar(`SELECT count(*) FROM iceberg.default."${ICE}$partitions"`))).toBe(3);
  // A new region after the swap: Hudi adds its partition to the table's entry, upserts by the new key.
  fs.writeFileSync(path.join(w.dir, "more.csv"), "id,region,amount\n1,sa,9.5\n1,eu,1.0\n");
  declare({ format: "hudi", partitionBy: "[region]", primaryKey: "[id, region]", sources: "[r.csv, more.csv]" }, { format: "iceberg" });
  await pass();
  expect(`${synced(HUDI)?.status}: ${synced(HUDI)?.message}`).toMatch(/^True/);
  expect(await count(HUDI)).toBe(ROWS + 1);
  expect(await partitions(HUDI)).toEqual(["ap", "eu", "sa", "us"]);
  expect(await w.t.scalar(`SELECT amount FROM hive.default.${HUDI} WHERE id = 1 AND region = 'eu'`)).toBe(1);
});
