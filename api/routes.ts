/**
 * The API's routes: each with its zod schemas (api/validation.ts for what a request may be,
 * lake/apiReplies.ts for what it answers), which validate it at the edge and make the OpenAPI
 * document, and each served by LakeService (api/service.ts). Spark-backed reads go through the
 * SparkReads gate (api/edge.ts); a CSV ingest is streamed to the object store, never held whole.
 */
import * as path from "node:path";
import type { Readable } from "node:stream";
import fastifyMultipart from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from "fastify";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { z } from "zod";
import {
  ChangesReplySchema,
  DeleteReplySchema,
  HealthSchema,
  HistoryCommitSchema,
  IngestReplySchema,
  ProgressReplySchema,
  QueryReplySchema,
  RowsSchema,
  StatusReplySchema,
  TableDetailSchema,
  TableInfoSchema,
  UndropResultSchema,
  UpdateReplySchema,
} from "../lake/apiReplies";
import { LakeformError } from "../lake/errors";
import { WriteResultSchema } from "../lake/jobServerContract";
import { clientGone, refuseDeclaredLength, requireMediaType, SparkReads } from "./edge";
import { ALWAYS, errors, malformedMultipart } from "./errors";
import type { ApiLimits } from "./limits";
import { scrapeMetrics } from "./metrics";
import type { LakeService } from "./service";
import { PAGE_HEADERS, PAGE_PATHS, STATUS_CSS, STATUS_HTML, STATUS_JS } from "./statusPage";
import { lakeSummary, SUMMARY_DESCRIPTION, SummaryQuery, SummaryReplySchema } from "./summary";
import { ChangesQuery, DeleteQuery, INGEST_MEDIA_TYPES, IngestQuery, queryBody, RowsQuery, TableParams, UpdateBody } from "./validation";

/** A CSV of keys as DELETE's body: raw bytes (fastify hands them over as a Buffer). */
const CsvBytes = z.custom<Buffer>((v) => Buffer.isBuffer(v), { error: "send the CSV as the body" }).meta({ type: "string", description: "CSV: a header line, then rows", example: "id,name\n1,ada\n" });
/** DELETE /tables/{t}/rows: an optional CSV whose header names the key columns. */
const KeysBody = { content: { "text/csv": { schema: CsvBytes.describe("CSV of keys: a header naming the key columns, then one key per row") } } };
/**
 * POST /ingest's bodies, for the document: the route reads them as streams (its body is not
 * validated as a value; the stream's header is checked as it arrives, api/csvStream.ts).
 */
const CsvStream = z.custom<Readable>(() => true).meta({ type: "string", description: "CSV: a header line, then rows", example: "id,name\n1,ada\n" });
const CsvFile = z.custom<Readable>(() => true).meta({ type: "string", format: "binary" });
const IngestBody = {
  content: {
    "text/csv": { schema: CsvStream },
    "multipart/form-data": { schema: z.object({ file: CsvFile.describe("the CSV file") }) },
  },
};

/** What every write route says of a table that needs a repair first (api/repairFirst.ts). */
const REPAIR_PENDING_NOTE =
  " A table the reconciler must repair first (its files gone, its metastore entry gone, or the metastore lagging it) is not written: 409 REPAIR_PENDING, retryable, naming the repair.";

/** The app as api/server.ts builds it (its logger is pino's). */
export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

