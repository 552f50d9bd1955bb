/**
 * Lakeform's REST API: fastify, with request and response schemas in zod that both validate and
 * generate the OpenAPI document (served at /openapi.json, browsable at /docs).
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import fastifyMultipart from "@fastify/multipart";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { z } from "zod";
import { LakeformError } from "../lake/errors";
import { LakeError, type LakeService } from "./service";

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const TableParams = z.object({ table: z.string().min(1).max(128) });
const Column = z.object({ name: z.string(), type: z.string() });
const Condition = z.object({ type: z.string(), status: z.string(), reason: z.string(), message: z.string(), lastTransitionTime: z.string() });
const TableStatus = z.object({
  table: z.string(),
  format: z.enum(["hudi", "iceberg"]),
  inSync: z.boolean(),
  generation: z.string(),
  observedGeneration: z.string().optional(),
  sources: z.object({ total: z.number(), applied: z.number() }),
  rowCount: z.number().nullable().optional(),
  columns: z.array(z.string()).optional(),
  lastCommit: z.object({ id: z.string(), time: z.string() }).optional(),
  conditions: z.array(Condition),
  lastPassAt: z.string().optional(),
  failures: z.number(),
  nextAttemptAt: z.string().optional(),
  prune: z.boolean().optional(),
});
const TableInfo = z.object({
  name: z.string(),
  database: z.string(),
  format: z.enum(["hudi", "iceberg"]),
  primaryKey: z.array(z.string()),
  orderingField: z.string().optional(),
  partitionBy: z.array(z.string()),
  sources: z.array(z.string()),
  status: TableStatus.optional(),
});
const Commit = z.object({
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
const AsOfParam = z.string().min(1).max(40);
const Changes = z.object({
  table: z.string(),
  since: z.string().nullable().describe("the commit changes are counted after; null: from the table's first commit"),
  until: z.string().describe("the last commit included"),
  commits: z.array(z.object({ commit: z.string(), time: z.string(), operation: z.string().nullable() })).describe("the commits in the range, oldest first"),
  columns: z.array(Column).describe("_commit, _change (insert | update | delete), then the table's columns"),
  rows: z.array(z.array(z.unknown())).describe("one row per change; a delete carries its key columns, the others null"),
  truncated: z.boolean(),
});
const Rows = z.object({
  columns: z.array(Column),
  rows: z.array(z.array(z.unknown())),
  warnings: z.array(z.string()).optional().describe("e.g. BIGINT values too large to be exact as JSON numbers"),
});

export interface ApiOptions {
  lake: LakeService;
  /** Bearer token required for writes. */
  token: string;
  logger?: Logger;
}

