/**
 * The API's edge without a lakehouse: schema validation with specific codes, 401 before the body,
 * 400 for a body it doesn't take, 405 with Allow for a method a path doesn't serve, and services
 * out of reach answered 503 with their code, not blamed on the caller.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { bearerToken, tokenMatches } from "../../api/auth";
import { buildApi } from "../../api/server";
import { LakeService } from "../../api/service";
import { JobClient } from "../../lake/jobClient";
import { s3Client } from "../../lake/outputs";
import { Sources } from "../../lake/sources";
import { unusedPort } from "../helpers/ports";

let app: Awaited<ReturnType<typeof buildApi>>;
let dir: string;
let endpoints: ConstructorParameters<typeof LakeService>[0];
/** A LakeService over the dead ports (or another job server) and the test's tables.yaml. */
const lakeForApp = (sparkJobServer = endpoints.sparkJobServer) => {
  const e = { ...endpoints, sparkJobServer };
  return new LakeService(e, new JobClient(e.sparkJobServer, { secret: e.jobServerSecret }), new Sources(s3Client(e), "warehouse"), path.join(dir, "tables.yaml"), path.join(dir, "status.json"));
};
const TOKEN = "test-token";
const READ_TOKEN = "test-read-token";


beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-api-unit-"));
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    "apiVersion: lakeform/v1\ntables:\n  - { name: people, format: hudi, primaryKey: id, sources: [seed.csv] }\n  - { name: accounts, format: iceberg, primaryKey: id, sources: [seed.csv] }\n",
  );
  const [spark, trino, s3] = await Promise.all([unusedPort(), unusedPort(), unusedPort()]);
  endpoints = {
    s3Endpoint: `http://127.0.0.1:${s3}`,
    s3Region: "us-east-1",
    s3AccessKey: "k",
    s3SecretKey: "s",
    warehouseBucket: "warehouse",
    sparkJobServer: `http://127.0.0.1:${spark}`,
    trinoEndpoint: `http://127.0.0.1:${trino}`,
    trinoPassword: "tp",
    trinoReadPassword: "trp",
    jobServerSecret: "js",
  };
  app = await buildApi({ lake: lakeForApp(), tokens: { read: READ_TOKEN, write: TOKEN } });
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The write token (ingest, delete, update, and every read). */
const auth = { authorization: `Bearer ${TOKEN}` };
/** The read token. */
const reader = { authorization: `Bearer ${READ_TOKEN}` };

test.each([
  ["GET", "/tables/a.b/history", 400, "BAD_TABLE_NAME", /not a table name/],
  ["GET", "/tables/people/rows?asOf=latest", 400, "BAD_AS_OF", /neither a commit id/],
  ["GET", "/tables/people/rows?asOf=2026-02-30", 400, "BAD_AS_OF", /not a valid time/],
  ["GET", "/tables/people/rows?asOf=20261124194100791&limit=0", 400, "BAD_REQUEST", /limit/],
  ["GET", "/tables/nope/history", 404, "UNKNOWN_TABLE", /no table "nope"/],
  ["GET", "/nowhere", 404, "NOT_FOUND", /no such path/],
])("%s %s answers %d %s", async (method, url, status, code, message) => {
  const res = await app.inject({ method: method as "GET", url, headers: reader });
  expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
  expect(res.json().error.message).toMatch(message);
});

test("a method a known path doesn't serve is 405 with the methods it does serve", async () => {
  const del = await app.inject({ method: "DELETE", url: "/tables/people", headers: auth });
  expect([del.statusCode, del.json().error.code]).toEqual([405, "METHOD_NOT_ALLOWED"]);
  expect(del.headers.allow).toBe("GET, HEAD");
  const get = await app.inject({ method: "GET", url: "/query", headers: reader });
  expect([get.statusCode, get.headers.allow]).toEqual([405, "POST"]);
});

