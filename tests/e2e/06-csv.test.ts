/**
 * CSV as spreadsheets and CRMs write it (RFC 4180): quoted separators, doubled quotes, a line
 * break inside a quoted field, a UTF-8 byte-order mark and CRLF line ends, through the job
 * server into a Hudi and an Iceberg table, every value read back exactly through Trino; Iceberg
 * through both write paths (Spark's, and the Arrow path that takes an Iceberg batch within the
 * job server's budget by default). A ragged
 * record is refused naming its line, and leaves the table as it was. Progress of a write in
 * flight is reported by the job server, and shown by the reconciler (log, status) and the API.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import type { LakeOutputs } from "../../stacks/automation";
import { createLakeService } from "../../api/runtime";
import { formatStatus, readStatus, type LakeStatus } from "../../lake/status";
import { createReconciler } from "../../reconciler/runtime";
import { JobClient, JobError, type JobTable, type WriteProgress } from "../../lake/jobClient";
import { Sources } from "../../lake/sources";
import type { TrinoClient } from "../../lake/trino";
import { ensureUp, s3, trino } from "./lake";

const sfx = Date.now().toString(36);
let outs: LakeOutputs;
let jobs: JobClient;
let sources: Sources;
let t: TrinoClient;

beforeAll(async () => {
  outs = await ensureUp();
  jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  sources = new Sources(s3(outs), outs.warehouseBucket);
  t = trino(outs);
});

const CRLF = "\r\n";
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

interface Row {
  id: number;
  name: string;
  note: string;
  city: string;
}

/** Excel-style: a byte-order mark, CRLF between records, a bare LF inside a quoted cell. */
function csvOf(rows: Row[]): string {
  const lines = rows.map((r) => [String(r.id), quote(r.name), r.note.includes("\n") || r.note.includes(",") || r.note.includes('"') ? quote(r.note) : r.note, r.city].join(","));
  return "\ufeff" + "Id,Full Name,Note,City" + CRLF + lines.join(CRLF) + CRLF;
}

const FIRST: Row[] = [
  { id: 1, name: "Smith, John", note: 'said "hi", then left', city: "Zürich" },
  { id: 2, name: "Ann", note: "line one\nline two", city: "Oslo" },
  { id: 3, name: 'The "Best" Co', note: "plain", city: "Lyon" },
  { id: 4, name: "", note: '""', city: "Kyiv" },
];
const SECOND: Row[] = [
  { id: 2, name: "Ann B.", note: "moved,\nnew address:\n1 Main St", city: "Bergen" },
  { id: 5, name: "Zoë", note: "a, b, and c", city: "Graz" },
];

function table(name: string, format: "hudi" | "iceberg"): JobTable {
  return { name, database: "default", format, primaryKey: ["Id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` };
}

type WritePath = "spark" | "auto";
async function write(tbl: JobTable, csv: string, name: string, path: WritePath = "spark") {
  const { source, uri } = await sources.landContent(name, Buffer.from(csv, "utf8"));
  return jobs.write(tbl, { uri, hash: source.hash, name }, "1", path === "spark" ? { path: "spark" } : {});
}

async function readBack(tbl: JobTable): Promise<unknown[][]> {
  const res = await t.query(`SELECT id, full_name, note, city FROM ${tbl.format}.default.${tbl.name} ORDER BY id`);
  return res.rows;
}

/** What a reader of the CSV holds: an empty field is NULL, as Spark reads it. */
const expected = (rows: Row[]) => rows.map((r) => [r.id, r.name === "" ? null : r.name, r.note, r.city]);

// Iceberg's default (auto) takes the Arrow path for these batches; Spark's is asked for by name.
describe.each([
  ["hudi" as const, "spark" as WritePath],
  ["iceberg" as const, "spark" as WritePath],
  ["iceberg" as const, "auto" as WritePath],
])("%s, %s write path", (format, via) => {
  const name = `csv_${format}_${via}_${sfx}`;
  const arrow = via === "auto";

  test("every value of an RFC 4180 CSV comes back exactly, on create and on upsert", async () => {
    const tbl = table(name, format);
    const first = await write(tbl, csvOf(FIRST), "first.csv", via);
    expect(first).toMatchObject({ rowsWritten: 4, renamed: { Id: "id", "Full Name": "full_name", Note: "note", City: "city" } });
    expect(first.operation).toMatch(arrow ? /^arrow: bulk/ : /^bulk.*multi-line/);
    expect(await readBack(tbl)).toEqual(expected(FIRST));

    const second = await write(tbl, csvOf(SECOND), "second.csv", via);
    expect(second.rowsWritten).toBe(2);
    expect(second.operation).toMatch(arrow ? /^arrow: upsert/ : /^upsert/);
    const merged = [...FIRST.filter((r) => r.id !== 2), ...SECOND].sort((a, b) => a.id - b.id);
    expect(await readBack(tbl)).toEqual(expected(merged));
  });

  test("a record that spans lines past the sample is found by the guard: the file is read again as multi-line, every value exact", async () => {
    // The sample (the first 8 MB) has no line break inside quotes, so the write starts on the
    // splittable path; the guard finds the odd quotes of the later record and the file is read
    // again as multi-line CSV. The record's first line alone would parse as a valid 2-field row.
    const tbl = table(`${name}_late`, format);
    const pad = "x".repeat(90);
    const lines = ["id,note"];
    for (let i = 1; i <= 100_000; i++) lines.push(`${i},${pad}`);
    lines.push('100001,"first line', 'second, line"', '100002,"after ""it"""');
    const csv = lines.join("\n") + "\n";
    expect(csv.length).toBeGreaterThan(9 << 20);
    const res = await write(tbl, csv, "late.csv", via);
    // The Arrow path reads quoted line breaks anywhere in the file (no sample guard to trip).
    expect(res.operation).toMatch(arrow ? /^arrow: bulk/ : /multi-line/);
    expect(res.rowsWritten).toBe(100_002);
    const got = await t.query(`SELECT id, note FROM ${format}.default.${tbl.name} WHERE id > 99999 ORDER BY id`);
    expect(got.rows).toEqual([
      [100000, pad],
      [100001, "first line\nsecond, line"],
      [100002, 'after "it"'],
    ]);
    await jobs.drop(tbl, true);
  });

  test("a record that spans lines and is ragged is refused naming its line, even when each of its lines alone looks whole", async () => {
    // `1,"a` and `b",c` each parse as two fields on their own; together they are one record of
    // three fields in a file of two columns.
    const tbl = table(`${name}_crafty`, format);
    const err = await write(tbl, 'id,note\n0,fine\n1,"a\nb",c\n2,fine\n', "crafty.csv", via).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).code).toBe("BAD_CSV");
    expect((err as JobError).message).toMatch(/line 3 has a different number of fields/);
    expect(await jobs.observe(tbl)).toMatchObject({ exists: false, filesExist: false });
  });

  test("a ragged record is refused naming its line, and the table is left as it was", async () => {
    const tbl = table(name, format);
    const before = await readBack(tbl);
    const ragged = "Id,Full Name,Note,City\r\n" + '6,"F, G",x,Rome\r\n' + "7,H,y\r\n" + "8,I,z,Nice\r\n";
    const err = await write(tbl, ragged, "ragged.csv", via).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).code).toBe("BAD_CSV");
    expect((err as JobError).message).toMatch(/line 3 has a different number of fields/);
    expect(await readBack(tbl)).toEqual(before);

    // On a table that doesn't exist yet, nothing is left behind either.
    const fresh = table(`${name}_never`, format);
    await expect(write(fresh, ragged, "ragged.csv", via)).rejects.toThrow(/line 3/);
    const seen = await jobs.observe(fresh);
    expect(seen).toMatchObject({ exists: false, inCatalog: false, filesExist: false });
  });
});

