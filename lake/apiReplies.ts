/**
 * What Lakeform reports and the REST API answers with, as zod schemas, declared once: the API's
 * routes (api/routes.ts) validate and serialize each reply with them and the OpenAPI document
 * shows them; the types the rest of the code uses are inferred from them (lake/status.ts's
 * TableStatus, lake/conditions.ts's Condition, lake/progress.ts's ApplyProgress, lake/trino.ts's
 * QueryResult, reconciler/trash.ts's UndropResult, api/service.ts's replies). The job server's
 * replies are the contract's (lake/jobServerContract.ts), which a write in flight extends.
 */
import { z } from "zod";
import { WriteProgressSchema as JobWriteProgressSchema } from "./jobServerContract";
import type { TableSpec } from "./spec";

const FORMAT = z.enum(["hudi", "iceberg"]);
export const ColumnSchema = z.object({ name: z.string(), type: z.string() });

/** A status condition, Kubernetes-style (lake/conditions.ts): its reason is one of lake/conditions.ts's Reason. */
export const ConditionSchema = z.object({
  type: z.enum(["Ready", "Synced", "Degraded", "Maintained"]),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
});

/** Where a reconciler's apply is: which of the action's sources, and that write's progress (lake/progress.ts). */
export const ApplyProgressSchema = z.object({
  /** 1-based: the source being written now, of the action's `total` sources. */
  index: z.number(),
  total: z.number(),
  /** The source's name (its file name). */
  source: z.string(),
  stage: z.string(),
  /** Of the current stage, when Spark has reported on it. */
  percent: z.number().optional(),
  bytesRead: z.number().optional(),
  bytesTotal: z.number().optional(),
  rowsRead: z.number().optional(),
  rowsTotal: z.number().nullable().optional(),
  elapsedMs: z.number().optional(),
  /** When this was read from the job server. */
  at: z.string(),
});

/** A table in the reconciler's report (lake/status.ts): in sync, and if not, why. */
export const TableStatusSchema = z.object({
  table: z.string(),
  format: FORMAT,
  /** Generation of the spec in tables.yaml now. */
  generation: z.string(),
  /** Generation the reconciler last finished a pass for. */
  observedGeneration: z.string().optional(),
  inSync: z.boolean(),
  sources: z.object({ total: z.number(), applied: z.number() }),
  lastCommit: z.object({ id: z.string(), time: z.string() }).optional(),
  /** The expectations' counts of the last commit that checked them (lakeform.expectations): rule -> action and rows that broke it. */
  expectations: z.record(z.string(), z.object({ action: z.string(), failed: z.number() })).optional(),
  rowCount: z.number().nullable().optional(),
  columns: z.array(z.string()).optional(),
  conditions: z.array(ConditionSchema),
  lastPassAt: z.string().optional(),
  /** Consecutive failures, and when the next attempt is due. */
  failures: z.number(),
  nextAttemptAt: z.string().optional(),
  /** The table's prune setting when it was last declared, for prune decisions after a restart. */
  prune: z.boolean().optional(),
  /** The tables.yaml that declared it: only that file's reconciler may prune it. */
  declaredIn: z.string().optional(),
  /** Its spec when it was last declared: a prune's tombstone records it (trash period, what to declare to undrop it). */
  spec: z.custom<Omit<TableSpec, "line">>().optional(),
  /** The last maintenance the job server did (retention, orphan files, compaction). */
  lastMaintenance: z.object({ at: z.string(), actions: z.array(z.string()), commits: z.number(), dataFiles: z.number().nullable(), oldestCommit: z.string().nullable() }).optional(),
  /** While an apply runs: which source it writes and how far that write is (updated every few seconds). */
  applying: ApplyProgressSchema.optional().describe("while the reconciler applies sources: the one it writes now (index of total) and how far that write is"),
});

/** A table's status as the API shows it: the report without what only the reconciler reads back. */
export const ApiTableStatusSchema = TableStatusSchema.omit({ declaredIn: true, spec: true, lastMaintenance: true });

/** GET /status. */
export const StatusReplySchema = z.object({ specError: z.string().optional(), updatedAt: z.string().optional(), tables: z.record(z.string(), ApiTableStatusSchema) });

/** GET /tables: a declared table and its status. */
export const TableInfoSchema = z.object({
  name: z.string(),
  database: z.string(),
  format: FORMAT,
  primaryKey: z.array(z.string()),
  orderingField: z.string().optional(),
  partitionBy: z.array(z.string()),
  sources: z.array(z.string()),
  status: ApiTableStatusSchema.optional(),
});

/** GET /tables/{t}: with its columns and rows. */
export const TableDetailSchema = TableInfoSchema.extend({ columns: z.array(ColumnSchema), rowCount: z.number().nullable() });

/** A commit in GET /tables/{t}/history. */
export const HistoryCommitSchema = z.object({
  commit: z.string(),
  time: z.string(),
  operation: z.string().nullable().optional(),
  source: z.string().nullable().optional(),
  sourceHash: z.string().nullable().optional(),
  generation: z.string().nullable().optional(),
  rowsInserted: z.number().optional(),
  rowsUpdated: z.number().optional(),
  rowsDeleted: z.number().optional(),
});

