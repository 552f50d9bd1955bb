/**
 * Lakeform's REST API: fastify routes with zod schemas (api/validation.ts) that both validate
 * each request at the edge and generate the OpenAPI document (served at /openapi.json, browsable
 * at /docs), so the document says exactly what is accepted. The operations are LakeService's
 * (api/service.ts); the one error handler here turns every failure's code into its HTTP status
 * (lake/errorCodes.json), and a method a known path doesn't serve answers 405 with `Allow`.
 *
 * The trust boundary: every route but GET /healthz and the docs page's own files needs a bearer
 * token, checked in the first onRequest hook, before any body is read. The read token (stack
 * output apiReadToken) reads: queries, rows, history, changes, progress, status, tables and the
 * OpenAPI document; the write token (apiToken) also ingests, deletes and updates. No or a wrong
 * token is 401 with `WWW-Authenticate: Bearer`, the read token on a write 403. Bodies are
 * bounded per route (api/limits.ts: JSON small, 413 past it; a media type a route doesn't take
 * is 415); a CSV ingest is streamed to the object store, never held whole; POST /query runs one
 * read statement (api/statements.ts) with a statement timeout, cancelled when its caller goes
 * away; Spark-backed reads run a few at once, with a short queue, and 429 beyond it.
 */
import * as crypto from "node:crypto";
import * as http from "node:http";
import * as path from "node:path";
import type { Duplex, Readable } from "node:stream";
import fastifyMultipart from "@fastify/multipart";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { z } from "zod";
import { LakeformError, type ErrorCode } from "../lake/errors";
import { DEPENDENCIES, dependencyHealth } from "./health";
import { API_LIMITS, type ApiLimits } from "./limits";
import { scrapeMetrics } from "./metrics";
import { PAGE_HEADERS, PAGE_PATHS, STATUS_CSS, STATUS_HTML, STATUS_JS } from "./statusPage";
import type { LakeService } from "./service";
import { ChangesQuery, DeleteQuery, INGEST_MEDIA_TYPES, IngestQuery, queryBody, RowsQuery, TableParams, UpdateBody, validationCode } from "./validation";

const ErrorBody = z.object({
  error: z.object({ code: z.string().describe("a code of lake/errorCodes.json"), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});
/** Error responses a route declares: the statuses its failures' codes map to. */
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody.describe(`error (${s})`)]));
/**
 * Every route can be sent a request head (URL and headers) over MAX_HEAD_BYTES (431), fail
 * inside (500) and be short of a backing service (503).
 */
const ALWAYS = [431, 500, 503];

/**
 * The most a request's head (request line and headers) may take. Node's HTTP parser refuses more
 * before any route runs; its default, 16 KiB, is less than a schema-valid URL can take: a `where`
 * of 2,000 characters is up to 24,000 bytes percent-encoded (4 UTF-8 bytes each, 3 characters per
 * byte), so every URL the document allows, plus the headers, fits in this.
 */
export const MAX_HEAD_BYTES = 64 * 1024;

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
  applying: z
    .object({
      index: z.number(),
      total: z.number(),
      source: z.string(),
      stage: z.string(),
      percent: z.number().optional(),
      bytesRead: z.number().optional(),
      bytesTotal: z.number().optional(),
      rowsRead: z.number().optional(),
      rowsTotal: z.number().nullable().optional(),
      elapsedMs: z.number().optional(),
      at: z.string(),
    })
    .optional()
    .describe("while the reconciler applies sources: the one it writes now (index of total) and how far that write is"),
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

const WriteProgress = z.object({
  table: z.string().describe("<database>.<table>"),
  source: z.string().describe("the CSV being written: a declared source's file name, or api-… for an ingest through the API"),
  stage: z.string().describe("preparing | sampling | checking keys | writing | diagnosing | journaling"),
  elapsedMs: z.number().describe("since the write started"),
  stageElapsedMs: z.number().describe("since the current stage started"),
  bytesTotal: z.number().describe("size of the CSV"),
  rowsTotal: z.number().nullable().describe("rows in the CSV, once its keys were counted (null before)"),
  bytesRead: z.number().optional().describe("of the CSV, by the current stage's Spark work so far"),
  rowsRead: z.number().optional(),
  rowsOut: z.number().optional(),
  tasksDone: z.number().optional(),
  tasks: z.number().optional(),
  percent: z.number().optional().describe("bytesRead as a share of bytesTotal: the current stage's (checking keys reads the CSV once, writing again)"),
  message: z.string().describe("the figures as one line, e.g. \"writing, 92 MB of 203 MB read, 900,000 of 2,000,000 rows\""),
});

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

