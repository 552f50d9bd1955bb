/**
 * The table lease (lake/lease.ts) over an in-memory object store that answers conditional PUTs as
 * S3 does (412 on a failed If-Match / If-None-Match): one winner of a race, expiry frees a dead
 * holder's lease, release and renewal are conditional. The same sequence against real SeaweedFS
 * and MinIO is in e2e 12-faults (two reconcilers) and was checked by hand on both (see the lease's
 * header). The pass's part: a loser reports Standby, not an error, and acts only under the lease
 * after observing again.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { getCondition } from "../../lake/conditions";
import { JobClient, type Observation } from "../../lake/jobClient";
import { TableLeases, fencedBy, leaseKey } from "../../lake/lease";
import type { TableSpec } from "../../lake/spec";
import type { LakeDriver } from "../../reconciler/driver";
import { initialStatus, runPass } from "../../reconciler/pass";

class ConditionalStore {
  objects = new Map<string, { body: string; etag: string }>();
  private n = 0;
  async send(cmd: { constructor: { name: string }; input: Record<string, string | undefined> }): Promise<unknown> {
    const { Key, Body, IfMatch, IfNoneMatch } = cmd.input;
    const cur = this.objects.get(Key!);
    const err = (code: number, name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
    if (cmd.constructor.name === "GetObjectCommand") {
      if (!cur) throw err(404, "NoSuchKey");
      return { ETag: cur.etag, Body: { transformToString: async () => cur.body } };
    }
    if (IfNoneMatch === "*" && cur) throw err(412, "PreconditionFailed");
    if (IfMatch !== undefined && (!cur || cur.etag !== IfMatch)) throw err(412, "PreconditionFailed");
    const etag = `"e${++this.n}"`;
    this.objects.set(Key!, { body: Body!, etag });
    return { ETag: etag };
  }
}

const t = { database: "default", name: "leads" };

function pair(ttlMs = 1000) {
  const store = new ConditionalStore();
  let clock = 1_000_000;
  const now = () => clock;
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const mk = (holder: string) => new TableLeases(store as never, "w", { holder, ttlMs, now, log });
  return { store, a: mk("A"), b: mk("B"), tick: (ms: number) => (clock += ms), lines };
}

test("of two racing writers exactly one takes the lease; the other sees who holds it", async () => {
  const { a, b } = pair();
  const [ra, rb] = await Promise.all([a.tryAcquire(t, "write x"), b.tryAcquire(t, "write y")]);
  expect([ra.ok, rb.ok].filter(Boolean)).toHaveLength(1);
  const loser = ra.ok ? rb : ra;
  expect(loser.ok ? undefined : loser.heldBy.holder).toBe(ra.ok ? "A" : "B");
  if (ra.ok) await ra.lease.release();
  if (rb.ok) await rb.lease.release();
});

test("a released lease is free at once; a killed holder's lease is free once it expires", async () => {
  const { store, a, b, tick } = pair(1000);
  const first = await a.tryAcquire(t, "w");
  expect(first.ok).toBe(true);
  if (first.ok) await first.lease.release();
  const second = await b.tryAcquire(t, "w");
  expect(second.ok).toBe(true);
  // B is "killed": it neither renews nor releases.
  if (second.ok) second.lease.release = async () => undefined;
  expect((await a.tryAcquire(t, "w")).ok).toBe(false);
  tick(1001);
  const third = await a.tryAcquire(t, "w");
  expect(third.ok).toBe(true);
  expect(JSON.parse(store.objects.get(leaseKey(t))!.body).holder).toBe("A");
  // The old holder's renewal now fails (its ETag is gone): it knows it lost the lease.
  if (second.ok) expect(await second.lease.renew()).toBe(false);
  if (third.ok) expect(await third.lease.renew()).toBe(true);
});

test("acquire waits its turn and gives up with a retryable TABLE_BUSY naming the holder", async () => {
  const { a, b } = pair(60_000);
  const held = await a.tryAcquire(t, "long write");
  expect(held.ok).toBe(true);
  await expect(b.acquire(t, "w", 0)).rejects.toMatchObject({ code: "TABLE_BUSY", retryable: true });
  const waiting = b.acquire(t, "w", 5_000, 20);
  setTimeout(() => held.ok && void held.lease.release(), 50);
  const lease = await waiting;
  expect(lease.record.holder).toBe("B");
  await lease.release();
});

const spec: TableSpec = {
  name: "leads", database: "default", format: "hudi", primaryKey: ["index"], partitionBy: [], sources: ["a.csv"],
  schemaPolicy: "addColumns", prune: false, generation: "g1", line: 3,
};
const notApplied: Observation = { exists: true, inCatalog: true, filesExist: true, commits: [], rowCount: 3, columns: [{ name: "index", type: "int" }] };
const applied: Observation = { ...notApplied, commits: [{ commit: "c1", time: "2026-11-25T09:00:00Z", sourceHash: "a", generation: "g1" }] };

function deps(leases: TableLeases, observations: Observation[], writes: string[]) {
  let i = 0;
  const driver = {
    observe: async () => observations[Math.min(i++, observations.length - 1)],
    write: async (_t: unknown, s: { hash: string }) => {
      writes.push(s.hash);
      return { commit: "c2", rowsWritten: 3, renamed: {}, columns: ["index"], addedColumns: [], durationMs: 1 };
    },
  } as unknown as LakeDriver;
  const sources = { resolve: async () => [{ declared: "a.csv", location: "/d/a.csv", hash: "a", bytes: 1 }], land: async () => "s3a://w/a.csv" };
  return { driver, sources, warehouseBucket: "w", baseDir: "/d", leases };
}

const ctx = () => ({ prev: initialStatus(spec, "/d/tables.yaml"), declaredIn: "/d/tables.yaml", memory: {}, standbyMs: 1500, log: pino({ level: "silent" }) });

test("a pass whose table another writer holds reports Standby, writes nothing, and looks again soon", async () => {
  const { a, b } = pair(60_000);
  const held = await a.tryAcquire(t, "reconciler: 1 source(s) not applied yet");
  const writes: string[] = [];
  const r = await runPass(deps(b, [notApplied], writes), spec, ctx());
  expect(writes).toEqual([]);
  expect(r.ok).toBe(true);
  expect(r.standby).toBe(true);
  expect(r.acted).toBe(false);
  // Not a failure: looked at again soon, at a fixed time, not after a backoff.
  expect(r.next).toEqual({ kind: "requeue", afterMs: 1500 });
  expect(getCondition(r.status.conditions, "Synced")).toMatchObject({ status: "False", reason: "Standby" });
  expect(getCondition(r.status.conditions, "Synced")?.message).toContain("A (reconciler: 1 source(s) not applied yet");
  if (held.ok) await held.lease.release();
});

test("under the lease the pass observes again: a source the other writer applied meanwhile is not written twice", async () => {
  const { b } = pair(60_000);
  const writes: string[] = [];
  // First look: not applied; the look under the lease: applied by the other writer.
  const r = await runPass(deps(b, [notApplied, applied], writes), spec, ctx());
  expect(writes).toEqual([]);
  expect(r.acted).toBe(false);
  expect(getCondition(r.status.conditions, "Synced")).toMatchObject({ status: "True", reason: "UpToDate" });
  // The lease was released: the next writer takes it at once.
  expect((await b.tryAcquire(t, "next")).ok).toBe(true);
});

test("the holder applies the source once and releases the lease", async () => {
  const { a, b } = pair(60_000);
  const writes: string[] = [];
  const r = await runPass(deps(b, [notApplied, notApplied], writes), spec, ctx());
  expect(writes).toEqual(["a"]);
  expect(r.acted).toBe(true);
  expect((await a.tryAcquire(t, "next")).ok).toBe(true);
});

// ------------------------------------------------------------------ fencing

test("the generation goes up each time the lease changes hands, and renewals keep it", async () => {
  const { store, a, b, tick } = pair(1000);
  const gen = () => JSON.parse(store.objects.get(leaseKey(t))!.body).generation;
  const first = await a.tryAcquire(t, "w");
  if (!first.ok) throw new Error("not taken");
  expect([first.lease.fence, gen()]).toEqual([{ key: "_lakeform/leases/default/leads.json", generation: 1 }, 1]);
  expect(await first.lease.renew()).toBe(true);
  expect(gen()).toBe(1);
  await first.lease.release();
  const second = await b.tryAcquire(t, "w");
  if (!second.ok) throw new Error("not taken");
  expect(second.lease.fence.generation).toBe(2);
  second.lease.release = async () => undefined; // killed
  tick(1001);
  const third = await a.tryAcquire(t, "w");
  if (!third.ok) throw new Error("not taken");
  expect([third.lease.fence.generation, gen()]).toEqual([3, 3]);
  await third.lease.release();
});

test("a renewal that finds the lease taken over logs it and aborts the lease's signal with LEASE_LOST", async () => {
  const { a, b, tick, lines } = pair(1000);
  const held = await a.tryAcquire(t, "write x");
  if (!held.ok) throw new Error("not taken");
  tick(1001);
  const taken = await b.tryAcquire(t, "write y");
  expect(taken.ok).toBe(true);
  expect(held.lease.signal.aborted).toBe(false);
  await held.lease.keep();
  expect(held.lease.lost).toBe(true);
  expect(held.lease.signal.aborted).toBe(true);
  expect(held.lease.signal.reason).toMatchObject({ code: "LEASE_LOST", retryable: true, httpStatus: 409 });
  expect(lines.find((l) => String(l.msg).startsWith("Lease lost"))).toMatchObject({ level: 50, table: "default.leads", generation: 1, holder: "A" });
});

test("a renewal the object store fails is logged; the lease is lost only once it has expired", async () => {
  const { store, a, tick, lines } = pair(3000);
  const held = await a.tryAcquire(t, "w");
  if (!held.ok) throw new Error("not taken");
  const send = store.send.bind(store);
  store.send = async () => {
    throw Object.assign(new Error("connect ECONNREFUSED"), { $metadata: { httpStatusCode: 503 } });
  };
  tick(1000);
  await held.lease.keep();
  expect([held.lease.lost, held.lease.signal.aborted]).toEqual([false, false]);
  expect(lines.find((l) => l.msg === "Lease renewal failed")).toMatchObject({ level: 40, expired: false });
  tick(2001);
  await held.lease.keep();
  expect([held.lease.lost, held.lease.signal.aborted]).toEqual([true, true]);
  store.send = send;
});

/** A job server stand-in: answers each request's body back, or never (hang), so an abort can be seen. */
async function echoServer(hang: boolean) {
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      bodies.push(JSON.parse(body));
      if (!hang) res.end(JSON.stringify({ ok: true, dropped: true }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { bodies, url, close: () => new Promise((r) => server.close(r)).then(() => server.closeAllConnections()) };
}

const table = { name: "leads", database: "default", format: "hudi" as const, location: "s3a://w/default/leads" };

test("requests made fenced by a lease carry its key and generation; others carry none", async () => {
  const srv = await echoServer(false);
  const { a } = pair(60_000);
  const jobs = new JobClient(srv.url, { secret: "s".repeat(32) });
  try {
    await a.with(t, "w", 0, () => jobs.drop(table, false));
    await jobs.drop(table, false);
    expect(srv.bodies.map((b) => b.lease)).toEqual([{ key: "_lakeform/leases/default/leads.json", generation: 1 }, undefined]);
  } finally {
    await srv.close();
  }
});

test("a lost lease aborts the job server request in flight under it: it fails with LEASE_LOST", async () => {
  const srv = await echoServer(true);
  const { a, b, tick } = pair(1000);
  const jobs = new JobClient(srv.url, { secret: "s".repeat(32) });
  try {
    const held = await a.tryAcquire(t, "write x");
    if (!held.ok) throw new Error("not taken");
    const inFlight = fencedBy(held.lease, () => jobs.drop(table, true));
    // The request reached the job server, which doesn't answer (a long write).
    for (let i = 0; i < 200 && srv.bodies.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(srv.bodies).toHaveLength(1);
    tick(1001);
    expect((await b.tryAcquire(t, "write y")).ok).toBe(true);
    await held.lease.keep();
    await expect(inFlight).rejects.toMatchObject({ code: "LEASE_LOST" });
    // Nothing more is sent under a lost lease.
    await expect(fencedBy(held.lease, () => jobs.drop(table, true))).rejects.toMatchObject({ code: "LEASE_LOST" });
    expect(srv.bodies).toHaveLength(1);
    await held.lease.release();
  } finally {
    await srv.close();
  }
});
