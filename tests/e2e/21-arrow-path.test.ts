/**
 * The Arrow write path (issue 20, item 1) against the real lakehouse: an Iceberg batch within the
 * job server's budget is read by pyarrow and committed by pyiceberg in the job server's process,
 * no Spark job, through the same catalog and object store as the Spark path. Its commits say which
 * path wrote them (the snapshot summary's lakeform.path: arrow; the Spark path's commits carry
 * Lakeform's keys without it, Trino's neither), carry Lakeform's keys (the reconciler finds its sources applied), hold the guarantees of
 * the Spark path (RFC 4180, upsert by key with orderingField and deleteWhen, an empty key refused
 * with the table unchanged), and the two paths and Trino read each other's commits: a Spark-path
 * write after an Arrow one, an Arrow one after that, and commits from both paths and Trino at once.
 * Other formats too (README, Two write paths): a Parquet file (its own types, a struct flattened)
 * and a gzip'd TSV, landed as the reconciler lands them, are written by the Arrow path with no
 * Spark job, and the reconciler finds them applied.
 */
import { execFileSync } from "node:child_process";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { cacheDir } from "../../components/local/install";
import { VERSIONS } from "../../components/versions";
import type { LakeOutputs } from "../../stacks/automation";
import { createLakeService } from "../../api/runtime";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { sha256 } from "../../lake/sourceHash";
import { detectFormat } from "../../lake/sourceFormat";
import { Sources } from "../../lake/sources";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TrinoClient } from "../../lake/trino";
import { reconcileOnce, s3, tablesWorkspace } from "./lake";

const sfx = Date.now().toString(36);
const T = `arrow_${sfx}`;
const FQ = `iceberg.default.${T}`;

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let statusFile: string;

const declare = (sources: string[]) =>
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1
tables:
  - name: ${T}
    format: iceberg
    primaryKey: id
    orderingField: version
    deleteWhen: { column: op, equals: [d] }
    sources: [${sources.join(", ")}]
