/**
 * A rebuild reproduces the table (issue 19, item 4), against the real lakehouse, both formats: a
 * table made through tables.yaml (a local file and an s3:// object) and the API (uploads A, B, A:
 * the same content twice, an update by filter and a delete by key), its s3:// source then removed from S3 and its
 * files deleted, is rebuilt by the reconciler from its journal alone and equals the original row
 * for row (Trino). Also: a source larger than the landing's multipart part size lands whole.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { LakeOutputs } from "../../stacks/automation";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import { getCondition } from "../../lake/conditions";
import { sha256Stream } from "../../lake/sourceHash";
import { LANDING_PART_BYTES, Sources } from "../../lake/sources";
import type { TrinoClient } from "../../lake/trino";
import type { LakeDriver } from "../../reconciler/driver";
import { createReconciler } from "../../reconciler/runtime";
import { LakeformError } from "../../lake/errors";
import { ensureUp, s3, trino } from "./lake";

const sfx = Date.now().toString(36);
const FORMATS = ["hudi", "iceberg"] as const;
const NAMES = { hudi: `rb_hudi_${sfx}`, iceberg: `rb_ice_${sfx}` };
const EXT_KEY = `e2e-sources/${sfx}/regions-ext.csv`;

let outs: LakeOutputs;
let t: TrinoClient;
let dir: string;
let tablesFile: string;
let app: Awaited<ReturnType<typeof buildApi>>;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

const HEADER = "Region Code,Region Name,HQ City\n";
const SEED = `${HEADER}EMEA,Europe,Paris\nNA,North America,Boston\nLATAM,Latin America,Sao Paulo\n`;
const EXT = `${HEADER}APAC,Asia Pacific,Singapore\nMEA,Middle East,Dubai\n`;
const A = `${HEADER}API,Through The API,Lisbon\n`;
const B = `${HEADER}API,Through The API,Porto\n`;
const auth = () => ({ authorization: `Bearer ${outs.apiToken}` });
const ingest = (table: string, body: string) => app.inject({ method: "POST", url: `/ingest/${table}`, headers: { "content-type": "text/csv", ...auth() }, payload: body });
const rowsOf = async (format: string, name: string) =>
  (await t.query(`SELECT region_code, region_name, hq_city FROM ${format}.default.${name} ORDER BY region_code`)).rows.map((r) => r.map(String));
const objects = async (prefix: string) => (await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: prefix }))).Contents ?? [];
async function reconcile(wrapDriver?: (d: LakeDriver) => LakeDriver) {
  const r = createReconciler(outs, { tablesFile, statusFile: path.join(dir, "status.json"), log, backoffBaseMs: 100, backoffMaxMs: 1000, wrapDriver });
  await r.runOnce();
  return r;
}
/** Both tables, each from regions.csv and these other sources. */
const writeTables = (more: string[]) =>
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1\ntables:\n${FORMATS.map((f) => `  - { name: ${NAMES[f]}, format: ${f}, primaryKey: Region Code, sources: [${["regions.csv", ...more].join(", ")}] }\n`).join("")}`,
  );
const synced = (r: Awaited<ReturnType<typeof reconcile>>, name: string) => getCondition(r.lakeStatus.tables[`default.${name}`].conditions, "Synced");

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-rebuild-"));
  fs.writeFileSync(path.join(dir, "regions.csv"), SEED);
  await s3(outs).send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: EXT_KEY, Body: EXT }));
  tablesFile = path.join(dir, "tables.yaml");
  writeTables([`"s3://${outs.warehouseBucket}/${EXT_KEY}"`]);
  app = await buildApi({ lake: createLakeService(outs, tablesFile), tokens: apiTokens(outs) });
  const r = await reconcile();
  for (const f of FORMATS) expect({ name: NAMES[f], synced: synced(r, NAMES[f])?.status }).toEqual({ name: NAMES[f], synced: "True" });
});

afterAll(async () => {
  await app?.close();
});

test.each(FORMATS)("%s: uploads A, B, A, an update, a delete and an s3:// source since removed from S3 rebuild from the journal alone into the same rows, resumed after a stop between two writes", async (format) => {
  const name = NAMES[format];
  for (const body of [A, B, A]) expect((await ingest(name, body)).statusCode).toBe(200);
  const upd = await app.inject({ method: "PATCH", url: `/tables/${name}/rows`, headers: { "content-type": "application/json", ...auth() }, payload: { set: { hq_city: "Cambridge" }, where: "region_code = 'NA'" } });
  expect({ status: upd.statusCode, updated: upd.json().rowsUpdated }).toEqual({ status: 200, updated: 1 });
  const del = await app.inject({ method: "DELETE", url: `/tables/${name}/rows`, headers: { "content-type": "text/csv", ...auth() }, payload: "Region Code\nLATAM\n" });
  expect({ status: del.statusCode, deleted: del.json().rowsDeleted }).toEqual({ status: 200, deleted: 1 });
  const original = await rowsOf(format, name);
  // The last upload wins (A, not B), the update holds, the deleted key is gone, the s3:// rows are there.
  expect(original).toEqual([
    ["APAC", "Asia Pacific", "Singapore"],
    ["API", "Through The API", "Lisbon"],
    ["EMEA", "Europe", "Paris"],
    ["MEA", "Middle East", "Dubai"],
    ["NA", "North America", "Cambridge"],
  ]);

  // The s3:// source is removed from S3 (and so from tables.yaml), and the table's files are gone.
  await s3(outs).send(new DeleteObjectCommand({ Bucket: outs.warehouseBucket, Key: EXT_KEY }));
  expect(await objects(EXT_KEY)).toEqual([]);
  writeTables([]);
  const files = (await objects(`default/${name}/`)).map((o) => ({ Key: o.Key! }));
  expect(files.length).toBeGreaterThan(0);
  await s3(outs).send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: files } }));

  // The rebuild is stopped after its second replayed write, as a job server that dies between two
  // writes would stop it (the third write fails, retryable); the reconciler's next pass resumes it
  // after the last entry replayed: every entry once in all, none twice, none lost.
  const replays: string[] = [];
  let failed = false;
  const stopAfterTwo = (d: LakeDriver): LakeDriver => ({
    ...d,
    write: async (table, source, generation) => {
      if (source.replay && replays.length === 2 && !failed) {
        failed = true;
        throw new LakeformError("SPARK_UNAVAILABLE", "the job server went away between two replayed writes (injected)");
      }
      const res = await d.write(table, source, generation);
      if (source.replay) replays.push(source.replay.of);
      return res;
    },
  });
  // The stopped pass fails retryable; the next (in the same run after its backoff, or the next run) resumes.
  const first = await reconcile(stopAfterTwo);
  expect(failed).toBe(true);
  const r = synced(first, name)?.status === "True" ? first : await reconcile(stopAfterTwo);
  // A, B, A, the update, the delete (the s3:// source and regions.csv came first: 7 writes).
  expect({ replays: replays.length, distinct: new Set(replays).size }).toEqual({ replays: 7, distinct: 7 });
  expect(synced(r, name)).toMatchObject({ status: "True", reason: "Recreated" });
  expect(await rowsOf(format, name)).toEqual(original);
});

test("a source larger than the multipart part size lands whole, at its hash", async () => {
  const file = path.join(dir, "big.csv");
  const line = "0123456789,abcdefghijklmnopqrstuvwxyz,ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
  const out = fs.openSync(file, "w");
  fs.writeSync(out, HEADER);
  const block = line.repeat(16 * 1024);
  while (fs.fstatSync(out).size < LANDING_PART_BYTES + 3 * 1024 * 1024) fs.writeSync(out, block);
  fs.closeSync(out);
  const sources = new Sources(s3(outs), outs.warehouseBucket);
  const [src] = await sources.resolve(file, dir);
  expect(src.bytes).toBeGreaterThan(LANDING_PART_BYTES);
  expect(src.hash).toBe(crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
  const uri = await sources.land(src);
  const key = sources.landingKey(src);
  expect(uri).toBe(`s3a://${outs.warehouseBucket}/${key}`);
  const landed = await s3(outs).send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: key }));
  expect(await sha256Stream(landed.Body as AsyncIterable<Uint8Array>)).toEqual({ hash: src.hash, bytes: src.bytes });
  await s3(outs).send(new DeleteObjectCommand({ Bucket: outs.warehouseBucket, Key: key }));
});
