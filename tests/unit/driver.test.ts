/**
 * The job driver over the real job client, against a small HTTP server on loopback that answers
 * as the job server does: failures come out as LakeformErrors with their codes.
 */
import * as net from "node:net";
import { LakeformError } from "../../lake/errors";
import { JobClient } from "../../lake/jobClient";
import { jobDriver } from "../../reconciler/driver";

/** An HTTP/1.1 server on a raw socket answering each POST /v1/<op> from `answer(op)`. */
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
        buffered = buffered.slice(end + 4 + (op !== undefined ? length : 0));
        const { status, body } = op === undefined ? { status: 501, body: "Unsupported method" } : answer(op);
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

test("forget and clearLeftovers are the job server's forget_catalog and clear_leftovers; a failure of either is not skipped", async () => {
  const srv = await sloppyServer((op) => (op === "clear_leftovers" ? { status: 500, body: { ok: false, error: { code: "OBJECT_STORE_ERROR", message: "store down" } } } : { status: 200, body: { ok: true, forgotten: true } }));
  try {
    const driver = jobDriver(new JobClient(srv.url, { secret: SECRET }));
    await expect(driver.forget(table)).resolves.toBeUndefined();
    await expect(driver.clearLeftovers(table)).rejects.toMatchObject({ code: "OBJECT_STORE_ERROR", retryable: true });
    expect(srv.requests).toEqual(["forget_catalog", "clear_leftovers"]);
  } finally {
    srv.close();
  }
});

test.each([
  [400, "BAD_CSV", false],
  [422, "SCHEMA_REFUSED", false],
  [400, "BAD_REQUEST", false],
  [500, "SPARK_ERROR", true],
])("the job server's HTTP %i with code %s comes out as that LakeformError", async (status, code, retryable) => {
  const srv = await sloppyServer(() => ({ status, body: { ok: false, error: { code, message: `it was ${code}`, detail: "Traceback…" } } }));
  try {
    const err = await jobDriver(new JobClient(srv.url, { secret: SECRET })).write(table, { uri: "s3a://w/x.csv", hash: "h", name: "x.csv" }, "g").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeformError);
    expect(err).toMatchObject({ code, retryable, message: `it was ${code}` });
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
