/**
 * The loop with a driver of plain functions, on a fake clock (nothing sleeps for real): backoff
 * grows per failure and resets once the table is in sync; a requeue or a tables.yaml edit makes
 * only the tables it names due, and wakes the loop at once; with nothing due the loop makes no
 * pass at all; `runOnce` follows an action with a pass that observes it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { LakeformError } from "../../lake/errors";
import type { Observation } from "../../lake/jobClient";
import type { ResolvedSource } from "../../lake/sources";
import { readStatus } from "../../lake/status";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import { Reconciler } from "../../reconciler/loop";
import { FakeClock, settle } from "../helpers/fakeClock";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-loop-"));
let n = 0;

const yaml = (tables: { name: string; sources: string[]; format?: string }[]) =>
  `apiVersion: lakeform/v1\ntables:\n${tables.map((t) => `  - name: ${t.name}\n    format: ${t.format ?? "hudi"}\n    primaryKey: id\n    sources: [${t.sources.join(", ")}]\n`).join("")}`;

/** A lake in memory: tables exist once written; each source's hash is its name. */
function lake(opts: { observe?: (table: string) => void | Promise<void>; forgets?: string[] } = {}) {
  const written = new Map<string, string[]>();
  const calls: string[] = [];
  const observation = (name: string): Observation => {
    const hashes = written.get(name) ?? [];
    return { exists: hashes.length > 0, inCatalog: hashes.length > 0, filesExist: hashes.length > 0, commits: hashes.map((h, i) => ({ commit: `c${i}`, time: "t", sourceHash: h, generation: "g" })), rowCount: hashes.length, columns: [] };
  };
  const driver: LakeDriver = {
    observe: async (t) => {
      calls.push(`observe ${t.name}`);
      await opts.observe?.(t.name);
      return observation(t.name);
    },
    write: async (t, s) => {
      calls.push(`write ${t.name} ${s.hash}`);
      // A table that forgets its writes: the lake never shows them (every pass plans the write again).
      if (!opts.forgets?.includes(t.name)) written.set(t.name, [...(written.get(t.name) ?? []), s.hash]);
      return { commit: "c", rowsWritten: 1, renamed: {}, columns: [], addedColumns: [], durationMs: 1 };
    },
    register: async () => undefined,
    resync: async () => ({ resynced: false, drift: [] }),
    evolvePartitions: async () => ({ evolved: false, before: [], after: [], dropped: [], added: [] }),
    forget: async () => undefined,
    clearLeftovers: async (t) => void calls.push(`clearLeftovers ${t.name}`),
    drop: async () => undefined,
    maintain: async () => {
      throw new Error("no maintenance is due for Hudi tables");
    },
  };
  const sources: SourceStore = {
    resolve: async (declared): Promise<ResolvedSource[]> => [{ declared, location: `/d/${declared}`, hash: declared, bytes: 1 }],
    land: async (s) => `s3a://w/${s.hash}`,
  };
  return { driver, sources, calls };
}

function reconciler(tables: string, l: ReturnType<typeof lake>, opts: { backoffBaseMs?: number; backoffMaxMs?: number; resyncMs?: number; concurrency?: number; passesAtOnce?: number } = {}, clock = new FakeClock()) {
  const sub = path.join(dir, String(++n));
  fs.mkdirSync(sub);
  const tablesFile = path.join(sub, "tables.yaml");
  const statusFile = path.join(sub, "status.json");
  fs.writeFileSync(tablesFile, tables);
  const r = new Reconciler({ tablesFile, statusFile, warehouseBucket: "w", driver: l.driver, sources: l.sources, log: pino({ level: "silent" }), clock, ...opts });
  return { r, tablesFile, statusFile, clock };
}

/** Runs `body` on a started loop, and stops it however the body ends (moving time on for a pass that waits on the clock). */
async function running(r: Reconciler, body: () => Promise<void>, clock?: FakeClock): Promise<void> {
  r.start();
  try {
    await settle();
    await body();
  } finally {
    let stopped = false;
    const stopping = r.stop().finally(() => (stopped = true));
    while (!stopped && clock) await clock.advance(1000);
    await stopping;
  }
}

test("runOnce: a new table is written, then observed in the same run, and reported in sync", async () => {
  const l = lake();
  const { r, statusFile } = reconciler(yaml([{ name: "a", sources: ["x.csv", "y.csv"] }]), l);
  const results = await r.runOnce();
  expect(results).toEqual([{ table: "default.a", ok: true, wrote: 2, next: { kind: "done" } }]);
  expect(l.calls).toEqual(["observe a", "clearLeftovers a", "write a x.csv", "write a y.csv", "observe a"]);
  expect(readStatus(statusFile)!.tables["default.a"]).toMatchObject({ inSync: true, sources: { total: 2, applied: 2 }, failures: 0 });
  // A second run writes nothing.
  expect((await r.runOnce())[0]).toMatchObject({ ok: true, wrote: 0 });
});

