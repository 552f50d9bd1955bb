/**
 * Scale-out on the local runtime: `spark.workers: 2` and `trino.workers: 1` on a stack of its own
 * (ports beside the e2e stack's). A standalone Spark master with two worker processes runs the
 * executors of the job server and of a spark-submit write (the master's and workers' own JSON
 * show it), and a Trino coordinator with one worker node runs a query's tasks on both nodes
 * (system.runtime.nodes, system.runtime.tasks).
 *
 * Then, standing in for another team's cluster, a second stack (e2e-ext) declares all four
 * services external, pointing at this stack's S3, metastore, Spark master and Trino: it runs
 * nothing but Lakeform's job server (the cluster's driver), the user flow goes through
 * Lakeform's reconciler and API on both formats, and its destroy leaves the services and the data
 * as they were.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import pino from "pino";
import { parse } from "yaml";
import { apiTokens, createLakeService } from "../../api/runtime";
import { buildApi } from "../../api/server";
import { machineInstallPaths } from "../../components/local/install";
import { sparkLocalPorts, sparkRpcSecret } from "../../components/spark";
import { s3Client } from "../../lake/outputs";
import { stackTrino, TRINO_USERS } from "../../lake/trino";
import { createReconciler } from "../../reconciler/runtime";
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
function e2eConfig() {
  return parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.e2e.yaml"), "utf8")).config;
}

function scaleConfig(): Record<string, { value: string }> {
  const e2e = e2eConfig();
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

describe("a second stack with all four services external (this stack's)", () => {
  const EXT = "e2e-ext";
  const FORMATS = ["hudi", "iceberg"] as const;
  type Fmt = (typeof FORMATS)[number];
  const table = (f: Fmt) => `ext_${f === "hudi" ? "h" : "i"}_${suffix}`;
  const log = pino({ level: process.env.LAKEFORM_TEST_VERBOSE ? "info" : "silent" });
  let ext: Stack;
  let extOuts: LakeOutputs;
  let dir: string;
  let scaleApps: string[];
  const verbose = (o: string) => process.env.LAKEFORM_TEST_VERBOSE && process.stderr.write(o);
  const csv = (rows: (string | number)[][]) => ["id,name,version", ...rows.map((r) => r.join(","))].join("\n") + "\n";

  beforeAll(async () => {
    const ports = sparkLocalPorts(sparkPort, 2);
    scaleApps = (await json<MasterState>(`http://127.0.0.1:${ports.masterUi}/json/`)).activeapps.map((a) => a.id);
    const secret = (v: unknown) => ({ value: JSON.stringify(v), secret: true });
    ext = await LocalWorkspace.createOrSelectStack(
      { stackName: EXT, projectName: "lakeform", program: async () => stackOutputs(buildLakehouse(PROJECT_DIR)) },
      { workDir: PROJECT_DIR },
    );
    await ext.setAllConfig({
      "lakeform:runtime": { value: "local" },
      "lakeform:services": { value: "false" },
      "lakeform:dataDir": { value: `.lakeform/${EXT}` },
      "lakeform:objectStore": secret({
        external: { endpoint: outs.s3Endpoint, region: outs.s3Region, pathStyle: true, bucket: outs.warehouseBucket, accessKey: outs.s3AccessKey, secretKey: outs.s3SecretKey },
      }),
      "lakeform:metastore": { value: JSON.stringify({ external: { uri: outs.metastoreUri } }) },
      // Only the job server runs here (its own port), the driver of the other stack's cluster.
      "lakeform:spark": secret({
        port: sparkPort + 10,
        driverMemory: "1g",
        external: { master: `spark://127.0.0.1:${ports.master}`, authSecret: sparkRpcSecret(outs.jobServerSecret), executorMemory: "512m", executorCores: 1, maxCores: 2 },
      }),
      "lakeform:trino": secret({
        external: {
          endpoint: outs.trinoEndpoint,
          user: TRINO_USERS.admin,
          password: outs.trinoPassword,
          readUser: TRINO_USERS.readOnly,
          readPassword: outs.trinoReadPassword,
          caCertificate: outs.trinoCertificate,
        },
      }),
    });
    await ext.up({ onOutput: verbose });
    extOuts = await readOutputs(ext);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-ext-"));
    const specs = FORMATS.map((f) => `  - { name: ${table(f)}, format: ${f}, primaryKey: id, orderingField: version, sources: [seed.csv] }`);
    fs.writeFileSync(path.join(dir, "tables.yaml"), `apiVersion: lakeform/v1\ntables:\n${specs.join("\n")}\n`);
    fs.writeFileSync(path.join(dir, "seed.csv"), csv([[1, "ada", 1], [2, "grace", 1], [3, "alan", 1], [4, "edsger", 1]]));
  });

  afterAll(async () => {
    if (process.env.LAKEFORM_KEEP_E2E === "1" || !ext) return;
    // Already destroyed by the last test unless it failed before; destroy is idempotent.
    await ext.destroy();
    await ext.workspace.removeStack(EXT);
  });

  test("it provisions nothing but Lakeform's own job server, its secrets, the checks and its outputs file", async () => {
    expect(extOuts).toMatchObject({ s3Endpoint: outs.s3Endpoint, warehouseBucket: outs.warehouseBucket, metastoreUri: outs.metastoreUri, trinoEndpoint: outs.trinoEndpoint });
    expect(extOuts.sparkJobServer).not.toBe(outs.sparkJobServer);
    expect(extOuts).toMatchObject({ trinoUser: TRINO_USERS.admin, trinoReadUser: TRINO_USERS.readOnly });
    const { deployment } = await ext.exportStack();
    const custom = (deployment.resources as { urn: string; type: string; custom: boolean }[])
      .filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"))
      .map((r) => r.urn.split("::").pop())
      .sort();
    expect(custom).toEqual([
      "lakehouse-api-read-token",
      "lakehouse-api-token",
      "lakehouse-external-services",
      "lakehouse-job-server-secret",
      "lakehouse-outputs",
      "lakehouse-spark-job-server",
    ]);
  });

  test("the user flow on both formats through its reconciler (Iceberg) and API; its executors run on the external workers, the JOIN's tasks on both Trino nodes", async () => {
    const lake = createLakeService(extOuts, path.join(dir, "tables.yaml"));
    const app = await buildApi({ lake, tokens: apiTokens(extOuts) });
    const auth = { authorization: `Bearer ${extOuts.apiToken}` };
    try {
      await Promise.all(
        FORMATS.map(async (f) => {
          if (f === "iceberg") {
            // Created by a reconciler pass from its declared source (the CI budget: Hudi's by an ingest).
            const r = createReconciler(extOuts, { tablesFile: path.join(dir, "tables.yaml"), statusFile: path.join(dir, `status-${f}.json`), log });
            await r.reconcileTable(lake.spec(table(f)));
            expect(r.lakeStatus.tables[`default.${table(f)}`].inSync).toBe(true);
          } else {
            const created = await app.inject({ method: "POST", url: `/ingest/${table(f)}`, headers: { "content-type": "text/csv", ...auth }, payload: fs.readFileSync(path.join(dir, "seed.csv")) });
            expect(created.statusCode).toBe(200);
          }
          const first = (await app.inject({ method: "GET", url: `/tables/${table(f)}/history`, headers: auth })).json().commits[0].commit as string;
          const up = await app.inject({ method: "POST", url: `/ingest/${table(f)}`, headers: { "content-type": "text/csv", ...auth }, payload: csv([[2, "grace h", 2], [5, "barbara", 1]]) });
          expect(up.statusCode).toBe(200);
          const del = await app.inject({ method: "DELETE", url: `/tables/${table(f)}/rows`, headers: { "content-type": "text/csv", ...auth }, payload: "id\n3\n" });
          expect(del.json()).toMatchObject({ rowsDeleted: 1 });
          const now = await stackTrino(extOuts, "readOnly").query(`SELECT id, name, version FROM ${f}.default.${table(f)} ORDER BY id`);
          expect(now.rows).toEqual([[1, "ada", 1], [2, "grace h", 2], [4, "edsger", 1], [5, "barbara", 1]]);
          const travel = await app.inject({ method: "GET", url: `/tables/${table(f)}/rows?asOf=${first}`, headers: auth });
          expect(travel.statusCode).toBe(200);
          const idAt = travel.json().columns.findIndex((c: { name: string }) => c.name === "id");
          expect(travel.json().rows.map((row: unknown[]) => row[idAt]).sort()).toEqual([1, 2, 3, 4]);
        }),
      );
      const marker = `ext_join_${suffix}`;
      const sql = `SELECT h.name, count(*) AS ${marker} FROM hudi.default.${table("hudi")} h JOIN iceberg.default.${table("iceberg")} i ON h.id = i.id AND h.name = i.name GROUP BY h.name`;
      const joined = await app.inject({ method: "POST", url: "/query", headers: { "content-type": "application/json", ...auth }, payload: { sql } });
      expect(joined.statusCode).toBe(200);
      expect(joined.json().rows.map((r: unknown[]) => r[0]).sort()).toEqual(["ada", "barbara", "edsger", "grace h"]);
      const admin = trino(outs);
      const nodes = (await admin.query("SELECT node_id FROM system.runtime.nodes")).rows.map((r) => r[0]).sort();
      const tasks = await admin.query(
        `SELECT DISTINCT t.node_id FROM system.runtime.tasks t JOIN system.runtime.queries q ON t.query_id = q.query_id WHERE q.query = '${sql}'`,
      );
      expect(tasks.rows.map((r) => r[0]).sort()).toEqual(nodes);
    } finally {
      await app.close();
    }
    // The second stack's job server is a second app of the same master, its executors on both workers.
    const ports = sparkLocalPorts(sparkPort, 2);
    const master = await json<MasterState>(`http://127.0.0.1:${ports.masterUi}/json/`);
    const extApps = master.activeapps.filter((a) => !scaleApps.includes(a.id));
    expect(extApps).toHaveLength(1);
    expect(await executorsOnEveryWorker(ports.workerUi.map((p) => `http://127.0.0.1:${p}/json/`), extApps[0].id)).toEqual([true, true]);
  });

  test("its destroy leaves the external services running and every object and table as it was", async () => {
    const s3 = s3Client(outs);
    const keys = async () =>
      (
        await Promise.all(
          FORMATS.map(async (f) => {
            const res = await s3.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/${table(f)}/` }));
            return (res.Contents ?? []).map((o) => `${o.Key}:${o.ETag}`);
          }),
        )
      ).flat().sort();
    const before = await keys();
    expect(before.length).toBeGreaterThan(0);
    await ext.destroy({ onOutput: verbose });
    expect(await keys()).toEqual(before);
    const ports = sparkLocalPorts(sparkPort, 2);
    const master = await json<MasterState>(`http://127.0.0.1:${ports.masterUi}/json/`);
    expect(master.workers.filter((w) => w.state === "ALIVE")).toHaveLength(2);
    // Its job server gone from the master; this stack's own still there.
    expect(master.activeapps.map((a) => a.id).sort()).toEqual([...scaleApps].sort());
    for (const f of FORMATS) {
      expect(await trino(outs).query(`SELECT id FROM ${f}.default.${table(f)} ORDER BY id`)).toMatchObject({ rows: [[1], [2], [4], [5]] });
    }
  });
});
