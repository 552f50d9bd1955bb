/**
 * Rebuild as a planned action (issue 22, item 2), against the real lakehouse: under
 * onIncompatibleChange: rebuild, a key change of a Hudi table and a format change each way (an
 * Iceberg table to Hudi, a Hudi table to Iceberg) are each rewritten from the table's current rows (an Iceberg row deleted through
 * Trino, which no source knows of, stays deleted), verified, and swapped into the metastore in one
 * step, while a reader polls count(*) through Trino's hive catalog (which redirects to whichever
 * format the entry is): it never sees a missing table or another count (a format change may fail
 * the one query that straddles its swap: Trino reads the entry twice, to redirect and to read). The rows after are the
 * rows before (Trino's checksums), and the replaced tables are in the trash. A key that two rows
 * share is refused before anything is written, naming the count, the table unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { TrashStore } from "../../lake/trash";
import { reconcileOnce, s3, tablesWorkspace, type TablesWorkspace } from "./lake";
import { rebuildProbes } from "./rebuildProbes";

jest.setTimeout(240_000);

const sfx = Date.now().toString(36);
const HUDI = `rbs_h_${sfx}`;
const ICE = `rbs_i_${sfx}`;
const H2I = `rbs_x_${sfx}`;
const ROWS = 40;
let w: TablesWorkspace;
const logs: Record<string, unknown>[] = [];

const declare = (hudi: { key: string }, ice: { format: string }, h2i = "hudi") =>
  fs.writeFileSync(
    w.tablesFile,
    `apiVersion: lakeform/v1
tables:
  - name: ${HUDI}
    format: hudi
    primaryKey: ${hudi.key}
    onIncompatibleChange: rebuild
    sources: [h.csv]
  - name: ${ICE}
    format: ${ice.format}
    primaryKey: id
    onIncompatibleChange: rebuild
    sources: [i.csv]
  - name: ${H2I}
    format: ${h2i}
    primaryKey: id
    onIncompatibleChange: rebuild
    sources: [h.csv]
`,
  );
const pass = () => reconcileOnce(w, pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) }));
const { synced, count, checksum, spec, pollReader } = rebuildProbes(() => w);

beforeAll(async () => {
  w = await tablesWorkspace("lakeform-rebuild-swap-");
  const csv = (n: number) => ["id,region,amount", ...Array.from({ length: n }, (_, i) => `${i + 1},${["eu", "us"][i % 2]},${(i * 1.5).toFixed(1)}`)].join("\n") + "\n";
  fs.writeFileSync(path.join(w.dir, "h.csv"), csv(ROWS));
  fs.writeFileSync(path.join(w.dir, "i.csv"), csv(ROWS));
  declare({ key: "id" }, { format: "iceberg" });
  await pass();
  expect(await count(HUDI)).toBe(ROWS);
  // A delete no source knows of: only the table has it, so a rebuild must start from the table.
  await w.t.query(`DELETE FROM iceberg.default.${ICE} WHERE id = 3`);
  expect(await count(ICE)).toBe(ROWS - 1);
});

test("a key change (Hudi) and format changes both ways (Iceberg → Hudi, Hudi → Iceberg) are rebuilt and swapped in while readers never see a missing table or another count", async () => {
  const before = { [HUDI]: await checksum(HUDI), [ICE]: await checksum(ICE), [H2I]: await checksum(H2I) };
  declare({ key: "[id, region]" }, { format: "hudi" }, "iceberg");
  const readers = { [HUDI]: pollReader(HUDI), [ICE]: pollReader(ICE), [H2I]: pollReader(H2I) };
  const t0 = Date.now();
  await pass();
  const took = Date.now() - t0;
  await Promise.all(Object.values(readers).map((r) => r.stop()));

  for (const [name, r] of Object.entries(readers)) {
    // A format change can fail one query that starts at the swap: Trino's hive catalog reads the
    // entry to redirect, the target catalog reads it again (README, Rebuild). Nothing else: never
    // a missing table, a half-swapped entry ("Unsupported storage format") or another count.
    const racing = name === HUDI ? [] : r.failures.filter((f) => /^Not an? (Hudi|Iceberg) table: default\./.test(f));
    expect(r.failures.filter((f) => !racing.includes(f))).toEqual([]);
    expect(racing.length).toBeLessThanOrEqual(1);
    expect(new Set(r.seen)).toEqual(new Set([name === ICE ? ROWS - 1 : ROWS]));
    expect(r.seen.length).toBeGreaterThan(3);
  }
  expect(synced(HUDI)?.status).toBe("True");
  expect(synced(ICE)?.status).toBe("True");
  expect(synced(H2I)?.status).toBe("True");
  // The same rows, read through the new tables.
  expect(await checksum(HUDI)).toBe(before[HUDI]);
  expect(await checksum(ICE)).toBe(before[ICE]);
  expect(await checksum(H2I)).toBe(before[H2I]);
  // Hudi → Iceberg: the entry is an Iceberg table's now.
  expect(Number(await w.t.scalar(`SELECT count(*) FROM iceberg.default.${H2I}`))).toBe(ROWS);
  expect(Number(await w.t.scalar(`SELECT count(*) FROM hudi.default.${ICE} WHERE id = 3`))).toBe(0);
  // The new layouts are the tables' newest commits' own.
  const hudi = await w.jobs.observe(spec(HUDI));
  expect(JSON.parse(hudi.commits[hudi.commits.length - 1].spec!)).toMatchObject({ format: "hudi", primaryKey: ["id", "region"] });
  const ice = await w.jobs.observe(spec(ICE));
  expect(ice.format).toBe("hudi");
  expect(JSON.parse(ice.commits[ice.commits.length - 1].spec!)).toMatchObject({ format: "hudi", primaryKey: ["id"] });
  // Their files are where the rebuild wrote them (what lakeform describe shows), beside the home location.
  for (const o of [hudi, ice]) expect(o.location).toMatch(new RegExp(`^s3a://${w.outs.warehouseBucket}/default/(${HUDI}|${ICE})-r\\d+$`));
  // Nothing applied twice: the sources stay applied after the rebuild.
  expect(logs.filter((l) => l.msg === "Applied source" && String(l.table ?? "").includes(sfx) && Number(l.time) > t0)).toEqual([]);
  // The replaced tables are in the trash, under their trash names, until their trash period ends.
  const trash = (await new TrashStore(s3(w.outs), w.outs.warehouseBucket).list()).filter((x) => x.name.includes(sfx));
  expect(trash.map((x) => [x.name.replace(/__before_\d+$/, ""), x.format, x.rowCount])).toEqual(expect.arrayContaining([[HUDI, "hudi", ROWS], [ICE, "iceberg", ROWS - 1], [H2I, "hudi", ROWS]]));
  // Named by this tables.yaml, whose reconciler purges them when their trash period ends.
  expect(new Set(trash.map((x) => x.declaredIn))).toEqual(new Set([path.resolve(w.tablesFile)]));
  // Restorable: registered under its trash name (what undrop asks of the job server), it is the old table, with its rows.
  const old = trash.find((x) => x.name.startsWith(`${HUDI}__before_`))!;
  const oldTable = { ...spec(HUDI), name: old.name, primaryKey: ["id"], location: `s3a://${w.outs.warehouseBucket}/default/${old.name}` };
  expect((await w.jobs.register(oldTable)).registered).toBe(true);
  expect(Number(await w.t.scalar(`SELECT count(*) FROM hudi.default.${old.name}`))).toBe(ROWS);
  await w.jobs.drop(oldTable, false);
  const said = logs.filter((l) => String(l.msg).startsWith("Rebuilt the table"));
  expect(said.length).toBe(3);
  process.stdout.write(`rebuilds took ${took} ms; readers saw ${Object.values(readers).map((r) => r.seen.length).join(", ")} answers\n`);
});

test("a new key two rows share is refused before anything is written, naming the count; the table is unchanged", async () => {
  const before = await checksum(HUDI);
  const trashBefore = (await new TrashStore(s3(w.outs), w.outs.warehouseBucket).list()).length;
  declare({ key: "region" }, { format: "hudi" }, "iceberg");
  await pass();
  const c = synced(HUDI);
  expect(c?.status).toBe("False");
  expect(c?.message).toMatch(/would collapse rows: 2 key\(s\) are shared by more than one row \(e\.g\. '(eu|us)', '(eu|us)'\); the table is unchanged/);
  expect(await checksum(HUDI)).toBe(before);
  expect((await new TrashStore(s3(w.outs), w.outs.warehouseBucket).list()).length).toBe(trashBefore);
});
