/**
 * Why one warm Spark driver: the same small upsert (1,000 rows into a Hudi table) through the
 * running job server, versus a cold `spark-submit` of the same job program per write.
 * Prints figures; asserts nothing. Run: node_modules/.bin/tsx bench/job-runner.ts
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { readOutputs } from "../stacks/automation";
import { machineInstallPaths } from "../components/local/install";
import { JOB_SERVER_SCRIPT } from "../components/toolchain";
import { JobClient } from "../lake/jobClient";
import { s3Client } from "../lake/outputs";
import { Sources } from "../lake/sources";

const run = promisify(execFile);

async function main() {
  process.env.LAKEFORM_STACK ??= "e2e";
  const outs = await readOutputs();
  const sources = new Sources(s3Client(outs), outs.warehouseBucket);
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const name = `bench_jobs_${Date.now().toString(36)}`;
  const table = { name, database: "default", format: "hudi" as const, primaryKey: ["id"], orderingField: "ts", partitionBy: [], schemaPolicy: "addColumns" as const, location: `s3a://${outs.warehouseBucket}/default/${name}` };
  const csv = (round: number) => "id,value,ts\n" + Array.from({ length: 1000 }, (_, i) => `${i},${round * 1000 + i},${round}`).join("\n") + "\n";

  const warm: number[] = [];
  for (let round = 0; round < 4; round++) {
    const { source, uri } = await sources.landContent(`r${round}.csv`, Buffer.from(csv(round)));
    const t0 = Date.now();
    await jobs.write(table, { uri, hash: source.hash, name: `r${round}.csv` }, "bench");
    warm.push((Date.now() - t0) / 1000);
  }

  const { source, uri } = await sources.landContent("cold.csv", Buffer.from(csv(9)));
  const request = JSON.stringify({ op: "write", table, source: { uri, hash: source.hash, name: "cold.csv" }, generation: "bench" });
  const defaults = path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf");
  const t0 = Date.now();
  await run(machineInstallPaths().sparkSubmit, ["--properties-file", defaults, JOB_SERVER_SCRIPT, "--request", request], {
    env: { ...process.env, PYSPARK_PYTHON: machineInstallPaths().python, SPARK_LOCAL_IP: "127.0.0.1", SPARK_LOCAL_DIRS: fs.mkdtempSync(path.join(os.tmpdir(), "spark-")), LAKEFORM_WAREHOUSE_BUCKET: outs.warehouseBucket },
    maxBuffer: 64 * 1024 * 1024,
  });
  const cold = (Date.now() - t0) / 1000;
  console.log(`warm job server, 1,000-row upsert: ${warm.map((w) => w.toFixed(1)).join(", ")} s (first is the table's creation)`);
  console.log(`cold spark-submit of the same job:  ${cold.toFixed(1)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
