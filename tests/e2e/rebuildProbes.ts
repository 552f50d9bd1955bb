/**
 * What the rebuild e2e files (29, 30, 32) read of a workspace's tables: the Synced condition, count(*)
 * and a checksum through Trino's hive catalog (which redirects to whichever format the entry is, so
 * one name serves a reader across a format change), the job server's table of a name, and a
 * reader polling count(*) until stopped; what such a reader may see across a swap.
 */
import * as fs from "node:fs";
import { getCondition } from "../../lake/conditions";
import { jobTable } from "../../lake/jobClient";
import { parseTables } from "../../lake/spec";
import { readStatus } from "../../lake/status";
import type { TablesWorkspace } from "./lake";

export function rebuildProbes(workspace: () => TablesWorkspace) {
  const synced = (name: string) => getCondition(readStatus(workspace().statusFile)?.tables[`default.${name}`]?.conditions ?? [], "Synced");
  const count = async (name: string) => Number(await workspace().t.scalar(`SELECT count(*) FROM hive.default.${name}`));
  const checksum = async (name: string) =>
    (
      await workspace().t.query(
        `SELECT count(*), checksum(CAST(id AS bigint)), checksum(CAST(region AS varchar)), checksum(CAST(amount AS double)) FROM hive.default.${name}`,
      )
    ).rows[0]
      .map(String)
      .join("|");
  const spec = (name: string) => {
    const w = workspace();
    return jobTable(parseTables(fs.readFileSync(w.tablesFile, "utf8"), w.tablesFile).tables.find((x) => x.name === name)!, w.outs.warehouseBucket);
  };
  /** count(*) in a loop until stopped: every answer, and every failure (a missing table would be one). */
  const pollReader = (name: string) => {
    const seen: number[] = [];
    const failures: string[] = [];
    let stop = false;
    const done = (async () => {
      while (!stop) {
        try {
          seen.push(await count(name));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    return { seen, failures, stop: async () => void ((stop = true), await done) };
  };
  /** A partitioned Hudi table's partitions as the metastore lists them, through Trino. */
  const partitions = async (name: string) => (await workspace().t.query(`SELECT region FROM hive.default."${name}$partitions" ORDER BY region`)).rows.map((r) => String(r[0]));
  return { synced, count, checksum, spec, pollReader, partitions };
}

/** A query that straddles a swap, at most once: Trino's hive catalog read the old entry to
 * redirect and the target catalog found the new one ("Not a Hudi table"). (A swap away from a
 * partitioned Hudi table, whose straddling query would list the new table's partitions, is refused.) */
export const STRADDLE = /^Not an? (Hudi|Iceberg) table: default\./;

/** A polling reader saw the table's rows throughout: no failure but one straddling the swap, never a missing table, a half-swapped entry or another count. */
export function expectRowsThroughout(r: { seen: number[]; failures: string[] }, rows: number): void {
  const racing = r.failures.filter((f) => STRADDLE.test(f));
  expect(r.failures.filter((f) => !racing.includes(f))).toEqual([]);
  expect(racing.length).toBeLessThanOrEqual(1);
  expect(new Set(r.seen)).toEqual(new Set([rows]));
  expect(r.seen.length).toBeGreaterThan(0);
}
