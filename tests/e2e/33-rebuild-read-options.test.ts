/**
 * A rebuild reads every source as its write did, against the real lakehouse, both formats: a
 * table with CSV options of its own (`nullValues: "-"`) fed a plain CSV, a semicolon CSV in
 * Latin-1 with its own null value (`{ path: eu/march.csv, csv: { delimiter: ";", nullValues: NA,
 * encoding: iso-8859-1 } }`), a .txt declared TSV, a gzip'd CSV declared by format and compression
 * under a name that says neither, and an API upload (read as plain CSV, without the table's
 * options). Its files deleted from S3, the reconciler rebuilds it from its journal, whose records
 * keep each write's read (format, compression, CSV options), and the rebuilt table equals the
 * original row for row in Trino. Before the records kept it, a replay read the landed copy by its
 * extension with the table's options: the semicolon file as one column, the upload's "-" as no
 * value.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import pino from "pino";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { LakeOutputs } from "../../stacks/automation";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import { getCondition } from "../../lake/conditions";
import type { TrinoClient } from "../../lake/trino";
import { createReconciler } from "../../reconciler/runtime";
import { ensureUp, s3, trino } from "./lake";

jest.setTimeout(600_000);

const sfx = Date.now().toString(36);
const FORMATS = ["hudi", "iceberg"] as const;
const NAMES = { hudi: `rro_hudi_${sfx}`, iceberg: `rro_ice_${sfx}` };
const SOURCES = [
  "base.csv",
  '{ path: eu/march.csv, csv: { delimiter: ";", nullValues: NA, encoding: iso-8859-1 } }',
  "{ path: exports/old.txt, format: tsv }",
  '{ path: drops/feed.bin, format: csv, compression: gzip, csv: { delimiter: "|" } }',
];

let outs: LakeOutputs;
let t: TrinoClient;
let dir: string;
let tablesFile: string;
let app: Awaited<ReturnType<typeof buildApi>>;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

const auth = () => ({ authorization: `Bearer ${outs.apiToken}` });
const rowsOf = async (format: string, name: string) =>
  (await t.query(`SELECT id, name, city, amount FROM ${format}.default.${name} ORDER BY id`)).rows.map((r) => r.map((v) => (v === null ? null : String(v))));
const objects = async (prefix: string) => (await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: prefix }))).Contents ?? [];
async function reconcile() {
  const r = createReconciler(outs, { tablesFile, statusFile: path.join(dir, "status.json"), log, backoffBaseMs: 100, backoffMaxMs: 1000 });
  await r.runOnce();
  await r.stop();
  return r;
}
const synced = (r: Awaited<ReturnType<typeof reconcile>>, name: string) => getCondition(r.lakeStatus.tables[`default.${name}`].conditions, "Synced");
const write = (name: string, data: string | Buffer) => {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
};

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-rebuild-reads-"));
  // The table's own option: "-" is no value, in every CSV and TSV source that doesn't say otherwise.
  write("base.csv", "id,name,city,amount\n1,Ann,Oslo,10\n2,Bob,-,20\n");
  // Its own delimiter, null value and character set (Latin-1 bytes): its "-" is text, its NA no value.
  write("eu/march.csv", Buffer.from("id;name;city;amount\n3;Jürgen;Köln;NA\n4;Zoë;-;40\n", "latin1"));
  write("exports/old.txt", "id\tname\tcity\tamount\n5\tEve\tRoma\t50\n6\tFay\t-\t60\n");
  write("drops/feed.bin", zlib.gzipSync("id|name|city|amount\n7|Gus|Lima|70\n"));
  tablesFile = path.join(dir, "tables.yaml");
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1\ntables:\n${FORMATS.map((f) => `  - name: ${NAMES[f]}\n    format: ${f}\n    primaryKey: id\n    csv: { nullValues: "-" }\n    sources:\n${SOURCES.map((s) => `      - ${s}\n`).join("")}`).join("")}`,
  );
  app = await buildApi({ lake: createLakeService(outs, tablesFile), tokens: apiTokens(outs) });
  const r = await reconcile();
  for (const f of FORMATS) expect({ name: NAMES[f], synced: synced(r, NAMES[f])?.status, message: synced(r, NAMES[f])?.message }).toMatchObject({ name: NAMES[f], synced: "True" });
});

afterAll(async () => {
  await app?.close();
});

const EXPECTED = [
  ["1", "Ann", "Oslo", "10"],
  ["2", "Bob", null, "20"],
  ["3", "Jürgen", "Köln", null],
  ["4", "Zoë", "-", "40"],
  ["5", "Eve", "Roma", "50"],
  ["6", "Fay", null, "60"],
  ["7", "Gus", "Lima", "70"],
  // An API upload is read as plain CSV: its "-" is text.
  ["8", "Hal", "-", "80"],
];

test.each(FORMATS)("%s: sources with their own read options (and an API upload) rebuild from the journal into the same rows", async (format) => {
  const name = NAMES[format];
  const up = await app.inject({ method: "POST", url: `/ingest/${name}`, headers: { "content-type": "text/csv", ...auth() }, payload: "id,name,city,amount\n8,Hal,-,80\n" });
  expect({ status: up.statusCode, body: up.statusCode === 200 ? "" : up.body }).toEqual({ status: 200, body: "" });
  const original = await rowsOf(format, name);
  expect(original).toEqual(EXPECTED);

  // Each journal record keeps how its write read the source.
  const records = await Promise.all(
    (await objects(`_lakeform/journal/default/${name}/`)).map(async (o) => JSON.parse(await (await s3(outs).send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: o.Key! }))).Body!.transformToString())),
  );
  expect(records).toHaveLength(5);
  const bySource = Object.fromEntries(records.map((r) => [r.source, r.read]));
  expect(bySource["march.csv"]).toEqual({ format: "csv", compression: "none", csv: { delimiter: ";", quote: '"', header: true, encoding: "iso-8859-1", nullValues: ["NA"] } });
  expect(bySource["old.txt"]).toMatchObject({ format: "tsv", compression: "none", csv: { delimiter: "\t", nullValues: ["-"] } });
  expect(bySource["feed.bin"]).toMatchObject({ format: "csv", compression: "gzip", csv: { delimiter: "|", nullValues: ["-"] } });

  // The table's files are gone (its metastore entry and journal stay).
  const files = (await objects(`default/${name}/`)).map((o) => ({ Key: o.Key! }));
  expect(files.length).toBeGreaterThan(0);
  await s3(outs).send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: files } }));

  const r = await reconcile();
  expect(synced(r, name)).toMatchObject({ status: "True", reason: "Recreated" });
  expect(await rowsOf(format, name)).toEqual(original);
});