/** What a token lets its bearer do: read (every read route), or write (writes, and every read). */
export type Scope = "read" | "write";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope a route needs (read when absent; the public routes are by path, isPublic). */
    scope?: Scope;
    /** A read the Spark job server serves: run through the API's SparkReads gate (429 past its queue). */
    sparkRead?: boolean;
  }
}

export interface ApiOptions {
  lake: LakeService;
  /** The bearer tokens (stack outputs apiReadToken and apiToken). An empty one never matches. */
  tokens: { read: string; write: string };
  /** Bounds per request; API_LIMITS where not given. */
  limits?: Partial<ApiLimits>;
  logger?: Logger;
  /** Host names requests may be addressed to besides the loopback ones (LOOPBACK_HOSTS). */
  allowedHosts?: string[];
  /** The metastore's thrift:// URI (stack output metastoreUri), which /healthz asks; unasked without it. */
  metastoreUri?: string;
}

/** The names a request to an API on loopback carries in its Host header (any port). */
export const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"] as const;

/** The host name of a Host header or of an Origin's URL, lower-cased, without its port. */
function hostName(hostOrOrigin: string, isOrigin: boolean): string | undefined {
  try {
    const url = new URL(isOrigin ? hostOrOrigin : `http://${hostOrOrigin}`);
    return url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A page on another site can rebind its own name to 127.0.0.1 (DNS rebinding) and so talk to the
 * API as same-origin: its requests still name that site in Host. And a page's cross-origin request
 * names its site in Origin. Either is refused (403) before anything else, on every route: the
 * tokens are the boundary, this keeps foreign pages from even reaching it.
 */
function refuseForeignHosts(extra: string[] = []) {
  const allowed = new Set<string>([...LOOPBACK_HOSTS, ...extra.map((h) => h.toLowerCase())]);
  return async (req: FastifyRequest) => {
    const host = req.headers.host;
    const name = host === undefined ? undefined : hostName(host, false);
    if (name === undefined || !allowed.has(name)) {
      throw new LakeformError("FORBIDDEN", `requests to this API must be addressed to ${[...allowed].join(", ")} (Host ${JSON.stringify(host ?? "")} is not; lakeform api --allowed-host adds a name)`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== "null") {
      const from = hostName(origin, true);
      if (from === undefined || !allowed.has(from)) throw new LakeformError("FORBIDDEN", `a request from a page of ${JSON.stringify(origin)} is refused: only this API's own pages may call it from a browser`);
    } else if (origin === "null") {
      throw new LakeformError("FORBIDDEN", "a request from an opaque origin (Origin: null) is refused");
    }
  };
}

/** Routes anyone may ask: health, the status page's files and the docs page's (the data and the document need a token). */
export function isPublic(url: string): boolean {
  // The status page and its two files hold no data: its script asks the read routes with a token (api/statusPage.ts).
  if (url === PAGE_PATHS.html || url === PAGE_PATHS.script || url === PAGE_PATHS.style) return true;
  return url === "/healthz" || url === "/docs" || url === "/docs/" || url.startsWith("/docs/static/");
}

/** The credentials of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235), one or more spaces after it. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^bearer +(\S+) *$/i.exec(header ?? "")?.[1];
}

const digest = (s: string) => crypto.createHash("sha256").update(s).digest();

/** Constant-time: both sides hashed to one length first, so neither the content nor the length leaks. An empty expected token never matches. */
export function tokenMatches(given: string, expected: string): boolean {
  return crypto.timingSafeEqual(digest(given), digest(expected)) && expected.length > 0;
}

/** The scope a presented token has, if it is one of the API's: both are compared every time. */
function scopeOf(given: string, tokens: ApiOptions["tokens"]): Scope | undefined {
  const write = tokenMatches(given, tokens.write);
  const read = tokenMatches(given, tokens.read);
  return write ? "write" : read ? "read" : undefined;
}

/** A refusal at the edge that carries response headers (WWW-Authenticate, Retry-After) with its code. */
export class EdgeError extends LakeformError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly headers: Record<string, string>,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, details);
    this.name = "EdgeError";
  }
}

