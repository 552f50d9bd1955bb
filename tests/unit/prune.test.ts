/**
 * Tables removed from tables.yaml: left alone unless `prune: true`; a prune of more than one
 * table, or of every table, held until each is confirmed; a prune is a soft drop into the trash
 * (a tombstone, files kept), purged after the trash period, undroppable until then; decided from
 * the status the reconciler wrote before (so a removal made while it was down still counts),
 * retried when the drop fails, and never for a table another tables.yaml declared. The job
 * server is a fake here; tests/e2e/13-safe-prune.test.ts prunes and undrops real tables.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import { Reconciler } from "../../reconciler/loop";
import { planPrune } from "../../reconciler/prune";
import { guardTrash, MemoryTrash, undropTable } from "../../reconciler/trash";
import { confirmationsDir, confirmPrune, readConfirmations } from "../../lake/pruneConfirmations";
import { parseTables, SpecError } from "../../lake/spec";
import { emptyStatus, readStatus, writeStatus, type LakeStatus, type TableStatus } from "../../lake/status";
import type { Observation } from "../../lake/jobClient";
import type { Tombstone } from "../../lake/trash";

const log = pino({ level: "silent" });
let dir: string;
let tablesFile: string;
let statusFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-prune-"));
  tablesFile = path.join(dir, "tables.yaml");
  statusFile = path.join(dir, "status.json");
});

const entry = (table: string, prune: boolean, declaredIn = tablesFile, extra: Partial<TableStatus> = {}): TableStatus => ({
  table, format: "hudi", generation: "g1", inSync: true, sources: { total: 1, applied: 1 },
  conditions: [], failures: 0, prune, declaredIn, ...extra,
});

const yamlOf = (names: string[]) =>
  names.length === 0
    ? "apiVersion: lakeform/v1\ntables: []\n"
    : `apiVersion: lakeform/v1\ntables:\n${names.map((n) => `  - name: ${n}\n    format: hudi\n    primaryKey: id\n    sources: [${n}.csv]\n`).join("")}`;

// ----------------------------------------------------------------------- planning, table-driven

/** The reported tables every case starts from: three with prune: true, one without, one of another file. */
const reported = (): LakeStatus => {
  const st = emptyStatus("/lake/tables.yaml");
  for (const e of [entry("default.a", true, "/lake/tables.yaml"), entry("default.b", true, "/lake/tables.yaml"), entry("default.c", true, "/lake/tables.yaml"), entry("default.keep", false, "/lake/tables.yaml"), entry("default.other", true, "/other/tables.yaml")]) {
    st.tables[e.table] = e;
  }
  return st;
};

/** What the planner makes of a tables.yaml text: a spec error (nothing planned), or its plan. */
function planFor(text: string, confirmed: string[] = [], status = reported()): { error: string } | { leave: string[]; drop: string[]; pending: string[] } {
  let declared: Set<string>;
  try {
    declared = new Set(parseTables(text, "/lake/tables.yaml").tables.map((t) => `${t.database}.${t.name}`));
  } catch (err) {
    if (err instanceof SpecError) return { error: err.problems.map((p) => p.message).join("; ") };
    throw err;
  }
  const { leave, drop, pending } = planPrune(status, declared, "/lake/tables.yaml", new Set(), new Set(confirmed));
  return { leave, drop, pending };
}

