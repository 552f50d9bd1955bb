/**
 * The job server's error replies (their code, from lake/errorCodes.json), and the job server out of reach.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { JobClient, JobError, jobErrorFromReply } from "../../lake/jobClient";

test.each([
  [{ ok: false, error: { code: "BAD_CSV", message: "line 3 is ragged", detail: "trace" } }, "BAD_CSV", 400],
  [{ ok: false, error: { code: "SCHEMA_REFUSED", message: "m" } }, "SCHEMA_REFUSED", 422],
  [{ ok: false, error: { code: "SPARK_UNAVAILABLE", message: "m" } }, "SPARK_UNAVAILABLE", 503],
  [{ ok: false, error: { code: "NO_SUCH_CODE", message: "m" } }, "SPARK_ERROR", 500],
  [{}, "SPARK_ERROR", 500],
])("job server reply %j is %s (HTTP %d)", (body, code, status) => {
  const e = jobErrorFromReply(422, body);
  expect(e).toBeInstanceOf(JobError);
  expect([e.code, e.httpStatus]).toEqual([code, status]);
});

test("the detail stays on the error, out of what an API reply shows", () => {
  const e = jobErrorFromReply(422, { ok: false, error: { code: "BAD_CSV", message: "line 3", detail: "Traceback …" } });
  expect(e.detail).toBe("Traceback …");
  expect(JSON.stringify(e.toJSON())).not.toMatch(/Traceback/);
});

async function serve(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const SECRET = "unit-test-job-server-secret";
const table = { name: "t", database: "default", format: "hudi" as const, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns" as const, location: "s3a://w/default/t" };

test("a job server that refuses connections is SPARK_UNAVAILABLE", async () => {
  const { url, server } = await serve(() => undefined);
  await new Promise((r) => server.close(r));
  await expect(new JobClient(url, { secret: SECRET }).observe(table)).rejects.toMatchObject({ code: "SPARK_UNAVAILABLE", httpStatus: 503 });
});

test("a job server that drops the connection mid-request is SPARK_UNAVAILABLE", async () => {
  const { url, server } = await serve((req) => req.socket.destroy());
  try {
    await expect(new JobClient(url, { secret: SECRET }).observe(table)).rejects.toMatchObject({ code: "SPARK_UNAVAILABLE" });
  } finally {
    server.close();
  }
});

test("a job server error reply keeps its code; a non-JSON answer is SPARK_ERROR", async () => {
  const { url, server } = await serve((req, res) => {
    if (req.url === "/v1/write") {
      res.writeHead(422, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, error: { code: "SCHEMA_REFUSED", message: "strict" } }));
    } else res.writeHead(502).end("<html>bad gateway</html>");
  });
  try {
    const jobs = new JobClient(url, { secret: SECRET });
    await expect(jobs.write(table, { uri: "s3a://w/x.csv", hash: "h", name: "x.csv" }, "g")).rejects.toMatchObject({ code: "SCHEMA_REFUSED", message: "strict" });
    await expect(jobs.observe(table)).rejects.toMatchObject({ code: "SPARK_ERROR" });
  } finally {
    server.close();
  }
});

test("a reply's code is the error's; an older reply's `kind` alone, or a code Lakeform doesn't know, is a SPARK_ERROR naming it", () => {
  expect(jobErrorFromReply(422, { ok: false, error: { code: "BAD_CSV", message: "m" } })).toMatchObject({ code: "BAD_CSV", message: "m" });
  expect(jobErrorFromReply(400, { ok: false, error: { kind: "BadCsv", message: "m" } })).toMatchObject({ code: "SPARK_ERROR", message: "m" });
  expect(jobErrorFromReply(400, { ok: false, error: { code: "NO_SUCH", message: "m" } })).toMatchObject({ code: "SPARK_ERROR", message: "m (job server error code NO_SUCH)" });
});

test("every request but /healthz carries the stack's secret as a bearer token", async () => {
  const seen: Record<string, string | undefined> = {};
  const { url, server } = await serve((req, res) => {
    seen[req.url!.split("?")[0]] = req.headers.authorization;
    const body = req.url === "/healthz" ? { ok: true } : req.url!.startsWith("/progress") ? { ok: true, writes: [] } : { ok: true, dropped: true };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  try {
    const jobs = new JobClient(url, { secret: SECRET });
    await jobs.drop(table, true);
    await jobs.progress(table);
    await jobs.health();
    expect(seen).toEqual({ "/v1/drop": `Bearer ${SECRET}`, "/progress": `Bearer ${SECRET}`, "/healthz": undefined });
    // The secret is not a property a log line of the client would print.
    expect(JSON.stringify(jobs)).not.toContain(SECRET);
  } finally {
    server.close();
  }
});

test("a JobClient without a secret is refused at once (the job server would refuse its every request)", () => {
  expect(() => new JobClient("http://127.0.0.1:9", { secret: "" })).toThrow(/jobServerSecret/);
});

test("a job server request waits as long as its own timeout, not fetch's default headers timeout (a write of gigabytes answers after many minutes)", async () => {
  const { Agent, fetch: undiciFetch, getGlobalDispatcher, setGlobalDispatcher } = await import("undici");
  const reply = { ok: true, exists: false, inCatalog: false, filesExist: false, commits: [], rowCount: null, columns: [] };
  const { url, server } = await serve((_req, res) => void setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply)), 1500));
  const before = getGlobalDispatcher();
  // fetch's defaults, shortened from 300 s to 0.5 s: what the job server's agent must not inherit.
  setGlobalDispatcher(new Agent({ headersTimeout: 500 }));
  try {
    await expect(undiciFetch(`${url}/v1/observe`, { method: "POST" })).rejects.toThrow();
    await expect(new JobClient(url, { secret: SECRET }).observe(table)).resolves.toMatchObject({ exists: false });
  } finally {
    setGlobalDispatcher(before);
    server.close();
  }
});
