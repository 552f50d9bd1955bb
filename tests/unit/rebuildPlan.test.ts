/**
 * Rebuild as a planned action (reconciler/rebuildPlan.ts, its place in plan.ts, the spec field
 * and the preview's diff): which layout changes rebuild, what the plan says it rewrites, a
 * rebuild left unsettled, and refusal as the default. Pure.
 */
import { RebuildRefused, RebuildUnsafe, tableDiff, type TableState } from "../../components/table/diff";
import type { Observation } from "../../lake/jobClient";
import { parseTables, type TableSpec } from "../../lake/spec";
import type { ResolvedSource } from "../../lake/sources";
import { tableDataPlan } from "../../reconciler/dataPlan";
import { plan } from "../../reconciler/plan";
import { tablePlanLines } from "../../reconciler/tablePlan";
import { layoutChange, partitionedHudiRefusal, rebuildStep, rewriteSize } from "../../reconciler/rebuildPlan";
import pino from "pino";
import { act } from "../../reconciler/act";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";

const spec: TableSpec = {
  name: "orders", database: "default", format: "hudi", primaryKey: ["id", "region"], partitionBy: [], sources: ["a.csv"],
  schemaPolicy: "addColumns", prune: false, onIncompatibleChange: "rebuild", generation: "g2", line: 3,
};
const src: ResolvedSource = { declared: "a.csv", location: "/d/a.csv", hash: "a", bytes: 1 };
const recorded = (s: object) => JSON.stringify({ format: "hudi", primaryKey: ["id"], partitionBy: [], ...s });
const obs = (o: Partial<Observation> = {}): Observation => ({
  exists: true, inCatalog: true, filesExist: true, rowCount: 1200, columns: [], dataFiles: { count: 2, small: 0, bytes: 2 * 1024 * 1024, targetBytes: 1 },
  commits: [{ commit: "c1", time: "t", sourceHash: "a", generation: "g1", spec: recorded({}) }], ...o,
});

test("a key change under onIncompatibleChange: rebuild is one rebuild action saying how much it rewrites", () => {
  const p = plan(spec, { sources: [src], lake: obs() });
  if (p.kind !== "act") throw new Error(`expected act, got ${p.kind}`);
  expect(p.action.calls).toEqual([{ op: "rebuild", previous: { format: "hudi", primaryKey: ["id"], partitionBy: [] }, change: "key id → (id, region)" }]);
  expect(p.action.reason).toBe("rebuild: 1,200 rows / 2.0 MiB rewritten, key id → (id, region)");
});

test("without onIncompatibleChange (refuse, the default) the same change is refused, as before", () => {
  const p = plan({ ...spec, onIncompatibleChange: undefined }, { sources: [src], lake: obs() });
  expect(p.kind === "fail" && p.error.code).toBe("INCOMPATIBLE_SPEC_CHANGE");
  expect(plan({ ...spec, onIncompatibleChange: "refuse" }, { sources: [src], lake: obs() }).kind).toBe("fail");
});

test("a format change is told by the files' format the observation reports; partitioning goes with it", () => {
  const ice = { ...spec, format: "iceberg" as const, primaryKey: ["id"], partitionBy: ["region"] };
  const step = rebuildStep(ice, obs({ format: "hudi" }), JSON.parse(recorded({})));
  expect(step?.call.change).toBe("format hudi → iceberg; partitioning [] → [region]");
  // Hudi → Hudi: a partitioning change rewrites every file; Iceberg's is evolution where the classifier says so.
  expect(layoutChange({ format: "hudi", primaryKey: ["id"], partitionBy: [] }, { format: "hudi", primaryKey: ["id"], partitionBy: ["region"] })).toEqual(["partitioning [] → [region]"]);
  expect(layoutChange({ format: "iceberg", primaryKey: ["id"], partitionBy: [] }, { format: "iceberg", primaryKey: ["id"], partitionBy: ["region"] }, () => false)).toEqual([]);
});

test("nothing to rebuild: the same layout, a new table, a table without a recorded layout", () => {
  expect(rebuildStep({ ...spec, primaryKey: ["id"] }, obs(), JSON.parse(recorded({})))).toBeUndefined();
  expect(rebuildStep(spec, obs({ exists: false, commits: [] }), undefined)).toBeUndefined();
  expect(rebuildStep(spec, obs({ commits: [] }), undefined)).toBeUndefined();
});

test("a rebuild left unsettled is settled first, whatever the spec says", () => {
  const lake = obs({ rebuild: { stage: "writing", shadow: "s3a://w/default/orders-r1", change: "primaryKey [id] → [id, region]" } });
  const p = plan({ ...spec, onIncompatibleChange: undefined, primaryKey: ["id"] }, { sources: [src], lake });
  if (p.kind !== "act") throw new Error(`expected act, got ${p.kind}`);
  expect(p.action.calls[0]).toMatchObject({ op: "rebuild", previous: { primaryKey: ["id"] } });
  expect(p.action.reason).toMatch(/stopped at its writing stage: settling it/);
});

