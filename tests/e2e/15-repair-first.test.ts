/**
 * Every write observes and repairs first (issue 19, item 3), against the real lakehouse: an API
 * ingest into a table the reconciler must repair first (its files deleted from the object store,
 * or its metastore entry dropped with its files kept) is refused with 409 REPAIR_PENDING and
 * writes nothing; the reconciler's pass repairs the table (rebuilt from its journal, or
 * re-registered with its history), and the same ingest then succeeds, every row there once.
 * Both formats. Table names carry a per-run suffix.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { LakeOutputs } from "../../stacks/automation";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { parseTables } from "../../lake/spec";
import type { TrinoClient } from "../../lake/trino";
import { createReconciler } from "../../reconciler/runtime";
import { ensureUp, s3, trino } from "./lake";

const sfx = Date.now().toString(36);
const FORMATS = ["hudi", "iceberg"] as const;
/** Tables whose files the test deletes, and tables it drops from the metastore, one of each format. */
const LOST = { hudi: `rf_lost_hudi_${sfx}`, iceberg: `rf_lost_ice_${sfx}` };
const DROPPED = { hudi: `rf_dropped_hudi_${sfx}`, iceberg: `rf_dropped_ice_${sfx}` };
const ALL = [...Object.entries(LOST), ...Object.entries(DROPPED)] as [(typeof FORMATS)[number], string][];

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let app: Awaited<ReturnType<typeof buildApi>>;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

const SEED = "Region Code,Region Name,HQ City\nEMEA,Europe,Paris\nNA,North America,Boston\nAPAC,Asia Pacific,Singapore\nLATAM,Latin America,Sao Paulo\n";
const ingest = (table: string, body: string) =>
  app.inject({ method: "POST", url: `/ingest/${table}`, headers: { "content-type": "text/csv", authorization: `Bearer ${outs.apiToken}` }, payload: body });
const fq = (format: string, name: string) => `${format}.default.${name}`;
const specOf = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), "t").tables.find((x) => x.name === name)!, outs.warehouseBucket);
const objects = async (name: string) => (await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${name}/` }))).Contents ?? [];
/** One reconciler pass over every table (as many passes per table as its repair takes). */
async function reconcile() {
  const r = createReconciler(outs, { tablesFile, statusFile: path.join(dir, "status.json"), log, backoffBaseMs: 100, backoffMaxMs: 1000 });
  await r.runOnce();
  return r;
}
const synced = (r: Awaited<ReturnType<typeof reconcile>>, name: string) => getCondition(r.lakeStatus.tables[`default.${name}`].conditions, "Synced");
/** Rows and distinct keys: equal when no key is there twice. */
async function keysOf(format: string, name: string) {
  const { rows } = await t.query(`SELECT count(*), count(DISTINCT region_code) FROM ${fq(format, name)}`);
  return { rows: Number(rows[0][0]), keys: Number(rows[0][1]) };
}
const cityOf = (format: string, name: string, key: string) => t.scalar(`SELECT hq_city FROM ${fq(format, name)} WHERE region_code = '${key}'`);

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-repair-first-"));
  fs.writeFileSync(path.join(dir, "regions.csv"), SEED);
  tablesFile = path.join(dir, "tables.yaml");
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1\ntables:\n${ALL.map(([format, name]) => `  - { name: ${name}, format: ${format}, primaryKey: Region Code, sources: [regions.csv] }\n`).join("")}`,
  );
  app = await buildApi({ lake: createLakeService(outs, tablesFile), tokens: apiTokens(outs) });
  const r = await reconcile();
  for (const [, name] of ALL) expect({ name, synced: synced(r, name)?.status }).toEqual({ name, synced: "True" });
  // A row that only ever came through the API, in each table: it is in the journal alone.
  for (const [, name] of ALL) {
    const res = await ingest(name, "Region Code,Region Name,HQ City\nAPI,Through The API,Lisbon\n");
    expect({ name, status: res.statusCode, body: res.json() }).toMatchObject({ name, status: 200 });
  }
});

afterAll(async () => {
  await app?.close();
});

