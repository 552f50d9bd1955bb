/**
 * Watched prefix sources against the real lakehouse, both formats (issue 21, item 2): an S3 prefix
 * of 500 small CSV objects (uploaded 16 at a time), two of them with one modification time, a
 * gzip'd one (a write of its own, copied as listed) and 3 more arriving while a pass runs; every
 * row lands exactly once (Trino's count and its keys, rows inserted per commit); a second reconciler (a fresh process's state) agrees nothing is pending and writes nothing; an
 * object changed after it was applied is refused under onChange: fail, naming its key, the table
 * unchanged, and under onChange: reapply its rows are upserted again. Then the example's watched
 * local folder (examples/tables.yaml region_targets, its files copied): a new file is applied, a
 * file whose mtime moved with the same content is not.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TrinoClient } from "../../lake/trino";
import type { LakeOutputs } from "../../stacks/automation";
import { reconcileOnce, s3 as s3Of, tablesWorkspace } from "./lake";

jest.setTimeout(240_000);

const sfx = Date.now().toString(36);
const ICE = `prefix_ice_${sfx}`;
const HUDI = `prefix_hudi_${sfx}`;
const TABLES: [string, "iceberg" | "hudi"][] = [[ICE, "iceberg"], [HUDI, "hudi"]];
const PREFIX = `e2e-landing/${sfx}/orders/`;

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let s3: S3Client;
let dir: string;
let tablesFile: string;
let statusFile: string;
let uri: string;

const declare = (onChange: "fail" | "reapply") =>
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1\ntables:\n` +
      TABLES.map(([name, format]) => `  - name: ${name}\n    format: ${format}\n    primaryKey: id\n    sources:\n      - { path: "${uri}", onChange: ${onChange} }\n`).join(""),
  );
const key = (i: number) => `${PREFIX}${String(i).padStart(5, "0")}.csv`;
/** Object i holds ids 2i and 2i+1. */
const body = (i: number, v = "a") => `id,v,part\n${2 * i},${v},${i}\n${2 * i + 1},${v},${i}\n`;
const put = (i: number, v?: string) => s3.send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: key(i), Body: body(i, v) }));
async function putAll(ids: number[], at = 16): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: at }, async () => {
    while (next < ids.length) await put(ids[next++]);
  }));
}
const catalog = (format: string) => (format === "hudi" ? "hudi" : "iceberg");
const spec = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);
const commits = async (name: string) => (await jobs.observe(spec(name))).commits.map((c) => c.commit);
const synced = (name: string) => getCondition(readStatus(statusFile)?.tables[`default.${name}`]?.conditions ?? [], "Synced");
const counts = async (name: string, format: string) =>
  (await t.query(`SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ${catalog(format)}.default.${name}`)).rows[0].map(Number);
const pass = () => reconcileOnce({ outs, tablesFile, statusFile });

beforeAll(async () => {
  ({ outs, t, jobs, dir, tablesFile, statusFile } = await tablesWorkspace("lakeform-prefix-"));
  s3 = s3Of(outs);
  uri = `s3://${outs.warehouseBucket}/${PREFIX}`;
  await putAll(Array.from({ length: 498 }, (_, i) => i));
  // Two objects with one modification time (S3's is to the second): written together until they share it.
  for (let tries = 0; ; tries++) {
    await Promise.all([put(498), put(499)]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `${PREFIX}0049` }));
    const times = (listed.Contents ?? []).filter((o) => o.Key === key(498) || o.Key === key(499)).map((o) => o.LastModified?.getTime());
    if (times.length === 2 && times[0] === times[1]) break;
    if (tries > 5) throw new Error(`two objects never shared a modification time: ${times.join(", ")}`);
  }
  // A gzip'd object sorts last: it is a write of its own (only uncompressed text is concatenated), copied as listed (its ETag).
  await s3.send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: `${PREFIX}zz-extra.csv.gz`, Body: zlib.gzipSync("id,v,part\n2000,a,1000\n2001,a,1000\n") }));
  declare("fail");
});

