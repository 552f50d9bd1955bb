/**
 * Lakeform's REST API: fastify with zod schemas that both validate each request at the edge and
 * generate the OpenAPI document (served at /openapi.json, browsable at /docs), so the document says
 * exactly what is accepted. Here the app is set up: its hooks in order (a foreign host or page
 * refused, then who is asking: api/auth.ts), the one error handler that turns every failure's
 * code into its HTTP status (api/errors.ts), the document and its docs page; the routes are
 * api/routes.ts's, the operations LakeService's (api/service.ts).
 *
 * Bodies are bounded per route (api/limits.ts: JSON small, 413 past it; a media type a route
 * doesn't take is 415); a CSV ingest is streamed to the object store, never held whole; POST
 * /query runs one read statement (api/statements.ts) with a statement timeout, cancelled when its
 * caller goes away; Spark-backed reads run a few at once, with a short queue, and 429 beyond it.
 */
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { LakeformError } from "../lake/errors";
import { authenticate, isPublic, refuseForeignHosts, type ApiTokens } from "./auth";
import { allowedMethods, answerClientError, apiError, EdgeError, edgeErrors, errors, unrouted } from "./errors";
import { API_LIMITS, MAX_HEAD_BYTES, type ApiLimits } from "./limits";
import { registerRoutes } from "./routes";
import type { LakeService } from "./service";

export interface ApiOptions {
  lake: LakeService;
  /** The bearer tokens (stack outputs apiReadToken and apiToken). An empty one never matches. */
  tokens: ApiTokens;
  /** Bounds per request; API_LIMITS where not given. */
  limits?: Partial<ApiLimits>;
  logger?: Logger;
  /** Host names requests may be addressed to besides the loopback ones (LOOPBACK_HOSTS). */
  allowedHosts?: string[];
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
    const e = apiError(err);
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

  await registerRoutes(app, opts.lake, limits);
  return app;
}