test("/ingest: the token is checked before the body, only CSV or multipart bodies are taken, and a streamed CSV's header is checked before it is landed", async () => {
  const noToken = await app.inject({ method: "POST", url: "/ingest/people", headers: { "content-type": "application/json" }, payload: "{}" });
  expect([noToken.statusCode, noToken.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
  const json = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "application/json" }, payload: "{}" });
  expect([json.statusCode, json.json().error.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
  // The object store is out of reach here: a body refused by its header never got that far.
  const noKey = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "name\nx\n" });
  expect([noKey.statusCode, noKey.json().error.code]).toEqual([422, "SCHEMA_REFUSED"]);
  const headerOnly = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n" });
  expect([headerOnly.statusCode, headerOnly.json().error.code, headerOnly.json().error.message]).toEqual([400, "BAD_CSV", expect.stringMatching(/header line and at least one row/)]);
  const empty = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "" });
  expect([empty.statusCode, empty.json().error.code]).toEqual([400, "BAD_CSV"]);
  // Rows are the job server's to check (ragged, empty keys: tests/e2e/10-security-api): a good header goes on to the store.
  const ragged = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n1\n" });
  expect([ragged.statusCode, ragged.json().error.code]).toEqual([503, "OBJECT_STORE_ERROR"]);
  const boundary = "b0undary";
  const noFile = await app.inject({
    method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}` },
    payload: [`--${boundary}`, 'Content-Disposition: form-data; name="other"', "", "x", `--${boundary}--`, ""].join("\r\n"),
  });
  expect([noFile.statusCode, noFile.json().error.code, noFile.json().error.message]).toEqual([400, "BAD_REQUEST", expect.stringMatching(/file part named `file`/)]);
  const multipartNoKey = await app.inject({
    method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}` },
    payload: [`--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="x.csv"', "Content-Type: text/csv", "", "name", "x", `--${boundary}--`, ""].join("\r\n"),
  });
  expect([multipartNoKey.statusCode, multipartNoKey.json().error.code]).toEqual([422, "SCHEMA_REFUSED"]);
});

test("services out of reach are 503 with their code: S3 for a landing, Spark for travel, Trino for queries", async () => {
  const landing = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n1,x\n" });
  expect([landing.statusCode, landing.json().error.code]).toEqual([503, "OBJECT_STORE_ERROR"]);
  const travel = await app.inject({ method: "GET", url: "/tables/people/rows?asOf=20261124194100791", headers: reader });
  expect([travel.statusCode, travel.json().error.code]).toEqual([503, "SPARK_UNAVAILABLE"]);
  const query = await app.inject({ method: "POST", url: "/query", headers: reader, payload: { sql: "SELECT 1" } });
  expect([query.statusCode, query.json().error.code]).toEqual([503, "TRINO_UNAVAILABLE"]);
});

test("the OpenAPI document carries the table-name pattern, the asOf grammar and /ingest's two bodies", async () => {
  const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: reader })).json();
  const param = doc.paths["/tables/{table}"].get.parameters.find((p: { name: string }) => p.name === "table");
  expect(param.schema.pattern).toBe("^[A-Za-z_][A-Za-z0-9_]{0,127}$");
  const asOf = doc.paths["/tables/{table}/rows"].get.parameters.find((p: { name: string }) => p.name === "asOf");
  expect(new RegExp(asOf.schema.pattern).test("2026-11-24T10:00:00Z")).toBe(true);
  expect(Object.keys(doc.paths["/ingest/{table}"].post.requestBody.content).sort()).toEqual(["multipart/form-data", "text/csv"]);
  expect(doc.paths["/ingest/{table}"].post.requestBody.content["multipart/form-data"].schema).toMatchObject({ properties: { file: { type: "string", format: "binary" } }, required: ["file"] });
});

test.each([
  ["/ingest/people", "id,name\n1,ada\n"],
  ["/query", '{"sql":"SELECT 1"}'],
])("a multipart Content-Type without a boundary is 400 on POST %s, not a server error (found by the fuzz)", async (url, payload) => {
  const res = await app.inject({ method: "POST", url, headers: { ...auth, "content-type": "multipart/form-data" }, payload });
  expect([res.statusCode, res.json().error.code]).toEqual([400, "BAD_REQUEST"]);
  expect(res.json().error.message).toMatch(/boundary/);
});

/** A GET over a real socket (inject skips Node's HTTP parser, where the head's limit is). */
async function getOverSocket(url: string): Promise<{ status: number; type: string; body: { error?: { code: string; message: string } } }> {
  if (!app.server.listening) await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: url, headers: reader }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body: JSON.parse(text) }));
      })
      .on("error", reject);
  });
}

test("every URL the document allows fits the request head: the longest filter, 2,000 four-byte characters, reaches the route", async () => {
  const where = encodeURIComponent("\u{1F600}".repeat(2000));
  expect(where.length).toBe(24_000); // Node's default limit, 16 KiB, refused this as 431
  const res = await getOverSocket(`/tables/people/rows?asOf=20261124194100791&where=${where}`);
  // Past the schema (2,000 characters, as the document counts them) to the travel itself: Spark is down here.
  expect([res.status, res.body.error?.code]).toEqual([503, "SPARK_UNAVAILABLE"]);
});

test("a longer request head is 431 REQUEST_HEAD_TOO_LARGE with the API's error body, as the document declares for every operation", async () => {
  const res = await getOverSocket(`/tables/people/rows?asOf=20261124194100791&where=${"x".repeat(70 * 1024)}`);
  expect([res.status, res.type, res.body.error?.code]).toEqual([431, "application/json; charset=utf-8", "REQUEST_HEAD_TOO_LARGE"]);
  expect(res.body.error?.message).toMatch(/65536 bytes/);
  const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: reader })).json();
  const operations = Object.values(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>).flatMap((p) => Object.values(p));
  expect(operations.length).toBeGreaterThanOrEqual(11);
  for (const op of operations) expect(Object.keys(op.responses)).toContain("431");
});

test("a table name as long as the pattern allows reaches the route; a longer one is BAD_TABLE_NAME, not an unknown path", async () => {
  const longest = await app.inject({ method: "GET", url: `/tables/${"t".repeat(128)}/history`, headers: reader });
  expect([longest.statusCode, longest.json().error.code]).toEqual([404, "UNKNOWN_TABLE"]);
  const over = await app.inject({ method: "GET", url: `/tables/${"t".repeat(129)}/history`, headers: reader });
  expect([over.statusCode, over.json().error.code]).toEqual([400, "BAD_TABLE_NAME"]);
});

test("a request that isn't HTTP at all is 400 BAD_REQUEST with the API's error body", async () => {
  if (!app.server.listening) await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("NOT HTTP\r\n\r\n"));
    let text = "";
    socket.on("data", (d) => (text += d));
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
  });
  const [head, body] = answer.split("\r\n\r\n");
  expect(head.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request");
  expect(JSON.parse(body).error.code).toBe("BAD_REQUEST");
});

// ---------------------------------------------------------------- the trust boundary

/** Every operation: its method, a URL that reaches it, whether it writes, and a body it takes. */
const ROUTES: { method: "GET" | "POST" | "PATCH" | "DELETE"; url: string; scope: "read" | "write"; type?: string; payload?: string }[] = [
  { method: "GET", url: "/status", scope: "read" },
  { method: "GET", url: "/tables", scope: "read" },
  { method: "GET", url: "/tables/people", scope: "read" },
  { method: "GET", url: "/tables/people/history", scope: "read" },
  { method: "GET", url: "/tables/people/progress", scope: "read" },
  { method: "GET", url: "/summary", scope: "read" },
  { method: "GET", url: "/tables/people/rows?asOf=20261124194100791", scope: "read" },
  { method: "GET", url: "/tables/people/changes?since=20261124194100791", scope: "read" },
  { method: "POST", url: "/query", scope: "read", type: "application/json", payload: '{"sql":"SELECT 1"}' },
  { method: "GET", url: "/openapi.json", scope: "read" },
  { method: "GET", url: "/docs/json", scope: "read" },
  { method: "GET", url: "/docs/yaml", scope: "read" },
  { method: "POST", url: "/ingest/people", scope: "write", type: "text/csv", payload: "id,name\n1,x\n" },
  { method: "DELETE", url: "/tables/people/rows?where=id%20%3D%201", scope: "write" },
  { method: "PATCH", url: "/tables/people/rows", scope: "write", type: "application/json", payload: '{"set":{"name":"x"},"where":"id = 1"}' },
];

const send = (r: (typeof ROUTES)[number], headers: Record<string, string>) =>
  app.inject({ method: r.method, url: r.url, headers: { ...(r.type ? { "content-type": r.type } : {}), ...headers }, payload: r.payload });

describe.each(ROUTES)("$method $url ($scope)", (r) => {
  test("no token: 401 UNAUTHORIZED with a Bearer challenge", async () => {
    const res = await send(r, {});
    expect([res.statusCode, res.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="lakeform"');
  });

  test.each([
    ["a wrong token", `Bearer ${TOKEN}x`],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
    ["another scheme", `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`],
    ["the scheme alone", "Bearer"],
    ["the token without a scheme", TOKEN],
  ])("%s: 401 UNAUTHORIZED", async (_name, header) => {
    const res = await send(r, { authorization: header });
    expect([res.statusCode, res.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="lakeform"/);
  });

  if (r.scope === "write") {
    test("the read token: 403 FORBIDDEN (insufficient_scope), nothing done", async () => {
      const res = await send(r, reader);
      expect([res.statusCode, res.json().error.code]).toEqual([403, "FORBIDDEN"]);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="lakeform", error="insufficient_scope", scope="write"');
    });
  }

  test.each([
    ["the write token", `Bearer ${TOKEN}`],
    ["the scheme in any case", `bEARER ${TOKEN}`],
    ["more than one space", `Bearer   ${TOKEN}`],
    ...(r.scope === "read" ? [["the read token", `Bearer ${READ_TOKEN}`]] : []),
  ])("%s gets past the edge to the route", async (_name, header) => {
    const res = await send(r, { authorization: header });
    // Past the edge: answered by the route (200), or by the services it needs, out of reach here (503).
    expect({ status: res.statusCode, code: res.statusCode === 200 ? undefined : res.json().error.code }).toEqual(
      ["/status", "/tables", "/summary", "/openapi.json", "/docs/json", "/docs/yaml"].includes(r.url)
        ? { status: 200, code: undefined }
        : { status: 503, code: expect.stringMatching(/^(SPARK_UNAVAILABLE|TRINO_UNAVAILABLE|OBJECT_STORE_ERROR)$/) },
    );
  });
});

test("health and the docs page's own files answer without a token; the document they show needs one", async () => {
  // Without a token, and here every engine is a dead port: 503 naming each one (no metastore URI given, none asked).
  const health = await app.inject({ method: "GET", url: "/healthz" });
  expect([health.statusCode, health.json()]).toEqual([503, { ok: false, s3: false, metastore: true, spark: false, trino: false, down: ["s3", "spark", "trino"], message: "down: s3, spark, trino" }]);
  const page = await app.inject({ method: "GET", url: "/docs" });
  expect([page.statusCode, page.headers["content-type"]]).toEqual([200, "text/html; charset=utf-8"]);
  const init = await app.inject({ method: "GET", url: "/docs/static/swagger-initializer.js" });
  expect(init.statusCode).toBe(200);
  // The page asks for a token before it loads the document, keeps it for the tab and forgets it on a 401.
  expect(init.body).toMatch(/requestInterceptor.*window\.prompt/s);
  expect(init.body).toMatch(/sessionStorage\.setItem/);
  expect(init.body).toMatch(/response\.status === 401\) window\.sessionStorage\.removeItem/);
  expect((await app.inject({ method: "GET", url: "/docs/static/swagger-ui.css" })).statusCode).toBe(200);
  expect((await app.inject({ method: "GET", url: "/docs/json" })).statusCode).toBe(401);
  expect((await app.inject({ method: "GET", url: "/openapi.json" })).statusCode).toBe(401);
});

test("an unknown path is 404 with or without a token (nothing to guard)", async () => {
  const res = await app.inject({ method: "GET", url: "/nowhere" });
  expect([res.statusCode, res.json().error.code]).toEqual([404, "NOT_FOUND"]);
});

test("a token configured empty never matches, not even an empty one; the other still does", async () => {
  const lone = await buildApi({ lake: lakeForApp(), tokens: { read: "", write: TOKEN } });
  try {
    for (const header of ["Bearer ", "Bearer", 'Bearer ""', ""]) {
      const res = await lone.inject({ method: "GET", url: "/tables", headers: { authorization: header } });
      expect({ header, status: res.statusCode }).toEqual({ header, status: 401 });
    }
    expect((await lone.inject({ method: "GET", url: "/tables", headers: auth })).statusCode).toBe(200);
  } finally {
    await lone.close();
  }
  expect(tokenMatches("", "")).toBe(false);
  expect(tokenMatches("abc", "abc")).toBe(true);
  expect(tokenMatches("abd", "abc")).toBe(false);
  expect(bearerToken("bearer abc")).toBe("abc");
  expect(bearerToken("Bearer abc def")).toBeUndefined();
});

test("the token is checked before the body: a write without one is 401 while its body is still on the way", async () => {
  if (!app.server.listening) await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const answer = await new Promise<string>((resolve, reject) => {
    // Announces a body of 100 MB and sends none of it: only an answer before the body can come back.
    const socket = net.connect(port, "127.0.0.1", () =>
      socket.write(`POST /ingest/people HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`),
    );
    let text = "";
    const timer = setTimeout(() => reject(new Error(`no answer before the body; got: ${text}`)), 5000);
    socket.on("data", (d) => {
      text += d;
      if (text.includes("\r\n\r\n") && text.includes("}}")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("error", reject);
  });
  expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 401 Unauthorized");
  expect(JSON.parse(answer.split("\r\n\r\n")[1]).error.code).toBe("UNAUTHORIZED");
});

test("the document declares the tokens: every operation's security and its 401, 403 on writes, 413/415 where there is a body, 429 on Spark-backed reads", async () => {
  const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: reader })).json();
  expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["readToken", "writeToken"]);
  const ops = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown; responses: Record<string, unknown>; requestBody?: unknown }>>).flatMap(([p, m]) =>
    Object.entries(m).map(([method, op]) => ({ op: `${method.toUpperCase()} ${p}`, ...op })),
  );
  expect(ops.length).toBeGreaterThanOrEqual(12);
  const writes = ["POST /ingest/{table}", "DELETE /tables/{table}/rows", "PATCH /tables/{table}/rows", "POST /tables/{table}/undrop", "POST /tables/{table}/quarantine/replay"];
  const spark = ["GET /tables/{table}", "GET /tables/{table}/history", "GET /tables/{table}/rows", "GET /tables/{table}/changes", "GET /summary"];
  for (const o of ops) {
    const codes = Object.keys(o.responses);
    if (o.op === "GET /healthz") {
      expect({ op: o.op, security: o.security, has401: codes.includes("401") }).toEqual({ op: o.op, security: undefined, has401: false });
      continue;
    }
    expect({ op: o.op, security: o.security }).toEqual({ op: o.op, security: writes.includes(o.op) ? [{ writeToken: [] }] : [{ readToken: [] }, { writeToken: [] }] });
    expect({ op: o.op, codes: ["401", "403", "413", "415", "429"].filter((c) => codes.includes(c)) }).toEqual({
      op: o.op,
      codes: ["401", ...(writes.includes(o.op) ? ["403"] : []), ...(o.requestBody ? ["413", "415"] : []), ...(spark.includes(o.op) ? ["429"] : [])],
    });
  }
});

// ---------------------------------------------------------------- bodies

test("a JSON body over the limit (1 MiB) is 413 PAYLOAD_TOO_LARGE; a media type a route doesn't take is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
  const big = JSON.stringify({ sql: `SELECT '${"x".repeat(1024 * 1024)}'` });
  const declared = await app.inject({ method: "POST", url: "/query", headers: { ...reader, "content-type": "application/json" }, payload: big });
  expect([declared.statusCode, declared.json().error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  const patch = await app.inject({ method: "PATCH", url: "/tables/people/rows", headers: { ...auth, "content-type": "application/json" }, payload: JSON.stringify({ set: { name: "x".repeat(1024 * 1024) }, where: "id = 1" }) });
  expect([patch.statusCode, patch.json().error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  for (const [method, url, type, headers] of [
    ["POST", "/query", "text/csv", reader],
    ["POST", "/query", "text/plain", reader],
    ["PATCH", "/tables/people/rows", "text/csv", auth],
    ["DELETE", "/tables/people/rows", "application/json", auth],
    ["POST", "/ingest/people", "application/x-www-form-urlencoded", auth],
  ] as const) {
    const res = await app.inject({ method, url, headers: { ...headers, "content-type": type }, payload: "a=b" });
    expect({ method, url, type, status: res.statusCode, code: res.json().error.code }).toEqual({ method, url, type, status: 415, code: "UNSUPPORTED_MEDIA_TYPE" });
  }
});

describe("an ingest over its limit", () => {
  let small: Awaited<ReturnType<typeof buildApi>>;
  beforeAll(async () => {
    small = await buildApi({ lake: lakeForApp(), tokens: { read: READ_TOKEN, write: TOKEN }, limits: { csvBodyBytes: 1000 } });
    await small.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(() => small.close());
  const big = "id,name\n" + Array.from({ length: 200 }, (_, i) => `${i},name-${i}`).join("\n") + "\n";

  test("declared: 413 before the body is read", async () => {
    const res = await small.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: big });
    expect([res.statusCode, res.json().error.code, res.headers.connection]).toEqual([413, "PAYLOAD_TOO_LARGE", "close"]);
  });

  test("streamed without a length (chunked): 413 once it runs over, before the object store is asked", async () => {
    const port = (small.server.address() as AddressInfo).port;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/ingest/people", headers: { ...auth, "content-type": "text/csv", "transfer-encoding": "chunked" } }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      for (let i = 0; i < big.length; i += 100) req.write(big.slice(i, i + 100));
      req.end();
    });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  });

  test("a multipart file over it: 413", async () => {
    const boundary = "b0undary";
    const payload = [`--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="x.csv"', "Content-Type: text/csv", "", big, `--${boundary}--`, ""].join("\r\n");
    // No declared length: inject sets one, so send it chunked over a socket.
    const port = (small.server.address() as AddressInfo).port;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/ingest/people", headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}`, "transfer-encoding": "chunked" } }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(payload);
    });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  });
});

