/**
 * The job server's replies, half of the one contract (lake/jobServerContract.ts has the requests,
 * the constants, the types inferred from both and the generators of the job server's files):
 * every operation's reply besides `ok: true` (JOB_REPLIES) and GET /progress's and GET /healthz's
 * (JOB_GET_REPLIES), strict as the requests are.
 */
import { z } from "zod";
import { ExpectationResultSchema } from "./expectations";
import { SourceReadRequestSchema } from "./sourceFormat";
import type { JobOperation } from "./jobServerContract";

const columnTypes = z.array(z.strictObject({ name: z.string(), type: z.string() }));

export const CommitInfoSchema = z.strictObject({
  commit: z.string(),
  time: z.string(),
  operation: z.string().optional(),
  sourceHash: z.string().optional(),
  generation: z.string().optional(),
  /** JSON of the spec's immutable fields (format, primaryKey, partitionBy) at that write. */
  spec: z.string().optional(),
  source: z.string().optional(),
  rowsInserted: z.number().optional(),
  rowsUpdated: z.number().optional(),
  rowsDeleted: z.number().optional(),
  /** A rebuild's replay of the journal entry of this commit (SourceSchema's replay.of). */
  replayOf: z.string().optional(),
  /** The journal's last entry when that rebuild began: the rebuild is whole once it is replayed. */
  replayLast: z.string().optional(),
  /** The expectations' counts recorded in the commit (lakeform.expectations): rule name -> its action and the rows that broke it. */
  expectations: z.record(z.string(), z.object({ action: z.string(), failed: z.number() }).loose()).optional(),
  /** Which write path made the commit: arrow (lakeform.path), spark (another Lakeform write); absent for a commit Lakeform didn't make. */
  path: z.enum(["arrow", "spark"]).optional(),
});

/**
 * One write-journal record (lake/jobServerContract.ts JOURNAL's fields are these; written by
 * jobs/lakeform_jobs/journal.py and lake/sources.ts journal()).
 */
export const JournalEntrySchema = z.strictObject({
  commit: z.string(),
  source: z.string(),
  sourceHash: z.string(),
  /** Where the applied source was landed: s3a://bucket/_lakeform/landing/… */
  uri: z.string(),
  generation: z.string(),
  time: z.string(),
  read: SourceReadRequestSchema.optional().describe(
    "How the write read its source, as its request said it (format, compression, csv; the job server's writes say every option): a rebuild's replay sends it back. Absent in records from before: the landing key's extension and the table's CSV options",
  ),
});

export const ObservationSchema = z.strictObject({
  exists: z.boolean(),
  /** The format the table's files have: another than the request's while a format change waits for its rebuild. */
  format: z.enum(["hudi", "iceberg"]).optional(),
  /** A rebuild under way, or stopped before it was settled (the job server's placement record). */
  rebuild: z.strictObject({ stage: z.string(), shadow: z.string(), change: z.string() }).optional(),
  /** Where the table's files are: its home location unless a rebuild swapped in a table written elsewhere (the job server's placement record). */
  location: z.string().optional(),
  /** Registered in the metastore. */
  inCatalog: z.boolean(),
  /** Table files present in the object store. */
  filesExist: z.boolean(),
  commits: z.array(CommitInfoSchema),
  rowCount: z.number().nullable(),
  columns: columnTypes,
  /** When the table has no files, or its newest commit is a rebuild's replay short of the rebuild's last: the writes it had, oldest first (see the job server's journal). */
  journal: z.array(JournalEntrySchema).optional(),
  /** True when older commits than the first in `commits` existed and were expired by retention. */
  historyExpired: z.boolean().optional(),
  /** Source hashes of writes whose commits were expired: still applied (from the write journal). */
  expiredSourceHashes: z.array(z.string()).optional(),
  /** Data files against the target size, when the format tells (Iceberg); Hudi sizes files as it writes. */
  dataFiles: z.strictObject({ count: z.number(), small: z.number(), bytes: z.number(), targetBytes: z.number() }).nullable().optional(),
  /** How the metastore's entry lags the table's own latest state (Hudi: a commit not hive-synced, columns missing); empty when it agrees. */
  catalogDrift: z.array(z.string()).optional(),
  /** Iceberg: the table's current partition spec, in partitionBy's canonical form (lake/partitioning.ts); absent for Hudi and a table not there. */
  partitionSpec: z.array(z.string()).optional(),
  /** What this observe asked Spark for ("columns", "data_files", "rows"); empty when the table's metadata answered it all (its head unchanged since Spark last told). */
  sparkAsked: z.array(z.string()).optional(),
  /** The metastore swaps a rebuild of a partitioned Hudi table in one call (Lakeform's own does; told for a table that exists). */
  replacesWhole: z.boolean().optional(),
});