/** Every route of the API, on an app whose hooks, error handler and document api/server.ts set up. */
export async function registerRoutes(app: ApiApp, lake: LakeService, limits: ApiLimits): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const sparkReads = new SparkReads(limits.sparkReads, limits.sparkReadQueue);
  /** A Spark-backed read, through the gate; a caller gone while it waits gives up its place. */
  const viaSpark = <T>(reply: FastifyReply, work: () => Promise<T>) => sparkReads.run(clientGone(reply), work);

  r.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  // The status page (api/statusPage.ts): public files without data, under a CSP allowing only these.
  const page = (type: string, body: string) => async (_req: FastifyRequest, reply: FastifyReply) => reply.headers(PAGE_HEADERS).type(type).send(body);
  r.get(PAGE_PATHS.html, { schema: { hide: true } }, page("text/html; charset=utf-8", STATUS_HTML));
  r.get(PAGE_PATHS.script, { schema: { hide: true } }, page("text/javascript; charset=utf-8", STATUS_JS));
  r.get(PAGE_PATHS.style, { schema: { hide: true } }, page("text/css; charset=utf-8", STATUS_CSS));

  r.get(
    "/healthz",
    { schema: { response: { 200: HealthSchema.describe("every dependency answers"), 503: HealthSchema.describe("the ones in down don't answer"), ...errors(...ALWAYS.filter((s) => s !== 503)) } } },
    async (_req, reply) => {
      const h = await lake.health();
      if (h.ok) return h;
      return reply.code(503).send({ ...h, message: `down: ${h.down.join(", ")}` });
    },
  );

  r.get(
    "/status",
    { schema: { response: { 200: StatusReplySchema, ...errors(...ALWAYS) } } },
    async () => {
      const s = lake.status();
      return { specError: s?.specError, updatedAt: s?.updatedAt, tables: s?.tables ?? {} };
    },
  );

  r.get(
    "/metrics",
    {
      schema: {
        description: "Prometheus metrics (text format): per table its sync state, last commit and writes, the reconciler's failures and queue, the job server's writes in flight (api/metrics.ts).",
        produces: ["text/plain", "application/json"],
        response: { 200: z.string().describe("Prometheus text exposition format 0.0.4"), ...errors(...ALWAYS) },
      },
    },
    async (_req, reply) => {
      const m = await scrapeMetrics(lake);
      return reply.type(m.contentType).send(m.text);
    },
  );

  r.get("/tables", { schema: { response: { 200: z.object({ tables: z.array(TableInfoSchema) }), ...errors(...ALWAYS) } } }, async () => ({ tables: lake.tables() }));

  r.get(
    "/tables/:table",
    {
      schema: { params: TableParams, response: { 200: TableDetailSchema, ...errors(400, 404, ...ALWAYS) } },
      config: { sparkRead: true },
    },
    async (req, reply) => viaSpark(reply, () => lake.describe(req.params.table)),
  );

  r.get(
    "/tables/:table/history",
    { schema: { params: TableParams, response: { 200: z.object({ commits: z.array(HistoryCommitSchema) }), ...errors(400, 404, 409, ...ALWAYS) } }, config: { sparkRead: true } },
    async (req, reply) => ({ commits: await viaSpark(reply, () => lake.history(req.params.table)) }),
  );

  // The status page's one request per refresh (api/summary.ts): one place in the Spark-read gate for every table.
  r.get(
    "/summary",
    { schema: { description: SUMMARY_DESCRIPTION, querystring: SummaryQuery, response: { 200: SummaryReplySchema, ...errors(400, ...ALWAYS) } }, config: { sparkRead: true } },
    async (req, reply) => viaSpark(reply, () => lakeSummary(lake, { commits: req.query.commits })),
  );

  r.get(
    "/tables/:table/progress",
    {
      schema: {
        description:
          "The table's writes in flight (an ingest through this API, or the reconciler applying a source): stage, rows and bytes done. " +
          "POST /ingest answers once the write is committed; a caller that wants progress on a long one polls this meanwhile (every few seconds). " +
          "No write in flight: an empty list.",
        params: TableParams,
        response: { 200: ProgressReplySchema, ...errors(400, 404, ...ALWAYS) },
      },
    },
    async (req) => lake.progress(req.params.table),
  );

  r.get(
    "/tables/:table/rows",
    { schema: { params: TableParams, querystring: RowsQuery, response: { 200: RowsSchema, ...errors(400, 404, 409, 410, ...ALWAYS) } }, config: { sparkRead: true } },
    async (req, reply) => viaSpark(reply, () => lake.travel(req.params.table, req.query.asOf, req.query.limit, req.query.where)),
  );

  r.post(
    "/query",
    {
      schema: {
        description:
          `One read statement (SELECT, WITH, VALUES, TABLE, SHOW, DESCRIBE, EXPLAIN; EXPLAIN ANALYZE of a read) as Trino's read-only user, in a session of its own; ` +
          `anything else (SET SESSION, USE, PREPARE, a transaction, CALL, a write) is 400 QUERY_REFUSED, a second statement MULTIPLE_STATEMENTS. ` +
          `It runs at most ${limits.queryTimeoutSec} s (QUERY_TIMEOUT past it) and is cancelled if the caller goes away. offset + limit rows are fetched.`,
        body: queryBody(limits.queryMaxRows, limits.queryMaxOffset),
        response: { 200: QueryReplySchema, ...errors(400, ...ALWAYS) },
      },
      onRequest: [requireMediaType(["application/json"])],
    },
    async (req, reply) => {
      const { sql, limit, offset } = req.body;
      const res = await lake.query(sql, offset + limit, { timeoutSec: limits.queryTimeoutSec, signal: clientGone(reply) });
      const rows = res.rows.slice(offset);
      return { columns: res.columns, rows, truncated: res.truncated, offset, nextOffset: res.truncated ? offset + limit : null, ...(res.warnings ? { warnings: res.warnings } : {}) };
    },
  );

  // POST /ingest in a context of its own: its bodies are streams (the text/csv parser hands the
  // request on unread, multipart is read part by part), not values parsed up front.
  await app.register(async (ingest) => {
    ingest.removeContentTypeParser("text/csv");
    ingest.addContentTypeParser("text/csv", (_req, payload, done) => done(null, payload));
    // busboy stops a file one byte past the limit; the stream check (api/csvStream.ts) refuses it first.
    await ingest.register(fastifyMultipart, { limits: { fileSize: limits.csvBodyBytes + 1, files: 1, fields: 16, parts: 32 } });
    const i = ingest.withTypeProvider<ZodTypeProvider>();
    i.post(
      "/ingest/:table",
      {
        schema: {
          description:
            "Upserts a CSV into a table; answers when the write is committed. The body is streamed to the object store (never held whole), up to " +
            `${limits.csvBodyBytes} bytes (413 past it); its header line is checked against the table as it arrives, its rows by the job server before it commits. ` +
            "A long write's progress (stage, rows and bytes done) is at GET /tables/{table}/progress while it runs." +
            REPAIR_PENDING_NOTE,
          params: TableParams,
          querystring: IngestQuery,
          body: IngestBody as unknown as z.ZodType<Readable | undefined>,
          response: {
            200: IngestReplySchema,
            ...errors(400, 404, 409, 422, ...ALWAYS),
          },
        },
        config: { scope: "write" },
        // The body is a stream, checked as it is read: only the URL's parts are validated up front.
        validatorCompiler: (route) => (route.httpPart === "body" ? (data: unknown) => ({ value: data }) : validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0])),
        // Before the body is read: whether it is one this route takes, and not longer than it allows.
        onRequest: [requireMediaType(INGEST_MEDIA_TYPES), refuseDeclaredLength(limits.csvBodyBytes)],
      },
      async (req, reply) => {
        const multipart = req.isMultipart();
        let body: Readable;
        let name: string;
        if (multipart) {
          const part = await req.file().catch((err: unknown) => {
            throw malformedMultipart(err);
          });
          if (!part || part.fieldname !== "file") {
            part?.file.resume();
            throw new LakeformError("BAD_REQUEST", "the multipart upload needs a file part named `file` (its first file)");
          }
          body = part.file;
          name = `api-${path.basename(part.filename || "upload.csv")}`;
        } else {
          body = req.body as Readable;
          name = `api-${new Date().toISOString().replace(/[:.]/g, "-")}.csv`;
        }
        // A client gone mid-body fails the stream, which aborts the landing.
        void reply;
        try {
          const res = await lake.ingestCsv(req.params.table, body, name, { maxBytes: limits.csvBodyBytes, path: req.query.via === "spark" ? "spark" : "auto", badRows: req.query.badRows });
          return { table: req.params.table, commit: res.commit, rowsWritten: res.rowsWritten, addedColumns: res.addedColumns, renamed: res.renamed, ...(res.expectations ? { expectations: res.expectations } : {}) };
        } catch (err) {
          throw multipart ? malformedMultipart(err) : err;
        }
      },
    );
  });

  r.delete(
    "/tables/:table/rows",
    {
      schema: {
        description:
          "Deletes rows by key (a CSV whose header names the key columns, as the body) or by `where` (the travel filter's grammar): one commit, landed and journaled like an ingest." +
          REPAIR_PENDING_NOTE,
        params: TableParams,
        querystring: DeleteQuery,
        body: KeysBody as unknown as z.ZodType<Buffer | undefined>,
        response: {
          200: DeleteReplySchema,
          ...errors(400, 404, 409, 422, ...ALWAYS),
        },
      },
      config: { scope: "write" },
      bodyLimit: limits.keysBodyBytes,
      onRequest: [requireMediaType(["text/csv"], true)],
    },
    async (req) => {
      const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
      return lake.deleteRows(req.params.table, { keysCsv: body, where: req.query.where }, "api", { dryRun: req.query.dryRun });
    },
  );

  r.patch(
    "/tables/:table/rows",
    {
      schema: {
        description: "Updates the rows matching `where`: `set` maps columns to new values (null for NULL). Key and partition columns can't be set." + REPAIR_PENDING_NOTE,
        params: TableParams,
        body: UpdateBody,
        response: {
          200: UpdateReplySchema,
          ...errors(400, 404, 409, 422, ...ALWAYS),
        },
      },
      config: { scope: "write" },
      onRequest: [requireMediaType(["application/json"])],
    },
    async (req) => {
      const set = Object.fromEntries(Object.entries(req.body.set).map(([k, v]) => [k, v === null ? null : String(v)]));
      return lake.updateRows(req.params.table, set, req.body.where);
    },
  );

  r.get(
    "/tables/:table/changes",
    {
      schema: {
        description: "Rows inserted or updated, and keys deleted, after `since` up to `until`, each with its commit. A `since` older than the table's retained history is 410 with the oldest commit kept.",
        params: TableParams,
        querystring: ChangesQuery,
        response: { 200: ChangesReplySchema, ...errors(400, 404, 409, 410, ...ALWAYS) },
      },
      config: { sparkRead: true },
    },
    async (req, reply) => viaSpark(reply, () => lake.changes(req.params.table, req.query.since, req.query.until, req.query.limit)),
  );

  r.post(
    "/tables/:table/undrop",
    {
      schema: {
        description:
          "Brings a pruned table back from the trash (`lakeform trash` lists what can be undropped, and until when): its files, kept since the prune, are " +
          "registered in the metastore again, so its rows, history and time travel are as before; nothing is copied. The table must be declared in " +
          "tables.yaml again first (400 otherwise: the reconciler would not manage it); 404 when it isn't in the trash.",
        params: TableParams,
        response: {
          200: UndropResultSchema,
          ...errors(400, 404, 409, ...ALWAYS),
        },
      },
      config: { scope: "write" },
    },
    async (req) => lake.undrop(req.params.table, req.log),
  );

  r.post(
    "/tables/:table/quarantine/replay",
    {
      schema: {
        description:
          "Re-applies the rows the table's expectations quarantined (tables.yaml expect: action quarantine, kept in <table>__quarantine) with the expectations " +
          "as tables.yaml has them now (`lakeform quarantine replay`): rows that pass are written, rows still broken are quarantined again, and the replayed " +
          "rows leave the quarantine table once the write committed. replayed 0: nothing was quarantined.",
        params: TableParams,
        response: {
          200: z.object({ table: z.string(), replayed: z.number(), write: WriteResultSchema.optional() }),
          ...errors(400, 404, 409, 422, ...ALWAYS),
        },
      },
      config: { scope: "write" },
    },
    async (req) => lake.replayQuarantine(req.params.table),
  );

}