/** A lake whose observes and writes take a tick each, counting the most in flight at once. */
function overlapping() {
  const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
  const most = { observing: 0, writing: 0 };
  let observing = 0;
  const l = lake({
    observe: async () => {
      most.observing = Math.max(most.observing, ++observing);
      await tick();
      observing--;
    },
  });
  let writing = 0;
  const write = l.driver.write;
  l.driver.write = async (...args) => {
    most.writing = Math.max(most.writing, ++writing);
    await tick();
    writing--;
    return write(...args);
  };
  return { l, most, tick };
}

test("runOnce: passes with nothing to do overlap (passesAtOnce), the writes carried out at once stay within concurrency, results in tables.yaml's order", async () => {
  const { l, most } = overlapping();
  const names = ["t1", "t2", "t3", "t4", "t5", "t6"];
  const { r } = reconciler(yaml(names.map((name) => ({ name, sources: [`${name}.csv`] }))), l, { concurrency: 1 });
  const first = await r.runOnce();
  expect(first.map((x) => [x.table, x.ok, x.wrote])).toEqual(names.map((n) => [`default.${n}`, true, 1]));
  expect(most.writing).toBe(1);
  most.observing = 0;
  const again = await r.runOnce();
  expect(again.map((x) => x.wrote)).toEqual([0, 0, 0, 0, 0, 0]);
  expect(most.observing).toBe(6);
  expect(r.allInSync()).toBe(true);
});

test("the running loop: passes overlap (passesAtOnce), the writes carried out at once stay within concurrency", async () => {
  const { l, most, tick } = overlapping();
  const names = ["t1", "t2", "t3", "t4", "t5", "t6"];
  const { r } = reconciler(yaml(names.map((name) => ({ name, sources: [`${name}.csv`] }))), l, { concurrency: 2, passesAtOnce: 4, resyncMs: 600_000 });
  await running(r, async () => {
    const deadline = Date.now() + 10_000;
    while (!r.allInSync() && Date.now() < deadline) await tick();
    expect(r.allInSync()).toBe(true);
  });
  expect(l.calls.filter((c) => c.startsWith("write ")).sort()).toEqual(names.map((n) => `write ${n} ${n}.csv`));
  expect(most.writing).toBeLessThanOrEqual(2);
  expect(most.writing).toBeGreaterThanOrEqual(1);
  expect(most.observing).toBeGreaterThan(2);
  expect(most.observing).toBeLessThanOrEqual(4);
});

test("the running loop backs a failing table off (doubling), and resets once it is in sync; the other table carries on", async () => {
  let sparkDown = true;
  const l = lake({
    observe: (name) => {
      if (name === "flaky" && sparkDown) throw new LakeformError("SPARK_UNAVAILABLE", "job server unreachable");
    },
  });
  const { r, statusFile, clock } = reconciler(yaml([{ name: "flaky", sources: ["f.csv"] }, { name: "fine", sources: ["g.csv"] }]), l, { backoffBaseMs: 200, backoffMaxMs: 5000, resyncMs: 600_000 });
  const flaky = () => readStatus(statusFile)!.tables["default.flaky"];
  await running(r, async () => {
    expect(readStatus(statusFile)!.tables["default.fine"]).toMatchObject({ inSync: true });
    const delays: number[] = [];
    for (let i = 1; i <= 3; i++) {
      // Reported: the failure count and when the next attempt is, as the queue decided them.
      expect(flaky()).toMatchObject({ failures: i, inSync: false });
      const due = r.dueAt("default.flaky")!;
      expect(Date.parse(flaky().nextAttemptAt!)).toBe(due);
      delays.push(due - clock.now());
      // Not a moment before it is due.
      await clock.advanceTo(due - 1);
      expect(flaky().failures).toBe(i);
      await clock.advance(1);
    }
    // 200, 400, 800 ms, each within the jitter.
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(200 * 2 ** i * 0.9);
      expect(d).toBeLessThanOrEqual(200 * 2 ** i * 1.1);
    });
    sparkDown = false;
    await clock.advanceTo(r.dueAt("default.flaky")!);
    expect(flaky()).toMatchObject({ inSync: true, failures: 0 });
    expect(flaky().nextAttemptAt).toBeUndefined();
    // Back to the regular resync, no longer the backoff.
    expect(r.dueAt("default.flaky")! - clock.now()).toBe(600_000);
  });
});

test("with nothing due the loop makes no pass, however long; a requeue wakes it at once, without the clock moving", async () => {
  const l = lake();
  const { r, clock } = reconciler(yaml([{ name: "a", sources: ["x.csv"] }]), l, { resyncMs: 600_000 });
  await running(r, async () => {
    const before = l.calls.length;
    expect(before).toBeGreaterThan(0);
    await clock.advance(599_999);
    expect(l.calls.length).toBe(before);
    const t = clock.now();
    r.requeue(["default.a"]);
    await settle();
    expect(clock.now()).toBe(t);
    expect(l.calls.slice(before)).toEqual(["observe a"]);
    // And the resync comes by itself.
    await clock.advance(600_000);
    expect(l.calls.slice(before)).toEqual(["observe a", "observe a"]);
  });
});