test("a long write's progress: the job server's figures, the reconciler's log lines and status, the API's progress", async () => {
  const name = `csv_progress_${sfx}`;
  const n = 400_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-e2e-progress-"));
  const lines = ["id,name,amount,note"];
  for (let i = 0; i < n; i++) lines.push(`${i},name ${i},${i * 3},"note, number ${i}"`);
  const csv = lines.join("\n") + "\n";
  fs.writeFileSync(path.join(dir, "big.csv"), csv);
  const tablesFile = path.join(dir, "tables.yaml");
  fs.writeFileSync(tablesFile, `apiVersion: lakeform/v1\ntables:\n  - name: ${name}\n    format: iceberg\n    primaryKey: id\n    sources: [big.csv]\n`);
  const statusFile = path.join(dir, "status.json");
  const logged: { msg: string; percent?: number; stage?: string }[] = [];
  const log = pino({ level: "info" }, new Writable({ write: (chunk, _e, cb) => (logged.push(JSON.parse(String(chunk))), cb()) }));
  // Progress every 300 ms instead of 5 s, so a write of a few seconds reports several times.
  const r = createReconciler(outs, { tablesFile, statusFile, log, progressEveryMs: 300 });
  const api = createLakeService(outs, tablesFile);

  const seen: WriteProgress[] = [];
  const viaApi: { stage: string; message: string }[] = [];
  const applying: LakeStatus[] = [];
  let done = false;
  const reconciling = r.runOnce().finally(() => (done = true));
  const deadline = Date.now() + 10 * 60_000;
  while (!done && Date.now() < deadline) {
    seen.push(...(await jobs.progress({ database: "default", name })));
    viaApi.push(...(await api.progress(name)).writes);
    const st = readStatus(statusFile);
    if (st?.tables[`default.${name}`]?.applying) applying.push(st);
    await new Promise((res) => setTimeout(res, 100));
  }
  const [result] = await reconciling;
  expect(result).toMatchObject({ ok: true, wrote: 1 });

  // The job server's own figures.
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.every((p) => p.table === `default.${name}` && p.source === "big.csv")).toBe(true);
  expect(new Set(seen.map((p) => p.stage))).toContain("writing");
  expect(seen.filter((p) => p.stage === "writing").every((p) => p.bytesTotal === Buffer.byteLength(csv))).toBe(true);
  expect(seen.some((p) => p.rowsTotal === n)).toBe(true);
  // The reconciler's log: periodic lines with the stage and its percentage.
  const progressLines = logged.filter((l) => l.msg.startsWith("Write progress"));
  expect(progressLines.length).toBeGreaterThan(0);
  expect(progressLines.some((l) => l.percent !== undefined && /^Write progress: 1\/1 source: \d+ % \(big\.csv: /.test(l.msg))).toBe(true);
  // `lakeform status` while it applied.
  const shown = applying.map((st) => formatStatus(st).split("\n").find((l) => l.startsWith(`default.${name}`)) ?? "");
  expect(shown.some((l) => /\bNO\b.*0\/1.*Applying 1\/1 source: \d+ % \(big\.csv: \w/.test(l))).toBe(true);
  // The API's view of the same write.
  expect(viaApi.some((w) => w.stage === "writing" && w.message.startsWith("writing, "))).toBe(true);

  // Done: in sync, no progress left anywhere.
  const after = readStatus(statusFile)!.tables[`default.${name}`];
  expect(after).toMatchObject({ inSync: true, rowCount: n });
  expect(after.applying).toBeUndefined();
  expect(await jobs.progress({ database: "default", name })).toEqual([]);
  expect((await api.progress(name)).writes).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
});
