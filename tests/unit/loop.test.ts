/**
 * The loop with a driver of plain functions: backoff grows per failure and resets once the table
 * is in sync; a requeue or a tables.yaml edit makes only the tables it names due; `runOnce`
 * follows an action with a pass that observes it.
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
import { backoffDelay, Reconciler } from "../../reconciler/loop";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-loop-"));
let n = 0;

const yaml = (tables: { name: string; sources: string[]; format?: string }[]) =>
  `apiVersion: lakeform/v1\ntables:\n${tables.map((t) => `  - name: ${t.name}\n    format: ${t.format ?? "hudi"}\n    primaryKey: id\n    sources: [${t.sources.join(", ")}]\n`).join("")}`;

/** A lake in memory: tables exist once written; each source's hash is its name. */
function lake(opts: { observe?: (table: string) => void } = {}) {
  const written = new Map<string, string[]>();
  const calls: string[] = [];
  const observation = (name: string): Observation => {
    const hashes = written.get(name) ?? [];
    return { exists: hashes.length > 0, inCatalog: hashes.length > 0, filesExist: hashes.length > 0, commits: hashes.map((h, i) => ({ commit: `c${i}`, time: "t", sourceHash: h, generation: "g" })), rowCount: hashes.length, columns: [] };
  };
  const driver: LakeDriver = {
    observe: async (t) => {
      calls.push(`observe ${t.name}`);
      opts.observe?.(t.name);
      return observation(t.name);
    },
    write: async (t, s) => {
      calls.push(`write ${t.name} ${s.hash}`);
      written.set(t.name, [...(written.get(t.name) ?? []), s.hash]);
      return { commit: "c", rowsWritten: 1, renamed: {}, columns: [], addedColumns: [], durationMs: 1 };
    },
    register: async () => undefined,
    resync: async () => ({ resynced: false, drift: [] }),
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

function reconciler(tables: string, l: ReturnType<typeof lake>, opts: { backoffBaseMs?: number; backoffMaxMs?: number; resyncMs?: number } = {}) {
  const sub = path.join(dir, String(++n));
  fs.mkdirSync(sub);
  const tablesFile = path.join(sub, "tables.yaml");
  const statusFile = path.join(sub, "status.json");
  fs.writeFileSync(tablesFile, tables);
  const r = new Reconciler({ tablesFile, statusFile, warehouseBucket: "w", driver: l.driver, sources: l.sources, log: pino({ level: "silent" }), ...opts });
  return { r, tablesFile, statusFile };
}

const until = async (what: string, cond: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
};

test("backoffDelay doubles from the base up to the cap, within ±10 % jitter", () => {
  expect([1, 2, 3, 4, 5, 10].map((f) => backoffDelay(f, 2000, 10_000, () => 0.5))).toEqual([2000, 4000, 8000, 10_000, 10_000, 10_000]);
  expect(backoffDelay(1, 2000, 10_000, () => 0)).toBe(1800);
  expect(backoffDelay(1, 2000, 10_000, () => 1)).toBe(2200);
});

test("runOnce: a new table is written, then observed in the same run, and reported in sync", async () => {
  const l = lake();
  const { r, statusFile } = reconciler(yaml([{ name: "a", sources: ["x.csv", "y.csv"] }]), l);
  const results = await r.runOnce();
  expect(results).toEqual([{ table: "default.a", ok: true, wrote: 2, requeueAfterMs: 60_000 }]);
  expect(l.calls).toEqual(["observe a", "clearLeftovers a", "write a x.csv", "write a y.csv", "observe a"]);
  expect(readStatus(statusFile)!.tables["default.a"]).toMatchObject({ inSync: true, sources: { total: 2, applied: 2 }, failures: 0 });
  // A second run writes nothing.
  expect((await r.runOnce())[0]).toMatchObject({ ok: true, wrote: 0 });
});

test("the running loop backs a failing table off (doubling), and resets once it is in sync; the other table carries on", async () => {
  let sparkDown = true;
  const l = lake({
    observe: (name) => {
      if (name === "flaky" && sparkDown) throw new LakeformError("SPARK_UNAVAILABLE", "job server unreachable");
    },
  });
  const { r, statusFile } = reconciler(yaml([{ name: "flaky", sources: ["f.csv"] }, { name: "fine", sources: ["g.csv"] }]), l, { backoffBaseMs: 200, backoffMaxMs: 5000, resyncMs: 600_000 });
  const delays: number[] = [];
  let seen = 0;
  r.start();
  try {
    await until("three failed passes of flaky", () => {
      const st = readStatus(statusFile)?.tables["default.flaky"];
      if (st && st.failures > seen && st.nextAttemptAt && st.lastPassAt) {
        seen = st.failures;
        delays.push(Date.parse(st.nextAttemptAt) - Date.parse(st.lastPassAt));
      }
      return seen >= 3;
    });
    expect(readStatus(statusFile)!.tables["default.fine"]).toMatchObject({ inSync: true });
    // 200, 400, 800 ms, each within the jitter (and a millisecond of clock between two readings).
    expect(delays).toHaveLength(3);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(200 * 2 ** i * 0.9 - 5);
      expect(d).toBeLessThanOrEqual(200 * 2 ** i * 1.1 + 5);
    });
    sparkDown = false;
    await until("flaky in sync", () => readStatus(statusFile)?.tables["default.flaky"]?.inSync === true);
    const st = readStatus(statusFile)!.tables["default.flaky"];
    expect(st.failures).toBe(0);
    expect(st.nextAttemptAt).toBeUndefined();
    // Back to the regular resync, no longer the backoff.
    expect(r.dueAt("default.flaky")! - Date.now()).toBeGreaterThan(500_000);
  } finally {
    await r.stop();
  }
});