test("under load the table due earliest goes first: one pass at a time, two slow tables always due, the one declared last still gets its passes", async () => {
  // The two "busy" tables never show their writes: every pass of theirs acts or fails and is due
  // again at once (or 100 ms later), and each takes 500 ms. "quiet" is declared last.
  const clock = new FakeClock();
  const l = lake({ forgets: ["busy1", "busy2"], observe: (name) => (name === "quiet" ? undefined : clock.sleep(500)) });
  const tables = [{ name: "busy1", sources: ["a.csv"] }, { name: "busy2", sources: ["b.csv"] }, { name: "quiet", sources: ["q.csv"] }];
  const { r } = reconciler(yaml(tables), l, { concurrency: 1, passesAtOnce: 1, backoffBaseMs: 100, backoffMaxMs: 100, resyncMs: 1000 }, clock);
  await running(r, async () => {
    await clock.advance(20_000);
    const passes = (name: string) => l.calls.filter((c) => c === `observe ${name}`).length;
    // Due every second and waiting at most one pass (500 ms) for the slot: at least 20 s / 1.5 s.
    expect(passes("quiet")).toBeGreaterThanOrEqual(13);
    expect(passes("busy1")).toBeGreaterThanOrEqual(10);
    expect(passes("busy2")).toBeGreaterThanOrEqual(10);
  }, clock);
});

test("a requeue asked for while a table's pass runs wins over the pass's own: one more pass right after", async () => {
  let release: () => void = () => undefined;
  let blocking = false;
  const l = lake();
  const observe = l.driver.observe;
  l.driver.observe = async (t) => {
    if (blocking) await new Promise<void>((res) => (release = res));
    return observe(t);
  };
  const { r, clock } = reconciler(yaml([{ name: "a", sources: ["x.csv"] }]), l, { resyncMs: 600_000 });
  await running(r, async () => {
    const before = l.calls.length;
    blocking = true;
    r.requeue(["default.a"]);
    await settle();
    expect(r.dueAt("default.a")).toBe(Number.POSITIVE_INFINITY); // in flight
    r.requeue(["default.a"]); // its input changed again meanwhile
    blocking = false;
    release();
    await settle();
    expect(l.calls.slice(before)).toEqual(["observe a", "observe a"]);
    expect(r.dueAt("default.a")! - clock.now()).toBe(600_000);
  });
});

test("requeue and tables.yaml edits make due only the tables they concern: a failing table keeps its backoff", async () => {
  const l = lake({
    observe: (name) => {
      if (name === "broken") throw new LakeformError("SPARK_UNAVAILABLE", "down");
    },
  });
  const tables = [{ name: "broken", sources: ["b.csv"] }, { name: "other", sources: ["o.csv"] }];
  const { r, tablesFile, clock } = reconciler(yaml(tables), l, { backoffBaseMs: 60_000, backoffMaxMs: 60_000, resyncMs: 600_000 });
  await running(r, async () => {
    expect(r.dueAt("default.broken")! - clock.now()).toBeGreaterThan(30_000);
    expect(r.dueAt("default.other")! - clock.now()).toBe(600_000);
    const brokenDue = r.dueAt("default.broken");
    // Another table's input changed: it is passed over at once; broken keeps its backoff.
    const before = l.calls.length;
    r.requeue(["default.other"]);
    await settle();
    expect(l.calls.slice(before)).toEqual(["observe other"]);
    expect(r.dueAt("default.broken")).toBe(brokenDue);
    // tables.yaml saved with a change to "other" only, and a new table.
    fs.writeFileSync(tablesFile, yaml([tables[0], { name: "other", sources: ["o.csv", "o2.csv"] }, { name: "added", sources: ["n.csv"] }]));
    const change = r.loadDesired();
    expect(change).toEqual({ added: ["default.added"], changed: ["default.other"], removed: [] });
    await settle();
    expect(r.dueAt("default.broken")).toBe(brokenDue);
    expect(r.dueAt("default.other")! - clock.now()).toBe(600_000);
    expect(r.dueAt("default.added")! - clock.now()).toBe(600_000);
    // Saved again unchanged: nothing is due.
    const dues = ["default.broken", "default.other", "default.added"].map((id) => r.dueAt(id));
    expect(r.loadDesired()).toEqual({ added: [], changed: [], removed: [] });
    expect(["default.broken", "default.other", "default.added"].map((id) => r.dueAt(id))).toEqual(dues);
    // Its own input changed: the failing table is tried at once.
    const calls = l.calls.length;
    r.requeue(["default.broken"]);
    await settle();
    expect(l.calls.slice(calls)).toEqual(["observe broken"]);
  });
});
