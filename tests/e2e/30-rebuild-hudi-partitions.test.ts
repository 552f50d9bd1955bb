/**
 * Rebuilds and partitioned Hudi tables (issue 22, item 2), against the real lakehouse. Into one:
 * Hive's alter_table can't swap it (it refuses to change an entry's partition keys), so Lakeform's
 * metastore replaces the entry whole in one call (MetastoreServer.java: the table renamed to its
 * trash name, the shadow to the table's, under its write lock): a Hudi table unpartitioned →
 * partitioned, an Iceberg partitioned one → Hudi partitioned, readers polling count(*) through
 * Trino's hive catalog seeing the table's rows throughout. Away from one (a key change keeping
 * its partitioning, partitioned Hudi → Iceberg): refused before anything is written, since a query
 * straddling the swap would list the new table's partitions; the readers and the rows unchanged.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import type { LakePlan } from "../../cli/plan";
import { TrashStore } from "../../lake/trash";
import { reconcileOnce, s3, tablesWorkspace, type TablesWorkspace } from "./lake";
import { expectRowsThroughout, rebuildProbes } from "./rebuildProbes";

jest.setTimeout(300_000);

const CLI = path.resolve(__dirname, "../../bin/lakeform");

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

/** The tables' rows before the first rebuilds: what their trashed tables hold. */
let original: Record<string, string> = {};

test("Hudi unpartitioned → partitioned and Iceberg partitioned → Hudi partitioned are rebuilt, swapped in whole; readers see the rows throughout", async () => {
  const before = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) };
  original = before;
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

