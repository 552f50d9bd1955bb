import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Observation } from "../../lake/jobClient";
import pino from "pino";
import { LakeformError } from "../../lake/errors";
import { act } from "../../reconciler/act";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import {
  BATCH_OBJECT_MAX_BYTES,
  diffPrefix,
  isPrefixSource,
  newestApplied,
  planBatches,
  PrefixStore,
  prefixRefusal,
  type ListedObject,
} from "../../lake/prefixSources";
import { SourceHashCache } from "../../lake/sourceHash";
import { parseTables, type TableSpec } from "../../lake/spec";
import { initialStatus } from "../../reconciler/pass";
import { plan } from "../../reconciler/plan";
import { reportApplying } from "../../reconciler/report";

/** An in-memory bucket answering the three calls PrefixStore makes (ListObjectsV2 paginated by 1000, Get, Put). */
function memoryS3(objects = new Map<string, { body: Buffer; etag: string }>()) {
  let etags = 0;
  const calls: string[] = [];
  const client = {
    calls,
    objects,
    put(bucketKey: string, body: string) {
      objects.set(bucketKey, { body: Buffer.from(body), etag: `"e${++etags}"` });
    },
    async send(cmd: unknown) {
      if (cmd instanceof ListObjectsV2Command) {
        calls.push("list");
        const { Bucket, Prefix = "", ContinuationToken } = cmd.input;
        const keys = [...objects.keys()].filter((k) => k.startsWith(`${Bucket}/${Prefix}`)).sort();
        const start = ContinuationToken ? Number(ContinuationToken) : 0;
        const page = keys.slice(start, start + 1000);
        return {
          Contents: page.map((k) => ({ Key: k.slice(Bucket!.length + 1), Size: objects.get(k)!.body.length, ETag: objects.get(k)!.etag })),
          NextContinuationToken: start + 1000 < keys.length ? String(start + 1000) : undefined,
        };
      }
      if (cmd instanceof GetObjectCommand) {
        calls.push("get");
        const o = objects.get(`${cmd.input.Bucket}/${cmd.input.Key}`);
        if (!o) throw Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
        if (cmd.input.IfMatch && cmd.input.IfMatch !== o.etag) throw Object.assign(new Error("PreconditionFailed"), { name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
        return { Body: { transformToString: async () => o.body.toString("utf8"), transformToByteArray: async () => new Uint8Array(o.body) } };
      }
      if (cmd instanceof PutObjectCommand) {
        calls.push("put");
        objects.set(`${cmd.input.Bucket}/${cmd.input.Key}`, { body: Buffer.from(cmd.input.Body as string), etag: `"e${++etags}"` });
        return {};
      }
      throw new Error(`unexpected ${String(cmd)}`);
    },
  };
  return client;
}

const where = { database: "default", name: "orders" };
const obj = (key: string, etag: string, size = 10): ListedObject => ({ location: `s3://land/orders/${key}`, etag, size });

describe("prefix sources: which sources are watched", () => {
  test("a trailing slash, or a glob declared with onChange; a plain glob keeps today's content-hash reading", () => {
    expect(isPrefixSource("s3://land/orders/")).toBe(true);
    expect(isPrefixSource("landing/")).toBe(true);
    expect(isPrefixSource("s3://land/orders/*.csv")).toBe(false);
    expect(isPrefixSource("s3://land/orders/*.csv", { onChange: "ignore" })).toBe(true);
    expect(isPrefixSource("data/a.csv", { onChange: "ignore" })).toBe(false);
  });

  test("tables.yaml: onChange per source, pollInterval per table (bad values name their field)", () => {
    const { tables } = parseTables(
      "tables:\n  - name: o\n    format: hudi\n    primaryKey: id\n    pollInterval: 5m\n    sources:\n      - { path: s3://land/orders/, onChange: reapply }\n",
      "t.yaml",
    );
    expect(tables[0].pollIntervalMs).toBe(300_000);
    expect(tables[0].sourceReads?.["s3://land/orders/"]).toEqual({ onChange: "reapply" });
    expect(() => parseTables("tables:\n  - name: o\n    format: hudi\n    primaryKey: id\n    pollInterval: soon\n    sources: [x/]\n", "t.yaml")).toThrow(/t.yaml:5: tables.0.pollInterval: must be a duration/);
    expect(() => parseTables("tables:\n  - name: o\n    format: hudi\n    primaryKey: id\n    sources:\n      - { path: x/, onChange: redo }\n", "t.yaml")).toThrow(/t.yaml:6: tables.0.sources.0: /);
  });
});

describe("prefix sources: tracking by key and ETag", () => {
  test("new, changed and unchanged objects, in key order; the same modification time is never looked at", () => {
    const listed = [obj("c.csv", '"3"'), obj("a.csv", '"1"'), obj("b.csv", '"9"'), obj("d.csv", '"4"')];
    const { fresh, changed } = diffPrefix(listed, { "s3://land/orders/a.csv": { etag: '"1"', size: 10 }, "s3://land/orders/b.csv": { etag: '"2"', size: 10 } });
    expect(fresh.map((o) => o.location)).toEqual(["s3://land/orders/c.csv", "s3://land/orders/d.csv"]);
    expect(changed.map((c) => [c.obj.location, c.was.etag, c.obj.etag])).toEqual([["s3://land/orders/b.csv", '"2"', '"9"']]);
  });

  test("a local file: size + mtime the same is unchanged unread; touched with the same content hash is unchanged; else changed", () => {
    const t = { "/l/a.csv": { size: 5, mtimeMs: 1, hash: "h1" } };
    expect(diffPrefix([{ location: "/l/a.csv", size: 5, mtimeMs: 1 }], t).changed).toHaveLength(0);
    expect(diffPrefix([{ location: "/l/a.csv", size: 5, mtimeMs: 2, hash: "h1" }], t).changed).toHaveLength(0);
    expect(diffPrefix([{ location: "/l/a.csv", size: 5, mtimeMs: 2, hash: "h2" }], t).changed).toHaveLength(1);
  });

  test("batches: small CSVs together in key order, a Parquet or a large object alone; manifests cumulative, ids by sequence", () => {
    const pending = [obj("a.csv", "1"), obj("b.csv", "2"), { ...obj("c.parquet", "3") }, obj("d.csv", "4"), obj("e.csv", "5", BATCH_OBJECT_MAX_BYTES + 1), obj("f.csv", "6")];
    const out = planBatches(where, "s3://land/orders/", undefined, { seq: 4, objects: { "s3://land/orders/0.csv": { etag: "0", size: 1 } } }, pending);
    expect(out.map((s) => s.batch!.objects.map((o) => path.basename(o.location)))).toEqual([["a.csv", "b.csv"], ["c.parquet"], ["d.csv"], ["e.csv"], ["f.csv"]]);
    expect(out.map((s) => s.batch!.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(Object.keys(out[4].batch!.manifest.objects)).toHaveLength(7);
    expect(Object.keys(out[0].batch!.manifest.objects)).toHaveLength(3);
    expect(out[0].batch!.manifestKey).toMatch(/^_lakeform\/prefix\/default\/orders\/[0-9a-f]{16}\/0000000005-[0-9a-f]{64}\.json$/);
    expect(out[0].bytes).toBe(20);
    expect(out[0].name).toBe("a.csv … b.csv (2 objects, batch 5)");
    expect(new Set(out.map((s) => s.hash)).size).toBe(5);
    // The same object at another sequence is another write (an object changed back is applied again).
    const again = planBatches(where, "s3://land/orders/", undefined, { seq: 9, objects: {} }, [obj("a.csv", "1")]);
    expect(again[0].hash).not.toBe(planBatches(where, "s3://land/orders/", undefined, { seq: 4, objects: {} }, [obj("a.csv", "1")])[0].hash);
  });

  test("JSON Lines objects join; a .json object (which may be one JSON document) is a write of its own", () => {
    const pending = [obj("a.jsonl", "1"), obj("b.ndjson", "2"), obj("c.json", "3"), obj("d.jsonl", "4"), obj("e.json.gz", "5"), obj("f.jsonl", "6")];
    const out = planBatches(where, "s3://land/orders/", undefined, { seq: 0, objects: {} }, pending);
    expect(out.map((s) => s.batch!.objects.map((o) => path.basename(o.location)))).toEqual([["a.jsonl", "b.ndjson"], ["c.json"], ["d.jsonl"], ["e.json.gz"], ["f.jsonl"]]);
  });

  test("the state starts from the newest manifest whose batch is applied; one that never committed is ignored", () => {
    const id = (c: string) => c.repeat(64);
    const keys = [`p/0000000001-${id("a")}.json`, `p/0000000002-${id("b")}.json`, `p/0000000003-${id("c")}.json`];
    expect(newestApplied(keys, new Set([id("a"), id("b")]))).toBe(keys[1]);
    expect(newestApplied(keys, new Set())).toBeUndefined();
  });
});

describe("prefix sources: a listing per pass, the lake's records, onChange", () => {
  const declared = "s3://land/orders/";
  const spec = (onChange?: "reapply" | "ignore" | "fail"): TableSpec =>
    parseTables(`tables:\n  - name: orders\n    format: hudi\n    primaryKey: id\n    sources:\n      - { path: "${declared}"${onChange ? `, onChange: ${onChange}` : ""} }\n`, "t.yaml").tables[0];
  const lake = (hashes: string[]): Observation => ({ exists: hashes.length > 0, inCatalog: true, filesExist: true, commits: hashes.map((h, i) => ({ commit: String(i), time: "t", sourceHash: h })), rowCount: 0, columns: [] });

  test("1,200 objects: one listing (two pages), no read of any object; applied, a fresh store agrees nothing is pending", async () => {
    const s3 = memoryS3();
    for (let i = 0; i < 1200; i++) s3.put(`land/orders/${String(i).padStart(5, "0")}.csv`, `id,v\n${i},x\n`);
    const store = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const first = await store.resolve(where, declared, undefined, "/", new Set());
    expect(first.sources).toHaveLength(1);
    expect(first.sources[0].batch!.objects).toHaveLength(1200);
    expect(first.observed).toMatchObject({ listed: 1200, tracked: 0, fresh: 1200, changed: [], batches: 1 });
    expect(s3.calls.filter((c) => c === "get")).toHaveLength(0);
    // The write lands it: the manifest, then one file of every row under one header.
    await store.record(first.sources[0].batch!);
    const body = (await store.concatenate(first.sources[0], { format: "csv", compression: "none" }, true)).toString();
    expect(body.split("\n").filter(Boolean)).toHaveLength(1201);
    expect(body.startsWith("id,v\n0,x\n1,x\n")).toBe(true);
    // The commit carries the batch id: another reconciler (fresh state) lists twice, reads one manifest, plans nothing.
    s3.calls.length = 0;
    const other = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const again = await other.resolve(where, declared, undefined, "/", new Set([first.sources[0].hash]));
    expect(again.sources).toHaveLength(0);
    expect(again.observed).toMatchObject({ listed: 1200, tracked: 1200, fresh: 0 });
    expect(s3.calls).toEqual(["list", "list", "list", "get"]);
    s3.calls.length = 0;
    await other.resolve(where, declared, undefined, "/", new Set([first.sources[0].hash]));
    expect(s3.calls).toEqual(["list", "list", "list"]);
  });

  test("a changed object: fail refuses naming the key (nothing written); ignore skips it; reapply writes it again", async () => {
    const s3 = memoryS3();
    s3.put("land/orders/a.csv", "id,v\n1,x\n");
    s3.put("land/orders/b.csv", "id,v\n2,x\n");
    const store = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const first = await store.resolve(where, declared, undefined, "/", new Set());
    await store.record(first.sources[0].batch!);
    const applied = new Set([first.sources[0].hash]);
    s3.put("land/orders/b.csv", "id,v\n2,changed\n");
    s3.put("land/orders/c.csv", "id,v\n3,x\n");

    const failed = await store.resolve(where, declared, undefined, "/", applied);
    const p = plan(spec(), { sources: failed.sources, lake: lake([...applied]), prefixes: [failed.observed] });
    expect(p.kind).toBe("fail");
    expect(p.kind === "fail" && p.error.message).toMatch(/s3:\/\/land\/orders\/b\.csv changed after it was applied \(ETag "e2" → ETag "e4"\); onChange is fail/);
    expect(prefixRefusal([failed.observed])?.code).toBe("SOURCE_UNREADABLE");

    const ignored = await store.resolve(where, declared, { onChange: "ignore" }, "/", applied);
    expect(ignored.sources.flatMap((s) => s.batch!.objects.map((o) => o.location))).toEqual(["s3://land/orders/c.csv"]);
    const ip = plan(spec("ignore"), { sources: ignored.sources, lake: lake([...applied]), prefixes: [ignored.observed] });
    expect(ip.kind === "act" && ip.action.reason).toBe("1 new object(s) under s3://land/orders/ (1 write(s))");

    const reapplied = await store.resolve(where, declared, { onChange: "reapply" }, "/", applied);
    expect(reapplied.sources.flatMap((s) => s.batch!.objects.map((o) => o.location))).toEqual(["s3://land/orders/b.csv", "s3://land/orders/c.csv"]);
    expect((await store.concatenate(reapplied.sources[0], { format: "csv", compression: "none" }, true)).toString()).toBe("id,v\n2,changed\n3,x\n");
    // Once in, both are tracked at their new ETag: nothing pending.
    await store.record(reapplied.sources[0].batch!);
    const after = await store.resolve(where, declared, undefined, "/", new Set([...applied, reapplied.sources[0].hash]));
    expect(after.sources).toHaveLength(0);
    const up = plan(spec(), { sources: after.sources, lake: lake([...applied, reapplied.sources[0].hash]), prefixes: [after.observed] });
    expect(up.kind === "upToDate" && up.synced.message).toBe("s3://land/orders/: 3 object(s) applied");
    // The status counts a prefix's objects: applied as they are now, of those listed.
    const action = { kind: "apply" as const, calls: [], reason: "r" };
    const prev = initialStatus(spec(), "t.yaml");
    expect(reportApplying(prev, action, new Date(), undefined, { sources: failed.sources, lake: lake([...applied]), prefixes: [failed.observed] }).sources).toEqual({ applied: 1, total: 3 });
    expect(reportApplying(prev, action, new Date(), undefined, { sources: ignored.sources, lake: lake([...applied]), prefixes: [ignored.observed] }).sources).toEqual({ applied: 2, total: 3 });
    expect(reportApplying(prev, action, new Date(), undefined, { sources: after.sources, lake: lake([]), prefixes: [after.observed] }).sources).toEqual({ applied: 3, total: 3 });
  });

  test("objects whose headers differ (a column added): the landing names both and plans again, the new header starting a batch of its own", async () => {
    const s3 = memoryS3();
    s3.put("land/orders/a.csv", "id,v\n1,x\n");
    s3.put("land/orders/b.csv", "id,v\n2,y\n");
    s3.put("land/orders/c.csv", "id,v,w\n3,z,new\n");
    s3.put("land/orders/d.csv", "id,v,w\n4,z,new\n");
    const store = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const r = await store.resolve(where, declared, undefined, "/", new Set());
    expect(r.sources).toHaveLength(1);
    await expect(store.concatenate(r.sources[0], { format: "csv", compression: "none" }, true)).rejects.toMatchObject({
      code: "BATCH_REPLANNED",
      retryable: true,
      message: expect.stringMatching(/c\.csv's header \("id,v,w"\) differs from s3:\/\/land\/orders\/a\.csv's \("id,v"\): it starts a batch of its own/),
    });
    const again = await store.resolve(where, declared, undefined, "/", new Set());
    expect(again.sources.map((s) => s.batch!.objects.map((o) => path.basename(o.location)))).toEqual([["a.csv", "b.csv"], ["c.csv", "d.csv"]]);
    const bodies = await Promise.all(again.sources.map((s) => store.concatenate(s, { format: "csv", compression: "none" }, true)));
    expect(bodies.map(String)).toEqual(["id,v\n1,x\n2,y\n", "id,v,w\n3,z,new\n4,z,new\n"]);
    // The second batch's manifest tracks all four, in order after the first's.
    expect(again.sources.map((s) => [s.batch!.seq, Object.keys(s.batch!.manifest.objects).length])).toEqual([[1, 2], [2, 4]]);
  });

  test("a joined batch's line is said as its object's: the landed file's line 5 is b.csv's line 3 (its header left out), whether or not this process landed it", async () => {
    const s3 = memoryS3();
    s3.put("land/orders/a.csv", "id,v\n1,x\n2,y\n");
    s3.put("land/orders/b.csv", "\ufeffid,v\n3,z\n4,bad\n5,w");
    s3.put("land/orders/c.csv", "id,v\n");
    s3.put("land/orders/d.csv", "id,v\n6,q\n");
    const store = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const [batch] = (await store.resolve(where, declared, undefined, "/", new Set())).sources;
    const csv = { format: "csv", compression: "none" } as const;
    const body = String(await store.concatenate(batch, csv, true)).split("\n");
    expect(body[4]).toBe("4,bad");
    const lines = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => store.lineOf(batch, n, csv)));
    expect(lines.map((l) => l && `${path.basename(l.location)}:${l.line}`)).toEqual(["a.csv:1", "a.csv:2", "a.csv:3", "b.csv:2", "b.csv:3", "b.csv:4", "d.csv:2", undefined, undefined]);
    // A store that never landed it reads the objects again to say so.
    const fresh = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    expect(await fresh.lineOf(batch, 5, csv)).toEqual({ location: "s3://land/orders/b.csv", line: 3 });
  });

  test("a joined batch's failed write names the object's line too (act), other failures unchanged", async () => {
    const s3 = memoryS3();
    s3.put("land/orders/a.csv", "id,v\n1,x\n");
    s3.put("land/orders/b.csv", "id,v\n2,y\n3,bad\n");
    const store = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const [batch] = (await store.resolve(where, declared, undefined, "/", new Set())).sources;
    const spec = parseTables(`apiVersion: lakeform/v1\ntables:\n  - { name: orders, format: iceberg, primaryKey: id, sources: ["${declared}"] }\n`, "t.yaml").tables[0];
    const fail = (message: string) => async () => {
      throw new LakeformError("BAD_CSV", message);
    };
    const deps = (message: string) => ({
      driver: { write: fail(message) } as unknown as LakeDriver,
      sources: { resolve: async () => [], land: async () => "s3a://wh/x.csv", batchLine: (...a: Parameters<PrefixStore["lineOf"]>) => store.lineOf(...a) } as SourceStore,
      warehouseBucket: "wh",
      baseDir: "/",
    });
    const action = { kind: "apply" as const, reason: "r", calls: [{ op: "write" as const, source: batch }] };
    const log = pino({ level: "silent" });
    await expect(act(deps("00000.csv … (2 objects, batch 1), line 4: 'bad' is not a number (column v)"), spec, action, log)).rejects.toMatchObject({
      code: "BAD_CSV",
      message: "00000.csv … (2 objects, batch 1), line 4: 'bad' is not a number (column v) (line 4 of the batch is line 3 of s3://land/orders/b.csv)",
      details: { object: "s3://land/orders/b.csv", objectLine: 3 },
    });
    await expect(act(deps("the header has no column id"), spec, action, log)).rejects.toMatchObject({ code: "BAD_CSV", message: "the header has no column id" });
  });

  test("a local folder: path + size + mtime + content hash; a touched file with the same content is not applied again", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lf-prefix-"));
    fs.mkdirSync(path.join(dir, "landing"));
    fs.writeFileSync(path.join(dir, "landing", "b.jsonl"), '{"id":2}');
    fs.writeFileSync(path.join(dir, "landing", "a.jsonl"), '{"id":1}\n');
    const s3 = memoryS3();
    const store = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    const first = await store.resolve(where, "landing/", undefined, dir, new Set());
    expect(first.sources[0].batch!.objects.map((o) => [path.basename(o.location), o.hash?.length])).toEqual([["a.jsonl", 64], ["b.jsonl", 64]]);
    expect((await store.concatenate(first.sources[0], { format: "jsonl", compression: "none" }, true)).toString()).toBe('{"id":1}\n{"id":2}\n');
    await store.record(first.sources[0].batch!);
    const applied = new Set([first.sources[0].hash]);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, "landing", "a.jsonl"), later, later);
    const fresh = new PrefixStore(s3 as unknown as S3Client, "wh", new SourceHashCache());
    expect((await fresh.resolve(where, "landing/", undefined, dir, applied)).sources).toHaveLength(0);
    fs.writeFileSync(path.join(dir, "landing", "a.jsonl"), '{"id":1,"v":"new"}\n');
    const changed = await fresh.resolve(where, "landing/", undefined, dir, applied);
    expect(changed.observed.changed.map((c) => path.basename(c.location))).toEqual(["a.jsonl"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("prefix sources: a local folder is watched", () => {
  test("a file anywhere under a declared folder concerns its table; the folder is watched from itself", async () => {
    const { WatchScope } = await import("../../reconciler/watch");
    const scope = new WatchScope("/p/tables.yaml", [{ database: "default", name: "e", sources: ["landing/"] }], () => true);
    expect(scope.concerned("/p/landing/2024/q1.csv")).toEqual(["default.e"]);
    expect(scope.concerned("/p/landing")).toEqual([]);
    expect(scope.concerned("/p/other.csv")).toEqual([]);
    expect(scope.relevant("/p/landing/2024", true)).toBe(true);
    expect(scope.dirs.sort()).toEqual(["/p", "/p/landing"]);
  });
});