test("a rebuild refused for good (a key that would collapse rows) waits for the spec to change", () => {
  const first = plan(spec, { sources: [src], lake: obs() });
  const p = plan(spec, { sources: [src], lake: obs() }, { terminal: { fingerprint: first.fingerprint, code: "INCOMPATIBLE_SPEC_CHANGE", message: "would collapse rows" } });
  expect(p.kind).toBe("wait");
});

test("rows and bytes of a rewrite as people read them", () => {
  expect(rewriteSize({ rowCount: 1, dataFiles: null })).toBe("1 row");
  expect(rewriteSize({ rowCount: null })).toBe("? rows");
});

test("tables.yaml's onIncompatibleChange: absent unless declared (generations unchanged), refuse or rebuild, anything else refused naming the field", () => {
  const yaml = (extra: string) => `tables:\n  - name: t\n    format: hudi\n    primaryKey: id\n    sources: [a.csv]\n${extra}`;
  const plain = parseTables(yaml(""), "t.yaml").tables[0];
  expect(plain.onIncompatibleChange).toBeUndefined();
  expect(parseTables(yaml("    onIncompatibleChange: rebuild\n"), "t.yaml").tables[0]).toMatchObject({ onIncompatibleChange: "rebuild" });
  expect(parseTables(yaml("    onIncompatibleChange: rebuild\n"), "t.yaml").tables[0].generation).not.toBe(plain.generation);
  expect(() => parseTables(yaml("    onIncompatibleChange: replace\n"), "t.yaml")).toThrow(/t\.yaml:6: tables\.0\.onIncompatibleChange/);
});

test("the preview: a layout change is an update under rebuild, a refused replace otherwise", () => {
  const { line: _line, ...data } = spec;
  const olds: TableState = { tableId: "default.orders", spec: { ...data, primaryKey: ["id"], generation: "g1" } };
  const news: TableState = { tableId: "default.orders", spec: data };
  expect(tableDiff(olds, news)).toMatchObject({ changes: true, updates: ["primaryKey"], replaces: [] });
  const refuse = { ...news, spec: { ...data, onIncompatibleChange: undefined } };
  expect(() => tableDiff(olds, refuse)).toThrow(RebuildRefused);
  expect(() => tableDiff(olds, refuse)).toThrow(/onIncompatibleChange: rebuild/);
  // Away from a partitioned Hudi table the preview fails as the reconciler would refuse, on any metastore; into one it is an update.
  const partitioned: TableState = { tableId: "default.orders", spec: { ...data, partitionBy: ["region"], generation: "g1" } };
  expect(() => tableDiff(partitioned, { ...news, spec: { ...data, format: "iceberg", partitionBy: ["region"] } })).toThrow(RebuildUnsafe);
  expect(() => tableDiff(partitioned, news)).toThrow(/^table default\.orders can't be rebuilt \(partitionBy \[region\] → \[\]\): a partitioned Hudi table's partitions/);
  expect(tableDiff(olds, { ...news, spec: { ...data, primaryKey: ["id"], partitionBy: ["region"] } })).toMatchObject({ changes: true, updates: ["partitionBy"] });
  expect(tableDiff(partitioned, { ...partitioned, spec: { ...partitioned.spec, sources: ["a.csv", "b.csv"] } })).toMatchObject({ updates: ["sources"] });
});

test("lakeform plan and the preview say the rebuild: the line, and --json's rebuild with the rows and bytes it rewrites", () => {
  const lake = obs();
  const t = tableDataPlan(spec, lake, plan(spec, { sources: [src], lake }), new Map());
  expect(t.rebuild).toEqual({ change: "key id → (id, region)", previous: { format: "hudi", primaryKey: ["id"], partitionBy: [] }, rows: 1200, bytes: 2 * 1024 * 1024 });
  expect(tablePlanLines(t)).toEqual(["default.orders: data plan: rebuild: 1,200 rows / 2.0 MiB rewritten, key id → (id, region)"]);
});

test("the rebuild is asked to keep the replaced table for the table's trash period, else the stack's (--trash-days / lakeform:reconciler trashDays)", async () => {
  const p = plan(spec, { sources: [src], lake: obs() });
  if (p.kind !== "act") throw new Error(`expected act, got ${p.kind}`);
  const asked: { trashDays?: number; declaredIn?: string }[] = [];
  const rebuild = async (_t: unknown, _prev: unknown, _g: string, opts: { trashDays?: number; declaredIn?: string } = {}) => {
    asked.push(opts);
    return { rebuilt: true, change: "key", rows: 1, keys: 1, checksum: "x", bytes: 1, shadow: "s", trashTable: "t", purgeAfter: "p", settled: false, durationMs: 1 };
  };
  const deps = { driver: { rebuild } as unknown as LakeDriver, sources: {} as SourceStore, warehouseBucket: "w", baseDir: "/d", trashDays: 30, declaredIn: "/d/tables.yaml" };
  const log = pino({ level: "silent" });
  await act(deps, spec, p.action, log);
  await act(deps, { ...spec, trash: { days: 2 } }, p.action, log);
  await act({ ...deps, trashDays: undefined }, spec, p.action, log);
  expect(asked).toEqual([
    { trashDays: 30, declaredIn: "/d/tables.yaml" },
    { trashDays: 2, declaredIn: "/d/tables.yaml" },
    { trashDays: undefined, declaredIn: "/d/tables.yaml" },
  ]);
});