test("away from a partitioned Hudi table (a key change keeping its partitioning, partitioned Hudi → Iceberg) is refused before anything is written; a write after adds its partition", async () => {
  const before = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) };
  const at = { [HUDI]: (await w.jobs.observe(spec(HUDI))).location, [ICE]: (await w.jobs.observe(spec(ICE))).location };
  // Every object of this file's tables (theirs, any shadow's, any trash's: all under default/rbp_…<sfx>).
  const objects = async () => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3(w.outs).send(new ListObjectsV2Command({ Bucket: w.outs.warehouseBucket, Prefix: "default/rbp_", ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => `${o.Key} ${o.ETag}`).filter((k) => k.includes(sfx)));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  };
  const stored = await objects();
  const trashed = (await ours()).length;
  declare({ format: "hudi", partitionBy: "[region]", primaryKey: "[id, region]" }, { format: "iceberg" });
  const readers = { [HUDI]: pollReader(HUDI), [ICE]: pollReader(ICE) };
  await pass();
  await Promise.all(Object.values(readers).map((r) => r.stop()));
  for (const r of Object.values(readers)) {
    expect(r.failures).toEqual([]);
    expectRowsThroughout(r, ROWS);
  }
  const said = (name: string) => `${synced(name)?.status}: ${synced(name)?.message}`;
  expect(said(HUDI)).toMatch(new RegExp(`^False: .*table default\\.${HUDI} can't be rebuilt \\(primaryKey \\[id\\] → \\[id, region\\]\\): a partitioned Hudi table's partitions .*keep primaryKey \\[id\\] on this partitioned Hudi table`));
  expect(said(ICE)).toMatch(new RegExp(`^False: .*table default\\.${ICE} can't be rebuilt \\(format hudi → iceberg\\): a partitioned Hudi table's partitions .*keep format: hudi and partitionBy \\[region\\] on this table`));
  // lakeform plan says the same before anything is written.
  const plan = await promisify(execFile)(CLI, ["plan", "-f", w.tablesFile, "-o", "json"], { env: { ...process.env, NODE_NO_WARNINGS: "1" } }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string }),
  );
  expect(plan.code).toBe(1);
  const tables = (JSON.parse(plan.stdout) as LakePlan).tables;
  for (const name of [HUDI, ICE]) {
    const t = tables.find((x) => x.table === `default.${name}`);
    expect(t).toMatchObject({ decision: "fail", code: "INCOMPATIBLE_SPEC_CHANGE" });
    // Word for word what the status says.
    expect(said(name)).toContain((t as { reason: string }).reason);
  }
  // Nothing written, nothing moved: the same rows, locations and objects; no shadow entry, nothing new in the trash.
  for (const name of [HUDI, ICE]) {
    expect(await checksum(name)).toBe(before[name]);
    expect((await w.jobs.observe(spec(name))).location).toBe(at[name]);
    expect(await partitions(name)).toEqual(["ap", "eu", "us"]);
  }
  expect(stored.length).toBeGreaterThan(0);
  expect(await objects()).toEqual(stored);
  expect((await w.t.query(`SHOW TABLES FROM hive.default LIKE 'rbp_%${sfx}__%'`)).rows).toEqual([]);
  expect((await ours()).length).toBe(trashed);
  // Back to the table's layout, with a new region: Hudi adds its partition to the whole-replaced entry.
  fs.writeFileSync(path.join(w.dir, "more.csv"), "id,region,amount\n1,sa,9.5\n2,us,1.0\n");
  declare({ format: "hudi", partitionBy: "[region]", sources: "[r.csv, more.csv]" }, { format: "hudi" });
  await pass();
  expect(said(HUDI)).toMatch(/^True/);
  expect(await count(HUDI)).toBe(ROWS + 1);
  expect(await partitions(HUDI)).toEqual(["ap", "eu", "sa", "us"]);
  expect(await w.t.scalar(`SELECT amount FROM hive.default.${HUDI} WHERE id = 2`)).toBe(1);
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(CLI, args, { env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

test("`lakeform undrop` brings the tables the whole replaces put in the trash back under their trash names, with the rows they had", async () => {
  const trashed = await ours();
  const [oldHudi, oldIce] = [HUDI, ICE].map((n) => trashed.find((x) => x.name.startsWith(`${n}__before_`))!);
  expect([oldHudi?.format, oldIce?.format]).toEqual(["hudi", "iceberg"]);
  // Not declared yet: refused, saying what it was.
  const undeclared = await cli("undrop", `default.${oldHudi.name}`, "-f", w.tablesFile);
  expect(undeclared.code).not.toBe(0);
  expect(undeclared.stderr).toMatch(new RegExp(`default\\.${oldHudi.name} is in the trash but not declared in .*it was hudi, primaryKey \\[id\\]`));
  // Declared as they were (the trash says how), beside the tables of now.
  fs.appendFileSync(
    w.tablesFile,
    `  - name: ${oldHudi.name}
    format: hudi
    primaryKey: id
    sources: [r.csv]
  - name: ${oldIce.name}
    format: iceberg
    primaryKey: id
    partitionBy: [region]
    sources: [r.csv]
`,
  );
  for (const old of [oldHudi, oldIce]) {
    const res = await cli("undrop", `default.${old.name}`, "-f", w.tablesFile);
    expect(res).toMatchObject({ code: 0, stdout: expect.stringContaining(`undropped default.${old.name}: ${old.format} table at s3a://${w.outs.warehouseBucket}/default/`) });
    expect(res.stdout).toContain("registered in the metastore again");
  }
  // The rows they had before the rebuilds, read through Trino under the trash names.
  expect(await checksum(oldHudi.name)).toBe(original[HUDI]);
  expect(await checksum(oldIce.name)).toBe(original[ICE]);
  expect((await ours()).filter((x) => x.name.startsWith(`${HUDI}__before_`) || x.name.startsWith(`${ICE}__before_`))).toEqual([]);
  // The reconciler manages them again: in sync, the same rows; the rebuilt tables untouched.
  const now = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) };
  await pass();
  for (const old of [oldHudi, oldIce]) expect(`${synced(old.name)?.status}: ${synced(old.name)?.message}`).toMatch(/^True/);
  expect(await checksum(oldHudi.name)).toBe(original[HUDI]);
  expect(await checksum(oldIce.name)).toBe(original[ICE]);
  expect({ [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE) }).toEqual(now);
});
