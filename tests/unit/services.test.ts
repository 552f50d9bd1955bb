/**
 * The stack's program with Pulumi's mocks: the reconciler and the API as supervised local
 * services reading the outputs file, and one Table per entry of the stack's tables.yaml, children
 * of the Lakehouse, waiting for the reconciler.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadTables } from "../../lake/spec";
import { findCreated, recordResources, type CreatedResource } from "../helpers/pulumiMocks";

const ROOT = path.resolve(__dirname, "..", "..");
const DATA = "/tmp/lakeform-unit-services/dev";
/** The example's tables, as tables.yaml declares them (one Table resource each). */
const EXAMPLE_TABLES = loadTables(path.join(ROOT, "examples/tables.yaml")).tables.map((t) => `${t.database}.${t.name}`);

const created: CreatedResource[] = recordResources((type) =>
  type.endsWith(":Credentials") ? { accessKey: "lakeformab12cd34ef56", secretKey: "generated-secret-for-test" } : {},
);
pulumi.runtime.setAllConfig({
  "lakeform:runtime": "local",
  "lakeform:dataDir": DATA,
  "lakeform:tablesFile": "examples/tables.yaml",
  "lakeform:api": JSON.stringify({ port: 25090 }),
});

beforeAll(async () => {
  process.env.TRINO_JAVA_HOME = process.env.TRINO_JAVA_HOME ?? "/usr/lib/jvm/temurin-25-jdk-amd64";
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildLakehouse } = require("../../stacks/index") as typeof import("../../stacks/index");
  const built = buildLakehouse(ROOT);
  expect(built.tables).toHaveLength(EXAMPLE_TABLES.length);
  await Promise.all(built.tables.map((t) => new Promise<void>((resolve) => t.rows.apply(() => resolve()))));
  await new Promise((r) => setTimeout(r, 500));
});

const LOCAL = "pulumi-nodejs:dynamic/lakeform:LocalService";

test("the reconciler and the API run under the supervisor, on the stack's tables.yaml, logs under the data dir", () => {
  const rec = findCreated(created, LOCAL, "lakehouse-services-reconciler");
  const cmd: string[] = rec.inputs.process.command;
  expect(cmd.slice(0, 6)).toEqual([path.join(ROOT, "bin/lakeform"), "supervise", "--service", "reconciler", "--state", `${DATA}/reconciler/supervisor.json`]);
  expect(cmd.slice(6)).toEqual(["--log", `${DATA}/reconciler/logs/reconciler.log`, "--log-max-bytes", "52428800", "--log-keep", "5", "--", path.join(ROOT, "bin/lakeform"), "reconcile", "-f", path.join(ROOT, "examples/tables.yaml"), "--resync", "60"]);
  expect(rec.inputs.process.logFile).toBe(`${DATA}/reconciler/logs/reconciler.log`);
  expect(rec.inputs.process.env.LAKEFORM_OUTPUTS_FILE).toBe(`${DATA}/outputs.json`);
  expect(rec.dependsOn).toContain("lakehouse-outputs");

  const api = findCreated(created, LOCAL, "lakehouse-services-api");
  expect(api.inputs.process.command).toEqual(expect.arrayContaining(["api", "--port", "25090", "--host", "127.0.0.1"]));
  expect(api.inputs.process.health).toEqual({ http: "http://127.0.0.1:25090/healthz", statuses: [200, 503] });
  expect(api.inputs.process.ports).toEqual([25090]);
  // Its env carries a hash of the outputs, which hold the keys: the whole process spec stays secret.
  expect(api.secretInputs).toEqual(expect.arrayContaining(["process"]));
});

test("the stack outputs file is written with every output, as a secret", () => {
  const f = findCreated(created, "pulumi-nodejs:dynamic/lakeform:StackOutputsFile", "lakehouse-outputs");
  expect(f.inputs.file).toBe(`${DATA}/outputs.json`);
  expect(Object.keys(f.inputs.outputs).sort()).toEqual(
    ["apiReadToken", "apiToken", "dataDir", "jobServerSecret", "metastoreUri", "s3AccessKey", "s3Endpoint", "s3Region", "s3SecretKey", "sparkJobServer", "sparkUi", "trinoCertificate", "trinoEndpoint", "trinoPassword", "trinoReadPassword", "warehouseBucket"],
  );
  expect(f.secretInputs).toContain("outputs");
});

test("one lakeform:index:Table per entry of tables.yaml, child of the Lakehouse, waiting for the reconciler", () => {
  const tables = created.filter((r) => r.type === "lakeform:index:Table");
  expect(EXAMPLE_TABLES).toEqual(expect.arrayContaining(["default.leads", "default.regions"]));
  expect(tables.map((t) => t.name).sort()).toEqual([...EXAMPLE_TABLES].sort());
  for (const t of tables) expect(t.parent).toBe("lakehouse");
  const sync = findCreated(created, "pulumi-nodejs:dynamic/lakeform:TableSync", "default.leads-sync");
  expect(sync.parent).toBe("default.leads");
  expect(sync.dependsOn).toContain("lakehouse-services-reconciler");
  expect(sync.inputs).toMatchObject({
    tableId: "default.leads",
    tablesFile: path.join(ROOT, "examples/tables.yaml"),
    statusFile: `${DATA}/reconciler/status.json`,
    timeoutSec: 900,
    spec: { format: "hudi", primaryKey: ["index"], orderingField: "updated_at", sources: ["data/leads-*.csv"] },
  });
  expect(sync.inputs.spec.generation).toMatch(/^[0-9a-f]{16}$/);
});

test("the outputs file: written 0600, a removed or loosened file shows up in refresh, key order doesn't matter", async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require("node:fs") as typeof import("node:fs");
  const { outputsFile } = await import("../../components/services/impl");
  const dir = fs.mkdtempSync("/tmp/lakeform-outputs-");
  const file = `${dir}/outputs.json`;
  const { outs } = await outputsFile.create({ file, outputs: { b: "2", a: "1" } });
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  fs.writeFileSync(file, JSON.stringify({ a: "1", b: "2" }), { mode: 0o600 });
  expect((await outputsFile.read(file, outs)).props.present).toBe(true);
  fs.chmodSync(file, 0o644);
  expect((await outputsFile.read(file, outs)).props.present).toBe(false);
  fs.rmSync(file);
  const { props } = await outputsFile.read(file, outs);
  expect(props.present).toBe(false);
  expect((await outputsFile.diff(file, props, { file, outputs: { a: "1", b: "2" } })).changes).toBe(true);
  expect((await outputsFile.diff(file, outs, { file, outputs: { a: "1", b: "2" } })).changes).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
});
