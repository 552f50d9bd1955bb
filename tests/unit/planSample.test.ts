/**
 * `lakeform plan` samples each source as its write reads it (lake/sourceSample.ts and
 * reconciler/dataPlan.ts): real files written here (gzip'd and zstd'd CSV, TSV, a semicolon CSV,
 * JSON Lines with a nested object), read through readSample, planned by planSource. Parquet and
 * bzip2 sources are said to be unknown, with their bytes, never a wrong count.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import type { S3Client } from "@aws-sdk/client-s3";
import { detectFormat, type CsvOptions } from "../../lake/sourceFormat";
import { readSample } from "../../lake/sourceSample";
import type { ResolvedSource } from "../../lake/sources";
import type { TableSpec } from "../../lake/spec";
import { planSource } from "../../reconciler/dataPlan";
import { rowsText } from "../../reconciler/tablePlan";

const s3 = {} as S3Client; // local files only: never called
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lf-plan-sample-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = (o: Partial<TableSpec> = {}): TableSpec => ({
  name: "orders", database: "default", format: "iceberg", primaryKey: ["id"], partitionBy: [], sources: ["a.csv"],
  schemaPolicy: "addColumns", prune: false, generation: "g1", line: 1, ...o,
});
const table = { exists: true, columns: [{ name: "id", type: "bigint" }, { name: "amount", type: "double" }] };

function file(name: string, data: Buffer | string): ResolvedSource {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return { declared: name, location: p, hash: "h", bytes: fs.statSync(p).size };
}
async function plan(src: ResolvedSource, csv?: CsvOptions, o: Partial<TableSpec> = {}, maxBytes?: number) {
  const sample = await readSample(s3, src, { detected: detectFormat(src.location), ...(csv ? { csv } : {}) }, maxBytes);
  return planSource(spec(o), table, src, sample);
}
const csvRows = (n: number, sep = ",") => ["id", "amount", "note"].join(sep) + "\n" + Array.from({ length: n }, (_, i) => [i, `${i}.5`, `n${i % 7}`].join(sep)).join("\n") + "\n";

test("a gzip'd CSV is decompressed and counted exactly when its sample is all of it", async () => {
  const p = await plan(file("small.csv.gz", zlib.gzipSync(csvRows(500))));
  expect(p).toMatchObject({ rows: 500, rowsExact: true, columns: ["id", "amount", "note"], schema: { change: "additive", added: ["note"] } });
});

test("a large gzip'd CSV's rows are estimated from the compressed bytes its sample came from", async () => {
  // Rows that don't compress to nothing: a hash-like field per row.
  const body = "id,amount\n" + Array.from({ length: 60_000 }, (_, i) => `${i},${((i * 2654435761) % 1000003) / 7}`).join("\n") + "\n";
  const src = file("big.csv.gz", zlib.gzipSync(body));
  const p = await plan(src, undefined, {}, 64 * 1024);
  expect(src.bytes).toBeGreaterThan(64 * 1024);
  expect(p.rowsExact).toBe(false);
  expect(p.rows).toBeGreaterThan(60_000 * 0.8);
  expect(p.rows).toBeLessThan(60_000 * 1.2);
  expect(p.schema.change).toBe("none");
});

test("a zstd'd CSV is decompressed by Node's zlib", async () => {
  const p = await plan(file("z.csv.zst", zlib.zstdCompressSync(Buffer.from(csvRows(42)))));
  expect(p).toMatchObject({ rows: 42, rowsExact: true, columns: ["id", "amount", "note"] });
});

test("a TSV is split at tabs, and a misfit value in it is found", async () => {
  const p = await plan(file("a.tsv", "id\tamount\n1\t2.5\n2\tabc\n"));
  expect(p).toMatchObject({ rows: 2, columns: ["id", "amount"], schema: { change: "none" }, badRows: { rows: 1, action: "quarantine" } });
  expect(p.badRows?.first).toContain('row 2 column amount: value "abc"');
});

test("a semicolon CSV with its delimiter option has its columns; without it, one odd column", async () => {
  const src = file("semi.csv", csvRows(10, ";"));
  expect(await plan(src, { delimiter: ";" })).toMatchObject({ rows: 10, columns: ["id", "amount", "note"], schema: { change: "additive", added: ["note"] } });
  expect((await plan(src)).columns).toEqual(["id_amount_note"]);
});

test("a headerless CSV counts every line and names its columns c0, c1, …; its nullValue is no value", async () => {
  const p = await plan(file("nohead.csv", "1,NA\n2,3.5\n"), { header: false, nullValues: ["NA"] }, { primaryKey: ["c0"] });
  expect(p).toMatchObject({ rows: 2, columns: ["c0", "c1"], schema: { change: "additive", added: ["c0", "c1"] } });
});

test("JSON Lines: one row per line, nested objects flattened to parent_child, arrays kept whole", async () => {
  const lines = [
    { id: 1, amount: 2.5, customer: { name: "Ann", address: { city: "Oslo" } }, tags: ["a", "b"] },
    { id: 2, amount: "x", customer: { name: "Bo" } },
    { id: 3, extra: null },
  ];
  const p = await plan(file("a.jsonl", lines.map((l) => JSON.stringify(l)).join("\n") + "\n"));
  expect(p).toMatchObject({ rows: 3, rowsExact: true, columns: ["id", "amount", "customer_name", "customer_address_city", "tags", "extra"] });
  expect(p.schema).toMatchObject({ change: "additive", added: ["customer_name", "customer_address_city", "tags", "extra"] });
  expect(p.badRows).toMatchObject({ rows: 1, action: "quarantine", first: expect.stringContaining('row 2 column amount: value "x"') });
});

test("a .json file: JSON Lines, or one document (an array of objects, a pretty-printed object) as the job server reads it", async () => {
  const lines = await plan(file("l.json", '{"id": 1, "amount": 2}\n{"id": 2, "amount": 3}\n'));
  expect(lines).toMatchObject({ rows: 2, columns: ["id", "amount"] });
  const arr = await plan(file("a.json", '[\n  {"id": 1, "amount": 2.5, "c": {"n": "Ann"}},\n  {"id": 2, "amount": 3}\n]\n'));
  expect(arr).toMatchObject({ rows: 2, rowsExact: true, columns: ["id", "amount", "c_n"] });
  const one = await plan(file("o.json", '{\n  "id": 7,\n  "amount": 1\n}\n'));
  expect(one).toMatchObject({ rows: 1, columns: ["id", "amount"] });
});

test("JSON Lines gzip'd, with a strict schemaPolicy: its nested column is refused by name", async () => {
  const text = JSON.stringify({ id: 1, amount: 1, geo: { lat: 1.5 } }) + "\n";
  const p = await plan(file("b.jsonl.gz", zlib.gzipSync(text)), undefined, { schemaPolicy: "strict" });
  expect(p.schema).toMatchObject({ change: "refused", added: ["geo_lat"] });
});

test.each([
  ["c.parquet", /rows unknown for parquet/],
  ["c.csv.bz2", /rows unknown for bzip2/],
])("%s: the plan says its rows are unknown, with its bytes, instead of a guess", async (name, why) => {
  const src = file(name, Buffer.from("PAR1 not a real file, never read as CSV\n1,2\n3,4\n"));
  const p = await plan(src);
  expect(p).toMatchObject({ rows: null, rowsExact: false, bytes: src.bytes, columns: [], schema: { change: "unknown" } });
  expect(rowsText(p)).toMatch(why);
});