test("requeue and tables.yaml edits make due only the tables they concern: a failing table keeps its backoff", async () => {
  const l = lake({
    observe: (name) => {
      if (name === "broken") throw new LakeformError("SPARK_UNAVAILABLE", "down");
    },
  });
  const tables = [{ name: "broken", sources: ["b.csv"] }, { name: "other", sources: ["o.csv"] }];
  const { r, tablesFile } = reconciler(yaml(tables), l, { backoffBaseMs: 60_000, backoffMaxMs: 60_000, resyncMs: 600_000 });
  r.start();
  try {
    await until("a failed pass of broken and a pass of other", () => r.dueAt("default.broken")! - Date.now() > 30_000 && r.dueAt("default.other")! - Date.now() > 30_000);
    const brokenDue = r.dueAt("default.broken");
    // Another table's input changed.
    r.requeue(["default.other"]);
    expect(r.dueAt("default.broken")).toBe(brokenDue);
    expect(r.dueAt("default.other")).toBeLessThanOrEqual(Date.now());
    // tables.yaml saved with a change to "other" only, and a new table.
    fs.writeFileSync(tablesFile, yaml([tables[0], { name: "other", sources: ["o.csv", "o2.csv"] }, { name: "added", sources: ["n.csv"] }]));
    const change = r.loadDesired();
    expect(change).toEqual({ added: ["default.added"], changed: ["default.other"], removed: [] });
    expect(r.dueAt("default.broken")).toBe(brokenDue);
    // Saved again unchanged: nothing is due.
    await until("other's pass", () => r.dueAt("default.other")! - Date.now() > 30_000 && r.dueAt("default.added")! - Date.now() > 30_000);
    const dues = ["default.broken", "default.other", "default.added"].map((id) => r.dueAt(id));
    expect(r.loadDesired()).toEqual({ added: [], changed: [], removed: [] });
    expect(["default.broken", "default.other", "default.added"].map((id) => r.dueAt(id))).toEqual(dues);
    // Its own input changed: the failing table is tried at once.
    r.requeue(["default.broken"]);
    expect(r.dueAt("default.broken")).toBeLessThanOrEqual(Date.now());
  } finally {
    await r.stop();
  }
});