const CHALLENGE = 'Bearer realm="lakeform"';
const TOKEN_HINT = "lakeform outputs --show-secrets prints apiReadToken (reads) and apiToken (reads and writes)";

/** Who is asking, before anything else about the request is looked at. */
function authenticate(tokens: ApiOptions["tokens"]) {
  return async (req: FastifyRequest) => {
    const url = req.routeOptions.url;
    // No route: the not-found handler answers (404, or 405 with Allow), as for anyone.
    if (url === undefined || isPublic(url)) return;
    const needs: Scope = req.routeOptions.config.scope ?? "read";
    const given = bearerToken(req.headers.authorization);
    if (given === undefined) throw new EdgeError("UNAUTHORIZED", `this route needs \`Authorization: Bearer <token>\` (${TOKEN_HINT})`, { "www-authenticate": CHALLENGE });
    const has = scopeOf(given, tokens);
    if (has === undefined) throw new EdgeError("UNAUTHORIZED", `the bearer token is not one of this API's (${TOKEN_HINT})`, { "www-authenticate": `${CHALLENGE}, error="invalid_token"` });
    if (needs === "write" && has !== "write") {
      throw new EdgeError("FORBIDDEN", "the read token can't write: ingest, delete and update need the write token (apiToken)", { "www-authenticate": `${CHALLENGE}, error="insufficient_scope", scope="write"` });
    }
  };
}

/**
 * Spark-backed reads (describe, history, rows, changes): the job server is one Spark driver, so
 * only a few run at once and a few more wait their turn; past that a read is refused at once,
 * 429 with Retry-After, rather than queued without bound. A caller that goes away while
 * waiting gives up its place.
 */
export class SparkReads {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  async run<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else {
      if (this.waiting.length >= this.queue) {
        throw new EdgeError("TOO_MANY_REQUESTS", `the job server is busy: ${this.concurrency} Spark-backed reads run and ${this.queue} wait; try again shortly`, { "retry-after": "2" }, { running: this.concurrency, waiting: this.queue });
      }
      // A place is handed over by the read that finishes (running stays as it is).
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener("abort", gone);
          resolve();
        };
        const gone = () => {
          this.waiting.splice(this.waiting.indexOf(go), 1);
          reject(new LakeformError("BAD_REQUEST", "the caller went away while its read waited for the job server"));
        };
        this.waiting.push(go);
        signal.addEventListener("abort", gone, { once: true });
      });
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** Aborts when the HTTP client goes away before its answer is written (the response closes unfinished). */
function clientGone(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}