const cases: { name: string; text: string; confirmed?: string[]; want: ReturnType<typeof planFor> }[] = [
  { name: "an empty file is a spec error: nothing pruned", text: "", want: { error: expect.stringMatching(/empty.*tables: \[\]/) as unknown as string } },
  { name: "whitespace only is a spec error", text: "\n  \n", want: { error: expect.stringMatching(/empty/) as unknown as string } },
  { name: "comments only is a spec error", text: "# tables.yaml\n# (being edited)\n", want: { error: expect.stringMatching(/empty.*`tables: \[\]`/) as unknown as string } },
  { name: "no tables: key is a spec error", text: "apiVersion: lakeform/v1\n", want: { error: expect.stringMatching(/no `tables:` key/) as unknown as string } },
  { name: "a file cut short after `tables:` is a spec error", text: "apiVersion: lakeform/v1\ntables:\n", want: { error: expect.stringMatching(/list of tables/) as unknown as string } },
  { name: "nothing removed: nothing to do", text: yamlOf(["a", "b", "c", "keep"]), want: { leave: [], drop: [], pending: [] } },
  { name: "one table removed with prune: dropped (softly) at once", text: yamlOf(["a", "b", "keep"]), want: { leave: [], drop: ["default.c"], pending: [] } },
  { name: "one table removed without prune: forgotten, data left alone", text: yamlOf(["a", "b", "c"]), want: { leave: ["default.keep"], drop: [], pending: [] } },
  { name: "two removed with prune: both held", text: yamlOf(["a", "keep"]), want: { leave: [], drop: [], pending: ["default.b", "default.c"] } },
  { name: "all removed (tables: []): every prune held, the prune: false one forgotten", text: yamlOf([]), want: { leave: ["default.keep"], drop: [], pending: ["default.a", "default.b", "default.c"] } },
  { name: "one prune: true and one prune: false table removed: one drop, one forgotten", text: yamlOf(["b", "c"]), want: { leave: ["default.keep"], drop: ["default.a"], pending: [] } },
  { name: "two held, both confirmed: both dropped", text: yamlOf(["a", "keep"]), confirmed: ["default.b", "default.c"], want: { leave: [], drop: ["default.b", "default.c"], pending: [] } },
  { name: "two held, one confirmed: that one dropped, the other still held", text: yamlOf(["a", "keep"]), confirmed: ["default.b"], want: { leave: [], drop: ["default.b"], pending: ["default.c"] } },
  { name: "a confirmation of a different set confirms nothing here", text: yamlOf(["c", "keep"]), confirmed: ["default.c", "default.x"], want: { leave: [], drop: [], pending: ["default.a", "default.b"] } },
];

describe("planPrune", () => {
  test.each(cases)("$name", ({ text, confirmed, want }) => {
    expect(planFor(text, confirmed)).toEqual(want);
  });

  test("every table removed when only one table was ever declared: held, even alone", () => {
    const st = emptyStatus("/lake/tables.yaml");
    st.tables["default.only"] = entry("default.only", true, "/lake/tables.yaml");
    expect(planFor(yamlOf([]), [], st)).toEqual({ leave: [], drop: [], pending: ["default.only"] });
    expect(planFor(yamlOf([]), ["default.only"], st)).toEqual({ leave: [], drop: ["default.only"], pending: [] });
  });

  test("a table held once stays held when the rest of its set went: a partial confirmation doesn't let it through alone", () => {
    const st = reported();
    st.tables["default.c"].conditions = [{ type: "Synced", status: "False", reason: "PrunePending", message: "held", lastTransitionTime: "x" }];
    delete st.tables["default.b"];
    expect(planFor(yamlOf(["a", "keep"]), [], st)).toEqual({ leave: [], drop: [], pending: ["default.c"] });
  });

  test("a table with a pass in flight, or declared by another tables.yaml, is not judged", () => {
    const declared = new Set(["default.keep"]);
    const p = planPrune(reported(), declared, "/lake/tables.yaml", new Set(["default.a", "default.b"]));
    expect(p).toMatchObject({ drop: ["default.c"], pending: [] });
  });
});

// ------------------------------------------------------------------------- the loop, with fakes

const observation = (o: Partial<Observation>): Observation => ({ exists: false, inCatalog: false, filesExist: false, commits: [], rowCount: null, columns: [], ...o });

function setup(opts: { declared: string[]; reported: TableStatus[]; drop?: (t: { name: string }, purge: boolean) => Promise<void>; trashDays?: number }) {
  fs.writeFileSync(tablesFile, yamlOf(opts.declared));
  const st = emptyStatus(tablesFile);
  for (const e of opts.reported) st.tables[e.table] = e;
  writeStatus(statusFile, st);
  const drops: string[] = [];
  /** What the fake lake holds: tables in the catalog, tables with files. */
  const catalog = new Set<string>(opts.reported.map((e) => e.table.split(".")[1]));
  const files = new Set<string>(catalog);
  const unused = async (): Promise<never> => {
    throw new Error("not used by a prune");
  };
  const driver: LakeDriver = {
    observe: async (t) => observation({ inCatalog: catalog.has(t.name), filesExist: files.has(t.name), exists: catalog.has(t.name) && files.has(t.name), commits: [{ commit: "c1", time: "t1" }] }),
    write: unused, resync: unused, evolvePartitions: unused, forget: unused, clearLeftovers: unused, maintain: unused,
    register: async (t) => void catalog.add(t.name),
    drop: async (t, purge) => {
      await opts.drop?.(t, purge);
      drops.push(`${t.database}.${t.name} ${purge ? "purge" : "soft"} ${t.location}`);
      catalog.delete(t.name);
      if (purge) files.delete(t.name);
    },
  };
  const sources: SourceStore = { resolve: unused, land: unused };
  const trash = new MemoryTrash();
  const r = new Reconciler({ tablesFile, statusFile, warehouseBucket: "warehouse", driver, sources, log, backoffBaseMs: 50, backoffMaxMs: 100, trash, trashDays: opts.trashDays });
  return { r, drops, trash, catalog, files, driver };
}