// ---------------------------------------------------------------- /query

test.each([
  ["SET SESSION query_max_run_time = '1h'", "QUERY_REFUSED"],
  ["RESET SESSION query_max_run_time", "QUERY_REFUSED"],
  ["USE hive.default", "QUERY_REFUSED"],
  ["PREPARE q FROM SELECT 1", "QUERY_REFUSED"],
  ["START TRANSACTION", "QUERY_REFUSED"],
  ["EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "QUERY_REFUSED"],
  ["SELECT 1; DROP TABLE t", "MULTIPLE_STATEMENTS"],
  ["/* */ -- nothing\n", "EMPTY_QUERY"],
])("/query refuses %p with %s before Trino is asked (Trino is out of reach here)", async (sql, code) => {
  const res = await app.inject({ method: "POST", url: "/query", headers: reader, payload: { sql } });
  expect([res.statusCode, res.json().error.code]).toEqual([400, code]);
});

test.each(["SELECT ';'", "select 1 -- ; drop table t", "(SELECT 1);", "EXPLAIN ANALYZE SELECT 1"])("/query takes %p as one read and asks Trino", async (sql) => {
  const res = await app.inject({ method: "POST", url: "/query", headers: reader, payload: { sql } });
  expect([res.statusCode, res.json().error.code]).toEqual([503, "TRINO_UNAVAILABLE"]);
});

test("/query's limit and offset are bounded (offset + limit rows are fetched)", async () => {
  for (const body of [{ sql: "SELECT 1", offset: 100_001 }, { sql: "SELECT 1", limit: 10_001 }, { sql: "SELECT 1", offset: -1 }]) {
    const res = await app.inject({ method: "POST", url: "/query", headers: reader, payload: body });
    expect({ body, status: res.statusCode, code: res.json().error.code }).toEqual({ body, status: 400, code: "BAD_REQUEST" });
  }
  const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: reader })).json();
  const props = doc.paths["/query"].post.requestBody.content["application/json"].schema.properties;
  expect([props.limit.maximum, props.offset.maximum]).toEqual([10_000, 100_000]);
});