/** GET /tables/{t}/changes. */
export const ChangesReplySchema = z.object({
  table: z.string(),
  since: z.string().nullable().describe("the commit changes are counted after; null: from the table's first commit"),
  until: z.string().describe("the last commit included"),
  commits: z.array(z.object({ commit: z.string(), time: z.string(), operation: z.string().nullable() })).describe("the commits in the range, oldest first"),
  columns: z.array(ColumnSchema).describe("_commit, _change (insert | update | delete), then the table's columns"),
  rows: z.array(z.array(z.unknown())).describe("one row per change; a delete carries its key columns, the others null"),
  truncated: z.boolean(),
});

/** Rows with their columns (lake/trino.ts's QueryResult): a travel's, a query's. */
export const RowsSchema = z.object({
  columns: z.array(ColumnSchema),
  rows: z.array(z.array(z.unknown())),
  /** Things the reader should know about these rows (e.g. BIGINTs JSON can't carry exactly). */
  warnings: z.array(z.string()).optional().describe("e.g. BIGINT values too large to be exact as JSON numbers"),
});

/** POST /query. */
export const QueryReplySchema = RowsSchema.extend({ truncated: z.boolean(), offset: z.number(), nextOffset: z.number().nullable() });

/** A write in flight, as the API shows it (GET /tables/{t}/progress): the job server's, with its figures as one line. */
export const WriteProgressSchema = z.object({
  ...JobWriteProgressSchema.shape,
  message: z.string().describe('the figures as one line, e.g. "writing, 92 MB of 203 MB read, 900,000 of 2,000,000 rows"'),
});

/** GET /tables/{t}/progress. */
export const ProgressReplySchema = z.object({ table: z.string(), writes: z.array(WriteProgressSchema) });

/** The engines GET /healthz asks. */
export const DEPENDENCIES = ["s3", "metastore", "spark", "trino"] as const;

/** GET /healthz: each dependency, and the ones that don't answer. */
export const HealthSchema = z.object({
  ok: z.boolean(),
  s3: z.boolean(),
  metastore: z.boolean(),
  spark: z.boolean(),
  trino: z.boolean(),
  /** The dependencies that didn't answer, in DEPENDENCIES' order. */
  down: z.array(z.enum(DEPENDENCIES)).describe("the dependencies that didn't answer"),
  message: z.string().optional(),
});

/** POST /ingest/{t}, and the service's ingest (without the table). */
export const IngestResultSchema = z.object({
  commit: z.string(),
  rowsWritten: z.number(),
  addedColumns: z.array(z.string()),
  renamed: z.record(z.string(), z.string()),
  expectations: z
    .array(z.object({ name: z.string(), action: z.string(), failed: z.number(), samples: z.array(z.string()).optional() }))
    .optional()
    .describe("Rows the write found breaking an expectation, by rule; _bad_row: the bad rows quarantined (badRows=quarantine)"),
});
export const IngestReplySchema = z.object({ table: z.string(), ...IngestResultSchema.shape });

/** DELETE /tables/{t}/rows. */
export const DeleteReplySchema = z.object({
  table: z.string(),
  commit: z.string().nullable().describe("null when no row matched, or on a dry run (nothing is written)"),
  rowsDeleted: z.number().describe("rows deleted; on a dry run, rows the filter matches"),
  dryRun: z.literal(true).optional(),
});

/** PATCH /tables/{t}/rows. */
export const UpdateReplySchema = z.object({ table: z.string(), commit: z.string().nullable().describe("null when no row matched (nothing is written)"), rowsUpdated: z.number() });

/** POST /tables/{t}/undrop (reconciler/trash.ts undropTable). */
export const UndropResultSchema = z.object({
  table: z.string(),
  format: FORMAT,
  location: z.string(),
  /** Whether the metastore entry was made now (false: it was there already, the tombstone was left over). */
  registered: z.boolean().describe("false: it was in the metastore already (a left-over tombstone was removed)"),
  commits: z.number(),
  lastCommit: z.string().optional(),
  quarantine: z
    .object({ table: z.string(), registered: z.boolean(), missing: z.literal(true).optional().describe("its files were gone: not registered") })
    .optional()
    .describe("its quarantine table (<table>__quarantine), undropped with it"),
});

export type Condition = z.output<typeof ConditionSchema>;
export type ApplyProgress = z.output<typeof ApplyProgressSchema>;
export type TableStatus = z.output<typeof TableStatusSchema>;
export type TableInfo = z.output<typeof TableInfoSchema>;
export type TableDetail = z.output<typeof TableDetailSchema>;
export type QueryResult = z.output<typeof RowsSchema>;
export type ApiWriteProgress = z.output<typeof WriteProgressSchema>;
export type Health = z.output<typeof HealthSchema>;
export type Dependency = (typeof DEPENDENCIES)[number];
export type IngestResult = z.output<typeof IngestResultSchema>;
export type DeleteReply = z.output<typeof DeleteReplySchema>;
export type UpdateReply = z.output<typeof UpdateReplySchema>;
export type ChangesReply = z.output<typeof ChangesReplySchema>;
export type UndropResult = z.output<typeof UndropResultSchema>;