const reasonOf = (id: string) => readStatus(statusFile)!.tables[id]?.conditions.find((c) => c.type === "Synced")?.reason;

test("after a restart, a removed table with prune: true is dropped softly: out of the catalog, files kept, a tombstone in the trash; one without is left alone", async () => {
  const { r, drops, trash, files } = setup({
    declared: ["kept"],
    reported: [entry("default.kept", true), entry("default.gone_pruned", true, tablesFile, { spec: { trash: { days: 2 } } as TableStatus["spec"], lastCommit: { id: "c9", time: "t9" }, rowCount: 4 }), entry("default.gone_kept", false), entry("default.elsewhere", true, "/other/tables.yaml")],
  });
  r.loadDesired();
  await r.sweep;
  expect(drops).toEqual(["default.gone_pruned soft s3a://warehouse/default/gone_pruned"]);
  expect(files.has("gone_pruned")).toBe(true);
  expect(Object.keys(readStatus(statusFile)!.tables).sort()).toEqual(["default.elsewhere", "default.kept"]);
  const tomb = (await trash.get({ database: "default", name: "gone_pruned" }))!;
  expect(tomb).toMatchObject({ table: "default.gone_pruned", format: "hudi", location: "s3a://warehouse/default/gone_pruned", trashDays: 2, declaredIn: tablesFile, lastCommit: { id: "c9" }, rowCount: 4 });
  expect(Date.parse(tomb.purgeAfter) - Date.parse(tomb.droppedAt)).toBe(2 * 86_400_000);
});

test("the stack's trash period applies when the table's spec doesn't say", async () => {
  const { r, trash } = setup({ declared: ["kept"], reported: [entry("default.kept", true), entry("default.gone", true)], trashDays: 0.5 });
  r.loadDesired();
  await r.sweep;
  expect((await trash.get({ database: "default", name: "gone" }))?.trashDays).toBe(0.5);
});

test("removing two prune: true tables holds both (PrunePending, nothing dropped) until each is confirmed; the confirmation is spent", async () => {
  const { r, drops } = setup({ declared: ["kept"], reported: [entry("default.kept", true), entry("default.one", true), entry("default.two", true)] });
  r.loadDesired();
  await r.sweep;
  expect(drops).toEqual([]);
  expect([reasonOf("default.one"), reasonOf("default.two")]).toEqual(["PrunePending", "PrunePending"]);
  expect(readStatus(statusFile)!.tables["default.one"].conditions.find((c) => c.type === "Synced")?.message).toMatch(/2 tables \(default\.one, default\.two\).*lakeform prune --confirm/);

  confirmPrune(statusFile, ["default.one", "default.two"], "test");
  r.loadDesired();
  await r.sweep;
  expect(drops.sort()).toEqual(["default.one soft s3a://warehouse/default/one", "default.two soft s3a://warehouse/default/two"]);
  expect(Object.keys(readStatus(statusFile)!.tables)).toEqual(["default.kept"]);
  expect([...readConfirmations(statusFile).keys()]).toEqual([]);
});

test("a confirmation names its tables only: a later, different prune set is still held", async () => {
  const { r, drops } = setup({ declared: ["kept"], reported: [entry("default.kept", true), entry("default.three", true), entry("default.four", true)] });
  confirmPrune(statusFile, ["default.one", "default.two", "default.three"], "test");
  r.loadDesired();
  await r.sweep;
  // default.three is confirmed by name; default.four is not, and stays held.
  expect(drops).toEqual(["default.three soft s3a://warehouse/default/three"]);
  expect(reasonOf("default.four")).toBe("PrunePending");
  // Confirmations of tables no longer reported were spent, not kept for later.
  expect([...readConfirmations(statusFile).keys()]).toEqual([]);
  r.loadDesired();
  await r.sweep;
  expect(drops).toHaveLength(1);
});

test("a held table declared again is reported again, and its stale confirmation spent", async () => {
  const { r, drops } = setup({ declared: ["kept"], reported: [entry("default.kept", true), entry("default.one", true), entry("default.two", true)] });
  r.loadDesired();
  await r.sweep;
  fs.writeFileSync(tablesFile, yamlOf(["kept", "one", "two"]));
  confirmPrune(statusFile, ["default.one"], "test");
  r.loadDesired();
  await r.sweep;
  expect(drops).toEqual([]);
  expect(fs.readdirSync(confirmationsDir(statusFile))).toEqual([]);
});