const mediaType = (req: FastifyRequest) => (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();

/**
 * Framework failures by their HTTP status: no route, a method not served, a body over the
 * route's limit (fastify's, or a multipart part's), a media type no parser takes; the rest (bad
 * JSON, …) is BAD_REQUEST.
 */
const FRAMEWORK_CODES: Record<number, ErrorCode> = { 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE" };

/** Any failure as a LakeformError: ours as they are, schema failures and framework errors by code. */
export function toLakeformError(err: unknown): LakeformError {
  if (err instanceof LakeformError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const message = err.validation.map((v) => `${err.validationContext ?? "request"}${v.instancePath}: ${v.message}`).join("; ");
    return new LakeformError(validationCode(err.validationContext, first?.instancePath ?? ""), message, {}, { cause: err });
  }
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new LakeformError(FRAMEWORK_CODES[status] ?? "BAD_REQUEST", (err as Error).message, {}, { cause: err });
  }
  return new LakeformError("INTERNAL", err instanceof Error ? err.message : String(err), {}, { cause: err });
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** The methods a concrete URL is served with (none: the path is unknown). */
function allowedMethods(app: { findRoute(opts: { method: (typeof METHODS)[number]; url: string }): unknown }, url: string): string[] {
  const pathname = url.split("?")[0];
  return METHODS.filter((method) => app.findRoute({ method, url: pathname }) !== null);
}

/** A route's body must be one of these media types (or absent, where the body is optional). */
function requireMediaType(types: readonly string[], optional = false) {
  return async (req: FastifyRequest) => {
    const type = mediaType(req);
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    if (optional && !type && !hasBody) return;
    if (!types.includes(type)) throw new LakeformError("UNSUPPORTED_MEDIA_TYPE", `this route takes ${types.join(" or ")}${optional ? " (or no body)" : ""}, not ${type || "no Content-Type"}`);
  };
}

/** A request no route serves: 405 with `Allow` on a known path, 404 on an unknown one. */
function unrouted(req: FastifyRequest, reply: FastifyReply, allowed: string[]) {
  if (allowed.length > 0) {
    const e = new LakeformError("METHOD_NOT_ALLOWED", `${req.method} is not served on this path; it takes ${allowed.join(", ")}`);
    return reply.status(e.httpStatus).header("allow", allowed.join(", ")).send({ error: e.toJSON() });
  }
  const e = new LakeformError("NOT_FOUND", `no such path: ${req.method} ${req.url.split("?")[0]}`);
  return reply.status(e.httpStatus).send({ error: e.toJSON() });
}

/**
 * A request Node's HTTP parser refused before any route saw it, answered with the API's error
 * body (fastify's own answer has another shape, and Node's none): a head over MAX_HEAD_BYTES is
 * 431 REQUEST_HEAD_TOO_LARGE, declared on every operation; anything else that isn't HTTP is 400.
 * A client that timed out or went away gets nothing more.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" || !socket.writable) {
    socket.destroy(err);
    return;
  }
  const e =
    err.code === "HPE_HEADER_OVERFLOW"
      ? new LakeformError("REQUEST_HEAD_TOO_LARGE", `the request's URL and headers take more than ${MAX_HEAD_BYTES} bytes (a shorter filter or table name fits)`, { limit: MAX_HEAD_BYTES })
      : new LakeformError("BAD_REQUEST", `the request is not valid HTTP (${err.code ?? err.message})`);
  const body = JSON.stringify({ error: e.toJSON() });
  socket.end(
    `HTTP/1.1 ${e.httpStatus} ${http.STATUS_CODES[e.httpStatus]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The docs page (Swagger UI) is open, but the document it shows needs a token: before it asks
 * for /docs/json it prompts for one (read or write) once per browser tab, keeps it in the tab's
 * sessionStorage and sends it with that request and every "Try it out"; a 401 forgets it, so a
 * reload asks again. Without a token the page shows that the definition failed to load (401).
 * Built with new Function so its text, not compiled TypeScript, is what the page runs.
 */
const DOCS_REQUEST_INTERCEPTOR = new Function(
  "request",
  `var key = "lakeform-api-token";
  var headers = request.headers || (request.headers = {});
  if (headers.Authorization || headers.authorization) return request;
  var token = window.sessionStorage.getItem(key);
  if (!token && /\\/docs\\/json(\\?|$)/.test(request.url)) {
    token = window.prompt("Lakeform API token (read or write; lakeform outputs --show-secrets prints apiReadToken and apiToken)");
    if (token) window.sessionStorage.setItem(key, token.trim());
  }
  if (token) headers.Authorization = "Bearer " + token;
  return request;`,
);
const DOCS_RESPONSE_INTERCEPTOR = new Function(
  "response",
  `if (response.status === 401) window.sessionStorage.removeItem("lakeform-api-token");
  return response;`,
);

/** Error responses every route that needs a token declares, by what it needs and takes. */
function edgeErrors(route: { url: string; config?: { scope?: Scope; sparkRead?: boolean }; schema?: { body?: unknown } }): number[] {
  if (isPublic(route.url)) return [];
  return [401, ...(route.config?.scope === "write" ? [403] : []), ...(route.schema?.body ? [413, 415] : []), ...(route.config?.sparkRead ? [429] : [])];
}

export async function buildApi(opts: ApiOptions) {
  const limits: ApiLimits = { ...API_LIMITS, ...opts.limits };
  const app = Fastify({
    loggerInstance: opts.logger,
    // JSON bodies; DELETE's CSV of keys has its own limit, POST /ingest streams (and counts) its CSV.
    bodyLimit: limits.jsonBodyBytes,
    http: { maxHeaderSize: MAX_HEAD_BYTES },
    // find-my-way refuses to route a path parameter over 100 characters (404, "no such path"),
    // shorter than a table name may be (128): the head's limit bounds it instead, so any name
    // reaches the schema and a bad one is 400 BAD_TABLE_NAME.
    routerOptions: { maxParamLength: MAX_HEAD_BYTES },
    clientErrorHandler: answerClientError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addContentTypeParser("text/csv", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // First of all: is it addressed to this API, not from a foreign page (403), then who is asking
  // (401/403), before any body is read or any other check answers.
  app.addHook("onRequest", refuseForeignHosts(opts.allowedHosts));
  app.addHook("onRequest", authenticate(opts.tokens));
  // A multipart body must say where its parts end: without a boundary the parser fails before any
  // route sees the request (found by the OpenAPI fuzz: it answered 500). Refused up front, as 400.
  app.addHook("onRequest", async (req) => {
    const type = req.headers["content-type"];
    if (typeof type === "string" && /^\s*multipart\//i.test(type) && !/;\s*boundary=\S/i.test(type)) {
      throw new LakeformError("BAD_REQUEST", "a multipart body needs a boundary in its Content-Type (multipart/form-data; boundary=…)");
    }
  });
  // The document says for every operation what the edge may answer: the token it needs, 401,
  // 403 for a write, 413/415 where there is a body, 429 for a Spark-backed read.
  app.addHook("onRoute", (route) => {
    const schema = route.schema as { hide?: boolean; body?: unknown; security?: unknown; response?: Record<string, unknown> } | undefined;
    if (!schema || schema.hide || isPublic(route.url)) return;
    schema.security = route.config?.scope === "write" ? [{ writeToken: [] }] : [{ readToken: [] }, { writeToken: [] }];
    schema.response = { ...errors(...edgeErrors({ url: route.url, config: route.config, schema })), ...schema.response };
  });
  // The one place an HTTP status is chosen: from the failure's code.
  app.setErrorHandler((err, req, reply) => {
    // A request no route serves can still fail before the not-found handler (a QUERY without a
    // Content-Type): it is answered as unrouted, 405 or 404, whatever tripped first.
    const allowed = allowedMethods(app, req.url);
    if (!allowed.includes(req.method)) return unrouted(req, reply, allowed);
    const e = toLakeformError(err);
    if (e.httpStatus >= 500) req.log.error({ err, code: e.code }, "Request failed");
    if (e instanceof EdgeError) reply.headers(e.headers);
    // A body refused part-way is not read to its end: the connection closes after the answer.
    if (e.code === "PAYLOAD_TOO_LARGE") reply.header("connection", "close");
    const body = e.code === "INTERNAL" ? { code: e.code, message: "internal error; see the API server's log" } : e.toJSON();
    return reply.status(e.httpStatus).send({ error: body });
  });
  app.setNotFoundHandler((req, reply) => unrouted(req, reply, allowedMethods(app, req.url)));

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "Lakeform",
        description:
          "Ingest, query, history and time travel over the lake. Every operation needs a bearer token: the read token (stack output apiReadToken) " +
          "for reads and this document, the write token (apiToken) for ingest, delete and update (and every read). `lakeform outputs --show-secrets` prints both.",
        version: "0.1.0",
      },
      components: {
        securitySchemes: {
          readToken: { type: "http", scheme: "bearer", description: "read scope: query, rows, history, changes, progress, status, tables, describe, this document (stack output apiReadToken)" },
          writeToken: { type: "http", scheme: "bearer", description: "write scope: ingest, delete, update, and every read (stack output apiToken)" },
        },
      },
    },
    transform: (input) => {
      // A body given per media type (POST /ingest): each one's zod schema to JSON Schema on its own.
      const body = (input.schema as { body?: { content?: Record<string, { schema: unknown }> } } | undefined)?.body;
      if (!body?.content) return jsonSchemaTransform(input);
      const { body: _omit, ...rest } = input.schema as Record<string, unknown>;
      const out = jsonSchemaTransform({ ...input, schema: rest } as typeof input);
      const content = Object.fromEntries(
        Object.entries(body.content).map(([type, { schema }]) => [type, { schema: (jsonSchemaTransform({ ...input, schema: { body: schema } } as typeof input).schema as { body: unknown }).body }]),
      );
      return { ...out, schema: { ...(out.schema as object), body: { content } } } as ReturnType<typeof jsonSchemaTransform>;
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs", uiConfig: { requestInterceptor: DOCS_REQUEST_INTERCEPTOR, responseInterceptor: DOCS_RESPONSE_INTERCEPTOR } as Record<string, unknown> });

  const r = app.withTypeProvider<ZodTypeProvider>();
  const lake = opts.lake;
  const sparkReads = new SparkReads(limits.sparkReads, limits.sparkReadQueue);
  /** A Spark-backed read, through the gate; a caller gone while it waits gives up its place. */
  const viaSpark = <T>(reply: FastifyReply, work: () => Promise<T>) => sparkReads.run(clientGone(reply), work);

  r.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  // The status page (api/statusPage.ts): public files without data, under a CSP allowing only these.
  const page = (type: string, body: string) => async (_req: FastifyRequest, reply: FastifyReply) => reply.headers(PAGE_HEADERS).type(type).send(body);
  r.get(PAGE_PATHS.html, { schema: { hide: true } }, page("text/html; charset=utf-8", STATUS_HTML));
  r.get(PAGE_PATHS.script, { schema: { hide: true } }, page("text/javascript; charset=utf-8", STATUS_JS));
  r.get(PAGE_PATHS.style, { schema: { hide: true } }, page("text/css; charset=utf-8", STATUS_CSS));

  const HealthBody = z.object({
    ok: z.boolean(),
    s3: z.boolean(),
    metastore: z.boolean(),
    spark: z.boolean(),
    trino: z.boolean(),
    down: z.array(z.enum(DEPENDENCIES)).describe("the dependencies that didn't answer"),
    message: z.string().optional(),
  });
  r.get(
    "/healthz",
    { schema: { response: { 200: HealthBody.describe("every dependency answers"), 503: HealthBody.describe("the ones in down don't answer"), ...errors(...ALWAYS.filter((s) => s !== 503)) } } },
    async (_req, reply) => {
      const h = await dependencyHealth(lake, opts.metastoreUri);
      if (h.ok) return h;
      return reply.code(503).send({ ...h, message: `down: ${h.down.join(", ")}` });
    },
  );

  r.get(
    "/status",
    { schema: { response: { 200: z.object({ specError: z.string().optional(), updatedAt: z.string().optional(), tables: z.record(z.string(), TableStatus) }), ...errors(...ALWAYS) } } },
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

  r.get("/tables", { schema: { response: { 200: z.object({ tables: z.array(TableInfo) }), ...errors(...ALWAYS) } } }, async () => ({ tables: lake.tables() }));

  r.get(
    "/tables/:table",
    {
      schema: { params: TableParams, response: { 200: TableInfo.extend({ columns: z.array(Column), rowCount: z.number().nullable() }), ...errors(400, 404, ...ALWAYS) } },
      config: { sparkRead: true },
    },
    async (req, reply) => viaSpark(reply, () => lake.describe(req.params.table)),
  );

  r.get(
    "/tables/:table/history",
    { schema: { params: TableParams, response: { 200: z.object({ commits: z.array(Commit) }), ...errors(400, 404, 409, ...ALWAYS) } }, config: { sparkRead: true } },
    async (req, reply) => ({ commits: await viaSpark(reply, () => lake.history(req.params.table)) }),
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
        response: { 200: z.object({ table: z.string(), writes: z.array(WriteProgress) }), ...errors(400, 404, ...ALWAYS) },
      },
    },
    async (req) => lake.progress(req.params.table),
  );

  r.get(
    "/tables/:table/rows",
    { schema: { params: TableParams, querystring: RowsQuery, response: { 200: Rows, ...errors(400, 404, 409, 410, ...ALWAYS) } }, config: { sparkRead: true } },
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
        response: { 200: Rows.extend({ truncated: z.boolean(), offset: z.number(), nextOffset: z.number().nullable() }), ...errors(400, ...ALWAYS) },
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
            " A table the reconciler must repair first (its files gone, its metastore entry gone, or the metastore lagging it) is not written: 409 REPAIR_PENDING, retryable, naming the repair.",
          params: TableParams,
          querystring: IngestQuery,
          body: IngestBody as unknown as z.ZodType<Readable | undefined>,
          response: {
            200: z.object({ table: z.string(), commit: z.string(), rowsWritten: z.number(), addedColumns: z.array(z.string()), renamed: z.record(z.string(), z.string()) }),
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
          const res = req.query.via === "trino" ? await lake.ingestCsvViaTrino(req.params.table, body) : await lake.ingestCsv(req.params.table, body, name, { maxBytes: limits.csvBodyBytes });
          return { table: req.params.table, commit: res.commit, rowsWritten: res.rowsWritten, addedColumns: res.addedColumns, renamed: res.renamed };
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
          " A table the reconciler must repair first (its files gone, its metastore entry gone, or the metastore lagging it) is not written: 409 REPAIR_PENDING, retryable, naming the repair.",
        params: TableParams,
        querystring: DeleteQuery,
        body: KeysBody as unknown as z.ZodType<Buffer | undefined>,
        response: {
          200: z.object({
            table: z.string(),
            commit: z.string().nullable().describe("null when no row matched, or on a dry run (nothing is written)"),
            rowsDeleted: z.number().describe("rows deleted; on a dry run, rows the filter matches"),
            dryRun: z.literal(true).optional(),
          }),
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
        description: "Updates the rows matching `where`: `set` maps columns to new values (null for NULL). Key and partition columns can't be set." + " A table the reconciler must repair first (its files gone, its metastore entry gone, or the metastore lagging it) is not written: 409 REPAIR_PENDING, retryable, naming the repair.",
        params: TableParams,
        body: UpdateBody,
        response: {
          200: z.object({ table: z.string(), commit: z.string().nullable().describe("null when no row matched (nothing is written)"), rowsUpdated: z.number() }),
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
        response: { 200: Changes, ...errors(400, 404, 409, 410, ...ALWAYS) },
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
          200: z.object({
            table: z.string(),
            format: z.enum(["hudi", "iceberg"]),
            location: z.string(),
            registered: z.boolean().describe("false: it was in the metastore already (a left-over tombstone was removed)"),
            commits: z.number(),
            lastCommit: z.string().optional(),
          }),
          ...errors(400, 404, 409, ...ALWAYS),
        },
      },
      config: { scope: "write" },
    },
    async (req) => lake.undrop(req.params.table, req.log),
  );

  return app;
}

/** A body whose declared length is over the route's limit is refused before a byte of it is read. */
function refuseDeclaredLength(maxBytes: number) {
  return async (req: FastifyRequest) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBytes) throw new LakeformError("PAYLOAD_TOO_LARGE", `the body takes ${declared} bytes; this route takes up to ${maxBytes} (lakeform:api.csvLimitBytes)`, { limit: maxBytes });
  };
}

/** A multipart body busboy couldn't read (no statusCode of its own) is the caller's: 400, not 500. */
function malformedMultipart(err: unknown): unknown {
  if (err instanceof LakeformError || typeof (err as { statusCode?: unknown }).statusCode === "number") return err;
  return new LakeformError("BAD_REQUEST", `the multipart body is malformed: ${(err as Error).message}`, {}, { cause: err });
}
