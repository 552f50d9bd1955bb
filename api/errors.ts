/**
 * The API's errors: the body every failure answers with, the statuses each route declares, and
 * how a failure becomes its code. Every failure is a LakeformError (lake/errors.ts's one
 * converter, asLakeformError, with the framework's and the schemas' kinds below); its code alone
 * picks the HTTP status (lake/errorCodes.json, through httpStatusOf, as for the job server).
 * A request no route serves is 405 with `Allow` or 404; a head Node's parser refused is answered
 * on the raw socket with the same body.
 */
import * as http from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";
import { asLakeformError, LakeformError, type ErrorCode, type FailureKind } from "../lake/errors";
import { isPublic, type Scope } from "./auth";
import { MAX_HEAD_BYTES } from "./limits";
import { validationCode } from "./validation";

export const ErrorBody = z.object({
  error: z.object({ code: z.string().describe("a code of lake/errorCodes.json"), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});
/** Error responses a route declares: the statuses its failures' codes map to. */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody.describe(`error (${s})`)]));
/**
 * Every route can be sent a request head (URL and headers) over MAX_HEAD_BYTES (431), fail
 * inside (500) and be short of a backing service (503).
 */
export const ALWAYS = [431, 500, 503];

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

/**
 * Framework failures by their HTTP status: no route, a method not served, a body over the
 * route's limit (fastify's, or a multipart part's), a media type no parser takes; the rest (bad
 * JSON, …) is BAD_REQUEST.
 */
const FRAMEWORK_CODES: Record<number, ErrorCode> = { 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE" };

/** The API's own failure kinds: a schema's refusal (its code from what was refused), a framework's 4xx by its status. */
const apiFailure: FailureKind = (err) => {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const message = err.validation.map((v) => `${err.validationContext ?? "request"}${v.instancePath}: ${v.message}`).join("; ");
    return { code: validationCode(err.validationContext, first?.instancePath ?? ""), message };
  }
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return { code: FRAMEWORK_CODES[status] ?? "BAD_REQUEST", message: (err as Error).message };
  return undefined;
};

/** Any failure as the API answers it: ours as they are, schema and framework failures by code, the rest INTERNAL. */
export const apiError = (err: unknown): LakeformError => asLakeformError(err, "INTERNAL", apiFailure);

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** The methods a concrete URL is served with (none: the path is unknown). */
export function allowedMethods(app: { findRoute(opts: { method: (typeof METHODS)[number]; url: string }): unknown }, url: string): string[] {
  const pathname = url.split("?")[0];
  return METHODS.filter((method) => app.findRoute({ method, url: pathname }) !== null);
}

/** A request no route serves: 405 with `Allow` on a known path, 404 on an unknown one. */
export function unrouted(req: FastifyRequest, reply: FastifyReply, allowed: string[]) {
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

/** Error responses every route that needs a token declares, by what it needs and takes. */
export function edgeErrors(route: { url: string; config?: { scope?: Scope; sparkRead?: boolean }; schema?: { body?: unknown } }): number[] {
  if (isPublic(route.url)) return [];
  return [401, ...(route.config?.scope === "write" ? [403] : []), ...(route.schema?.body ? [413, 415] : []), ...(route.config?.sparkRead ? [429] : [])];
}

/** A multipart body busboy couldn't read (no statusCode of its own) is the caller's: 400, not 500. */
export function malformedMultipart(err: unknown): unknown {
  if (err instanceof LakeformError || typeof (err as { statusCode?: unknown }).statusCode === "number") return err;
  return new LakeformError("BAD_REQUEST", `the multipart body is malformed: ${(err as Error).message}`, {}, { cause: err });
}
