/**
 * The one contract between the TypeScript side and the Spark job server (jobs/lakeform_jobs/):
 * every operation's request and reply as a zod schema (strict: an unknown field is refused, on
 * both sides; the replies, and GET /progress's and GET /healthz's, are in lake/jobServerReplies.ts
 * and exported from here too), the change documents its writes apply,
 * the spec constants both sides act on (the fields a table can't change, retention and file-size
 * defaults, the write journal's layout) and every error code's HTTP status (lake/errors.ts
 * httpStatusOf, as the API answers them). lake/jobClient.ts's types are inferred from them.
 *
 * `npm run schema` writes them for the job server (JOB_SERVER_SCHEMA_FILE, JSON Schema draft-07,
 * and JOB_SERVER_CONSTANTS_FILE), inside jobs/ because that directory is all the job server has
 * (the Spark image copies jobs/, and its tree hash restarts the local one when it changes). The
 * job server validates each request against the schema (jobs/lakeform_jobs/contract.py) and reads
 * the constants from the file; tests/unit/jobServerContract.test.ts fails when a committed file is
 * stale, and jobs/tests/test_contract.py when Python's request types read, or its replies carry,
 * other fields than the schema's.
 */
import * as path from "node:path";
import { z } from "zod";
import type { FilterNode } from "./filter";
import { httpStatuses } from "./errors";
import REBUILD_REFUSALS from "./rebuildRefusals.json";
import { JobExpectationSchema } from "./expectations";
import { SourceReadRequestSchema, sourceFormatConstants } from "./sourceFormat";
import { CommitInfoSchema, JournalEntrySchema, ObservationSchema, WriteStageProfileSchema, WriteResultSchema, MaintainResultSchema, ChangesResultSchema, DoctorResultSchema, TravelResultSchema, JOB_REPLIES, WriteProgressSchema, JOB_GET_REPLIES } from "./jobServerReplies";
import { DEFAULT_RETAIN, DEFAULT_TARGET_FILE_SIZE_MB, IMMUTABLE_FIELDS, SCHEMA_POLICIES } from "./spec";

/** Where the generated files are committed, relative to the project directory. */
export const JOB_SERVER_SCHEMA_FILE = path.join("jobs", "lakeform_jobs", "contract", "job-server.schema.json");
export const JOB_SERVER_CONSTANTS_FILE = path.join("jobs", "lakeform_jobs", "contract", "constants.json");

/**
 * The write journal's layout: one JSON record per write at
 * <bucket>/<prefix>/<db>/<table>/<UTC yyyyMMddHHmmssSSS>-<commit>.json (lake/sources.ts journal(),
 * jobs/lakeform_jobs/journal.py), its fields JournalEntrySchema's: those every record has, and
 * those a record from before them lacks (`read`).
 */
export const JOURNAL = {
  prefix: "_lakeform/journal",
  fields: Object.keys(JournalEntrySchema.shape).filter((k) => !isOptional(JournalEntrySchema.shape[k as keyof typeof JournalEntrySchema.shape])),
  optionalFields: Object.keys(JournalEntrySchema.shape).filter((k) => isOptional(JournalEntrySchema.shape[k as keyof typeof JournalEntrySchema.shape])),
};

function isOptional(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}

/** The object key of one journal record, relative to the warehouse bucket. */
export function journalKey(database: string, table: string, stamp: string, commit: string): string {
  return `${JOURNAL.prefix}/${database}/${table}/${stamp}-${commit}.json`;
}

const column = z.string().min(1);

/** The lease a request is sent under (lake/lease.ts: LeaseFence). */
export const FenceSchema = z.strictObject({
  key: z.string().describe("The table's lease object, _lakeform/leases/<db>/<table>.json"),
  generation: z.number().int().min(0),
});

/** Where a table is: what drop, forget_catalog and clear_leftovers need. */
const TableWhere = {
  name: z.string(),
  database: z.string().optional(),
  format: z.enum(["hudi", "iceberg"]),
  location: z.string().describe("s3a://<warehouse bucket>/<db>/<table>"),
};

/** What the job server needs to know of a table: its spec's layout fields and where it lives. */
export const JobTableSchema = z.strictObject({
  ...TableWhere,
  primaryKey: z.array(column),
  orderingField: column.optional(),
  partitionBy: z.array(column).optional().describe("Canonical partition fields (lake/partitioning.ts): a column, or an Iceberg transform: year(c), month(c), day(c), hour(c), bucket(N, c), truncate(W, c)"),
  schemaPolicy: z.enum(SCHEMA_POLICIES).optional(),
  columns: z.record(column, z.string()).optional().describe("Declared column types (Spark type names, normalised by lake/spec.ts)"),
  deleteWhen: z.strictObject({ column: column, equals: z.array(z.string()).min(1) }).optional(),
  retain: z.union([z.strictObject({ commits: z.number().int().min(1) }), z.strictObject({ days: z.number().positive() })]).optional(),
  targetFileSizeMB: z.number().int().min(1).max(4096).optional(),
  expect: z.array(JobExpectationSchema).optional().describe("Expectations checked inside every write (lake/expectations.ts)"),
});

