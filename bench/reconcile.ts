/**
 * Reconciler timings against the running lakehouse of $LAKEFORM_STACK (default e2e):
 *  1. seconds from a tables.yaml edit (a new table with a 10,000-row CSV) to the rows being
 *     visible in Trino, with `lakeform reconcile` running as users run it;
 *  2. seconds of a pass with nothing to do, over the same tables (median of 5).
 * Prints figures; asserts nothing. Run: node_modules/.bin/tsx bench/reconcile.ts
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { readOutputs, type LakeOutputs } from "../stacks/automation";
import { createReconciler } from "../reconciler/runtime";
import { stackTrino } from "../lake/trino";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);

/**
 * Seconds from a tables.yaml edit (a new Hudi table with a CSV of `rows` rows) to the rows being
 * visible in Trino, with `lakeform reconcile` running as users run it. Leaves its folder behind
 * for the no-op timing; returns it.
 */
export async function editToVisible(outs: LakeOutputs, rows = ROWS): Promise<{ seconds: number; dir: string; name: string }> {
  const trino = stackTrino(outs, "admin");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-bench-"));
  const name = `bench_${Date.now().toString(36)}`;
  const header = "Index,Name,Amount,Updated At\n";
  const body = Array.from({ length: rows }, (_, i) => `${i + 1},name-${i + 1},${(i * 37) % 1000}.5,2026-11-${(i % 28) + 1}`).join("\n");
  fs.writeFileSync(path.join(dir, "big.csv"), header + body + "\n");
  fs.writeFileSync(path.join(dir, "tables.yaml"), "apiVersion: lakeform/v1\ntables: []\n");

  const cli = path.resolve(__dirname, "..", "bin", "lakeform");
  const child = spawn(cli, ["reconcile", "-f", path.join(dir, "tables.yaml")], {
    env: { ...process.env, LAKEFORM_LOG_FORMAT: "json" },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let started = false;
  child.stderr.on("data", (d: Buffer) => {
    if (d.toString().includes("Reconciler started")) started = true;
  });
  while (!started) await new Promise((r) => setTimeout(r, 200));

  const t0 = Date.now();
  fs.writeFileSync(
    path.join(dir, "tables.yaml"),
    `apiVersion: lakeform/v1\ntables:\n  - name: ${name}\n    format: hudi\n    primaryKey: Index\n    orderingField: Updated At\n    sources: [big.csv]\n`,
  );
  for (;;) {
    const n = await trino.scalar<number>(`SELECT count(*) FROM hudi.default.${name}`).catch(() => 0);
    if (n === rows) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = (Date.now() - t0) / 1000;
  process.kill(-child.pid!, "SIGINT");
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
  return { seconds, dir, name };
}

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const { seconds: edit, dir } = await editToVisible(outs);

  const r = createReconciler(outs, { tablesFile: path.join(dir, "tables.yaml"), statusFile: path.join(dir, "status.json"), log: pino({ level: "silent" }) });
  await r.runOnce();
  const noop: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = Date.now();
    const res = await r.runOnce();
    if (res.some((x) => x.wrote > 0)) throw new Error("a no-op pass wrote something");
    noop.push((Date.now() - s) / 1000);
  }
  noop.sort((a, b) => a - b);
  console.log(`tables.yaml edit -> ${ROWS} rows visible in Trino (hudi): ${edit.toFixed(1)} s`);
  console.log(`pass with nothing to do (1 table): median ${noop[2].toFixed(2)} s, min ${noop[0].toFixed(2)} s, max ${noop[4].toFixed(2)} s`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
