/**
 * A rebuild survives kill -9 of the job server in the middle of it (issue 22, item 2), on the local
 * runtime: a Hudi table's partitioning change (swapped by the metastore's whole replace) is under
 * way, its shadow's files are being written, and the job server's process is killed. The pass
 * fails the table and the supervisor starts the job server again; the next pass settles the
 * stopped rebuild (its shadow's entry and files removed, the table as it was serving) and rebuilds
 * it. A reader polling count(*) through Trino the whole time sees the table's rows, never a missing
 * table; the table ends rebuilt with the same rows, one replaced table in the trash, nothing left
 * of the killed attempt.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { TrashStore } from "../../lake/trash";
import { PROJECT_DIR } from "../../stacks/automation";
import { reconcileOnce, s3, tablesWorkspace, waitFor, type TablesWorkspace } from "./lake";
import { expectRowsThroughout, rebuildProbes } from "./rebuildProbes";

jest.setTimeout(600_000);

const sfx = Date.now().toString(36);
const NAME = `rbk_${sfx}`;
const ROWS = 20_000;
const DATA_DIR = path.resolve(PROJECT_DIR, ".lakeform", "e2e");
let w: TablesWorkspace;

const declare = (partitionBy: string) =>
  fs.writeFileSync(
    w.tablesFile,
    `apiVersion: lakeform/v1\ntables:\n  - name: ${NAME}\n    format: hudi\n    primaryKey: id\n    partitionBy: ${partitionBy}\n    onIncompatibleChange: rebuild\n    sources: [r.csv]\n`,
  );
const pass = () => reconcileOnce(w, pino({ level: "silent" }));
const { synced, count, checksum, pollReader, partitions } = rebuildProbes(() => w);
/** The object keys under a prefix of the warehouse bucket (a shadow's location is <table>-r<stamp>). */
const keys = async (prefix: string) => {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3(w.outs).send(new ListObjectsV2Command({ Bucket: w.outs.warehouseBucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.NextContinuationToken;
  } while (token);
  return out;
};
const supervisor = (): { childPid?: number; restarts: number } => JSON.parse(fs.readFileSync(path.join(DATA_DIR, "spark", "supervisor.json"), "utf8"));

beforeAll(async () => {
  w = await tablesWorkspace("lakeform-rebuild-kill-");
  fs.writeFileSync(path.join(w.dir, "r.csv"), ["id,region,amount", ...Array.from({ length: ROWS }, (_, i) => `${i + 1},${["eu", "us", "ap"][i % 3]},${(i * 2.5).toFixed(1)}`)].join("\n") + "\n");
  declare("[]");
  await pass();
  expect(`${synced(NAME)?.status}: ${synced(NAME)?.message}`).toMatch(/^True/);
});

test("kill -9 of the job server while a rebuild writes its shadow: the next pass settles it and rebuilds; the reader sees the rows throughout", async () => {
  const before = await checksum(NAME);
  declare("[region]");
  const reader = pollReader(NAME);
  const first = pass();
  // The kill point: the shadow's first files are in the object store (the rebuild is at its writing stage).
  const shadowKeys = await waitFor("the rebuild's shadow files", async () => {
    const k = await keys(`default/${NAME}-r`);
    return k.length ? k : undefined;
  }, { timeoutMs: 240_000, intervalMs: 100 });
  const killedShadow = shadowKeys[0].split("/")[1];
  const { childPid, restarts } = supervisor();
  process.kill(childPid!, "SIGKILL");
  await first;
  expect(synced(NAME)?.status).toBe("False");
  // The supervisor starts it again, by itself.
  await waitFor("the job server back", async () => (supervisor().restarts > restarts && (await w.jobs.healthy()) ? true : undefined), { timeoutMs: 300_000, intervalMs: 1000 });
  await pass();
  await reader.stop();
  // Never a missing table or another count (a query straddling the swap may fail once).
  expectRowsThroughout(reader, ROWS);
  expect(`${synced(NAME)?.status}: ${synced(NAME)?.message}`).toMatch(/^True/);
  expect(await count(NAME)).toBe(ROWS);
  expect(await checksum(NAME)).toBe(before);
  expect(await partitions(NAME)).toEqual(["ap", "eu", "us"]);
  // The killed attempt left nothing: its shadow's files are gone unless the second attempt took the same stamp (a second's resolution).
  const now = (await w.jobs.observe({ name: NAME, database: "default", format: "hudi", primaryKey: ["id"], partitionBy: ["region"], schemaPolicy: "addColumns", location: `s3a://${w.outs.warehouseBucket}/default/${NAME}` } as never)).location!;
  const live = now.split("/").pop()!;
  if (live !== killedShadow) expect(await keys(`default/${killedShadow}/`)).toEqual([]);
  expect((await w.t.query(`SHOW TABLES FROM hive.default LIKE '${NAME}__%'`)).rows).toEqual([]);
  const trash = (await new TrashStore(s3(w.outs), w.outs.warehouseBucket).list()).filter((x) => x.name.startsWith(`${NAME}__before_`));
  expect(trash.map((x) => [x.format, x.rowCount])).toEqual([["hudi", ROWS]]);
});