test("the running loop drops a held prune once it is confirmed, without any change to tables.yaml", async () => {
  const { r, drops } = setup({ declared: [], reported: [entry("default.one", true), entry("default.two", true)] });
  r.start();
  try {
    await waitUntil(() => reasonOf("default.one") === "PrunePending");
    expect(drops).toEqual([]);
    confirmPrune(statusFile, ["default.one", "default.two"], "test");
    await waitUntil(() => Object.keys(readStatus(statusFile)!.tables).length === 0);
    expect(drops).toHaveLength(2);
  } finally {
    await r.stop();
  }
});

test("a prune that fails stays in status with the reason and is tried again on the next pass", async () => {
  let fail = true;
  const { r, drops } = setup({
    declared: ["kept"], reported: [entry("default.kept", true), entry("default.gone_pruned", true)],
    drop: async () => {
      if (fail) throw new Error("job server unavailable");
    },
  });
  r.loadDesired();
  await r.sweep;
  const st = readStatus(statusFile)!.tables["default.gone_pruned"];
  expect(st.conditions.find((c) => c.type === "Degraded")).toMatchObject({ status: "True", reason: "PruneFailed" });
  expect(st.conditions.find((c) => c.type === "Degraded")?.message).toMatch(/job server unavailable/);
  fail = false;
  r.loadDesired();
  await r.sweep;
  expect(drops).toHaveLength(1);
  expect(readStatus(statusFile)!.tables["default.gone_pruned"]).toBeUndefined();
});

test("the running loop retries a failed prune by itself, with backoff, until it succeeds", async () => {
  let attempts = 0;
  const { r } = setup({
    declared: ["kept"], reported: [entry("default.kept", true), entry("default.gone_pruned", true)],
    drop: async (t) => {
      if (t.name === "gone_pruned" && ++attempts < 3) throw new Error("job server unavailable");
    },
  });
  // The kept table has nothing to observe here: keep its passes out of the way.
  r.start();
  try {
    await waitUntil(() => !readStatus(statusFile)!.tables["default.gone_pruned"]);
  } finally {
    await r.stop();
  }
  expect(attempts).toBe(3);
});

test("maintenance purges a trashed table's files after its trash period, not before; another file's trash is left alone", async () => {
  const { r, drops, trash, files } = setup({ declared: ["kept"], reported: [entry("default.kept", true)] });
  const tomb = (name: string, purgeAfter: string, declaredIn = tablesFile): Tombstone => ({
    table: `default.${name}`, database: "default", name, format: "iceberg", location: `s3a://warehouse/default/${name}`, droppedAt: "2026-01-01T00:00:00.000Z", purgeAfter, trashDays: 1, declaredIn,
  });
  for (const n of ["old", "young", "theirs"]) files.add(n);
  await trash.put(tomb("old", new Date(Date.now() - 1000).toISOString()));
  await trash.put(tomb("young", new Date(Date.now() + 86_400_000).toISOString()));
  await trash.put(tomb("theirs", new Date(Date.now() - 1000).toISOString(), "/other/tables.yaml"));
  r.loadDesired();
  await r.sweep;
  expect(drops).toEqual(["default.old purge s3a://warehouse/default/old"]);
  expect([...files].sort()).toEqual(["kept", "theirs", "young"]);
  expect((await trash.list()).map((t) => t.name).sort()).toEqual(["theirs", "young"]);
});

test("the running loop purges a table it pruned once its trash period ends, without waiting for its next look at the trash", async () => {
  const { r, drops, files } = setup({ declared: ["kept"], reported: [entry("default.kept", true), entry("default.gone", true)], trashDays: 0.00001 });
  r.start();
  try {
    await waitUntil(() => drops.includes("default.gone purge s3a://warehouse/default/gone"));
  } finally {
    await r.stop();
  }
  expect(drops).toEqual(["default.gone soft s3a://warehouse/default/gone", "default.gone purge s3a://warehouse/default/gone"]);
  expect(files.has("gone")).toBe(false);
});

test("a trashed table found in the metastore again is never purged: its left-over tombstone goes instead", async () => {
  const { r, drops, trash, catalog, files } = setup({ declared: ["kept"], reported: [entry("default.kept", true)] });
  catalog.add("back");
  files.add("back");
  await trash.put({ table: "default.back", database: "default", name: "back", format: "hudi", location: "s3a://warehouse/default/back", droppedAt: "x", purgeAfter: new Date(0).toISOString(), trashDays: 1, declaredIn: tablesFile });
  r.loadDesired();
  await r.sweep;
  expect(drops).toEqual([]);
  expect(files.has("back")).toBe(true);
  expect(await trash.list()).toEqual([]);
});

