/**
 * The job driver over the real job client, against a small HTTP server on loopback that answers
 * as the job server does: failures come out as LakeformErrors with their codes, and a job server
 * from before forget_catalog/clear_leftovers (which answers "no such operation" without reading
 * the request body, as Python's BaseHTTPRequestHandler lets it) leaves the next request intact.
 */
import * as net from "node:net";
import { LakeformError } from "../../lake/errors";
import { JobClient } from "../../lake/jobClient";
import { jobDriver } from "../../reconciler/driver";

/**
 * An HTTP/1.1 server that reads only the request line and headers, never the body, then answers
 * from `answer(op)`: what a keep-alive client sends next is read after that unread body.
 */
function sloppyServer(answer: (op: string) => { status: number; body: unknown }): Promise<{ url: string; close: () => void; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.slice(0, end);
        const line = head.split("\r\n")[0];
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const op = /^POST \/v1\/(\w+) /.exec(line)?.[1];
        requests.push(op ?? line.slice(0, 40));
        const known = op !== undefined && op !== "forget_catalog" && op !== "clear_leftovers";
        // A known operation reads its body; an unknown one (or garbage) doesn't.
        buffered = buffered.slice(end + 4 + (known ? length : 0));
        const { status, body } = op === undefined ? { status: 501, body: "Unsupported method" } : known ? answer(op) : { status: 404, body: { ok: false, error: { kind: "BadRequest", message: `no such operation /v1/${op}` } } };
        const text = typeof body === "string" ? body : JSON.stringify(body);
        socket.write(`HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close(), requests });
    }),
  );
}

const SECRET = "unit-test-job-server-secret";
const table = { name: "t", database: "default", format: "hudi" as const, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns" as const, location: "s3a://w/default/t" };
const observation = { ok: true, exists: false, inCatalog: false, filesExist: false, commits: [], rowCount: null, columns: [] };

test("a job server without forget_catalog and clear_leftovers: both are skipped, and the next request on the connection is answered", async () => {
  const srv = await sloppyServer(() => ({ status: 200, body: observation }));
  try {
    const driver = jobDriver(new JobClient(srv.url, { secret: SECRET }));
    await expect(driver.forget(table)).resolves.toBeUndefined();
    await expect(driver.clearLeftovers(table)).resolves.toBeUndefined();
    await expect(driver.observe(table)).resolves.toMatchObject({ exists: false });
    await expect(driver.observe(table)).resolves.toMatchObject({ exists: false });
    expect(srv.requests).toEqual(["forget_catalog", "clear_leftovers", "observe", "observe"]);
  } finally {
    srv.close();
  }
});

test.each([
  ["BadCsv", 422, "BAD_CSV", false],
  ["SchemaRefused", 422, "SCHEMA_REFUSED", false],
  ["BadRequest", 400, "BAD_REQUEST", false],
  ["SparkError", 500, "SPARK_ERROR", true],
])("the job server's %s (HTTP %i) comes out as %s", async (kind, status, code, retryable) => {
  const srv = await sloppyServer(() => ({ status, body: { ok: false, error: { kind, message: `it was ${kind}`, detail: "Traceback…" } } }));
  try {
    const err = await jobDriver(new JobClient(srv.url, { secret: SECRET })).write(table, { uri: "s3a://w/x.csv", hash: "h", name: "x.csv" }, "g").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeformError);
    expect(err).toMatchObject({ code, retryable, message: `it was ${kind}` });
  } finally {
    srv.close();
  }
});

test("a job server that doesn't answer is SPARK_UNAVAILABLE, retried", async () => {
  const srv = await sloppyServer(() => ({ status: 200, body: observation }));
  srv.close();
  const err = await jobDriver(new JobClient(srv.url, { secret: SECRET })).observe(table).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: "SPARK_UNAVAILABLE", retryable: true });
});