export const WriteStageProfileSchema = z.strictObject({ stage: z.string(), ms: z.number(), sparkJobs: z.array(z.strictObject({ what: z.string(), ms: z.number() })) });

export const WriteResultSchema = z.strictObject({
  commit: z.string(),
  rowsWritten: z.number(),
  renamed: z.record(z.string(), z.string()),
  columns: z.array(z.string()),
  addedColumns: z.array(z.string()),
  durationMs: z.number(),
  /** Rows left out under schemaPolicy discardRows (a value that didn't fit its column's type), with the first one's place. */
  rowsDiscarded: z.number().optional(),
  discarded: z.string().optional(),
  /** Columns of the source left out under schemaPolicy discardColumns. */
  discardedColumns: z.array(z.string()).optional(),
  /** What tables.yaml's expectations found: per rule its action, the rows that broke it, a few of them. */
  expectations: z.array(ExpectationResultSchema).optional(),
  /** What the commit did, counted by the job server (a delete or update counts only its own rows). */
  rowsInserted: z.number().optional(),
  rowsUpdated: z.number().optional(),
  rowsDeleted: z.number().optional(),
  /** How the rows were written: "bulk" (a new table or only new keys) or "upsert", and whether the batch was deduplicated or read as multi-line CSV. */
  operation: z.string().optional(),
  /** Where the write's time went: per stage of the job server's its wall time and the Spark jobs run during it, summed by what they did; the rest of a stage is the driver's (planning, committing, hive sync). */
  profile: z.array(WriteStageProfileSchema).optional(),
});

export const MaintainResultSchema = z.strictObject({
  actions: z.array(z.string()),
  commitsBefore: z.number(),
  commitsAfter: z.number(),
  dataFilesBefore: z.number().nullable(),
  dataFilesAfter: z.number().nullable(),
  oldestCommit: z.string().nullable(),
  durationMs: z.number(),
});

/** Rows changed after one commit up to another, each with the commit that made the change. */
export const ChangesResultSchema = z.strictObject({
  /** `_commit`, `_change` (insert | update | delete), then the table's columns. */
  columns: columnTypes,
  rows: z.array(z.array(z.unknown())),
  truncated: z.boolean(),
});

/** Whether Spark reached a service (its own way: S3A, its Hive client), what it saw, how long it took. */
const ReachSchema = z.strictObject({ ok: z.boolean(), detail: z.string(), ms: z.number() });

/**
 * doctor's reply: what the Spark driver runs and whether it reaches S3 and the metastore
 * (jobs/lakeform_jobs/doctor.py). A bundle's version, Spark line and Scala come from its jar's name.
 */
export const DoctorResultSchema = z.strictObject({
  spark: z.string(),
  scala: z.string().nullable(),
  bundles: z.array(z.strictObject({ format: z.enum(["hudi", "iceberg"]), jar: z.string().nullable(), version: z.string().nullable(), sparkLine: z.string().nullable(), scala: z.string().nullable() })),
  /** hoodie.write.table.version as the driver's Hadoop configuration has it (null: the bundle's default). */
  hudiWriteTableVersion: z.string().nullable(),
  s3: ReachSchema.nullable(),
  metastore: ReachSchema.nullable(),
});

/** travel's reply: the columns, their Spark types, the rows. */
export const TravelResultSchema = z.strictObject({ columns: z.array(z.string()), types: z.array(z.string()), rows: z.array(z.array(z.unknown())) });

