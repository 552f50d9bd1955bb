/**
 * The contract with the job server (lake/jobServerContract.ts): the files the job server reads
 * (jobs/lakeform_jobs/contract/) are the ones generated from it (`npm run schema` after changing
 * it, lake/spec.ts or lake/errorCodes.json), a JSON Schema validator (ajv, draft-07 as the job
 * server's jsonschema uses it) accepts what the client sends and refuses what it must not, and the
 * journal's layout is the fixture both sides are checked against.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import codesFile from "../../lake/errorCodes.json";
import { jobTable } from "../../lake/jobClient";
import {
  ChangeDocumentSchema,
  JOB_GET_REPLIES,
  JOB_REPLIES,
  JOB_REQUESTS,
  JOB_SERVER_CONSTANTS_FILE,
  JOB_SERVER_SCHEMA_FILE,
  JOURNAL,
  JournalEntrySchema,
  journalKey,
  jobServerConstantsText,
  jobServerSchemaText,
} from "../../lake/jobServerContract";
import { DEFAULT_RETAIN, DEFAULT_TARGET_FILE_SIZE_MB, IMMUTABLE_FIELDS, parseTables } from "../../lake/spec";

const ROOT = path.resolve(__dirname, "../..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");
const schema = JSON.parse(read(JOB_SERVER_SCHEMA_FILE)) as { definitions: Record<string, object>; replies: Record<string, object> };
const ajv = new Ajv({ allErrors: true, strict: false });
const errorsOf = (op: string, body: unknown, part: "definitions" | "replies" = "definitions") => {
  const validate = ajv.compile(schema[part][op]);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
};

test("the committed schema and constants are the ones generated from the contract (run `npm run schema` after changing it)", () => {
  expect(read(JOB_SERVER_SCHEMA_FILE)).toBe(jobServerSchemaText());
  expect(read(JOB_SERVER_CONSTANTS_FILE)).toBe(jobServerConstantsText());
  expect(Object.keys(schema.definitions).sort()).toEqual(Object.keys(JOB_REQUESTS).sort());
  expect(Object.keys(schema.replies).sort()).toEqual(Object.keys(JOB_REQUESTS).sort());
});

test("the constants are lake/spec.ts's and lake/errorCodes.json's", () => {
  const constants = JSON.parse(read(JOB_SERVER_CONSTANTS_FILE));
  expect(constants.immutableFields).toEqual([...IMMUTABLE_FIELDS]);
  expect(constants.defaultRetain).toEqual(DEFAULT_RETAIN);
  expect(constants.defaultTargetFileSizeMB).toBe(DEFAULT_TARGET_FILE_SIZE_MB);
  expect(Object.keys(constants.errorCodes)).toEqual(Object.keys(codesFile.codes));
  expect(constants.errorCodes.SCHEMA_REFUSED).toBe(422);
});

const spec = parseTables(
  "apiVersion: lakeform/v1\ntables:\n  - name: leads\n    format: iceberg\n    primaryKey: Index\n    sources: [a.csv]\n    deleteWhen: { column: op, equals: D }\n    retain: { commits: 3 }\n    targetFileSizeMB: 64\n",
  "tables.yaml",
).tables[0];
const table = jobTable(spec, "lakeform-warehouse");

test("a request as the client builds it is in the contract", () => {
  expect(errorsOf("write", { table, source: { uri: "s3a://b/x.csv", hash: "h", name: "x.csv", once: true }, generation: "3", mustExist: true, lease: { key: "_lakeform/leases/default/leads.json", generation: 1 } })).toEqual([]);
  expect(errorsOf("observe", { table, rows: false })).toEqual([]);
  expect(errorsOf("travel", { table, asOf: "20261124194100791", filter: { op: "cmp", cmp: "=", left: { column: "id" }, right: { value: 1 } }, limit: 5 })).toEqual([]);
  expect(errorsOf("drop", { table: { name: "t", database: "default", format: "hudi", location: "s3a://w/default/t" }, purge: true })).toEqual([]);
});

test("a request outside the contract is refused naming the field", () => {
  expect(errorsOf("write", { table: { ...table, format: "delta" }, source: { uri: "s3a://b/x", hash: "h" }, generation: "1" })).toContain("/table/format must be equal to one of the allowed values");
  expect(errorsOf("observe", { table: { ...table, targetFileSizeMB: 0 } })).toContain("/table/targetFileSizeMB must be >= 1");
  expect(errorsOf("count", { table })).toContain(" must have required property 'filter'");
  expect(errorsOf("write", { table, source: { uri: "s3a://b/x", hash: "h" }, generation: "1", lease: { key: "k", generation: -1 } })).toContain("/lease/generation must be >= 0");
});

test("the journal's layout is the shared fixture's", () => {
  const shared = JSON.parse(read("tests/fixtures/journal-entry.json"));
  expect(journalKey(shared.database, shared.table, shared.entry.time, shared.entry.commit)).toBe(shared.key);
  expect(Object.keys(shared.entry).sort()).toEqual([...JOURNAL.fields, ...JOURNAL.optionalFields].sort());
  expect(JOURNAL.optionalFields).toEqual(["read"]);
  // The record the job server writes and the reconciler reads is JournalEntrySchema's, with its read and without (a record from before).
  const { read: _read, ...before } = shared.entry;
  expect(errorsOf("observe", { exists: false, inCatalog: false, filesExist: false, commits: [], rowCount: null, columns: [], journal: [shared.entry, before] }, "replies")).toEqual([]);
  expect(JournalEntrySchema.parse(shared.entry)).toEqual(shared.entry);
  expect(JournalEntrySchema.safeParse({ ...shared.entry, read: { ...shared.entry.read, csv: { delimiter: ";;" } } }).success).toBe(false);
});

test("a reply as the job server sends it is the contract's, and one without a field it must carry is not", () => {
  const observation = { exists: true, inCatalog: true, filesExist: true, commits: [{ commit: "1", time: "2026-12-03T10:00:00Z", sourceHash: "h", rowsInserted: 2, rowsUpdated: 0, rowsDeleted: 0 }], rowCount: 2, columns: [{ name: "id", type: "bigint" }], journal: [], dataFiles: null, sparkAsked: [] };
  expect(errorsOf("observe", observation, "replies")).toEqual([]);
  expect(errorsOf("travel", { columns: ["id"], types: ["bigint"], rows: [[1]] }, "replies")).toEqual([]);
  expect(errorsOf("travel", { columns: ["id"], rows: [[1]] }, "replies")).toContain(" must have required property 'types'");
});

describe("strict: a field the contract doesn't name is refused, in requests and replies alike", () => {
  const minimal: Record<string, Record<string, unknown>> = {
    write: { table, source: { uri: "s3a://b/x.csv", hash: "h" }, generation: "1" },
    observe: { table },
    drop: { table, purge: false },
    travel: { table, asOf: "1" },
    count: { table, filter: { op: "bool", value: { bool: true } } },
    changes: { table },
  };
  test.each(Object.keys(minimal))("%s: at the top and in the table, by zod and by the generated schema", (op) => {
    const zodOf = JOB_REQUESTS[op as keyof typeof JOB_REQUESTS];
    expect(zodOf.safeParse(minimal[op]).success).toBe(true);
    expect(zodOf.safeParse({ ...minimal[op], shard: 3 }).success).toBe(false);
    expect(zodOf.safeParse({ ...minimal[op], table: { ...table, owner: "x" } }).success).toBe(false);
    expect(errorsOf(op, { ...minimal[op], shard: 3 })).toContain(" must NOT have additional properties");
    expect(errorsOf(op, { ...minimal[op], table: { ...table, owner: "x" } })).toContain("/table must NOT have additional properties");
  });

  test("a filter tree stays open: its grammar is the job server's filter.py to check", () => {
    expect(JOB_REQUESTS.count.safeParse({ table, filter: { op: "cmp", cmp: "=", left: { col: "id" }, right: { num: "1" } } }).success).toBe(true);
  });

  test("replies: zod's and the generated schema's", () => {
    expect(JOB_REPLIES.drop.safeParse({ dropped: true }).success).toBe(true);
    expect(JOB_REPLIES.drop.safeParse({ dropped: true, extra: 1 }).success).toBe(false);
    expect(errorsOf("count", { rows: 1, extra: 1 }, "replies")).toContain(" must NOT have additional properties");
    const progress = { table: "default.leads", source: "a.csv", stage: "writing", elapsedMs: 5, stageElapsedMs: 1, bytesTotal: 10, rowsTotal: null };
    expect(JOB_GET_REPLIES.progress.safeParse({ writes: [progress] }).success).toBe(true);
    expect(JOB_GET_REPLIES.progress.safeParse({ writes: [{ ...progress, eta: 3 }] }).success).toBe(false);
    expect(JOB_GET_REPLIES.healthz.safeParse({ spark: "3.5.3", sparkJobs: 2, hudiUpsertIndex: "BLOOM" }).success).toBe(true);
    expect(JOB_GET_REPLIES.healthz.safeParse({ spark: "3.5.3", uptime: 1 }).success).toBe(false);
  });

  test("a change document as the service lands it, and not with a field more", () => {
    const del = { lakeformChange: 1, op: "delete", where: "id = 1", filter: { op: "cmp", cmp: "=", left: { col: "id" }, right: { num: "1" } }, requestedAt: "2026-12-03T10:00:00Z" };
    const upd = { lakeformChange: 1, op: "update", set: { name: "x", score: null }, filter: del.filter, where: "id = 1", requestedAt: del.requestedAt };
    expect(ChangeDocumentSchema.safeParse(del).success).toBe(true);
    expect(ChangeDocumentSchema.safeParse(upd).success).toBe(true);
    expect(ChangeDocumentSchema.safeParse({ ...del, by: "me" }).success).toBe(false);
    expect(ChangeDocumentSchema.safeParse({ ...upd, keys: "s3a://w/k.csv" }).success).toBe(false);
  });
});