`,
  );
const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
const spec = () => parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables[0];
const commits = async () => (await jobs.observe(jobTable(spec(), outs.warehouseBucket), { rows: false })).commits;
const rows = async () => (await t.query(`SELECT id, name, amount FROM ${FQ} ORDER BY id`)).rows.map((r) => [Number(r[0]), r[1], r[2] === null ? null : Number(r[2])]);
/** Which path wrote each snapshot, oldest first: arrow (lakeform.path), spark (Lakeform's keys without it), or trino (neither). */
const paths = async () =>
  (await t.query(`SELECT element_at(summary, 'lakeform.path'), element_at(summary, 'lakeform.source_hash') FROM iceberg.default."${T}$snapshots" ORDER BY committed_at`)).rows.map((r) =>
    r[0] === "arrow" ? "arrow" : r[1] ? "spark" : "trino",
  );
const sparkJobs = async () => {
  const n = (await jobs.health())?.sparkJobs;
  if (typeof n !== "number") throw new Error("the job server's /healthz has no Spark job count");
  return n;
};

const pass = () => reconcileOnce({ outs, tablesFile, statusFile });

beforeAll(async () => {
  ({ outs, t, jobs, dir, tablesFile, statusFile } = await tablesWorkspace("lakeform-arrow-"));
  // RFC 4180 as spreadsheets write it: a byte-order mark, CRLF, a quoted separator, a line break and a doubled quote in quotes.
  write("seed.csv", '\ufeffID,Name,Amount,Version,Op\r\n1,"Smith, J",10,1,\r\n2,"two\r\nlines",20,1,\r\n3,"say ""hi""",30,1,\r\n');
  declare(["seed.csv"]);
}, 600_000);

afterAll(async () => {
  await t.query(`DROP TABLE IF EXISTS ${FQ}`).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("tables.yaml: a new table and an upsert by key take the Arrow path; an empty key sent by a caller is refused with the table unchanged; Trino reads it", async () => {
  await pass();
  expect(await rows()).toEqual([[1, "Smith, J", 10], [2, "two\nlines", 20], [3, 'say "hi"', 30]]);
  // Updates (2), a key twice (3: the larger version wins), a new key (4), a delete by key (1).
  write("more.csv", "id,name,amount,version,op\n2,Two,21,2,\n3,old,0,1,\n3,Three,31,3,\n4,Four,40,1,\n1,,,5,d\n");
  declare(["seed.csv", "more.csv"]);
  await pass();
  expect(await rows()).toEqual([[2, "Two", 21], [3, "Three", 31], [4, "Four", 40]]);
  const listed = await commits();
  expect(listed).toHaveLength(2);
  expect(listed[1]).toMatchObject({ rowsInserted: 1, rowsUpdated: 2, rowsDeleted: 1 });
  expect(listed[1].source).toMatch(/more\.csv/);
  expect(await paths()).toEqual(["arrow", "arrow"]);
  expect(getCondition(readStatus(statusFile)?.tables[`default.${T}`]?.conditions ?? [], "Synced")).toMatchObject({ status: "True" });

  // An empty key, written by a caller who can fix and resend (the job server's default, badRows
  // refuse): refused by the Arrow path before any commit, naming its line; the table as it was.
  // (The reconciler's sources quarantine such a row instead: the last test of this file.)
  const refused = await jobs.write(jobTable(spec(), outs.warehouseBucket), await landed("bad.csv", "id,name,amount,version,op\n5,Five,50,1,\n,Nobody,0,1,\n"), spec().generation, { mustExist: true }).catch((e: Error) => e);
  expect(refused).toMatchObject({ code: "BAD_CSV", message: expect.stringMatching(/line 3 has an empty primary key \(id\)/) });
  expect((await commits()).map((c) => c.commit)).toEqual(listed.map((c) => c.commit));
  expect(await rows()).toEqual([[2, "Two", 21], [3, "Three", 31], [4, "Four", 40]]);
  // A second pass over the applied sources writes nothing: the reconciler sees the Arrow commits as its own.
  await pass();
  expect((await commits()).map((c) => c.commit)).toEqual(listed.map((c) => c.commit));
});

test("an API ingest takes the Arrow path with no Spark job; a Spark-path write after it and an Arrow one after that both land", async () => {
  const lake = createLakeService(outs, tablesFile);
  const before = await sparkJobs();
  const res = await jobs.write(
    jobTable(spec(), outs.warehouseBucket),
    await landed("direct.csv", "id,name,amount,version,op\n5,Five,50,1,\n"),
    spec().generation,
    { mustExist: true },
  );
  expect(res.operation).toMatch(/^arrow: /);
  expect({ sparkJobsRun: (await sparkJobs()) - before }).toEqual({ sparkJobsRun: 0 });
  // The Spark path reads the Arrow path's commits (its MERGE finds key 5), and the Arrow path the
  // Spark path's (merge-on-read delete files included: key 2 updated by Spark, then by Arrow).
  const spark = await jobs.write(jobTable(spec(), outs.warehouseBucket), await landed("spark.csv", "id,name,amount,version,op\n5,Five by Spark,51,2,\n2,Two by Spark,22,3,\n"), spec().generation, { mustExist: true, path: "spark" });
  expect(spark.operation).not.toMatch(/arrow/);
  const api = await lake.ingestCsv(T, Buffer.from("id,name,amount,version,op\n2,Two by Arrow,23,4,\n6,Six,60,1,\n"), "api.csv");
  expect(api.rowsWritten).toBe(2);
  expect(await rows()).toEqual([[2, "Two by Arrow", 23], [3, "Three", 31], [4, "Four", 40], [5, "Five by Spark", 51], [6, "Six", 60]]);
  expect(await paths()).toEqual(["arrow", "arrow", "arrow", "spark", "arrow"]);
  // The commits the job server lists (lakeform history's) say the same path as Trino's $snapshots.
  expect((await commits()).map((c) => c.path)).toEqual(["arrow", "arrow", "arrow", "spark", "arrow"]);
});

test("commits from both paths and from Trino at the same time all land", async () => {
  const table = jobTable(spec(), outs.warehouseBucket);
  const [a, b] = [await landed("c-arrow.csv", "id,name,amount,version,op\n7,Seven,70,1,\n3,Three again,32,9,\n"), await landed("c-spark.csv", "id,name,amount,version,op\n8,Eight,80,1,\n")];
  const before = (await commits()).length;
  await Promise.all([
    jobs.write(table, a, spec().generation, { mustExist: true }),
    jobs.write(table, b, spec().generation, { mustExist: true, path: "spark" }),
    t.query(`INSERT INTO ${FQ} (id, name, amount, version) VALUES (9, 'Nine by Trino', 90, 1)`),
  ]);
  expect((await commits()).length).toBe(before + 3);
  expect(await rows()).toEqual([
    [2, "Two by Arrow", 23], [3, "Three again", 32], [4, "Four", 40], [5, "Five by Spark", 51], [6, "Six", 60], [7, "Seven", 70], [8, "Eight", 80], [9, "Nine by Trino", 90],
  ]);
  expect((await paths()).slice(-3).sort()).toEqual(["arrow", "spark", "trino"]);
});

test("a Parquet file and a gzip'd TSV take the Arrow path with no Spark job, the reconciler finds them applied; Trino reads their rows and types", async () => {
  const F = `arrow_fmt_${sfx}`;
  const fq = `iceberg.default.${F}`;
  const fmtTables = path.join(dir, "formats.yaml");
  const fmtStatus = path.join(dir, "formats-status.json");
  // Parquet with its own types, written by pyarrow in the job server's virtualenv: a date, a
  // decimal, a timestamp without a zone (UTC), an int32, a struct (customer_name, customer_city),
  // a list (kept as its JSON text, as the Spark path keeps it), a UINT_8 (an int), binary.
  const python = path.join(cacheDir(), `venv-spark${VERSIONS.spark}-weed${VERSIONS.seaweedfs}`, "bin", "python");
  execFileSync(python, [
    "-c",
    [
      "import sys, datetime as dt, decimal, pyarrow as pa, pyarrow.parquet as pq",
      "pq.write_table(pa.table({'id': pa.array([1, 2, 3], pa.int64()), 'name': ['Zoë', 'O\\'Brien, Seán', None], 'price': [19.99, None, 0.5],",
      " 'qty': pa.array([1, 2, None], pa.int32()), 'paid': [True, False, None],",
      " 'created_at': pa.array([dt.datetime(2024, 3, 1, 9, 15), dt.datetime(2024, 3, 2, 23, 59, 59), None], pa.timestamp('us')),",
      " 'ordered_on': pa.array([dt.date(2024, 2, 29), None, dt.date(1999, 12, 31)], pa.date32()),",
      " 'amount': pa.array([decimal.Decimal('10.50'), decimal.Decimal('-3.25'), None], pa.decimal128(10, 2)),",
      " 'customer': pa.array([{'name': 'Ann', 'city': 'Zürich'}, None, {'name': 'Bo', 'city': None}]), 'tags': [['gift', 'rush'], [], None],",
      " 'stars': pa.array([5, None, 255], pa.uint8()), 'sig': pa.array([b'\\x00\\xff', None, b''], pa.binary())}), sys.argv[1])",
    ].join("\n"),
    path.join(dir, "orders.parquet"),
  ]);
  // A TSV as exports write it, gzip'd: a quoted tab, unicode, empty fields, a new column (note).
  fs.writeFileSync(
    path.join(dir, "more.tsv.gz"),
    zlib.gzipSync('id\tname\tprice\tqty\tpaid\tcreated_at\tnote\n2\t"tab\there"\t5.25\t7\ttrue\t2024-03-05 08:00:00\t李\n4\tDora\t\t\tFALSE\t\t"say ""hi"""\n'),
  );
  fs.writeFileSync(fmtTables, `apiVersion: lakeform/v1\ntables:\n  - name: ${F}\n    format: iceberg\n    primaryKey: id\n    sources: [orders.parquet, more.tsv.gz]\n`);
  const fmtSpec = () => parseTables(fs.readFileSync(fmtTables, "utf8"), fmtTables).tables[0];
  try {
    // Each landed as the reconciler lands it (by hash, with its format's and compression's extension).
    for (const name of ["orders.parquet", "more.tsv.gz"]) {
      const before = await sparkJobs();
      const res = await jobs.write(jobTable(fmtSpec(), outs.warehouseBucket), await landedFile(name), fmtSpec().generation);
      expect(res.operation).toMatch(/^arrow: /);
      expect({ name, sparkJobsRun: (await sparkJobs()) - before }).toEqual({ name, sparkJobsRun: 0 });
    }
    const snaps = await t.query(`SELECT element_at(summary, 'lakeform.path'), element_at(summary, 'lakeform.source') FROM iceberg.default."${F}$snapshots" ORDER BY committed_at`);
    expect(snaps.rows).toEqual([["arrow", "orders.parquet"], ["arrow", "more.tsv.gz"]]);
    // The reconciler sees both as applied (the Arrow path's commits carry their hashes): nothing written.
    await reconcileOnce({ outs, tablesFile: fmtTables, statusFile: fmtStatus });
    expect(getCondition(readStatus(fmtStatus)?.tables[`default.${F}`]?.conditions ?? [], "Synced")).toMatchObject({ status: "True" });
    expect(Number((await t.query(`SELECT count(*) FROM iceberg.default."${F}$snapshots"`)).rows[0][0])).toBe(2);
    const types = Object.fromEntries(
      (await t.query(`SELECT column_name, data_type FROM iceberg.information_schema.columns WHERE table_schema = 'default' AND table_name = '${F}'`)).rows.map((r) => [r[0], r[1]]),
    );
    expect(types).toEqual({
      id: "bigint", name: "varchar", price: "double", qty: "integer", paid: "boolean", created_at: "timestamp(6) with time zone",
      ordered_on: "date", amount: "decimal(10,2)", customer_name: "varchar", customer_city: "varchar", tags: "varchar", stars: "integer", sig: "varbinary", note: "varchar",
    });
    const got = await t.query(
      `SELECT id, name, price, qty, paid, CAST(created_at AT TIME ZONE 'UTC' AS varchar), CAST(ordered_on AS varchar), CAST(amount AS varchar), customer_name, customer_city, tags, stars, to_hex(sig), note FROM ${fq} ORDER BY id`,
    );
    const num = (v: unknown) => (v === null ? null : Number(v));
    expect(got.rows.map((r) => [num(r[0]), r[1], num(r[2]), num(r[3]), ...r.slice(4, 11), num(r[11]), ...r.slice(12)])).toEqual([
      [1, "Zoë", 19.99, 1, true, "2024-03-01 09:15:00.000000 UTC", "2024-02-29", "10.50", "Ann", "Zürich", '["gift","rush"]', 5, "00FF", null],
      [2, "tab\there", 5.25, 7, true, "2024-03-05 08:00:00.000000 UTC", null, "-3.25", null, null, "[]", null, null, "李"],
      [3, null, 0.5, null, null, null, "1999-12-31", null, "Bo", null, null, 255, "", null],
      [4, "Dora", null, null, false, null, null, null, null, null, null, null, null, 'say "hi"'],
    ]);
  } finally {
    await t.query(`DROP TABLE IF EXISTS ${fq}`).catch(() => undefined);
  }
});

/** A file of the workspace landed under its hash with its format's extension, as Sources.land lands it. */
async function landedFile(name: string) {
  const data = fs.readFileSync(path.join(dir, name));
  const src = { declared: name, location: `upload:${name}`, hash: sha256(data), bytes: data.length };
  const key = new Sources(s3(outs), outs.warehouseBucket).landingKey(src, detectFormat(name));
  await s3(outs).send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: key, Body: data }));
  return { uri: `s3a://${outs.warehouseBucket}/${key}`, hash: src.hash, name };
}