test("500 objects and 3 arriving during a pass: every row once, on both formats; a second reconciler agrees nothing is pending", async () => {
  const t0 = Date.now();
  const running = pass();
  await new Promise((r) => setTimeout(r, 300));
  await putAll([500, 501, 502], 3);
  await running;
  // Whatever the first pass's listing caught, the next pass applies the rest; nothing twice.
  await pass();
  for (const [name, format] of TABLES) {
    expect(synced(name)).toMatchObject({ status: "True" });
    expect(await counts(name, format)).toEqual([1008, 1008, 0, 2001]);
    expect(synced(name)?.message).toMatch(new RegExp(`${uri.replace(/[/.]/g, "\\$&")}: 504 object\\(s\\) applied`));
  }
  // Each row inserted once, none written over: the objects were applied once each, in a few writes, not 504.
  for (const [name] of TABLES) {
    const writes = (await jobs.observe(spec(name))).commits;
    expect(writes.reduce((n, c) => n + (c.rowsInserted ?? 0), 0)).toBe(1008);
    expect(writes.reduce((n, c) => n + (c.rowsUpdated ?? 0), 0)).toBe(0);
    expect(writes.length).toBeLessThanOrEqual(4);
  }
  const before = Object.fromEntries(await Promise.all(TABLES.map(async ([name]) => [name, await commits(name)])));
  // A fresh reconciler (new process state: no hash cache, no manifest read yet) writes nothing.
  await pass();
  for (const [name] of TABLES) {
    expect(await commits(name)).toEqual(before[name]);
    expect(synced(name)).toMatchObject({ status: "True" });
  }
  console.log(`prefix: 504 objects applied on both formats and checked in ${Date.now() - t0} ms`);
});

test("a changed object: refused under fail naming its key, the table unchanged; re-upserted by key under reapply", async () => {
  await put(7, "changed");
  const before = Object.fromEntries(await Promise.all(TABLES.map(async ([name]) => [name, await commits(name)])));
  await pass();
  for (const [name, format] of TABLES) {
    const c = synced(name);
    expect(c?.status).toBe("False");
    expect(c?.reason).toBe("SourceUnreadable");
    expect(c?.message).toContain(`s3://${outs.warehouseBucket}/${key(7)} changed after it was applied`);
    expect(c?.message).toContain("onChange is fail");
    expect(await commits(name)).toEqual(before[name]);
    expect((await t.query(`SELECT v FROM ${catalog(format)}.default.${name} WHERE id IN (14, 15)`)).rows).toEqual([["a"], ["a"]]);
  }
  declare("reapply");
  await pass();
  for (const [name, format] of TABLES) {
    expect(synced(name)).toMatchObject({ status: "True" });
    expect(await counts(name, format)).toEqual([1008, 1008, 0, 2001]);
    expect((await t.query(`SELECT id, v FROM ${catalog(format)}.default.${name} WHERE v = 'changed' ORDER BY id`)).rows).toEqual([[14, "changed"], [15, "changed"]]);
    expect((await commits(name)).length).toBeGreaterThan(before[name].length);
  }
});

test("the example's watched folder: each new file once; a file touched with the same content is not applied again", async () => {
  const TARGETS = `prefix_targets_${sfx}`;
  const example = fs.readFileSync(path.resolve(__dirname, "../../examples/tables.yaml"), "utf8");
  const entry = example.slice(example.indexOf("  - name: region_targets")).replace("name: region_targets", `name: ${TARGETS}`);
  const folder = path.join(dir, "data", "targets");
  fs.mkdirSync(folder, { recursive: true });
  for (const f of fs.readdirSync(path.resolve(__dirname, "../../examples/data/targets"))) fs.copyFileSync(path.resolve(__dirname, "../../examples/data/targets", f), path.join(folder, f));
  fs.writeFileSync(tablesFile, `apiVersion: lakeform/v1\ntables:\n${entry}`);
  const rows = async () => (await t.query(`SELECT count(*), count(DISTINCT quarter) FROM iceberg.default.${TARGETS}`)).rows[0].map(Number);
  await pass();
  expect(synced(TARGETS)?.status).toBe("True");
  expect(await rows()).toEqual([8, 2]);
  fs.writeFileSync(path.join(folder, "2024-q3.csv"), "Region Code,Quarter,Target\nEMEA,2024-Q3,1300000\nNA,2024-Q3,1700000\nLATAM,2024-Q3,500000\nAPAC,2024-Q3,1000000\n");
  const later = new Date(Date.now() + 10_000);
  fs.utimesSync(path.join(folder, "2024-q1.csv"), later, later);
  await pass();
  expect(await rows()).toEqual([12, 3]);
  const before = await commits(TARGETS);
  fs.utimesSync(path.join(folder, "2024-q2.csv"), later, later);
  await pass();
  expect(await commits(TARGETS)).toEqual(before);
  expect(synced(TARGETS)?.message).toMatch(/data\/targets\/: 3 object\(s\) applied/);
});