/** Every operation's reply (besides `ok: true`). */
export const JOB_REPLIES = {
  write: WriteResultSchema,
  observe: ObservationSchema,
  maintain: MaintainResultSchema,
  register: z.strictObject({ registered: z.boolean(), metadataFile: z.string().optional() }),
  resync: z.strictObject({ resynced: z.boolean(), drift: z.array(z.string()) }),
  evolve_partitions: z.strictObject({ evolved: z.boolean(), before: z.array(z.string()), after: z.array(z.string()), dropped: z.array(z.string()), added: z.array(z.string()) }),
  drop: z.strictObject({ dropped: z.boolean() }),
  forget_catalog: z.strictObject({ forgotten: z.boolean() }),
  clear_leftovers: z.strictObject({ cleared: z.boolean(), movedTo: z.string().optional() }),
  rebuild: z.strictObject({
    rebuilt: z.boolean().describe("false: the table already had the layout (nothing rewritten)"),
    change: z.string().describe("What changed: primaryKey [id] → [id, region]; format hudi → iceberg"),
    rows: z.number(),
    keys: z.number(),
    checksum: z.string().describe("The sums of the rows' key hashes and row hashes, equal on both tables"),
    bytes: z.number().describe("The new table's files"),
    durationMs: z.number(),
    commit: z.string().optional(),
    shadow: z.string().optional().describe("Where the new table's files are"),
    trashTable: z.string().optional().describe("<db>.<name>__before_<stamp>: the replaced table, in the trash"),
    purgeAfter: z.string().optional(),
    settled: z.enum(["cleaned", "finished"]).optional().describe("What became of a rebuild stopped earlier: its shadow removed (before its swap), or its swap's bookkeeping finished"),
  }),
  travel: TravelResultSchema,
  count: z.strictObject({ rows: z.number() }),
  changes: ChangesResultSchema,
  doctor: DoctorResultSchema,
} as const satisfies Record<JobOperation, z.ZodType>;

export type JobReply<Op extends JobOperation> = z.output<(typeof JOB_REPLIES)[Op]>;

/** A write in flight, as GET /progress reports it (jobs/lakeform_jobs/progress.py); the API shows it with a line for people. */
export const WriteProgressSchema = z.strictObject({
  table: z.string().describe("<database>.<table>"),
  source: z.string().describe("the CSV being written: a declared source's file name, or api-… for an ingest through the API"),
  stage: z.string().describe("preparing | sampling | checking keys | writing | diagnosing | journaling"),
  elapsedMs: z.number().describe("since the write started"),
  stageElapsedMs: z.number().describe("since the current stage started"),
  bytesTotal: z.number().describe("size of the CSV"),
  rowsTotal: z.number().nullable().describe("rows in the CSV, once its keys were counted (null before)"),
  bytesRead: z.number().optional().describe("of the CSV, by the current stage's Spark work so far (absent before its first Spark job)"),
  rowsRead: z.number().optional(),
  rowsOut: z.number().optional(),
  tasksDone: z.number().optional(),
  tasks: z.number().optional(),
  percent: z.number().optional().describe("bytesRead as a share of bytesTotal: the current stage's (checking keys reads the CSV once, writing again)"),
  /** Which write path writes it: spark, or arrow (pyarrow + pyiceberg in the job server, no Spark job). */
  path: z.enum(["spark", "arrow"]).optional(),
});

/** The job server's replies to GET (besides `ok: true`): its writes in flight, its process health (no secret, no table). */
export const JOB_GET_REPLIES = {
  progress: z.strictObject({ writes: z.array(WriteProgressSchema) }),
  healthz: z.strictObject({
    spark: z.string().optional(),
    /** Spark jobs the driver ran since it started (null: unreadable). */
    sparkJobs: z.number().nullable().optional(),
    /** LAKEFORM_HUDI_INDEX on the job server: BLOOM unless set. */
    hudiUpsertIndex: z.string().optional(),
  }),
} as const;