test("a rebuild away from a partitioned Hudi table is refused on any metastore, and one into it on a metastore of the user's own, word for word as the job server refuses it, saying what to do", () => {
  const hudi = (partitionBy: string[], primaryKey = ["id"]) => ({ format: "hudi" as const, primaryKey, partitionBy });
  const ice = (partitionBy: string[]) => ({ format: "iceberg" as const, primaryKey: ["id"], partitionBy });
  // Hudi unpartitioned → partitioned on a metastore of the user's own: a failure, the job server never asked.
  const p = plan({ ...spec, primaryKey: ["id"], partitionBy: ["region"] }, { sources: [src], lake: obs() });
  if (p.kind !== "fail") throw new Error(`expected fail, got ${p.kind}`);
  expect(p.error.code).toBe("INCOMPATIBLE_SPEC_CHANGE");
  // The job server's text (jobs/tests/test_rebuild.py checks the same phrases of rebuild_core's).
  expect(p.error.message).toBe(
    "table default.orders can't be rebuilt (partitionBy [] → [region]): its metastore entry's partition keys would change from [] to [region] " +
      "(a partitioned Hudi table's partition columns are its entry's partition keys), which Hive's alter_table refuses, and this stack's metastore isn't " +
      "Lakeform's own (which replaces an entry whole, partitions and all, in one call): the swap would be a drop and a create, and readers would find no " +
      "table in between; the table is unchanged. To go on: keep partitionBy [] on this Hudi table, or rebuild it as format: iceberg with partitionBy [region] " +
      "(an Iceberg table's partitioning is in its own metadata: it is swapped in one step, and changed later without a rewrite)",
  );
  // lakeform plan says it.
  const hudiSpec = { ...spec, primaryKey: ["id"], partitionBy: ["region"] };
  expect(tablePlanLines(tableDataPlan(hudiSpec, obs(), p, new Map()))).toEqual([`default.orders: data plan: refused (INCOMPATIBLE_SPEC_CHANGE): ${p.error.message}`]);
  expect(partitionedHudiRefusal("d.t", ice(["region"]), hudi(["region"]), false)).toMatch(/^table d\.t can't be rebuilt \(format iceberg → hudi\): .* from \[\] to \[region\] .*To go on: keep format: iceberg/);
  // Into a partitioned Hudi table on Lakeform's own metastore (it replaces the entry whole): the plan acts on it.
  for (const b of [hudi([]), ice(["region"]), ice([])]) expect(partitionedHudiRefusal("d.t", b, hudi(["region"]), true)).toBeUndefined();
  const whole = plan(hudiSpec, { sources: [src], lake: obs({ replacesWhole: true }) });
  if (whole.kind !== "act") throw new Error(`expected act, got ${whole.kind}`);
  expect(whole.action).toMatchObject({ kind: "apply", calls: [{ op: "rebuild", change: "partitioning [] → [region]" }] });
  // Away from a partitioned Hudi table: refused on every metastore, Lakeform's own too (a query straddling the swap would list the new table's partitions).
  for (const replacesWhole of [false, true]) {
    for (const after of [ice(["region"]), hudi([]), hudi(["day"]), ice([])])
      expect(partitionedHudiRefusal("d.t", hudi(["region"]), after, replacesWhole)).toMatch(
        /lists its partitions in two calls: a query that read this table's entry just before a swap would list the new table's partitions \(or none\).*To go on: keep format: hudi and partitionBy \[region\] on this table/,
      );
    expect(partitionedHudiRefusal("d.t", hudi(["region"]), hudi(["region"], ["id", "day"]), replacesWhole)).toMatch(/lists its partitions in two calls.*keep primaryKey \[id\] on this partitioned Hudi table/);
  }
  const partitioned = obs({ replacesWhole: true, format: "hudi", commits: [{ commit: "c1", time: "t", sourceHash: "a", generation: "g1", spec: recorded({ partitionBy: ["region"] }) }] });
  const away = plan({ ...hudiSpec, format: "iceberg" }, { sources: [src], lake: partitioned });
  if (away.kind !== "fail") throw new Error(`expected fail, got ${away.kind}`);
  expect(away.error.message).toMatch(/^table default\.orders can't be rebuilt \(format hudi → iceberg\): a partitioned Hudi table's partitions/);
  // One metastore step: no partitioned Hudi table on either side.
  for (const [b, a] of [[hudi([]), hudi([], ["id", "region"])], [hudi([]), ice(["region"])], [ice(["region"]), hudi([])]] as const) expect(partitionedHudiRefusal("d.t", b, a, false)).toBeUndefined();
  expect(plan({ ...spec, format: "iceberg", primaryKey: ["id"], partitionBy: ["region"] }, { sources: [src], lake: obs({ format: "hudi" }) }).kind).toBe("act");
});
