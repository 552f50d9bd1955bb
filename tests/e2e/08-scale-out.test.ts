/**
 * Scale-out on the local runtime: `spark.workers: 2` and `trino.workers: 1` on a stack of its own
 * (ports beside the e2e stack's). A standalone Spark master with two worker processes runs the
 * executors of the job server and of a spark-submit write (the master's and workers' own JSON
 * show it), and a Trino coordinator with one worker node runs a query's tasks on both nodes
 * (system.runtime.nodes, system.runtime.tasks).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { machineInstallPaths } from "../../components/local/install";
import { sparkLocalPorts } from "../../components/spark";
import { PROJECT_DIR, readOutputs, type LakeOutputs } from "../../stacks/automation";
import { buildLakehouse, stackOutputs } from "../../stacks/index";
import { run, trino } from "./lake";
import { executorsOnEveryWorker, json, type MasterState, type WorkerState } from "./sparkUi";

const STACK = "e2e-scale";
const suffix = Date.now().toString(36);
let stack: Stack;
let outs: LakeOutputs;
let sparkPort: number;

/** The e2e stack's ports (each helper's own), moved to free ones beside them. */
function scaleConfig(): Record<string, { value: string }> {
  const e2e = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.e2e.yaml"), "utf8")).config;
  sparkPort = e2e["lakeform:spark"].port - 50;
  return {
    "lakeform:runtime": { value: "local" },
    // The tests drive what they need; no reconciler or API services of the stack.
    "lakeform:services": { value: "false" },
    "lakeform:dataDir": { value: `.lakeform/${STACK}` },
    "lakeform:objectStore": { value: JSON.stringify({ engine: "seaweedfs", port: e2e["lakeform:objectStore"].port + 100 }) },
    "lakeform:metastore": { value: JSON.stringify({ port: e2e["lakeform:metastore"].port + 100, heap: "512m" }) },
    "lakeform:spark": { value: JSON.stringify({ port: sparkPort, workers: 2, driverMemory: "1g", workerMemory: "1g" }) },
    "lakeform:trino": { value: JSON.stringify({ port: e2e["lakeform:trino"].port + 100, workers: 1, heap: "1G" }) },
  };
}

beforeAll(async () => {
  stack = await LocalWorkspace.createOrSelectStack(
    { stackName: STACK, projectName: "lakeform", program: async () => stackOutputs(buildLakehouse(PROJECT_DIR)) },
    { workDir: PROJECT_DIR },
  );
  await stack.setAllConfig(scaleConfig());
  await stack.up({ onOutput: (o) => process.env.LAKEFORM_TEST_VERBOSE && process.stderr.write(o) });
  outs = await readOutputs(stack);
});

afterAll(async () => {
  if (process.env.LAKEFORM_KEEP_E2E === "1" || !stack) return;
  await stack.destroy();
  // Removes the stack and its settings file (Pulumi.e2e-scale.yaml).
  await stack.workspace.removeStack(STACK);
});

test("the standalone master has both workers, and the job server's executors run on them", async () => {
  const ports = sparkLocalPorts(sparkPort, 2);
  const master = await json<MasterState>(`http://127.0.0.1:${ports.masterUi}/json/`);
  expect(master.workers.filter((w) => w.state === "ALIVE")).toHaveLength(2);
  // The job server's SparkSession names the app (jobs/lakeform_jobs/server.py: "lakeform-jobs").
  const jobServer = master.activeapps.find((a) => a.name.startsWith("lakeform-job"));
  expect(jobServer).toBeDefined();
  for (const uiPort of ports.workerUi) {
    const worker = await json<WorkerState>(`http://127.0.0.1:${uiPort}/json/`);
    expect(worker.executors.map((e) => e.appid)).toContain(jobServer!.id);
  }
});

test("a Spark write runs its executors on the workers, and Trino reads what it wrote", async () => {
  const bin = machineInstallPaths();
  const defaults = path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf");
  expect(fs.readFileSync(defaults, "utf8")).toMatch(/^spark\.master spark:\/\/127\.0\.0\.1:\d+$/m);
  await run(bin.sparkSubmit, ["--properties-file", defaults, path.join(__dirname, "fixtures", "smoke_write.py"), outs.warehouseBucket, suffix], {
    env: { ...process.env, PYSPARK_PYTHON: bin.python, SPARK_LOCAL_IP: "127.0.0.1" },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60_000,
  });
  const ports = sparkLocalPorts(sparkPort, 2);
  const master = await json<MasterState>(`http://127.0.0.1:${ports.masterUi}/json/`);
  const smoke = master.completedapps.find((a) => a.name === "lakeform-smoke");
  expect(smoke).toBeDefined();
  const ran = await executorsOnEveryWorker(ports.workerUi.map((p) => `http://127.0.0.1:${p}/json/`), smoke!.id);
  expect(ran).toEqual([true, true]);
  expect(await trino(outs).scalar(`SELECT count(*) FROM iceberg.default.smoke_iceberg_${suffix}`)).toBe(3);
});

test("Trino has a coordinator and a worker, and a query's tasks run on both", async () => {
  const t = trino(outs);
  const nodes = await t.query("SELECT node_id, coordinator, state FROM system.runtime.nodes");
  expect(nodes.rows.map((r) => r[2])).toEqual(["active", "active"]);
  expect(nodes.rows.map((r) => r[1]).sort()).toEqual([false, true]);
  const marker = `scale_${suffix}`;
  // GROUP BY: a hash-partitioned stage, which Trino spreads over every node.
  const sql = `SELECT name, count(*) AS ${marker} FROM hudi.default.smoke_hudi_${suffix} GROUP BY name`;
  expect((await t.query(sql)).rows).toHaveLength(3);
  const { rows } = await t.query(
    `SELECT DISTINCT t.node_id FROM system.runtime.tasks t JOIN system.runtime.queries q ON t.query_id = q.query_id
     WHERE q.query = '${sql}'`,
  );
  expect(rows.map((r) => r[0]).sort()).toEqual(nodes.rows.map((r) => r[0]).sort());
});
