/**
 * Who may ask: the trust boundary. Every route but GET /healthz, the status page's and the docs
 * page's own files (isPublic) needs a bearer token, checked in the first onRequest hooks, before
 * any body is read: the read token (stack output apiReadToken) reads, the write token (apiToken)
 * also ingests, deletes and updates. No or a wrong token is 401 with `WWW-Authenticate: Bearer`,
 * the read token on a write 403. Before that, a request addressed to another host or sent by a
 * foreign page is 403.
 */
import * as crypto from "node:crypto";
import type { FastifyRequest } from "fastify";
import { LakeformError } from "../lake/errors";
import { EdgeError } from "./errors";
import { PAGE_PATHS } from "./statusPage";

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

/** The bearer tokens (stack outputs apiReadToken and apiToken). An empty one never matches. */
export interface ApiTokens {
  read: string;
  write: string;
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
export function refuseForeignHosts(extra: string[] = []) {
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
function scopeOf(given: string, tokens: ApiTokens): Scope | undefined {
  const write = tokenMatches(given, tokens.write);
  const read = tokenMatches(given, tokens.read);
  return write ? "write" : read ? "read" : undefined;
}

const CHALLENGE = 'Bearer realm="lakeform"';
const TOKEN_HINT = "lakeform outputs --show-secrets prints apiReadToken (reads) and apiToken (reads and writes)";

/** Who is asking, before anything else about the request is looked at. */
export function authenticate(tokens: ApiTokens) {
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