// ---------------------------------------------------------------- Spark-backed reads

describe("Spark-backed reads: a few at once, a short queue, then 429 with Retry-After", () => {
  let gated: Awaited<ReturnType<typeof buildApi>>;
  let jobServer: http.Server;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    // A job server that takes requests and doesn't answer until told to.
    jobServer = http.createServer((_req, res) => held.push(res));
    await new Promise<void>((r) => jobServer.listen(0, "127.0.0.1", r));
    gated = await buildApi({ lake: lakeForApp(`http://127.0.0.1:${(jobServer.address() as AddressInfo).port}`), tokens: { read: READ_TOKEN, write: TOKEN }, limits: { sparkReads: 1, sparkReadQueue: 1 } });
  });
  afterAll(async () => {
    await gated.close();
    jobServer.closeAllConnections();
    await new Promise((r) => jobServer.close(r));
  });

  test("one runs, one waits, the third is refused at once; once the first is answered the waiting one runs", async () => {
    const first = gated.inject({ method: "GET", url: "/tables/people/history", headers: reader });
    await waitUntil(() => held.length === 1);
    const second = gated.inject({ method: "GET", url: "/tables/people", headers: reader });
    await new Promise((r) => setTimeout(r, 100));
    const third = await gated.inject({ method: "GET", url: "/tables/people/changes?since=20261124194100791", headers: reader });
    expect([third.statusCode, third.json().error.code, third.headers["retry-after"]]).toEqual([429, "TOO_MANY_REQUESTS", "2"]);
    // The waiting one hasn't reached the job server: only the first has.
    expect(held.length).toBe(1);
    held[0].writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, exists: false, columns: [], rowCount: null, commits: [] }));
    expect([(await first).statusCode, (await first).json().error.code]).toEqual([409, "TABLE_MISSING"]);
    await waitUntil(() => held.length === 2);
    held[1].writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, exists: false, columns: [], rowCount: null, commits: [] }));
    expect((await second).statusCode).toBe(200);
  });
});

