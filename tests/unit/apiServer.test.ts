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
import { buildApi } from "../../api/server";
import { LakeService } from "../../api/service";
import { JobClient } from "../../lake/jobClient";
import { s3Client } from "../../lake/outputs";
import { Sources } from "../../lake/sources";

let app: Awaited<ReturnType<typeof buildApi>>;
let dir: string;
const TOKEN = "test-token";

/** A port nothing listens on: bound once, then closed. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-api-unit-"));
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    "apiVersion: lakeform/v1\ntables:\n  - { name: people, format: hudi, primaryKey: id, sources: [seed.csv] }\n  - { name: accounts, format: iceberg, primaryKey: id, sources: [seed.csv] }\n",
  );
  const [spark, trino, s3] = await Promise.all([deadPort(), deadPort(), deadPort()]);
  const endpoints = {
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
  const lake = new LakeService(endpoints, new JobClient(endpoints.sparkJobServer, { secret: endpoints.jobServerSecret }), new Sources(s3Client({ ...endpoints, }), "warehouse"), path.join(dir, "tables.yaml"), path.join(dir, "status.json"));
  app = await buildApi({ lake, token: TOKEN });
});

afterAll(async () => {
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };

test.each([
  ["GET", "/tables/a.b/history", 400, "BAD_TABLE_NAME", /not a table name/],
  ["GET", "/tables/people/rows?asOf=latest", 400, "BAD_AS_OF", /neither a commit id/],
  ["GET", "/tables/people/rows?asOf=2026-02-30", 400, "BAD_AS_OF", /not a valid time/],
  ["GET", "/tables/people/rows?asOf=20261124194100791&limit=0", 400, "BAD_REQUEST", /limit/],
  ["GET", "/tables/nope/history", 404, "UNKNOWN_TABLE", /no table "nope"/],
  ["GET", "/nowhere", 404, "NOT_FOUND", /no such path/],
])("%s %s answers %d %s", async (method, url, status, code, message) => {
  const res = await app.inject({ method: method as "GET", url });
  expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
  expect(res.json().error.message).toMatch(message);
});

test("a method a known path doesn't serve is 405 with the methods it does serve", async () => {
  const del = await app.inject({ method: "DELETE", url: "/tables/people" });
  expect([del.statusCode, del.json().error.code]).toEqual([405, "METHOD_NOT_ALLOWED"]);
  expect(del.headers.allow).toBe("GET, HEAD");
  const get = await app.inject({ method: "GET", url: "/query" });
  expect([get.statusCode, get.headers.allow]).toEqual([405, "POST"]);
});

test("/ingest: the token is checked before the body, and only CSV or multipart bodies are taken", async () => {
  const noToken = await app.inject({ method: "POST", url: "/ingest/people", headers: { "content-type": "application/json" }, payload: "{}" });
  expect([noToken.statusCode, noToken.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
  const json = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "application/json" }, payload: "{}" });
  expect([json.statusCode, json.json().error.code]).toEqual([400, "BAD_REQUEST"]);
  const ragged = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n1\n" });
  expect([ragged.statusCode, ragged.json().error.code]).toEqual([400, "BAD_CSV"]);
  const noKey = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "name\nx\n" });
  expect([noKey.statusCode, noKey.json().error.code]).toEqual([422, "SCHEMA_REFUSED"]);
  const emptyKey = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n1,x\n,y\n" });
  expect([emptyKey.statusCode, emptyKey.json().error.code, emptyKey.json().error.message]).toEqual([400, "BAD_CSV", expect.stringMatching(/data row 2 has an empty primary key/)]);
  const boundary = "b0undary";
  const noFile = await app.inject({
    method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}` },
    payload: [`--${boundary}`, 'Content-Disposition: form-data; name="other"', "", "x", `--${boundary}--`, ""].join("\r\n"),
  });
  expect([noFile.statusCode, noFile.json().error.code]).toEqual([400, "BAD_REQUEST"]);
});

test("services out of reach are 503 with their code: S3 for a landing, Spark for travel, Trino for queries", async () => {
  const landing = await app.inject({ method: "POST", url: "/ingest/people", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n1,x\n" });
  expect([landing.statusCode, landing.json().error.code]).toEqual([503, "OBJECT_STORE_ERROR"]);
  const travel = await app.inject({ method: "GET", url: "/tables/people/rows?asOf=20261124194100791" });
  expect([travel.statusCode, travel.json().error.code]).toEqual([503, "SPARK_UNAVAILABLE"]);
  const query = await app.inject({ method: "POST", url: "/query", payload: { sql: "SELECT 1" } });
  expect([query.statusCode, query.json().error.code]).toEqual([503, "TRINO_UNAVAILABLE"]);
  const light = await app.inject({ method: "POST", url: "/ingest/accounts?via=trino", headers: { ...auth, "content-type": "text/csv" }, payload: "id,name\n1,x\n" });
  expect([light.statusCode, light.json().error.code]).toEqual([503, "TRINO_UNAVAILABLE"]);
});

test("the OpenAPI document carries the table-name pattern, the asOf grammar and /ingest's two bodies", async () => {
  const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
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
      .get({ host: "127.0.0.1", port, path: url }, (res) => {
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
  const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  const operations = Object.values(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>).flatMap((p) => Object.values(p));
  expect(operations.length).toBeGreaterThanOrEqual(11);
  for (const op of operations) expect(Object.keys(op.responses)).toContain("431");
});

test("a table name as long as the pattern allows reaches the route; a longer one is BAD_TABLE_NAME, not an unknown path", async () => {
  const longest = await app.inject({ method: "GET", url: `/tables/${"t".repeat(128)}/history` });
  expect([longest.statusCode, longest.json().error.code]).toEqual([404, "UNKNOWN_TABLE"]);
  const over = await app.inject({ method: "GET", url: `/tables/${"t".repeat(129)}/history` });
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
