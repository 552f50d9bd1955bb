/**
 * Source formats and declared columns against the real lakehouse, both formats (issue 21, items 1
 * and 3): one table each fed a gzip'd CSV, a semicolon CSV with comma decimals (its delimiter and
 * locale declared on the source), a TSV, a Parquet file written by pyarrow and a zstd'd JSON Lines
 * file with a nested object (flattened to customer_name, customer_tier_level) and a TSV with two
 * null texts (nullValues: [NA, "-"]) and a pretty-printed .json array document, with amount declared
 * decimal(12,2) and created_at timestamp. Trino reads every row with the declared types; under
 * schemaPolicy strict a source whose value doesn't fit the declared decimal is refused naming the
 * file, the line and the column, the table unchanged; under discardRows the same source lands
 * without that row, which is counted (the commit's lakeform.rows_discarded, the reconciler's log);
 * by default a source with bad rows (a misfit, a ragged record, an empty key) lands its good rows
 * and keeps the bad ones in <table>__quarantine, counted under _bad_row (bad_rows.py).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import pino from "pino";
import { cacheDir } from "../../components/local/install";
import { VERSIONS } from "../../components/versions";
import { getCondition } from "../../lake/conditions";
import { JobClient, jobTable } from "../../lake/jobClient";
import { createLakeService } from "../../api/runtime";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TrinoClient } from "../../lake/trino";
import type { LakeOutputs } from "../../stacks/automation";
import { reconcileOnce, tablesWorkspace } from "./lake";

jest.setTimeout(300_000);

const sfx = Date.now().toString(36);
const ICE = `fmt_ice_${sfx}`;
const HUDI = `fmt_hudi_${sfx}`;
const TABLES: [string, "iceberg" | "hudi"][] = [[ICE, "iceberg"], [HUDI, "hudi"]];

let outs: LakeOutputs;
let t: TrinoClient;
let jobs: JobClient;
let dir: string;
let tablesFile: string;
let statusFile: string;
const logs: Record<string, unknown>[] = [];

const SOURCES = ["orders.csv.gz", '{ path: eu.csv, csv: { delimiter: ";", locale: de-DE } }', "more.tsv", "p.parquet", "j.jsonl.zst", '{ path: nulls.tsv, csv: { nullValues: [NA, "-"] } }', "doc.json"];
const declare = (policy: string, extra: string[] = []) =>
  fs.writeFileSync(
    tablesFile,
    `apiVersion: lakeform/v1\ntables:\n` +
      TABLES.map(
        ([name, format]) => `  - name: ${name}
    format: ${format}
    primaryKey: id
    schemaPolicy: ${policy}
    columns: { amount: "decimal(12,2)", created_at: timestamp }
    sources: [${[...SOURCES, ...extra].join(", ")}]
`,
      ).join(""),
  );
const write = (name: string, data: string | Buffer) => fs.writeFileSync(path.join(dir, name), data);
const spec = (name: string) => jobTable(parseTables(fs.readFileSync(tablesFile, "utf8"), tablesFile).tables.find((x) => x.name === name)!, outs.warehouseBucket);
const commits = async (name: string) => (await jobs.observe(spec(name))).commits;
const catalog = (format: string) => (format === "hudi" ? "hudi" : "iceberg");
// Hudi's hive sync registers a timestamp column as bigint (microseconds since the epoch, UTC): README, Source formats.
const createdAt = (format: string) =>
  format === "hudi" ? "format_datetime(from_unixtime(created_at / 1000000, 'UTC'), 'yyyy-MM-dd HH:mm:ss')" : "substr(CAST(created_at AS varchar), 1, 19)";
const rows = async (name: string, format: string) =>
  (await t.query(`SELECT id, CAST(amount AS varchar), ${createdAt(format)}, city, customer_name, customer_tier_level FROM ${catalog(format)}.default.${name} ORDER BY id`)).rows;
const synced = (name: string) => getCondition(readStatus(statusFile)?.tables[`default.${name}`]?.conditions ?? [], "Synced");

const pass = () => reconcileOnce({ outs, tablesFile, statusFile }, pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) }));

beforeAll(async () => {
  ({ outs, t, jobs, dir, tablesFile, statusFile } = await tablesWorkspace("lakeform-formats-"));
  write("orders.csv.gz", zlib.gzipSync("id,amount,created_at,city\r\n1,10.50,2024-01-01 10:00:00,Oslo\r\n2,20.25,2024-01-02 11:00:00,\"Bergen, Vestland\"\r\n"));
  write("eu.csv", "id;amount;created_at;city\n3;1.234,56;2024-01-03 12:00:00;Köln\n");
  write("more.tsv", "id\tamount\tcreated_at\tcity\n4\t7\t2024-01-04 00:00:00\tRoma\n");
  // Two null texts (Spark's reader takes one): each is no value, in a decimal, a timestamp and a text column.
  // A .json file that is one document, pretty-printed, as APIs export: an array of objects.
  write("doc.json", '[\n  {\n    "id": -1,\n    "amount": "4.25",\n    "created_at": "2024-02-01 00:00:00",\n    "city": "Quito",\n    "customer": {"name": "Ana"}\n  }\n]\n');
  write("nulls.tsv", "id\tamount\tcreated_at\tcity\n0\t-\tNA\t-\n");
  // zstd: decompressed as it lands.
  write("j.jsonl.zst", zlib.zstdCompressSync('{"id": 6, "amount": 6.75, "created_at": "2024-01-06 08:00:00", "city": "Nairobi", "customer": {"name": "Wanjiru", "tier": {"level": 2}}}\n'));
  // Parquet with its own types (int64, double, a timestamp), written by pyarrow in the job server's virtualenv.
  const python = path.join(cacheDir(), `venv-spark${VERSIONS.spark}-weed${VERSIONS.seaweedfs}`, "bin", "python");
  execFileSync(python, [
    "-c",
    "import sys, datetime, pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'id': pa.array([5], pa.int64()), 'amount': [5.5], 'created_at': pa.array([datetime.datetime(2024, 1, 5, 9, 30)], pa.timestamp('us')), 'city': ['Lima']}), sys.argv[1])",
    path.join(dir, "p.parquet"),
  ]);
  write("bad.csv", "id,amount,created_at,city\n7,1.00,2024-01-07 00:00:00,Ok\n8,lots,2024-01-08 00:00:00,Bad\n");
  write("allbad.csv", "id,amount,created_at,city\n12,none,2024-01-12 00:00:00,Nowhere\n");
  write("bad2.csv", "id,amount,created_at,city\n9,9.00,2024-01-09 00:00:00,Fine\n10,plenty,2024-01-10 00:00:00,Worse\n11,2.00\n,3.00,2024-01-12 00:00:00,NoKey\n");
  declare("addColumns");
});

afterAll(async () => {
  for (const [name, format] of TABLES) await t.query(`DROP TABLE IF EXISTS ${format === "hudi" ? "hive" : "iceberg"}.default.${name}`).catch(() => undefined);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const ALL = [
  [-1, "4.25", "2024-02-01 00:00:00", "Quito", "Ana", null],
  [0, null, null, null, null, null],
  [1, "10.50", "2024-01-01 10:00:00", "Oslo", null, null],
  [2, "20.25", "2024-01-02 11:00:00", "Bergen, Vestland", null, null],
  [3, "1234.56", "2024-01-03 12:00:00", "Köln", null, null],
  [4, "7.00", "2024-01-04 00:00:00", "Roma", null, null],
  [5, "5.50", "2024-01-05 09:30:00", "Lima", null, null],
  [6, "6.75", "2024-01-06 08:00:00", "Nairobi", "Wanjiru", 2],
];

test("a gzip'd CSV, a semicolon CSV with comma decimals, a TSV, Parquet and zstd'd nested JSON Lines land with the declared types", async () => {
  await pass();
  for (const [name, format] of TABLES) {
    expect(synced(name)?.status).toBe("True");
    expect(await rows(name, format)).toEqual(ALL);
    const types = Object.fromEntries(
      (await t.query(`SELECT column_name, data_type FROM ${catalog(format)}.information_schema.columns WHERE table_schema = 'default' AND table_name = '${name}'`)).rows.map((r) => [r[0], r[1]]),
    );
    expect(types.amount).toBe("decimal(12,2)");
    expect(String(types.created_at)).toMatch(format === "hudi" ? /^bigint$/ : /^timestamp/);
    expect(types.customer_name).toBe("varchar");
  }
});

test("a value that doesn't fit the declared decimal: refused under strict naming file, line and column; by default the row is quarantined and the others land; under discardRows left out and counted", async () => {
  const before = Object.fromEntries(await Promise.all(TABLES.map(async ([name]) => [name, (await commits(name)).map((c) => c.commit)])));
  declare("strict", ["bad.csv"]);
  await pass();
  for (const [name, format] of TABLES) {
    const c = synced(name);
    expect(c?.reason).toBe("SchemaRefused");
    expect(c?.message).toContain("bad.csv, line 3, column amount: value 'lots' doesn't fit the declared type decimal(12,2)");
    expect((await commits(name)).map((x) => x.commit)).toEqual(before[name]);
    expect(await rows(name, format)).toEqual(ALL);
  }

  declare("discardRows", ["bad.csv"]);
  logs.length = 0;
  await pass();
  for (const [name, format] of TABLES) {
    expect(synced(name)?.status).toBe("True");
    expect(await rows(name, format)).toEqual([...ALL, [7, "1.00", "2024-01-07 00:00:00", "Ok", null, null]]);
  }
  // Said by the reconciler once per table: one row left out, which and why.
  const said = logs.filter((l) => l.rowsDiscarded === 1 && String(l.discarded).includes("bad.csv, line 3, column amount"));
  expect(said).toHaveLength(2);
  const summary = await t.query(`SELECT summary['lakeform.rows_discarded'] FROM iceberg.default."${ICE}$snapshots" ORDER BY committed_at DESC LIMIT 1`);
  expect(summary.rows[0][0]).toBe("1");

  // The default (addColumns): the good rows land, the bad ones are kept in <table>__quarantine
  // with their line, their text and why, and counted under _bad_row in the commit and the status.
  declare("addColumns", ["bad.csv", "bad2.csv", "allbad.csv"]);
  await pass();
  const status = readStatus(statusFile);
  for (const [name, format] of TABLES) {
    expect(synced(name)?.status).toBe("True");
    expect(await rows(name, format)).toEqual([...ALL, [7, "1.00", "2024-01-07 00:00:00", "Ok", null, null], [9, "9.00", "2024-01-09 00:00:00", "Fine", null, null]]);
    const q = await t.query(`SELECT id, amount, city, _rule, _reason, _source, _line FROM ${catalog(format)}.default."${name}__quarantine" WHERE _source = 'bad2.csv' ORDER BY _line`);
    expect(q.rows).toEqual([
      ["10", "plenty", "Worse", "_bad_row", "column amount: value 'plenty' doesn't fit the declared type decimal(12,2)", "bad2.csv", 3],
      ["11", "2.00", null, "_bad_row", "a different number of fields than the header (4)", "bad2.csv", 4],
      [null, "3.00", "NoKey", "_bad_row", "an empty primary key (id)", "bad2.csv", 5],
    ]);
    // A source with no good row at all: its one row waits in the quarantine table, the source is applied (once).
    const all = await t.query(`SELECT id, _reason FROM ${catalog(format)}.default."${name}__quarantine" WHERE _source = 'allbad.csv'`);
    expect(all.rows).toEqual([["12", "column amount: value 'none' doesn't fit the declared type decimal(12,2)"]]);
    expect((await commits(name)).filter((c) => c.source === "allbad.csv")).toHaveLength(1);
  }
  const counted = await t.query(`SELECT summary['lakeform.expectations'], summary['lakeform.rows_quarantined'] FROM iceberg.default."${ICE}$snapshots" WHERE element_at(summary, 'lakeform.source') = 'bad2.csv'`);
  expect(counted.rows).toEqual([['{"_bad_row":{"action":"quarantine","failed":3}}', "3"]]);
});

test("bad rows fixed where they wait (Trino's UPDATE of the Iceberg quarantine table) are applied by a quarantine replay; those still bad are quarantined again", async () => {
  const q = `iceberg.default."${ICE}__quarantine"`;
  await t.query(`UPDATE ${q} SET amount = '10.00' WHERE _source = 'bad2.csv' AND _line = 3`);
  const lake = createLakeService(outs, tablesFile);
  const reply = await lake.replayQuarantine(ICE);
  expect(reply.replayed).toBe(4);
  // The fixed misfit and the ragged record (its missing fields now empty) land; the empty key and allbad.csv's misfit can't.
  const got = await t.query(`SELECT id, CAST(amount AS varchar), city FROM iceberg.default.${ICE} WHERE id IN (10, 11) ORDER BY id`);
  expect(got.rows).toEqual([[10, "10.00", "Worse"], [11, "2.00", null]]);
  const left = await t.query(`SELECT id, amount, city, _rule, _reason FROM ${q} ORDER BY id NULLS FIRST`);
  expect(left.rows).toEqual([
    [null, "3.00", "NoKey", "_bad_row", "an empty primary key (id)"],
    ["12", "none", "Nowhere", "_bad_row", "column amount: value 'none' doesn't fit the declared type decimal(12,2)"],
  ]);
});