describe("GET /summary: every table's recent commits and the writes in flight in one request, one place in the Spark-read gate", () => {
  let api: Awaited<ReturnType<typeof buildApi>>;
  let jobServer: http.Server;
  const asked: string[] = [];
  const commit = (n: number, ins: number, del = 0) => ({ commit: `2026112410000000${n}`, time: `2026-11-24T10:00:0${n}.000Z`, operation: "upsert", rowsInserted: ins, rowsUpdated: 1, rowsDeleted: del });

  beforeAll(async () => {
    // A job server whose people table has four commits, accounts none yet, one write in flight.
    jobServer = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        asked.push(`${req.method} ${req.url}`);
        res.writeHead(200, { "content-type": "application/json" });
        if (req.url?.startsWith("/progress")) {
          res.end(JSON.stringify({ ok: true, writes: [{ table: "default.people", source: "big.csv", stage: "writing", elapsedMs: 4000, stageElapsedMs: 1000, bytesTotal: 100, rowsTotal: 10, bytesRead: 50, percent: 50 }] }));
          return;
        }
        const people = JSON.parse(body).table?.name === "people";
        res.end(JSON.stringify({ ok: true, exists: people, columns: [], rowCount: null, commits: people ? [commit(3, 2), commit(1, 5), commit(2, 0, 1), commit(4, 1)] : [] }));
      });
    });
    await new Promise<void>((r) => jobServer.listen(0, "127.0.0.1", r));
    const lake = lakeForApp(`http://127.0.0.1:${(jobServer.address() as AddressInfo).port}`);
    (lake.endpoints as { sparkUi?: string }).sparkUi = "http://127.0.0.1:8897/";
    api = await buildApi({ lake, tokens: { read: READ_TOKEN, write: TOKEN }, limits: { sparkReads: 1, sparkReadQueue: 0 } });
  });
  afterAll(async () => {
    await api.close();
    jobServer.closeAllConnections();
    await new Promise((r) => jobServer.close(r));
  });

  test("each table with its newest commits (the rows after each counted over its whole history), the one not in the lake with its error, the writes, the UIs", async () => {
    const res = await api.inject({ method: "GET", url: "/summary?commits=2", headers: reader });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.tables.map((t: { table: string }) => t.table)).toEqual(["default.people", "default.accounts"]);
    const [people, accounts] = body.tables;
    // 5, then -1, +2, +1: rows 5, 4, 6, 7; the newest two kept, oldest first.
    expect({ count: people.commitCount, commits: people.commits.map((c: { commit: string; rowsAfter: number }) => [c.commit.slice(-1), c.rowsAfter]) }).toEqual({ count: 4, commits: [["3", 6], ["4", 7]] });
    expect([accounts.commits, accounts.error.code]).toEqual([null, "TABLE_MISSING"]);
    expect(body.writes).toEqual([expect.objectContaining({ table: "default.people", source: "big.csv", percent: 50, message: expect.stringContaining("writing") })]);
    expect(body.ui).toEqual({ spark: "http://127.0.0.1:8897/", trino: `${endpoints.trinoEndpoint}/ui/` });
    // One request of the page's, one place in the gate (sparkReads 1, no queue): two observes and one /progress on the job server.
    expect(asked.filter((a) => a.startsWith("POST")).length).toBe(2);
    expect(asked.filter((a) => a.startsWith("GET /progress")).length).toBe(1);
    expect((await api.inject({ method: "GET", url: "/summary?commits=501", headers: reader })).statusCode).toBe(400);
  });

  test("with the job server down: 200, every table with its error, no writes but why", async () => {
    const res = await app.inject({ method: "GET", url: "/summary", headers: reader });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.tables.map((t: { commits: unknown; error: { code: string } }) => [t.commits, t.error.code])).toEqual([[null, "SPARK_UNAVAILABLE"], [null, "SPARK_UNAVAILABLE"]]);
    expect([body.writes, body.writesError.code]).toEqual([[], "SPARK_UNAVAILABLE"]);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("requests addressed elsewhere, or from another site's page (DNS rebinding, cross-site posts)", () => {
  const status = "/status";
  test.each(["127.0.0.1:8090", "localhost:8090", "LOCALHOST", "[::1]:8090", "127.0.0.1"])("Host %p reaches the route", async (host) => {
    const res = await app.inject({ method: "GET", url: status, headers: { host, authorization: `Bearer ${READ_TOKEN}` } });
    expect(res.statusCode).not.toBe(403);
  });

  test.each(["attacker.example:8090", "127.0.0.1.attacker.example", "localhost.", "0.0.0.0:8090"])("Host %p is 403 FORBIDDEN with the token, on a read, a write and /healthz", async (host) => {
    for (const [method, url] of [["GET", status], ["POST", "/ingest/people"], ["GET", "/healthz"]] as const) {
      const res = await app.inject({ method, url, headers: { host, authorization: `Bearer ${TOKEN}`, "content-type": "text/csv" }, payload: method === "POST" ? "id,name\n1,x\n" : undefined });
      expect([res.statusCode, res.json().error.code]).toEqual([403, "FORBIDDEN"]);
      expect(res.json().error.message).toMatch(/must be addressed to 127\.0\.0\.1/);
    }
  });

  test.each(["https://attacker.example", "http://127.0.0.1.attacker.example:8090", "null"])("a page of Origin %p is refused, token or not", async (origin) => {
    const res = await app.inject({ method: "POST", url: "/ingest/people", headers: { origin, authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" }, payload: "id,name\n1,x\n" });
    expect([res.statusCode, res.json().error.code]).toEqual([403, "FORBIDDEN"]);
  });

  test("the API's own page (Origin on loopback, the /docs page) gets through to the token check", async () => {
    const res = await app.inject({ method: "GET", url: status, headers: { origin: "http://127.0.0.1:8090" } });
    expect([res.statusCode, res.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
  });

  test("a name given to the API (lakeform api --allowed-host) is accepted besides loopback", async () => {
    const named = await buildApi({ lake: lakeForApp(), tokens: { read: READ_TOKEN, write: TOKEN }, allowedHosts: ["lake.internal"] });
    try {
      expect((await named.inject({ method: "GET", url: status, headers: { host: "lake.internal:8090", authorization: `Bearer ${READ_TOKEN}` } })).statusCode).not.toBe(403);
      expect((await named.inject({ method: "GET", url: status, headers: { host: "other.internal", authorization: `Bearer ${READ_TOKEN}` } })).statusCode).toBe(403);
    } finally {
      await named.close();
    }
  });
});

test("the status page at / and its two files answer without a token, hold no data, and allow nothing from elsewhere (CSP); its data routes need the token", async () => {
  const html = await app.inject({ method: "GET", url: "/" });
  expect([html.statusCode, html.headers["content-type"], html.headers["x-frame-options"], html.headers["referrer-policy"]]).toEqual([200, "text/html; charset=utf-8", "DENY", "no-referrer"]);
  expect(html.headers["content-security-policy"]).toBe(
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  // Only this API's own files, by path: no other origin.
  expect(html.body.match(/(?:src|href)="[^"]*"/g)).toEqual(['href="data:,"', 'href="/ui/status.css"', 'src="/ui/status.js"']);
  expect(html.body).not.toMatch(/people|accounts/);
  const js = await app.inject({ method: "GET", url: "/ui/status.js" });
  expect([js.statusCode, js.headers["content-type"]]).toEqual([200, "text/javascript; charset=utf-8"]);
  // The token goes in a header from the tab's storage, never in a URL or a cookie.
  expect(js.body).toMatch(/authorization: "Bearer " \+ token\(\)/);
  expect(js.body).toMatch(/sessionStorage/);
  expect(js.body).not.toMatch(/document\.cookie|[?&]token=/);
  expect((await app.inject({ method: "GET", url: "/ui/status.css" })).headers["content-type"]).toBe("text/css; charset=utf-8");
  expect((await app.inject({ method: "GET", url: "/status" })).statusCode).toBe(401);
  // Host is checked on the page as on every route.
  expect((await app.inject({ method: "GET", url: "/", headers: { host: "attacker.example:8090" } })).statusCode).toBe(403);
});
