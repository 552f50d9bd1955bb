/**
 * GET /summary: what the status page shows, in one reply: every declared table's recent commits
 * (each with the rows the table held after it), the writes in flight on the job server, and the
 * web UIs of the lakehouse on this machine. The page used to ask each table's history and
 * progress every few seconds, two requests per table per refresh: with many tables that alone
 * filled the API's Spark-read gate (429). This is one request, and one place in that gate: the
 * tables are observed from their metadata (no Spark job, no row count), two at a time.
 *
 * A table that can't be observed (not in the lake yet, the job server down) has `commits: null`
 * and its error, the others their commits: one broken table never hides the rest.
 */
import { z } from "zod";
import { HistoryCommitSchema, WriteProgressSchema } from "../lake/apiReplies";
import { LakeformError, type ErrorCode } from "../lake/errors";
import type { CommitInfo, WriteProgress } from "../lake/jobClient";
import { describeWrite } from "../lake/progress";
import type { LakeService } from "./service";

/** Commits per table a summary returns unless asked (the newest). */
export const SUMMARY_COMMITS = 20;
export const SUMMARY_MAX_COMMITS = 500;
/** Tables observed at once, inside the one place the summary takes in the Spark-read gate. */
const CONCURRENCY = 2;

export type SummaryCommit = CommitInfo & { rowsAfter: number };

export const SUMMARY_DESCRIPTION =
  "Every declared table's newest commits (oldest first, each with the rows the table held after it; `commits: null` and the error for a table that can't be observed), " +
  "the job server's writes in flight, and the web UIs on this machine: what the status page shows, in one request whatever the number of tables.";

/** GET /summary's query. */
export const SummaryQuery = z.object({
  commits: z.coerce.number().int().min(0).max(SUMMARY_MAX_COMMITS).optional().describe(`the newest commits per table (default ${SUMMARY_COMMITS})`),
});

const ErrorSchema = z.object({ code: z.string().describe("a code of lake/errorCodes.json"), message: z.string() });

/** GET /summary's reply (LakeSummary). */
export const SummaryReplySchema = z.object({
  tables: z.array(
    z.object({
      table: z.string().describe("<database>.<table>"),
      name: z.string(),
      database: z.string(),
      format: z.enum(["hudi", "iceberg"]),
      commitCount: z.number().describe("commits the table keeps, also those left out"),
      commits: z.array(HistoryCommitSchema.extend({ rowsAfter: z.number().describe("rows after this commit: inserted minus deleted, summed from the oldest commit kept") })).nullable(),
      error: ErrorSchema.optional().describe("why the table couldn't be observed"),
    }),
  ),
  writes: z.array(WriteProgressSchema),
  writesError: ErrorSchema.optional().describe("why the writes in flight couldn't be asked"),
  ui: z.object({
    spark: z.string().optional().describe("the job server's Spark UI (HTTP Basic, any user, password: the read token)"),
    trino: z.string().optional().describe("Trino's web UI (Trino's users)"),
  }),
});

export interface TableSummary {
  /** <database>.<name>, as the status file and /status key it. */
  table: string;
  name: string;
  database: string;
  format: "hudi" | "iceberg";
  /** Every commit the table keeps, also those left out of `commits`. */
  commitCount: number;
  /** The newest commits, oldest first; null when the table couldn't be observed (see error). */
  commits: SummaryCommit[] | null;
  error?: { code: string; message: string };
}

export interface LakeSummary {
  tables: TableSummary[];
  writes: (WriteProgress & { message: string })[];
  /** Set when the job server's writes in flight couldn't be asked. */
  writesError?: { code: string; message: string };
  ui: { spark?: string; trino?: string };
}

/**
 * Rows after each commit, oldest first: inserted minus deleted, summed (an update keeps the
 * count), from the oldest commit the table keeps.
 */
export function rowsAfterEach(commits: CommitInfo[]): SummaryCommit[] {
  const sorted = [...commits].sort((a, b) => (a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : 0));
  let rows = 0;
  return sorted.map((c) => {
    rows += (c.rowsInserted ?? 0) - (c.rowsDeleted ?? 0);
    return { ...c, rowsAfter: rows };
  });
}

function errorOf(err: unknown): { code: ErrorCode | "INTERNAL"; message: string } {
  if (err instanceof LakeformError) return { code: err.code, message: err.message };
  return { code: "INTERNAL", message: (err as Error)?.message ?? String(err) };
}

/** Addresses on this machine only: a UI elsewhere is not the page's to link. */
const local = (u: string | undefined): u is string => u !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(u);

export async function lakeSummary(lake: LakeService, opts: { commits?: number } = {}): Promise<LakeSummary> {
  const keep = opts.commits ?? SUMMARY_COMMITS;
  const infos = lake.tables();
  const tables: TableSummary[] = new Array(infos.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < infos.length; i = next++) {
      const t = infos[i];
      const base = { table: `${t.database}.${t.name}`, name: t.name, database: t.database, format: t.format };
      try {
        const all = rowsAfterEach(await lake.history(t.name));
        tables[i] = { ...base, commitCount: all.length, commits: keep === 0 ? [] : all.slice(-keep) };
      } catch (err) {
        tables[i] = { ...base, commitCount: 0, commits: null, error: errorOf(err) };
      }
    }
  };
  const progress = lake.jobs.progress().then(
    (writes) => ({ writes: writes.map((w) => ({ ...w, message: describeWrite(w) })) }),
    (err) => ({ writes: [], writesError: errorOf(err) }),
  );
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, infos.length) }, worker));
  const { sparkUi, trinoEndpoint } = lake.endpoints;
  const ui: LakeSummary["ui"] = {};
  if (local(sparkUi)) ui.spark = sparkUi;
  if (local(trinoEndpoint)) ui.trino = `${trinoEndpoint.replace(/\/+$/, "")}/ui/`;
  return { tables, ...(await progress), ui };
}
