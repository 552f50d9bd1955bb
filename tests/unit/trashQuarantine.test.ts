/**
 * A table's quarantine table (`<table>__quarantine`, the rows its expectations quarantined)
 * follows it: a prune lists it in the table's tombstone and drops both from the catalog (files
 * kept), an undrop registers both again, a purge deletes both. The job server is a fake here;
 * tests/e2e/27-expectations.test.ts prunes and undrops real ones.
 */
import pino from "pino";
import { formatDescription } from "../../cli/get";
import { formatTrash } from "../../cli/trash";
import type { Observation } from "../../lake/jobClient";
import { currentLease, fencedBy, leaseKey, type TableLeases } from "../../lake/lease";
import { parseTables } from "../../lake/spec";
import type { TableStatus } from "../../lake/status";
import { emptyStatus } from "../../lake/status";
import type { LakeDriver } from "../../reconciler/driver";
import { dropTables, MemoryTrash, purgeTrashed, quarantineJobTable, undropTable } from "../../reconciler/trash";

const log = pino({ level: "silent" });
const tablesFile = "/lake/tables.yaml";
const spec = parseTables("apiVersion: lakeform/v1\ntables:\n  - { name: leads, format: iceberg, primaryKey: id, sources: [leads.csv] }\n", tablesFile).tables[0];

/**
 * Leases as the job server checks them: a request made under a lease must be for that lease's
 * table (lease.key), as register and drop are refused otherwise.
 */
function fencedLeases(): TableLeases {
  const leases = {
    with: (t: { database: string; name: string }, _purpose: string, _waitMs: number, fn: (lease: unknown) => Promise<unknown>) =>
      fencedBy({ fence: { key: leaseKey(t), generation: 1 }, signal: new AbortController().signal }, () => fn(undefined)),
  };
  return leases as unknown as TableLeases;
}
const checkFence = (t: { database: string; name: string }) => {
  const key = currentLease()?.fence.key;
  if (key !== undefined && key !== leaseKey(t)) throw new Error(`field lease.key must be the table's lease, '${leaseKey(t)}', got '${key}'`);
};

function lake(names: string[]) {
  const catalog = new Set(names);
  const files = new Set(names);
  const drops: string[] = [];
  const unused = async (): Promise<never> => {
    throw new Error("not used here");
  };
  const observation = (name: string): Observation => ({ exists: catalog.has(name) && files.has(name), inCatalog: catalog.has(name), filesExist: files.has(name), commits: files.has(name) ? [{ commit: "c1", time: "t1" }] : [], rowCount: null, columns: [] });
  const driver: LakeDriver = {
    observe: async (t) => observation(t.name),
    write: unused, resync: unused, evolvePartitions: unused, forget: unused, clearLeftovers: unused, maintain: unused,
    register: async (t) => {
      checkFence(t);
      catalog.add(t.name);
    },
    drop: async (t, purge) => {
      checkFence(t);
      drops.push(`${t.name} ${purge ? "purge" : "soft"} ${t.location}`);
      catalog.delete(t.name);
      if (purge) files.delete(t.name);
    },
  };
  const trash = new MemoryTrash();
  const status = emptyStatus(tablesFile);
  status.tables["default.leads"] = { table: "default.leads", format: "iceberg", generation: "g1", inSync: true, sources: { total: 1, applied: 1 }, conditions: [], failures: 0, prune: true, declaredIn: tablesFile } as TableStatus;
  return { catalog, files, drops, trash, status, deps: { driver, trash, warehouseBucket: "warehouse", log, leases: fencedLeases() } };
}

const state = (l: ReturnType<typeof lake>, name: string) => [l.catalog.has(name), l.files.has(name)];

test("the quarantine table's JobTable: same format and database, its own location beside the table's, keyed by _qkey", () => {
  expect(quarantineJobTable({ name: "leads", database: "sales", format: "hudi" }, "warehouse")).toEqual({
    name: "leads__quarantine", database: "sales", format: "hudi", primaryKey: ["_qkey"], partitionBy: [], schemaPolicy: "addColumns", location: "s3a://warehouse/sales/leads__quarantine",
  });
});

test("a prune lists the quarantine table in the table's tombstone and drops both from the catalog, files kept; undrop registers both", async () => {
  const l = lake(["leads", "leads__quarantine"]);
  await expect(dropTables(l.deps, l.status, ["default.leads"])).resolves.toMatchObject({ dropped: ["default.leads"], failed: [] });
  expect(l.drops).toEqual(["leads__quarantine soft s3a://warehouse/default/leads__quarantine", "leads soft s3a://warehouse/default/leads"]);
  expect([state(l, "leads"), state(l, "leads__quarantine")]).toEqual([[false, true], [false, true]]);
  // One tombstone, the table's, naming its quarantine table.
  expect((await l.trash.list()).map((t) => [t.table, t.quarantine])).toEqual([["default.leads", { name: "leads__quarantine", location: "s3a://warehouse/default/leads__quarantine" }]]);

  await expect(undropTable(l.deps, spec, { database: "default", name: "leads" }, tablesFile)).resolves.toMatchObject({
    table: "default.leads", registered: true, quarantine: { table: "default.leads__quarantine", registered: true },
  });
  expect([state(l, "leads"), state(l, "leads__quarantine")]).toEqual([[true, true], [true, true]]);
  expect(await l.trash.list()).toEqual([]);
});