async function landed(name: string, text: string) {
  const sources = new Sources(s3(outs), outs.warehouseBucket);
  const { source, uri } = await sources.landContent(name, Buffer.from(text));
  return { uri, hash: source.hash, name };
}

test("the reconciler's source with an empty key: the Arrow path hands it to Spark, which lands the good rows and quarantines the bad one", async () => {
  const Q = `arrow_q_${sfx}`;
  const qTables = path.join(dir, "quarantine.yaml");
  const qStatus = path.join(dir, "quarantine-status.json");
  fs.writeFileSync(path.join(dir, "q.csv"), "id,name\n1,One\n,Nobody\n3,Three\n");
  fs.writeFileSync(qTables, `apiVersion: lakeform/v1\ntables:\n  - name: ${Q}\n    format: iceberg\n    primaryKey: id\n    sources: [q.csv]\n`);
  try {
    await reconcileOnce({ outs, tablesFile: qTables, statusFile: qStatus });
    const st = readStatus(qStatus)?.tables[`default.${Q}`];
    expect(getCondition(st?.conditions ?? [], "Synced")).toMatchObject({ status: "True" });
    expect(st?.expectations).toMatchObject({ _bad_row: { action: "quarantine", failed: 1 } });
    expect((await t.query(`SELECT id, name FROM iceberg.default.${Q} ORDER BY id`)).rows).toEqual([[1, "One"], [3, "Three"]]);
    const snaps = await t.query(`SELECT element_at(summary, 'lakeform.path') FROM iceberg.default."${Q}$snapshots"`);
    expect(snaps.rows).toEqual([[null]]);
    expect((await t.query(`SELECT id, name, _reason, _line FROM iceberg.default."${Q}__quarantine"`)).rows).toEqual([[null, "Nobody", "an empty primary key (id)", 3]]);
  } finally {
    for (const n of [Q, `${Q}__quarantine`]) await t.query(`DROP TABLE IF EXISTS iceberg.default."${n}"`).catch(() => undefined);
  }
});
