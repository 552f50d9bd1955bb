/**
 * A busy API (issue 13): 20 concurrent ingests (distinct CSVs of ROWS_PER rows each, keys disjoint
 * within a table) into 4 Hudi tables through the API's own service (the same code as POST
 * /tables/{name}/ingest, table leases included), while a reader runs count queries through Trino
 * the whole time. Bounded: gives up after LIMIT_S seconds. Prints p50/p99 ingest and query
 * latencies (figures, not asserted), then checks what must hold and exits non-zero otherwise:
 * every ingest is accepted, every accepted ingest appears in its table's history exactly once (by
 * source hash), and each table holds exactly the rows of the ingests it accepted.
 * Needs a running stack (LAKEFORM_STACK, default e2e):
 *   node_modules/.bin/tsx bench/api-load.ts [rowsPerIngest] [limitSeconds]
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createLakeService } from "../api/runtime";
import { readOutputs, selectStack } from "../stacks/automation";

const ROWS_PER = Number(process.argv[2] ?? 2000);
const LIMIT_S = Number(process.argv[3] ?? 1800);
const TABLES = 4;
const INGESTS = 20;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

async function main() {
  const outs = await readOutputs(await selectStack(process.env.LAKEFORM_STACK ?? "e2e"));
  const sfx = Date.now().toString(36);
  const names = Array.from({ length: TABLES }, (_, i) => `apiload_${i}_${sfx}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-api-load-"));
  const tablesFile = path.join(dir, "tables.yaml");
  // A table declares at least one source (lake/spec.ts); no reconciler runs here, so the seed (a
  // header alone) is never applied: the tables are made and filled by the API's ingests only.
  fs.writeFileSync(path.join(dir, "seed.csv"), "id,name,amount\n");
  fs.writeFileSync(tablesFile, `tables:\n${names.map((n) => `  - name: ${n}\n    format: hudi\n    primaryKey: [id]\n    sources: [seed.csv]\n`).join("")}`);
  const lake = createLakeService(outs, tablesFile);

  const ingests = Array.from({ length: INGESTS }, (_, i) => {
    const table = names[i % TABLES];
    const slot = Math.floor(i / TABLES);
    const lines = ["id,name,amount"];
    for (let k = slot * ROWS_PER; k < (slot + 1) * ROWS_PER; k++) lines.push(`${k},n${i}-${k},${k % 101}`);
    const body = Buffer.from(lines.join("\n") + "\n");
    return { table, body, hash: createHash("sha256").update(body).digest("hex"), name: `load-${i}.csv` };
  });

  let stop = false;
  const queryMs: number[] = [];
  const reader = (async () => {
    while (!stop) {
      const t0 = Date.now();
      try {
        await lake.query(`SELECT count(*) FROM hudi.default.${names[queryMs.length % TABLES]}`);
        queryMs.push(Date.now() - t0);
      } catch {
        /* a table not created yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const deadline = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), LIMIT_S * 1000).unref());
  const ingestMs: number[] = [];
  const accepted: typeof ingests = [];
  const failed: string[] = [];
  const t0 = Date.now();
  const all = Promise.all(
    ingests.map(async (x) => {
      const s = Date.now();
      try {
        await lake.ingestCsv(x.table, x.body, x.name);
        ingestMs.push(Date.now() - s);
        accepted.push(x);
      } catch (err) {
        failed.push(`${x.name} → ${x.table}: ${(err as Error).message}`);
      }
    }),
  );
  const outcome = await Promise.race([all, deadline]);
  stop = true;
  await reader;
  const wall = (Date.now() - t0) / 1000;
  console.log(`${INGESTS} ingests of ${ROWS_PER} rows into ${TABLES} tables: ${accepted.length} accepted, ${failed.length} failed${outcome === "timeout" ? `, stopped at the ${LIMIT_S} s limit` : ""}, ${wall.toFixed(1)} s`);
  console.log(`ingest latency p50 ${pct(ingestMs, 50)} ms, p99 ${pct(ingestMs, 99)} ms; query latency p50 ${pct(queryMs, 50)} ms, p99 ${pct(queryMs, 99)} ms (${queryMs.length} queries)`);
  for (const f of failed) console.log(`failed: ${f}`);

  // An ingest refused under load (a lease not obtained in time, say) is a finding too.
  const problems: string[] = failed.map((f) => `ingest failed: ${f}`);
  for (const table of names) {
    const history = await lake.history(table).catch(() => []);
    const mine = accepted.filter((x) => x.table === table);
    for (const x of mine) {
      const n = history.filter((c) => c.sourceHash === x.hash).length;
      if (n !== 1) problems.push(`${x.name} appears ${n} times in ${table}'s history`);
    }
    const rows = mine.length ? Number((await lake.query(`SELECT count(*) FROM hudi.default.${table}`)).rows[0][0]) : 0;
    if (rows !== mine.length * ROWS_PER) problems.push(`${table} holds ${rows} rows, its ${mine.length} accepted ingests ${mine.length * ROWS_PER}`);
  }
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  console.log(problems.length ? `NOT as required: ${problems.length} problem(s)` : `history/counts: every accepted ingest (${accepted.length} of ${INGESTS}) once, counts exact`);
  process.exit(problems.length || outcome === "timeout" ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
