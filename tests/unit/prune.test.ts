/**
 * Tables removed from tables.yaml: left alone unless `prune: true`, decided from the status the
 * reconciler wrote before (so a removal made while it was down still counts), retried when the
 * drop fails, and never for a table another tables.yaml declared. The job server is a fake here;
 * tests/e2e/02-reconciler.test.ts prunes a real table.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import { Reconciler } from "../../reconciler/loop";
import { emptyStatus, readStatus, writeStatus, type TableStatus } from "../../lake/status";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-prune-"));
const tablesFile = path.join(dir, "tables.yaml");
const statusFile = path.join(dir, "status.json");

const entry = (table: string, prune: boolean, declaredIn = tablesFile): TableStatus => ({
  table, format: "hudi", generation: "g1", inSync: true, sources: { total: 1, applied: 1 },
  conditions: [], failures: 0, prune, declaredIn,
});

function setup(dropImpl: (t: { name: string; database: string; location: string }) => Promise<{ dropped: boolean }>) {
  fs.writeFileSync(tablesFile, "apiVersion: lakeform/v1\ntables:\n  - name: kept\n    format: hudi\n    primaryKey: id\n    sources: [a.csv]\n");
  const st = emptyStatus(tablesFile);
  for (const e of [entry("default.kept", true), entry("default.gone_pruned", true), entry("default.gone_kept", false), entry("default.elsewhere", true, "/other/tables.yaml")]) {
    st.tables[e.table] = e;
  }
  writeStatus(statusFile, st);
  const drops: string[] = [];
  const unused = async (): Promise<never> => {
    throw new Error("not used by a prune");
  };
  const driver: LakeDriver = {
    observe: unused, write: unused, register: unused, resync: unused, forget: unused, clearLeftovers: unused, maintain: unused,
    drop: async (t) => {
      drops.push(`${t.database}.${t.name} ${t.location}`);
      await dropImpl(t);
    },
  };
  const sources: SourceStore = { resolve: unused, land: unused };
  const r = new Reconciler({ tablesFile, statusFile, warehouseBucket: "warehouse", driver, sources, log: pino({ level: "silent" }), backoffBaseMs: 50, backoffMaxMs: 100 });
  return { r, drops };
}

test("after a restart, a removed table with prune: true is dropped with its files; one without is left alone", async () => {
  const { r, drops } = setup(async () => ({ dropped: true }));
  r.loadDesired();
  await r.sweep;
  expect(drops).toEqual(["default.gone_pruned s3a://warehouse/default/gone_pruned"]);
  expect(Object.keys(readStatus(statusFile)!.tables).sort()).toEqual(["default.elsewhere", "default.kept"]);
});

test("a prune that fails stays in status with the reason and is tried again on the next pass", async () => {
  let fail = true;
  const { r, drops } = setup(async () => {
    if (fail) throw new Error("job server unavailable");
    return { dropped: true };
  });
  r.loadDesired();
  await r.sweep;
  const st = readStatus(statusFile)!.tables["default.gone_pruned"];
  expect(st.conditions.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "PruneFailed" });
  expect(st.conditions.find((c) => c.type === "Degraded")?.message).toMatch(/job server unavailable/);
  fail = false;
  r.loadDesired();
  await r.sweep;
  expect(drops).toHaveLength(2);
  expect(readStatus(statusFile)!.tables["default.gone_pruned"]).toBeUndefined();
});

test("the running loop retries a failed prune by itself, with backoff, until it succeeds", async () => {
  let attempts = 0;
  const { r, drops } = setup(async (t) => {
    if (t.name === "gone_pruned" && ++attempts < 3) throw new Error("job server unavailable");
    return { dropped: true };
  });
  // The kept table has nothing to observe here: keep its passes out of the way.
  fs.writeFileSync(tablesFile, "apiVersion: lakeform/v1\ntables: []\n");
  r.start();
  const deadline = Date.now() + 10_000;
  while (readStatus(statusFile)!.tables["default.gone_pruned"] && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  await r.stop();
  expect(readStatus(statusFile)!.tables["default.gone_pruned"]).toBeUndefined();
  expect(drops.filter((d) => d.startsWith("default.gone_pruned"))).toHaveLength(3);
});
