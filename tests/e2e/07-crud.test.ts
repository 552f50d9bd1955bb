/**
 * Deletes, updates and changes against the real lake, on both formats: delete rows in a source
 * (deleteWhen), DELETE by keys and by filter, update … where, history counts, travel to before a
 * delete, and changes since a commit. Every test writes its own tables, so each stands alone.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import type { LakeOutputs } from "../../stacks/automation";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import type { LakeService } from "../../api/service";
import { execute } from "../../cli/shell";
import type { TrinoClient } from "../../lake/trino";
import { createReconciler } from "../../reconciler/runtime";
import { DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ensureUp, s3, trino } from "./lake";

const sfx = Date.now().toString(36);
const FORMATS = ["hudi", "iceberg"] as const;
type Fmt = (typeof FORMATS)[number];
const name = (what: string, f: Fmt) => `${what}_${f === "hudi" ? "h" : "i"}_${sfx}`;

let outs: LakeOutputs;
let t: TrinoClient;
let dir: string;
let lake: LakeService;
let app: Awaited<ReturnType<typeof buildApi>>;
const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });

const RETAIN = 2;
const auth = () => ({ authorization: `Bearer ${outs.apiToken}` });
const HEADER = "id,name,version";
const csv = (rows: (string | number)[][], header = HEADER) => [header, ...rows.map((r) => r.join(","))].join("\n") + "\n";

async function ingest(table: string, body: string): Promise<string> {
  const res = await app.inject({ method: "POST", url: `/ingest/${table}`, headers: { "content-type": "text/csv", ...auth() }, payload: body });
  expect(res.statusCode).toBe(200);
  return res.json().commit;
}

async function rows(f: Fmt, table: string): Promise<unknown[][]> {
  return (await t.query(`SELECT id, name, version FROM ${f}.default.${table} ORDER BY id`)).rows;
}

async function history(table: string): Promise<{ commit: string; rowsInserted?: number; rowsUpdated?: number; rowsDeleted?: number; source?: string }[]> {
  const res = await app.inject({ method: "GET", url: `/tables/${table}/history`, headers: auth() });
  expect(res.statusCode).toBe(200);
  return res.json().commits;
}

beforeAll(async () => {
  outs = await ensureUp();
  t = trino(outs);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-crud-"));
  const tables = FORMATS.flatMap((f) => [
    `  - name: ${name("src", f)}
    format: ${f}
    primaryKey: id
    orderingField: version
    deleteWhen: { column: Deleted, equals: true }
    sources: [src-1.csv, src-2.csv]`,
    ...["del", "upd", "chg"].map((w) => `  - { name: ${name(w, f)}, format: ${f}, primaryKey: id, orderingField: version, sources: [seed.csv] }`),
    `  - { name: ${name("ret", f)}, format: ${f}, primaryKey: id, retain: { commits: ${RETAIN} }, sources: [first.csv] }`,
    `  - { name: ${name("rb", f)}, format: ${f}, primaryKey: id, sources: [first.csv] }`,
    `  - { name: ${name("small", f)}, format: ${f}, primaryKey: id, targetFileSizeMB: 1, sources: [first.csv] }`,
  ]);
  fs.writeFileSync(path.join(dir, "tables.yaml"), `apiVersion: lakeform/v1\ntables:\n${tables.join("\n")}\n`);
  fs.writeFileSync(path.join(dir, "seed.csv"), `${HEADER}\n`);
  fs.writeFileSync(path.join(dir, "first.csv"), csv([[1, "ada", 1]]));
  fs.writeFileSync(path.join(dir, "src-1.csv"), csv([[1, "ada", 1, "false"], [2, "grace", 1, "false"], [3, "alan", 1, ""], [4, "edsger", 1, "false"], [5, "barbara", 1, "false"], [6, "donald", 1, "false"]], "id,name,version,Deleted"));
  // 2 and 4 deleted (any case); 3 updated then deleted by a later version: deleted; 6 deleted then
  // updated by a later version: updated; 5 updated; 7 new.
  fs.writeFileSync(
    path.join(dir, "src-2.csv"),
    csv([[2, "grace", 2, "true"], [4, "edsger", 2, "TRUE"], [3, "alan t", 2, "false"], [3, "alan", 3, "true"], [6, "donald", 2, "true"], [6, "don", 3, "false"], [5, "barbara l", 2, "false"], [7, "john", 1, "false"]], "id,name,version,Deleted"),
  );
  lake = createLakeService(outs, path.join(dir, "tables.yaml"));
  app = await buildApi({ lake, tokens: apiTokens(outs) });
});

afterAll(async () => {
  await app?.close();
});

describe.each(FORMATS)("%s", (f) => {
  test("rows a source marks deleted remove exactly their keys, in the same commit as its upserts; the ordering field decides between delete and update", async () => {
    const table = name("src", f);
    const r = createReconciler(outs, { tablesFile: path.join(dir, "tables.yaml"), statusFile: path.join(dir, `status-${f}.json`), log });
    await r.reconcileTable(lake.spec(table));
    expect(r.lakeStatus.tables[`default.${table}`].inSync).toBe(true);
    expect(await rows(f, table)).toEqual([[1, "ada", 1], [5, "barbara l", 2], [6, "don", 3], [7, "john", 1]]);
    // The marker column is not a column of the table.
    const cols = (await t.query(`DESCRIBE ${f}.default.${table}`)).rows.map((c) => c[0]);
    expect(cols).not.toContain("deleted");
    const h = await history(table);
    expect(h).toHaveLength(2);
    expect(h[1]).toMatchObject({ source: "src-2.csv", rowsInserted: 1, rowsUpdated: 2, rowsDeleted: 3 });
  });

  test("DELETE by a CSV of keys and by a filter: one commit each, counted in history; travel to before a delete shows the rows again", async () => {
    const table = name("del", f);
    const before = await ingest(table, csv([[1, "ada", 1], [2, "grace", 1], [3, "alan", 1], [4, "edsger", 1], [5, "barbara", 1], [6, "donald", 1]]));
    const unauthorized = await app.inject({ method: "DELETE", url: `/tables/${table}/rows?where=id%20%3D%201` });
    expect(unauthorized.statusCode).toBe(401);

    const byKeys = await app.inject({ method: "DELETE", url: `/tables/${table}/rows`, headers: { "content-type": "text/csv", ...auth() }, payload: "id\n2\n4\n99\n" });
    expect(byKeys.statusCode).toBe(200);
    expect(byKeys.json()).toMatchObject({ table, rowsDeleted: 2 });
    expect((await rows(f, table)).map((r) => r[0])).toEqual([1, 3, 5, 6]);

    const byFilter = await app.inject({ method: "DELETE", url: `/tables/${table}/rows?where=${encodeURIComponent("name LIKE 'd%' OR id = 1")}`, headers: auth() });
    expect(byFilter.statusCode).toBe(200);
    expect(byFilter.json()).toMatchObject({ rowsDeleted: 2 });
    expect((await rows(f, table)).map((r) => r[0])).toEqual([3, 5]);

    const nothing = await app.inject({ method: "DELETE", url: `/tables/${table}/rows?where=id%20%3D%2042`, headers: auth() });
    expect(nothing.json()).toEqual({ table, commit: null, rowsDeleted: 0 });
    const bad = await app.inject({ method: "DELETE", url: `/tables/${table}/rows?where=${encodeURIComponent("nope = 1")}`, headers: auth() });
    expect(bad.statusCode).toBe(400);

    const h = await history(table);
    expect(h.map((c) => c.commit)).toEqual([before, byKeys.json().commit, byFilter.json().commit]);
    expect(h[1]).toMatchObject({ rowsDeleted: 2 });
    expect(h[2]).toMatchObject({ rowsDeleted: 2 });
    expect(h[1].source).toMatch(/delete/);

    const travel = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${before}`, headers: auth() });
    expect(travel.statusCode).toBe(200);
    const idAt = travel.json().columns.findIndex((c: { name: string }) => c.name === "id");
    expect(travel.json().rows.map((r: unknown[]) => r[idAt]).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test("LakeShell update … set … where and delete from … where go through the write path", async () => {
    const table = name("upd", f);
    await ingest(table, csv([[1, "ada", 1], [2, "grace", 1], [3, "alan", 1], [4, "edsger", 1]]));
    const upd = await execute(lake, `update ${table} set name = 'O''Neil', version = 7 where id >= 3`);
    expect(upd).toMatchObject({ kind: "text", text: expect.stringMatching(/^updated 2 row\(s\)/) });
    expect(await rows(f, table)).toEqual([[1, "ada", 1], [2, "grace", 1], [3, "O'Neil", 7], [4, "O'Neil", 7]]);
    const del = await execute(lake, `delete from ${table} where id = 2`);
    expect(del).toMatchObject({ kind: "text", text: expect.stringMatching(/^deleted 1 row\(s\)/) });
    expect((await rows(f, table)).map((r) => r[0])).toEqual([1, 3, 4]);
    await expect(execute(lake, `update ${table} set id = 9 where id = 1`)).rejects.toThrow(/primary key/);
    const h = await history(table);
    expect(h).toHaveLength(3);
    expect(h[1]).toMatchObject({ rowsUpdated: 2, rowsDeleted: 0 });
    expect(h[2]).toMatchObject({ rowsDeleted: 1 });
  });

  test("changes since the first commit are exactly the later upserts and deletes, each with its commit", async () => {
    const table = name("chg", f);
    const c1 = await ingest(table, csv([[1, "ada", 1], [2, "grace", 1], [3, "alan", 1], [4, "edsger", 1]]));
    const c2 = await ingest(table, csv([[2, "grace h", 2], [5, "barbara", 1]]));
    const del = await app.inject({ method: "DELETE", url: `/tables/${table}/rows`, headers: { "content-type": "text/csv", ...auth() }, payload: "id\n3\n" });
    const c3 = del.json().commit as string;

    const res = await app.inject({ method: "GET", url: `/tables/${table}/changes?since=${c1}`, headers: auth() });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ table, since: c1, until: c3, truncated: false });
    expect(body.commits.map((c: { commit: string }) => c.commit)).toEqual([c2, c3]);
    const names = body.columns.map((c: { name: string }) => c.name);
    const pick = (r: unknown[]) => [r[names.indexOf("_commit")], r[names.indexOf("_change")], r[names.indexOf("id")], r[names.indexOf("name")]];
    expect(body.rows.map(pick).sort((a: unknown[], b: unknown[]) => Number(a[2]) - Number(b[2]))).toEqual([
      [c2, "update", 2, "grace h"],
      [c3, "delete", 3, null],
      [c2, "insert", 5, "barbara"],
    ]);

    // until bounds the range; a time works like a commit.
    const upToC2 = await lake.changes(table, c1, c2);
    expect(upToC2.rows).toHaveLength(2);
    const shell = await execute(lake, `changes ${table} since ${c2}`);
    expect(shell.kind === "rows" && shell.result.rows.map((r) => r[1])).toEqual(["delete"]);

    const unknown = await app.inject({ method: "GET", url: `/tables/${table}/changes?since=123456789`, headers: auth() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("UNKNOWN_COMMIT");
  });

  test(`retain: { commits: ${RETAIN} }: after ${RETAIN + 3} writes only ${RETAIN} commits remain, older ones are refused naming the oldest, and Trino still reads`, async () => {
    const table = name("ret", f);
    const r = createReconciler(outs, { tablesFile: path.join(dir, "tables.yaml"), statusFile: path.join(dir, `status-ret-${f}.json`), log });
    await r.reconcileTable(lake.spec(table)); // the declared source: the first write
    const first = (await history(table))[0].commit;
    for (let i = 2; i <= RETAIN + 3; i++) await ingest(table, csv([[i, `row ${i}`, 1]]));
    await r.reconcileTable(lake.spec(table)); // maintenance, planned and done by this pass
    const st = r.lakeStatus.tables[`default.${table}`];
    expect(st.inSync).toBe(true);
    expect(st.conditions.find((c) => c.type === "Maintained")).toMatchObject({ status: "True" });

    const h = await history(table);
    expect(h).toHaveLength(RETAIN);
    expect(h.map((c) => c.commit)).not.toContain(first);
    const oldest = h[0].commit;
    const travel = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${first}`, headers: auth() });
    expect(travel.statusCode).toBe(410);
    expect(travel.json().error).toMatchObject({ code: "COMMIT_EXPIRED", message: expect.stringContaining(oldest) });
    const changes = await app.inject({ method: "GET", url: `/tables/${table}/changes?since=${first}`, headers: auth() });
    expect(changes.statusCode).toBe(410);
    expect(changes.json().error.message).toContain(oldest);
    // Still readable, every row there, and the declared source is not applied again.
    expect(await t.scalar(`SELECT count(*) FROM ${f}.default.${table}`)).toBe(RETAIN + 3);
    await r.reconcileTable(lake.spec(table));
    expect((await history(table)).map((c) => c.commit)).toEqual(h.map((c) => c.commit));
    const ok = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${oldest}`, headers: auth() });
    expect(ok.statusCode).toBe(200);
  });

  test("small ingests end in files near the target size after maintenance, with the same rows", async () => {
    const table = name("small", f);
    const r = createReconciler(outs, { tablesFile: path.join(dir, "tables.yaml"), statusFile: path.join(dir, `status-small-${f}.json`), log });
    await r.reconcileTable(lake.spec(table));
    for (let i = 2; i <= 8; i++) await ingest(table, csv([[i, `row ${i}`, 1]]));
    const filesQuery = f === "iceberg" ? `SELECT count(*) FROM iceberg.default."${table}$files"` : `SELECT count(DISTINCT _hoodie_file_name) FROM hudi.default.${table}`;
    const before = await rows(f, table);
    await r.reconcileTable(lake.spec(table));
    expect(await rows(f, table)).toEqual(before);
    expect(before).toHaveLength(8);
    // 1 MB target: eight one-row writes fit in one file (Iceberg: compacted; Hudi: small-file handling as it writes).
    expect(Number(await t.scalar(filesQuery))).toBe(1);
  });

  test("a table whose files were deleted is rebuilt from its journal with its deletes and updates replayed in order", async () => {
    const table = name("rb", f);
    const r = createReconciler(outs, { tablesFile: path.join(dir, "tables.yaml"), statusFile: path.join(dir, `status-rb-${f}.json`), log });
    await r.reconcileTable(lake.spec(table));
    await ingest(table, csv([[2, "grace", 1], [3, "alan", 1], [4, "edsger", 1]]));
    await lake.deleteRows(table, { where: "id = 3" });
    await lake.updateRows(table, { name: "grace h" }, "id = 2");
    await ingest(table, csv([[3, "alan again", 2]]));
    const before = await rows(f, table);
    expect(before).toEqual([[1, "ada", 1], [2, "grace h", 1], [3, "alan again", 2], [4, "edsger", 1]]);
    const client = s3(outs);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${table}/` }));
    await client.send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: (listed.Contents ?? []).map((o) => ({ Key: o.Key! })) } }));
    await r.reconcileTable(lake.spec(table));
    expect(r.lakeStatus.tables[`default.${table}`].conditions.find((c) => c.type === "Synced")).toMatchObject({ status: "True", reason: "Recreated" });
    expect(await rows(f, table)).toEqual(before);
  });
});