function tokenMatches(req: FastifyRequest, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : "";
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function buildApi(opts: ApiOptions) {
  const app = Fastify({ loggerInstance: opts.logger, bodyLimit: 512 * 1024 * 1024 });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addContentTypeParser(["text/csv", "text/plain", "application/octet-stream"], { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  await app.register(fastifyMultipart, { limits: { fileSize: 512 * 1024 * 1024, files: 1 } });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof LakeError) return reply.status(err.status).send({ error: { code: err.code, message: err.message } });
    if (err instanceof LakeformError) return reply.status(err.httpStatus).send({ error: { code: err.code, message: err.message } });
    if (hasZodFastifySchemaValidationErrors(err)) {
      const message = err.validation.map((v) => `${v.instancePath || err.validationContext || "request"}: ${v.message}`).join("; ");
      return reply.status(400).send({ error: { code: "BAD_REQUEST", message } });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: (err as { code?: string }).code ?? "BAD_REQUEST", message: (err as Error).message } });
    }
    req.log.error({ err }, "Request failed");
    return reply.status(500).send({ error: { code: "INTERNAL", message: "internal error; see the API server's log" } });
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: "Lakeform", description: "Ingest, query, history and time travel over the lake.", version: "0.1.0" },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });

  const r = app.withTypeProvider<ZodTypeProvider>();
  const lake = opts.lake;

  r.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  r.get("/healthz", { schema: { response: { 200: z.object({ ok: z.boolean(), spark: z.boolean(), trino: z.boolean() }) } } }, async () => {
    const [spark, trino] = await Promise.all([lake.jobs.healthy(), lake.trinoRead.scalar("SELECT 1").then(() => true, () => false)]);
    return { ok: spark && trino, spark, trino };
  });

  r.get("/status", { schema: { response: { 200: z.object({ specError: z.string().optional(), updatedAt: z.string().optional(), tables: z.record(z.string(), TableStatus) }) } } }, async () => {
    const s = lake.status();
    return { specError: s?.specError, updatedAt: s?.updatedAt, tables: s?.tables ?? {} };
  });

  r.get("/tables", { schema: { response: { 200: z.object({ tables: z.array(TableInfo) }) } } }, async () => ({ tables: lake.tables() }));

  r.get(
    "/tables/:table",
    { schema: { params: TableParams, response: { 200: TableInfo.extend({ columns: z.array(Column), rowCount: z.number().nullable() }), 400: ErrorBody, 404: ErrorBody } } },
    async (req) => lake.describe(req.params.table),
  );

  r.get(
    "/tables/:table/history",
    { schema: { params: TableParams, response: { 200: z.object({ commits: z.array(Commit) }), 400: ErrorBody, 404: ErrorBody } } },
    async (req) => ({ commits: await lake.history(req.params.table) }),
  );

  r.get(
    "/tables/:table/rows",
    {
      schema: {
        params: TableParams,
        querystring: z.object({
          asOf: z.string().min(1).max(40).describe("commit id (Hudi instant, Iceberg snapshot id) or ISO timestamp"),
          limit: z.coerce.number().int().min(1).max(10000).default(1000),
          where: z.string().max(2000).optional().describe("row filter: columns, literals, comparisons, AND/OR/NOT, IN, LIKE, IS NULL"),
        }),
        response: { 200: Rows, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => lake.travel(req.params.table, req.query.asOf, req.query.limit, req.query.where),
  );

  r.post(
    "/query",
    {
      schema: {
        body: z.object({ sql: z.string().min(1).max(100_000), limit: z.number().int().min(1).max(10_000).default(1000), offset: z.number().int().min(0).default(0) }),
        response: { 200: Rows.extend({ truncated: z.boolean(), offset: z.number(), nextOffset: z.number().nullable() }), 400: ErrorBody },
      },
    },
    async (req) => {
      const { sql, limit, offset } = req.body;
      const res = await lake.query(sql, offset + limit);
      const rows = res.rows.slice(offset);
      return { columns: res.columns, rows, truncated: res.truncated, offset, nextOffset: res.truncated ? offset + limit : null, ...(res.warnings ? { warnings: res.warnings } : {}) };
    },
  );

  r.post(
    "/ingest/:table",
    {
      schema: {
        params: TableParams,
        querystring: z.object({
          via: z.enum(["spark", "trino"]).default("spark").describe("trino: the light path for small Iceberg batches (one MERGE, no Spark)"),
        }),
        security: [{ bearer: [] }],
        response: {
          200: z.object({ table: z.string(), commit: z.string(), rowsWritten: z.number(), addedColumns: z.array(z.string()), renamed: z.record(z.string(), z.string()) }),
          400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody,
        },
      },
      preHandler: async (req) => {
        if (!tokenMatches(req, opts.token)) throw new LakeError(401, "UNAUTHORIZED", "writes need `Authorization: Bearer <token>` (lakeform outputs --show-secrets prints it)");
      },
    },
    async (req) => {
      let body = req.body as unknown;
      let name = `api-${new Date().toISOString().replace(/[:.]/g, "-")}.csv`;
      if (req.isMultipart()) {
        const file = await req.file();
        if (!file) throw new LakeError(400, "BAD_CSV", "the multipart upload holds no file");
        body = await file.toBuffer();
        name = `api-${path.basename(file.filename || "upload.csv")}`;
      }
      if (!Buffer.isBuffer(body)) throw new LakeError(400, "BAD_CSV", "send the CSV as the body (Content-Type: text/csv) or as a multipart file upload");
      const res = req.query.via === "trino" ? await lake.ingestCsvViaTrino(req.params.table, body) : await lake.ingestCsv(req.params.table, body, name);
      return { table: req.params.table, commit: res.commit, rowsWritten: res.rowsWritten, addedColumns: res.addedColumns, renamed: res.renamed };
    },
  );

  const requireToken = async (req: FastifyRequest) => {
    if (!tokenMatches(req, opts.token)) throw new LakeError(401, "UNAUTHORIZED", "writes need `Authorization: Bearer <token>` (lakeform outputs --show-secrets prints it)");
  };

  r.delete(
    "/tables/:table/rows",
    {
      schema: {
        description: "Deletes rows by key (a CSV whose header names the key columns, as the body) or by `where` (the travel filter's grammar): one commit, landed and journaled like an ingest.",
        params: TableParams,
        querystring: z.object({ where: z.string().min(1).max(2000).optional().describe("row filter: columns, literals, comparisons, AND/OR/NOT, IN, LIKE, IS NULL") }),
        security: [{ bearer: [] }],
        response: {
          200: z.object({ table: z.string(), commit: z.string().nullable().describe("null when no row matched (nothing is written)"), rowsDeleted: z.number() }),
          400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody,
        },
      },
      preHandler: requireToken,
    },
    async (req) => {
      const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
      return lake.deleteRows(req.params.table, { keysCsv: body, where: req.query.where });
    },
  );

  r.patch(
    "/tables/:table/rows",
    {
      schema: {
        description: "Updates the rows matching `where`: `set` maps columns to new values (null for NULL). Key and partition columns can't be set.",
        params: TableParams,
        body: z.object({
          set: z.record(z.string().min(1).max(128), z.union([z.string(), z.number(), z.boolean(), z.null()])),
          where: z.string().min(1).max(2000),
        }).strict(),
        security: [{ bearer: [] }],
        response: {
          200: z.object({ table: z.string(), commit: z.string().nullable().describe("null when no row matched (nothing is written)"), rowsUpdated: z.number() }),
          400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody,
        },
      },
      preHandler: requireToken,
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
        querystring: z.object({
          since: AsOfParam.describe("commit id or ISO timestamp: changes after it"),
          until: AsOfParam.optional().describe("commit id or ISO timestamp: changes up to it (default: the newest commit)"),
          limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
        }),
        response: { 200: Changes, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody },
      },
    },
    async (req) => lake.changes(req.params.table, req.query.since, req.query.until, req.query.limit),
  );

  return app;
}
