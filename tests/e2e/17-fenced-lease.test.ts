/**
 * Fenced leases (issue 19, item 5), against the real job server, S3 and Trino, on both formats. A
 * writer takes the table's lease (a 3 s ttl) and sends a long write (an upsert of ROWS rows over
 * ROWS) carrying the lease's fencing token; once the job server reports the write at its writing
 * stage, the writer stops renewing (a paused or cut-off holder), the lease expires and a second
 * writer takes it over (the next generation) and writes. The first writer's request is never
 * aborted from its side: what stops it is the job server's own check of the lease object. It
 * answers LEASE_LOST (409, retryable) and leaves no commit (Hudi: no completed instant, and the
 * inflight one rolled back by the next write; Iceberg: no snapshot); the second writer's commit is
 * there, and Trino reads exactly the seed rows with the second writer's changes.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { JobClient, type JobTable } from "../../lake/jobClient";
import type { LakeformError } from "../../lake/errors";
import { TableLeases, fencedBy, type Lease } from "../../lake/lease";
import { Sources } from "../../lake/sources";
import type { LakeOutputs } from "../../stacks/automation";
import { ensureUp, s3, trino, waitFor } from "./lake";

const ROWS = Number(process.env.LAKEFORM_FENCE_ROWS ?? 1_000_000);
const sfx = Date.now().toString(36);
let outs: LakeOutputs;
let jobs: JobClient;
let sources: Sources;
const made: JobTable[] = [];

beforeAll(async () => {
  outs = await ensureUp();
  jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  sources = new Sources(s3(outs), outs.warehouseBucket);
}, 900_000);

afterAll(async () => {
  for (const t of made) await jobs.drop(t, true).catch(() => undefined);
});

function csv(from: number, to: number, tag: string): Buffer {
  const lines = ["id,name,amount"];
  for (let i = from; i < to; i++) lines.push(`${i},${tag}-${i},${i % 997}`);
  return Buffer.from(lines.join("\n") + "\n");
}

async function land(name: string, body: Buffer) {
  const { source, uri } = await sources.landContent(name, body);
  return { uri, hash: source.hash, name };
}

async function timeline(t: JobTable): Promise<string[]> {
  const res = await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `${t.database}/${t.name}/.hoodie/`, Delimiter: "/" }));
  return (res.Contents ?? []).map((o) => o.Key!.split("/").pop()!);
}

for (const format of ["hudi", "iceberg"] as const) {
  test(`${format}: a write held past its lease while another writer takes it over aborts with LEASE_LOST and commits nothing; the new holder's write commits, rows exact`, async () => {
    const name = `fence_${format}_${sfx}`;
    const t: JobTable = { name, database: "default", format, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` };
    made.push(t);
    await jobs.write(t, await land(`seed-${name}.csv`, csv(0, ROWS, "seed")), "1");
    const big = await land(`a-${name}.csv`, csv(0, ROWS, "A"));
    const small = await land(`b-${name}.csv`, csv(0, 10, "B"));
    const leaseTable = { database: t.database, name: t.name };
    const a = new TableLeases(s3(outs), outs.warehouseBucket, { holder: "writer-A", ttlMs: 3000 });
    const b = new TableLeases(s3(outs), outs.warehouseBucket, { holder: "writer-B", ttlMs: 30_000 });

    const held: Lease = await a.acquire(leaseTable, "e2e: the long write", 30_000);
    // A's request carries the lease's fencing token but is never aborted from A's side (an abort
    // that arrives late, or never): the job server alone must stop it.
    const never = new AbortController().signal;
    const first = fencedBy({ fence: held.fence, signal: never }, () => jobs.write(t, big, "1")).then(
      (r) => ({ ok: true as const, commit: r.commit }),
      (e: unknown) => ({ ok: false as const, error: e as LakeformError }),
    );
    // The kill point is what the write has done: it is writing (the format's write action runs).
    await waitFor("the long write's writing stage", async () => ((await jobs.progress(t)).some((p) => p.stage === "writing") ? true : undefined), { timeoutMs: 300_000, intervalMs: 100 });
    // A stops renewing: its lease expires within its ttl, and B takes it over.
    held.keep = async () => undefined;
    const taken = await b.acquire(leaseTable, "e2e: the takeover", 30_000, 100);
    expect(taken.fence.generation).toBe(held.fence.generation + 1);

    const outcome = await first;
    expect(outcome.ok ? `committed ${outcome.commit}` : outcome.error.code).toBe("LEASE_LOST");
    if (!outcome.ok) {
      expect(outcome.error.retryable).toBe(true);
      // Stopped while it wrote (the watchdog cancelled its Spark jobs), not before it began.
      expect(outcome.error.message).toMatch(/cancelled before it committed/);
    }

    const second = await fencedBy(taken, () => jobs.write(t, small, "1"));
    expect(second.commit).toBeTruthy();
    await taken.release();

    const seen = await jobs.observe(t);
    const hashes = seen.commits.map((c) => c.sourceHash);
    expect(hashes).not.toContain(big.hash);
    expect(hashes).toContain(small.hash);
    expect(seen.commits).toHaveLength(2);
    if (format === "hudi") {
      // B's write rolled A's inflight instant back: nothing of A's is left on the timeline.
      const names = await timeline(t);
      const completed = names.filter((n) => /^\d+(_\d+)?\.(commit|replacecommit)$/.test(n)).map((n) => n.split(/[._]/)[0]);
      expect(completed.sort()).toEqual(seen.commits.map((c) => c.commit).sort());
      const states = new Map<string, string[]>();
      for (const n of names) {
        const m = /^(\d+)\.(.+)$/.exec(n);
        if (m) states.set(m[1], [...(states.get(m[1]) ?? []), m[2]]);
      }
      expect([...states].filter(([, s]) => s.every((x) => /(inflight|requested)$/.test(x)))).toEqual([]);
    }
    const catalog = format === "hudi" ? "hudi" : "iceberg";
    const [count, distinct, fromA, fromB] = (await trino(outs).query(`SELECT count(*), count(DISTINCT id), count_if(name LIKE 'A-%'), count_if(name LIKE 'B-%') FROM ${catalog}.default.${name}`)).rows[0].map(Number);
    expect({ count, distinct, fromA, fromB }).toEqual({ count: ROWS, distinct: ROWS, fromA: 0, fromB: 10 });
  }, 900_000);
}
