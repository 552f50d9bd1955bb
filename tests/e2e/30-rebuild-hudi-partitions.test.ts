/**
 * A partitioning change by rebuild where one side is a partitioned Hudi table (issue 22, item 2),
 * against the real lakehouse. Its swap can't be one metastore step (Hive's metastore doesn't change
 * an entry's partition keys in alter_table, and Trino's hudi connector reads each partition at its
 * metastore location relative to the table's), so it is refused before anything is written, saying
 * what to do, both ways: a Hudi table unpartitioned → partitioned, an Iceberg partitioned one →
 * Hudi partitioned. A reader polling count(*) through Trino's hive catalog meanwhile never sees a
 * failure or another count; nothing is in the trash, no shadow is left. Then what the refusal says
 * to do works: the Hudi table rebuilt as Iceberg with the partitioning, under the same reader.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { TrashStore } from "../../lake/trash";
import { reconcileOnce, s3, tablesWorkspace, type TablesWorkspace } from "./lake";
import { rebuildProbes } from "./rebuildProbes";

jest.setTimeout(180_000);

const sfx = Date.now().toString(36);
const HUDI = `rbp_h_${sfx}`;
const ICE = `rbp_i_${sfx}`;
const ROWS = 30;
let w: TablesWorkspace;

const declare = (hudi: { format: string; partitionBy: string }, ice: { format: string }) =>
  fs.writeFileSync(
    w.tablesFile,
    `apiVersion: lakeform/v1
tables:
  - name: ${HUDI}
    format: ${hudi.format}
    primaryKey: id
    partitionBy: ${hudi.partitionBy}
    onIncompatibleChange: rebuild
    sources: [r.csv]
  - name: ${ICE}
    format: ${ice.format}
    primaryKey: id
    partitionBy: [region]
    onIncompatibleChange: rebuild
    sources: [r.csv]
`,
  );
const pass = () => reconcileOnce(w, pino({ level: "silent" }));
const { synced, count, checksum, spec, pollReader } = rebuildProbes(() => w);
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

test("Hudi unpartitioned → partitioned and Iceberg partitioned → Hudi partitioned are refused before anything is written, saying what to do; readers never see a failure or another count", async () => {
  const before = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) };
  declare({ format: "hudi", partitionBy: "[region]" }, { format: "hudi" });
  const readers = { [HUDI]: pollReader(HUDI), [ICE]: pollReader(ICE) };
  await pass();
  await Promise.all(Object.values(readers).map((r) => r.stop()));
  for (const r of Object.values(readers)) {
    expect(r.failures).toEqual([]);
    expect(new Set(r.seen)).toEqual(new Set([ROWS]));
    expect(r.seen.length).toBeGreaterThan(0);
  }
  const h = synced(HUDI);
  expect(h?.status).toBe("False");
  expect(h?.message).toContain("partition keys would change from [] to [region]");
  expect(h?.message).toContain("the table is unchanged. To go on: keep partitionBy [] on this Hudi table, or rebuild it as format: iceberg with partitionBy [region]");
  const i = synced(ICE);
  expect(i?.status).toBe("False");
  expect(i?.message).toContain("format iceberg → hudi");
  expect(i?.message).toContain("To go on: keep format: iceberg (its partitionBy changes without a rewrite), or rebuild it into a Hudi table with partitionBy []");
  expect(await checksum(HUDI)).toBe(before[HUDI]);
  expect(await checksum(ICE)).toBe(before[ICE]);
  // Nothing written: no shadow's entry, no shadow's files, nothing in the trash, the tables where they were.
  const shadows = (await w.t.query(`SHOW TABLES FROM hive.default LIKE 'rbp_%${sfx}__rebuild_%'`)).rows;
  expect(shadows).toEqual([]);
  for (const name of [HUDI, ICE]) {
    const listed = await s3(w.outs).send(new ListObjectsV2Command({ Bucket: w.outs.warehouseBucket, Prefix: `default/${name}-r`, MaxKeys: 1 }));
    expect(listed.KeyCount ?? 0).toBe(0);
    expect((await w.jobs.observe(spec(name))).location).toBe(`s3a://${w.outs.warehouseBucket}/default/${name}`);
  }
  expect(await ours()).toEqual([]);
});

test("what the refusal says to do works: the Hudi table rebuilt as Iceberg with partitionBy [region], under a polling reader", async () => {
  const before = await checksum(HUDI);
  declare({ format: "iceberg", partitionBy: "[region]" }, { format: "iceberg" });
  const reader = pollReader(HUDI);
  await pass();
  await reader.stop();
  expect(reader.failures).toEqual([]);
  expect(new Set(reader.seen)).toEqual(new Set([ROWS]));
  expect(synced(HUDI)?.status).toBe("True");
  expect(synced(ICE)?.status).toBe("True");
  expect(await checksum(HUDI)).toBe(before);
  // Partitioned by region now, as Iceberg keeps it: one partition a region.
  expect(Number(await w.t.scalar(`SELECT count(*) FROM iceberg.default."${HUDI}$partitions"`))).toBe(3);
  expect((await ours()).map((x) => [x.name.replace(/__before_\d+$/, ""), x.format, x.rowCount])).toEqual([[HUDI, "hudi", ROWS]]);
});
