/**
 * A streamed CSV ingest's checks (api/csvStream.ts): the header record read from the first
 * bytes however they are cut into chunks, checked against the table before anything goes on; a
 * body without a data row or over its limit refused; everything else passed through unchanged.
 */
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { checked, csvStreamFor, CsvStreamCheck, MAX_HEADER_BYTES, readBounded } from "../../api/csvStream";
import { LakeformError } from "../../lake/errors";

const table = { name: "people", primaryKey: ["id"], orderingField: "version", partitionBy: [] };

/** The body cut into chunks of `size` bytes, through the check; resolves with what came out. */
async function through(body: string | Buffer, size = 3, check = csvStreamFor(table, 10_000)): Promise<{ out: Buffer; check: CsvStreamCheck }> {
  const bytes = Buffer.from(body);
  const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  const out = await buffer(checked(Readable.from(chunks), check));
  return { out, check };
}

async function refusal(body: string | Buffer, size = 3, check = csvStreamFor(table, 10_000)): Promise<{ code: string; message: string }> {
  try {
    await through(body, size, check);
  } catch (err) {
    expect(err).toBeInstanceOf(LakeformError);
    return { code: (err as LakeformError).code, message: (err as LakeformError).message };
  }
  throw new Error("the body was not refused");
}

test.each([1, 2, 5, 64, 100_000])("the header is read whole across chunks of %d bytes, and the body comes out unchanged", async (size) => {
  const body = "ID,Name,Version\r\n1,ada,1\r\n2,\"grace, hopper\",1\r\n";
  const { out, check } = await through(body, size);
  expect(out.toString()).toBe(body);
  expect(check.header).toEqual(["ID", "Name", "Version"]);
  expect(check.bytes).toBe(Buffer.byteLength(body));
});

test.each([1, 2, 3, 4, 64])("a header with a quoted line break, a byte-order mark and empty lines before it (chunks of %d bytes)", async (size) => {
  const body = "\uFEFF\n\r\n\"id\",\"a note;\nover two lines\",version\n1,2,x\n";
  const { out, check } = await through(body, size);
  expect(check.header).toEqual(["id", "a note;\nover two lines", "version"]);
  expect(out.toString()).toBe(body);
});

test("a header without a column tables.yaml names is SCHEMA_REFUSED before anything goes on", async () => {
  const check = csvStreamFor(table, 10_000);
  const passed: Buffer[] = [];
  check.on("data", (d: Buffer) => passed.push(d));
  await expect(new Promise((resolve, reject) => {
    check.on("error", reject);
    check.on("end", resolve);
    check.write(Buffer.from("id,name\n1,x\n"));
    check.end();
  })).rejects.toMatchObject({ code: "SCHEMA_REFUSED", message: expect.stringMatching(/version/) });
  expect(passed).toEqual([]);
});

test.each([
  ["an empty body", "", /header line and at least one row/],
  ["a header alone", "id,version\n", /header line and at least one row/],
  ["a header without a line end", "id,version", /header line and at least one row/],
  ["a header and blank lines", "id,version\n\n  \r\n", /header line and at least one row/],
  ["a byte-order mark alone", "\uFEFF", /header line and at least one row/],
])("%s is BAD_CSV", async (_name, body, message) => {
  expect(await refusal(body)).toEqual({ code: "BAD_CSV", message: expect.stringMatching(message) });
});

test("a first line longer than MAX_HEADER_BYTES is BAD_CSV: a header is expected first", async () => {
  const check = csvStreamFor(table, 10 * MAX_HEADER_BYTES);
  expect(await refusal("x".repeat(MAX_HEADER_BYTES + 10) + "\n1\n", 64 * 1024, check)).toEqual({ code: "BAD_CSV", message: expect.stringMatching(/no header line/) });
});

test("a body over its limit is PAYLOAD_TOO_LARGE, however it is cut", async () => {
  const body = "id,version\n" + "1,1\n".repeat(100);
  expect(await refusal(body, 7, csvStreamFor(table, 100))).toEqual({ code: "PAYLOAD_TOO_LARGE", message: expect.stringMatching(/more than 100 bytes/) });
  expect((await through(body, 7, csvStreamFor(table, body.length))).out.length).toBe(body.length);
});

test("the source failing fails the checked stream with its own error", async () => {
  const source = new Readable({ read() {} });
  const out = checked(source, csvStreamFor(table, 1000));
  const done = buffer(out);
  source.push("id,version\n");
  source.destroy(new Error("client went away"));
  await expect(done).rejects.toThrow("client went away");
});

test("readBounded reads a small body whole and refuses a larger one", async () => {
  expect((await readBounded(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), 4, "x")).toString()).toBe("abcd");
  await expect(readBounded(Readable.from([Buffer.from("ab"), Buffer.from("cde")]), 4, "a CSV for the Trino path")).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE", message: expect.stringMatching(/up to 4 bytes/) });
});