test.each(FORMATS)("%s: an ingest into a table whose files were deleted (catalog entry kept) is 409 REPAIR_PENDING and creates nothing; the reconciler rebuilds it with every row, then the ingest succeeds", async (format) => {
  const name = LOST[format];
  expect(await keysOf(format, name)).toEqual({ rows: 5, keys: 5 });
  const keys = (await objects(name)).map((o) => ({ Key: o.Key! }));
  expect(keys.length).toBeGreaterThan(0);
  await s3(outs).send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: keys } }));

  const refused = await ingest(name, "Region Code,Region Name,HQ City\nNEW,Added After The Loss,Oslo\n");
  expect(refused.statusCode).toBe(409);
  expect(refused.json().error).toMatchObject({ code: "REPAIR_PENDING", details: { table: `default.${name}`, repair: "rebuild" } });
  expect(refused.json().error.message).toMatch(/files are missing from the object store/);
  // Nothing was made at the location, and the catalog entry is still the lost table's.
  expect(await objects(name)).toEqual([]);
  expect(await jobs.observe(specOf(name))).toMatchObject({ inCatalog: true, filesExist: false });

  const r = await reconcile();
  expect(synced(r, name)).toMatchObject({ status: "True", reason: "Recreated", message: expect.stringMatching(/rebuilt from its write journal/) });
  // The declared source and the API's row, from the journal.
  expect(await keysOf(format, name)).toEqual({ rows: 5, keys: 5 });
  expect(await cityOf(format, name, "API")).toBe("Lisbon");

  const again = await ingest(name, "Region Code,Region Name,HQ City\nNEW,Added After The Loss,Oslo\n");
  expect({ status: again.statusCode, body: again.json() }).toMatchObject({ status: 200, body: { rowsWritten: 1 } });
  expect(await keysOf(format, name)).toEqual({ rows: 6, keys: 6 });
  expect(await cityOf(format, name, "NEW")).toBe("Oslo");
});

test.each(FORMATS)("%s: an ingest into a table dropped from the metastore (files kept) is 409 REPAIR_PENDING and writes nothing; re-registered, the old rows and the new are all there, no key twice, its history intact", async (format) => {
  const name = DROPPED[format];
  const table = specOf(name);
  const before = await jobs.observe(table);
  expect(before.commits.length).toBeGreaterThanOrEqual(2);
  const filesBefore = (await objects(name)).map((o) => o.Key).sort();
  await jobs.drop(table, false);
  await expect(t.query(`SELECT count(*) FROM ${fq(format, name)}`)).rejects.toThrow(/does not exist/);

  // An update to a kept key and a new key: applied as a new table, Hudi would hold EMEA twice.
  const body = "Region Code,Region Name,HQ City\nEMEA,Europe,Berlin\nNEW,Added While Dropped,Oslo\n";
  const refused = await ingest(name, body);
  expect(refused.statusCode).toBe(409);
  expect(refused.json().error).toMatchObject({ code: "REPAIR_PENDING", details: { table: `default.${name}`, repair: "re-register" } });
  expect(refused.json().error.message).toMatch(/missing from the metastore but its files are intact/);
  // Not a file added or removed, and still no catalog entry: the write never started.
  expect((await objects(name)).map((o) => o.Key).sort()).toEqual(filesBefore);
  expect(await jobs.observe(table)).toMatchObject({ inCatalog: false, filesExist: true });

  const r = await reconcile();
  expect(synced(r, name)).toMatchObject({ status: "True", reason: "Recreated", message: expect.stringMatching(/re-registered from its files/) });
  // Its commits as before (a compaction the pass's maintenance ran may follow them, nothing else).
  const ids = before.commits.map((c) => c.commit);
  const registered = await jobs.observe(table);
  expect(registered.commits.map((c) => c.commit).slice(0, ids.length)).toEqual(ids);

  const again = await ingest(name, body);
  expect(again.statusCode).toBe(200);
  expect(await keysOf(format, name)).toEqual({ rows: 6, keys: 6 });
  expect(await cityOf(format, name, "EMEA")).toBe("Berlin");
  expect(await cityOf(format, name, "API")).toBe("Lisbon");
  expect(await cityOf(format, name, "NEW")).toBe("Oslo");
  // The history before the drop, then the ingest's commit: nothing rewritten, nothing lost.
  const after = await jobs.observe(table);
  expect(after.commits.map((c) => c.commit).slice(0, ids.length)).toEqual(ids);
  expect(after.commits.map((c) => c.commit)).toEqual([...registered.commits.map((c) => c.commit), again.json().commit]);
});