/** drop, forget_catalog, clear_leftovers: the layout fields may be left out (the job server reads them when there). */
export const LocationTableSchema = JobTableSchema.extend({ primaryKey: z.array(column).optional() });

/** A filter tree (lake/filter.ts FilterNode): its grammar is checked by filter.py against the table's columns. */
const FilterTree = z.object({ op: z.string() }).loose();

const fenced = { lease: FenceSchema.optional() };

export const SourceSchema = z.strictObject({
  uri: z.string().describe("s3a://bucket/key of the landed CSV or change document"),
  hash: z.string(),
  name: z.string().optional(),
  once: z.boolean().optional().describe("Not written again when a commit of the table already carries its hash"),
  journal: z.boolean().optional().describe("false: a rebuild's replay of a journal entry, not journaled again"),
  replay: z
    .object({ of: z.string(), last: z.string() })
    .optional()
    .describe("A rebuild's replay: `of` the journal entry's commit, `last` the commit of the journal's last entry when the rebuild began; both kept in the commit, so a rebuild that stops partway is resumed"),
  ...SourceReadRequestSchema.shape,
});

/** Every operation's request (POST /v1/<op>). */
export const JOB_REQUESTS = {
  write: z.strictObject({
    table: JobTableSchema,
    source: SourceSchema,
    generation: z.union([z.string(), z.number().int()]),
    mustExist: z.boolean().optional().describe("The caller saw the table: refused (REPAIR_PENDING) rather than made a new table"),
    path: z
      .enum(["auto", "spark"])
      .optional()
      .describe("Which write path: auto (default) takes the Arrow path (pyarrow + pyiceberg, no Spark job) for an Iceberg batch within the job server's budget, else Spark; spark always Spark"),
    quarantineKeys: z.array(z.string()).max(100_000).optional().describe("A quarantine replay: the _qkey of each replayed row, removed from <table>__quarantine once the write committed"),
    badRows: z
      .enum(["refuse", "quarantine"])
      .optional()
      .describe("A row the source's reader can't give the table (another number of fields, a value that doesn't fit its type, an empty key): refuse (default) refuses the source naming it; quarantine writes the good rows and keeps the bad ones in <table>__quarantine, counted as _bad_row (schemaPolicy strict still refuses, discardRows leaves them out)"),
    ...fenced,
  }),
  observe: z.strictObject({ table: JobTableSchema, rows: z.boolean().optional().describe("false: the row count and data files aren't wanted"), ...fenced }),
  maintain: z.strictObject({ table: JobTableSchema, ...fenced }),
  register: z.strictObject({ table: JobTableSchema, ...fenced }),
  resync: z.strictObject({ table: JobTableSchema, ...fenced }),
  evolve_partitions: z.strictObject({ table: JobTableSchema, ...fenced }).describe("Iceberg partition evolution to the table's partitionBy: its spec's fields dropped and added in the metadata, no data file rewritten"),
  drop: z.strictObject({ table: LocationTableSchema, purge: z.boolean().optional(), ...fenced }),
  forget_catalog: z.strictObject({ table: LocationTableSchema, ...fenced }),
  clear_leftovers: z.strictObject({ table: LocationTableSchema, ...fenced }),
  rebuild: z
    .strictObject({
      table: JobTableSchema.describe("The new layout, at the table's home location"),
      previous: z.strictObject({ format: z.enum(["hudi", "iceberg"]), primaryKey: z.array(column), partitionBy: z.array(column).optional() }).describe("The layout the table has"),
      generation: z.union([z.string(), z.number().int()]),
      trashDays: z.number().positive().optional().describe("How long the replaced table stays in the trash (default 7)"),
      declaredIn: z.string().optional().describe("The tables.yaml declaring the table: its reconciler purges the replaced table when its trash period ends"),
      ...fenced,
    })
    .describe("Rewrites the table's current rows into a table of the new layout at a location of its own, verifies it, swaps it into the metastore in one step; the old table goes to the trash (jobs/lakeform_jobs/rebuild.py)"),
  travel: z.strictObject({ table: JobTableSchema, asOf: z.union([z.string(), z.number().int()]), filter: FilterTree.optional(), limit: z.number().int().min(0).optional() }),
  count: z.strictObject({ table: JobTableSchema, filter: FilterTree }),
  changes: z.strictObject({
    table: JobTableSchema,
    since: z.union([z.string(), z.number().int()]).nullable().optional(),
    until: z.union([z.string(), z.number().int()]).nullable().optional(),
    limit: z.number().int().min(1).optional(),
  }),
  doctor: z.strictObject({
    checks: z.array(z.enum(["s3", "metastore", "versions"])).optional().describe("Which of `lakeform doctor`'s Spark-side checks to run (all when left out)"),
  }),
} as const;

