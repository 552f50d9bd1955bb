/**
 * The source hash cache: a local source is read (streamed) to hash it only when its size or
 * mtime changed; an unchanged one is answered from the cache without a read.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { sha256, SourceHashCache, sha256Stream } from "../../lake/sourceHash";
import { Sources } from "../../lake/sources";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lf-hashcache-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
// Never called: local sources are hashed without the object store.
const s3 = new S3Client({ region: "us-east-1", endpoint: "http://127.0.0.1:1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });

test("an unchanged local source (same size and mtime) is not read again; a changed mtime is rehashed", async () => {
  const file = path.join(dir, "a.csv");
  fs.writeFileSync(file, "id,v\n1,a\n");
  const stamped = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  fs.utimesSync(file, stamped, stamped);
  const sources = new Sources(s3, "w");
  const [first] = await sources.resolve("a.csv", dir);
  expect(first.hash).toBe(sha256("id,v\n1,a\n"));
  expect([sources.hashes.hits, sources.hashes.misses]).toEqual([0, 1]);

  // Other bytes of the same size under the same mtime: the hash answered is the cached one
  // (a read would have given the new content's), so the file was not read.
  fs.writeFileSync(file, "id,v\n1,z\n");
  fs.utimesSync(file, stamped, stamped);
  const [again] = await sources.resolve("a.csv", dir);
  expect(again.hash).toBe(first.hash);
  expect([sources.hashes.hits, sources.hashes.misses]).toEqual([1, 1]);

  // Same size, new content and mtime: read and hashed again.
  fs.writeFileSync(file, "id,v\n1,b\n");
  const later = new Date(Date.now() + 5_000);
  fs.utimesSync(file, later, later);
  const [changed] = await sources.resolve("a.csv", dir);
  expect([sources.hashes.hits, sources.hashes.misses]).toEqual([1, 2]);
  expect(changed.hash).toBe(sha256("id,v\n1,b\n"));
  expect(changed.hash).not.toBe(first.hash);
});

test("the cache answers only for the stamp it was given (size and version both)", () => {
  const cache = new SourceHashCache();
  cache.set("/d/a.csv", { bytes: 10, version: "1" }, "h1");
  expect(cache.get("/d/a.csv", { bytes: 10, version: "1" })).toBe("h1");
  expect(cache.get("/d/a.csv", { bytes: 11, version: "1" })).toBeUndefined();
  expect(cache.get("/d/a.csv", { bytes: 10, version: "2" })).toBeUndefined();
  expect(cache.get("/d/b.csv", { bytes: 10, version: "1" })).toBeUndefined();
  expect([cache.hits, cache.misses]).toEqual([1, 3]);
});

test("the cache keeps at most its bound of entries, the oldest going first", () => {
  const cache = new SourceHashCache(2);
  for (const n of ["a", "b", "c"]) cache.set(n, { bytes: 1, version: "v" }, n);
  expect(cache.size).toBe(2);
  expect(cache.get("a", { bytes: 1, version: "v" })).toBeUndefined();
  expect(cache.get("c", { bytes: 1, version: "v" })).toBe("c");
});

test("a stream's hash is the content's, read in chunks", async () => {
  const file = path.join(dir, "big.csv");
  const chunk = Buffer.alloc(1024 * 1024, "x");
  fs.writeFileSync(file, Buffer.concat([chunk, chunk, chunk]));
  const got = await sha256Stream(fs.createReadStream(file, { highWaterMark: 64 * 1024 }));
  expect(got).toEqual({ hash: sha256(Buffer.concat([chunk, chunk, chunk])), bytes: 3 * 1024 * 1024 });
});