test("a purge deletes the quarantine table's files with the table's; an undropped table's purge touches neither", async () => {
  const l = lake(["leads", "leads__quarantine"]);
  await dropTables(l.deps, l.status, ["default.leads"]);
  const tomb = (await l.trash.get({ database: "default", name: "leads" }))!;
  l.drops.length = 0;
  await expect(purgeTrashed(l.deps, tomb)).resolves.toBe("purged");
  expect(l.drops).toEqual(["leads__quarantine purge s3a://warehouse/default/leads__quarantine", "leads purge s3a://warehouse/default/leads"]);
  expect([state(l, "leads"), state(l, "leads__quarantine")]).toEqual([[false, false], [false, false]]);
  expect(await l.trash.list()).toEqual([]);

  const back = lake(["leads", "leads__quarantine"]);
  await back.trash.put({ ...tomb });
  await expect(purgeTrashed(back.deps, tomb)).resolves.toBe("undropped");
  expect(back.drops).toEqual([]);
  expect(state(back, "leads__quarantine")).toEqual([true, true]);
});

test("a table without a quarantine table prunes as before: nothing listed, one drop", async () => {
  const l = lake(["leads"]);
  await dropTables(l.deps, l.status, ["default.leads"]);
  expect(l.drops).toEqual(["leads soft s3a://warehouse/default/leads"]);
  expect((await l.trash.get({ database: "default", name: "leads" }))?.quarantine).toBeUndefined();
  await expect(undropTable(l.deps, spec, { database: "default", name: "leads" }, tablesFile)).resolves.not.toHaveProperty("quarantine");
});

test("a retried prune whose tombstone was written before the quarantine table's listing adds it; an undrop whose quarantine files are gone says so", async () => {
  const l = lake(["leads", "leads__quarantine"]);
  await l.trash.put({ table: "default.leads", database: "default", name: "leads", format: "iceberg", location: "s3a://warehouse/default/leads", droppedAt: "x", purgeAfter: "9999-01-01T00:00:00.000Z", trashDays: 7, declaredIn: tablesFile });
  await dropTables(l.deps, l.status, ["default.leads"]);
  expect((await l.trash.get({ database: "default", name: "leads" }))?.quarantine?.name).toBe("leads__quarantine");
  l.files.delete("leads__quarantine");
  await expect(undropTable(l.deps, spec, { database: "default", name: "leads" }, tablesFile)).resolves.toMatchObject({
    registered: true, quarantine: { table: "default.leads__quarantine", registered: false, missing: true },
  });
  expect(state(l, "leads__quarantine")).toEqual([false, false]);
});

test("lakeform trash names a trashed table's quarantine table under it", () => {
  const text = formatTrash([{ table: "default.leads", database: "default", name: "leads", format: "hudi", location: "s3a://w/default/leads", droppedAt: "2026-12-01T00:00:00.000Z", purgeAfter: "2026-12-08T00:00:00.000Z", trashDays: 7, quarantine: { name: "leads__quarantine", location: "s3a://w/default/leads__quarantine" } }], Date.parse("2026-12-02T00:00:00Z"));
  expect(text.split("\n")[2]).toBe("default.leads: its quarantine table default.leads__quarantine (s3a://w/default/leads__quarantine) is in the trash with it");
});

test("lakeform describe names a table's rules and, with a quarantine rule, its quarantine table", () => {
  const withRules = parseTables(
    "tables:\n  - name: leads\n    format: hudi\n    primaryKey: id\n    sources: [leads.csv]\n    expect:\n      - { name: known, column: region, in: [EU], action: quarantine }\n      - { name: has_id, column: id, not_null: true, action: fail }\n",
    tablesFile,
  ).tables[0];
  const text = formatDescription({ table: "default.leads", spec: withRules }, 10);
  expect(text).toMatch(/^Expectations:\s+known \(quarantine\), has_id \(fail\)$/m);
  expect(text).toMatch(/^Quarantine:\s+default\.leads__quarantine \(lakeform quarantine replay leads\)$/m);
  expect(formatDescription({ table: "default.leads", spec }, 10)).not.toMatch(/^(Expectations|Quarantine):/m);
});