test("a table declared with the name of a trashed one is refused with TRASH_CONFLICT, naming undrop and purge", async () => {
  const { driver, trash } = setup({ declared: ["kept"], reported: [] });
  await trash.put({ table: "default.kept", database: "default", name: "kept", format: "hudi", location: "s3a://warehouse/default/kept", droppedAt: "2026-12-01T00:00:00.000Z", purgeAfter: "2026-12-08T00:00:00.000Z", trashDays: 7 });
  const guarded = guardTrash(driver, trash);
  const table = { name: "kept", database: "default", format: "hudi" as const, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns" as const, location: "s3a://warehouse/default/kept" };
  await expect(guarded.observe(table)).rejects.toMatchObject({ code: "TRASH_CONFLICT", reason: "TrashConflict", retryable: true, message: expect.stringMatching(/lakeform undrop default\.kept.*lakeform trash purge default\.kept/) });
  await trash.remove({ database: "default", name: "kept" });
  await expect(guarded.observe(table)).resolves.toMatchObject({ inCatalog: false, commits: [{ commit: "c1" }] });
});

test("undrop registers the trashed files again and removes the tombstone; it needs the table declared, with its format", async () => {
  const { driver, trash, catalog, files } = setup({ declared: [], reported: [] });
  files.add("gone");
  await trash.put({ table: "default.gone", database: "default", name: "gone", format: "hudi", location: "s3a://warehouse/default/gone", droppedAt: "x", purgeAfter: "y", trashDays: 7, spec: { primaryKey: ["id"] } });
  const deps = { driver, trash, warehouseBucket: "warehouse", log };
  const t = { database: "default", name: "gone" };
  await expect(undropTable(deps, undefined, t, tablesFile)).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/not declared in .*declare it there again first \(it was hudi, primaryKey \[id\]\)/) });
  const [hudi] = parseTables(yamlOf(["gone"]), tablesFile).tables;
  await expect(undropTable(deps, { ...hudi, format: "iceberg" }, t, tablesFile)).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/declared as iceberg but the trashed table is hudi/) });
  expect(catalog.has("gone")).toBe(false);
  await expect(undropTable(deps, hudi, t, tablesFile)).resolves.toMatchObject({ table: "default.gone", registered: true, commits: 1 });
  expect(catalog.has("gone")).toBe(true);
  expect(await trash.list()).toEqual([]);
  await expect(undropTable(deps, hudi, t, tablesFile)).rejects.toMatchObject({ code: "NOT_FOUND" });
});

async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe("a Table resource's delete", () => {
  // The dynamic provider's implementation, as the engine calls it.
  const { table } = jest.requireActual<typeof import("../../components/table/impl")>("../../components/table/impl");
  const props = (id: string) => {
    const [spec] = parseTables(yamlOf([id.split(".")[1]]).replace("    primaryKey: id\n", "    primaryKey: id\n    prune: true\n"), tablesFile).tables;
    const { line: _l, ...data } = spec;
    return { tableId: id, spec: data, tablesFile, statusFile, warehouseBucket: "warehouse", timeoutSec: 5, format: "hudi", location: "x", rows: null, lastCommit: null, lastCommitTime: null, exists: true };
  };
  const quiet = jest.spyOn(process.stderr, "write");
  beforeEach(() => quiet.mockImplementation(() => true));
  afterAll(() => quiet.mockRestore());

  test("after `pulumi up` removed it from tables.yaml, confirms its prune and waits for the reconciler to do it", async () => {
    fs.writeFileSync(tablesFile, yamlOf(["kept"]));
    const st = emptyStatus(tablesFile);
    st.tables["default.gone"] = entry("default.gone", true);
    writeStatus(statusFile, st);
    const deleted = table.delete("default.gone", props("default.gone"));
    await waitUntil(() => readConfirmations(statusFile).has("default.gone"));
    expect(readConfirmations(statusFile).get("default.gone")).toMatchObject({ by: "pulumi up" });
    // The reconciler prunes it: its status entry goes.
    delete st.tables["default.gone"];
    writeStatus(statusFile, st);
    await expect(deleted).resolves.toBeUndefined();
  });

  test("under `pulumi destroy` (tables.yaml still declares it) neither prunes nor confirms anything", async () => {
    fs.writeFileSync(tablesFile, yamlOf(["kept", "gone"]));
    await table.delete("default.gone", props("default.gone"));
    expect(readConfirmations(statusFile).size).toBe(0);
  });
});