export type JobOperation = keyof typeof JOB_REQUESTS;

/** A filter tree as a change document keeps it (lake/filter.ts FilterNode). */
const FilterNodeSchema = z.custom<FilterNode>((v) => typeof v === "object" && v !== null && typeof (v as { op?: unknown }).op === "string").meta({ type: "object", required: ["op"], properties: { op: { type: "string" } } });

/**
 * A change made by hand (DELETE /tables/{t}/rows, LakeShell delete/update), landed in the object
 * store as a small JSON document beside the landed CSVs and applied by the job server's write
 * (jobs/lakeform_jobs/crud.py), so it is journaled and replayed in order like any ingest. `filter`
 * is the row filter as a tree (what the job server applies); `where` its text as the caller wrote
 * it, kept for people reading the journal (documents from before trees carry only `where`: the
 * job server parses it with the same grammar).
 */
export const ChangeDocumentSchema = z.discriminatedUnion("op", [
  z.strictObject({
    lakeformChange: z.literal(1),
    op: z.literal("delete"),
    keys: z.string().optional().describe("s3a:// URI of a landed CSV of keys"),
    filter: FilterNodeSchema.optional(),
    where: z.string().optional(),
    requestedAt: z.string(),
  }),
  z.strictObject({
    lakeformChange: z.literal(1),
    op: z.literal("update"),
    set: z.record(z.string(), z.string().nullable()).describe("column -> new value as text (null: NULL)"),
    filter: FilterNodeSchema.optional(),
    where: z.string(),
    requestedAt: z.string(),
  }),
]);
export type JobRequest<Op extends JobOperation> = z.input<(typeof JOB_REQUESTS)[Op]>;

export * from "./jobServerReplies";

export type CommitInfo = z.output<typeof CommitInfoSchema>;
/** A table as the client sends it: always with its database (the job server defaults a missing one). */
export type JobTable = z.output<typeof JobTableSchema> & { database: string };
export type ChangeDocument = z.output<typeof ChangeDocumentSchema>;
export type WriteProgress = z.output<typeof WriteProgressSchema>;
export type JobServerHealth = z.output<(typeof JOB_GET_REPLIES)["healthz"]>;
export type JournalEntry = z.output<typeof JournalEntrySchema>;
export type Observation = z.output<typeof ObservationSchema>;
export type WriteStageProfile = z.output<typeof WriteStageProfileSchema>;
export type WriteResult = z.output<typeof WriteResultSchema>;
export type MaintainResult = z.output<typeof MaintainResultSchema>;
export type ChangesResult = z.output<typeof ChangesResultSchema>;
export type TravelResult = z.output<typeof TravelResultSchema>;
export type DoctorResult = z.output<typeof DoctorResultSchema>;

/** The job server's JSON Schema document: each operation's request under definitions, by operation. */
export function jobServerJsonSchema(): Record<string, unknown> {
  const definitions: Record<string, unknown> = {};
  for (const [op, schema] of Object.entries(JOB_REQUESTS)) {
    const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-7", io: "input" }) as Record<string, unknown>;
    definitions[op] = rest;
  }
  const replies: Record<string, unknown> = {};
  for (const [op, schema] of Object.entries(JOB_REPLIES)) {
    const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-7", io: "output" }) as Record<string, unknown>;
    replies[op] = rest;
  }
  const json = (schema: z.ZodType) => {
    const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-7", io: "output", unrepresentable: "any" }) as Record<string, unknown>;
    return rest;
  };
  const gets = Object.fromEntries(Object.entries(JOB_GET_REPLIES).map(([path, schema]) => [path, json(schema)]));
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "Lakeform job server requests",
    description: "Generated from lake/jobServerContract.ts by `npm run schema`: the body of POST /v1/<operation> (definitions) and its reply besides ok: true (replies), by operation; the replies to GET /progress and GET /healthz (get); a change document (changeDocument). Every object but a filter tree refuses unknown fields. Do not edit.",
    definitions,
    replies,
    get: gets,
    changeDocument: json(ChangeDocumentSchema),
  };
}

/** The spec constants and error codes as the job server reads them. */
export function jobServerConstants(): Record<string, unknown> {
  return {
    $comment: "Generated from lake/jobServerContract.ts, lake/spec.ts, lake/errorCodes.json and lake/rebuildRefusals.json by `npm run schema`. Do not edit.",
    immutableFields: IMMUTABLE_FIELDS,
    defaultRetain: DEFAULT_RETAIN,
    defaultTargetFileSizeMB: DEFAULT_TARGET_FILE_SIZE_MB,
    journal: JOURNAL,
    sourceFormats: sourceFormatConstants(),
    errorCodes: httpStatuses(),
    rebuildRefusals: REBUILD_REFUSALS,
  };
}

export const jobServerSchemaText = (): string => JSON.stringify(jobServerJsonSchema(), null, 2) + "\n";
export const jobServerConstantsText = (): string => JSON.stringify(jobServerConstants(), null, 2) + "\n";
