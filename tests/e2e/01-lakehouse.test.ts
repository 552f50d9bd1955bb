/**
 * Provisioning, end to end, through the plain Pulumi CLI as users type it: `pulumi up --yes`
 * brings the four real services, they work together, a second `up` changes nothing (nor does
 * `lakeform up`, the Automation API path, on the same state), a killed service is noticed by
 * `pulumi refresh` and comes back with its data, `pulumi destroy` leaves nothing behind.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { LakeOutputs } from "../../stacks/automation";
import { machineInstallPaths } from "../../components/local/install";
import { isPidAlive, portOpen } from "../../components/local/process";
import { readOutputs } from "../../stacks/automation";
import { e2eStack, pulumi, run, s3, trino } from "./lake";

const suffix = Date.now().toString(36);
let outs: LakeOutputs;

const SERVICES = ["s3", "metastore", "spark", "trino"];
const pidOf = (svc: string): number => JSON.parse(fs.readFileSync(path.join(outs.dataDir, svc, `${svc}.pid`), "utf8")).pid;

beforeAll(async () => {
  // On a fresh clone the stack doesn't exist yet: create it as a user would.
  await pulumi("stack", "select", "--create");
  await pulumi("up", "--yes", "--skip-preview");
  outs = await readOutputs(await e2eStack());
});

test("S3: put, list and get an object with the generated credentials; other keys are refused", async () => {
  const client = s3(outs);
  const key = `e2e/${suffix}/hello.txt`;
  await client.send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: key, Body: "hello lake" }));
  const listed = await client.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `e2e/${suffix}/` }));
  expect(listed.Contents?.map((o) => o.Key)).toEqual([key]);
  const got = await client.send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: key }));
  expect(await got.Body?.transformToString()).toBe("hello lake");
  expect(outs.s3AccessKey).toMatch(/^lakeform[0-9a-f]{12}$/);

  const intruder = new S3Client({
    endpoint: outs.s3Endpoint, region: outs.s3Region, forcePathStyle: true,
    credentials: { accessKeyId: "minioadmin", secretAccessKey: "minioadmin" },
  });
  await expect(intruder.send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: key }))).rejects.toThrow();
});

test("Trino lists the hive, hudi and iceberg catalogs", async () => {
  const { rows } = await trino(outs).query("SHOW CATALOGS");
  expect(rows.map((r) => r[0])).toEqual(expect.arrayContaining(["hive", "hudi", "iceberg"]));
});

test("a Spark job writes a Hudi table (hive sync) and an Iceberg table that Trino reads", async () => {
  const defaults = path.join(outs.dataDir, "spark", "conf", "spark-defaults.conf");
  const script = path.join(__dirname, "fixtures", "smoke_write.py");
  await run(machineInstallPaths().sparkSubmit, ["--properties-file", defaults, script, outs.warehouseBucket, suffix], {
    env: { ...process.env, PYSPARK_PYTHON: machineInstallPaths().python, SPARK_LOCAL_IP: "127.0.0.1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const t = trino(outs);
  expect(await t.scalar(`SELECT count(*) FROM hudi.default.smoke_hudi_${suffix}`)).toBe(3);
  expect(await t.scalar(`SELECT count(*) FROM iceberg.default.smoke_iceberg_${suffix}`)).toBe(3);
  // The Hudi table's files are in the warehouse bucket, with its timeline.
  const listed = await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `default/smoke_hudi_${suffix}/.hoodie/` }));
  expect(listed.KeyCount).toBeGreaterThan(0);
});

test("a second up changes nothing, through the CLI and through the Automation API", async () => {
  // --expect-no-changes makes the CLI fail if anything would change.
  const out = await pulumi("up", "--yes", "--expect-no-changes");
  // Every resource the program declares (the stack, components and their children; providers
  // aren't counted by the CLI's summary), as the state lists them.
  const state = await (await e2eStack()).exportStack();
  const declared = state.deployment.resources.filter((r: { type: string }) => !r.type.startsWith("pulumi:providers:")).length;
  expect(declared).toBeGreaterThan(SERVICES.length);
  expect(out).toMatch(new RegExp(`\\b${declared} unchanged`));
  const res = await (await e2eStack()).up();
  const changes = res.summary.resourceChanges ?? {};
  expect(Object.keys(changes).filter((k) => k !== "same")).toEqual([]);
});

test("a killed service is noticed by refresh and brought back by up, with its data", async () => {
  const stack = await e2eStack();
  const pid = pidOf("s3");
  process.kill(-pid, "SIGKILL");
  while (isPidAlive(pid)) await new Promise((r) => setTimeout(r, 100));

  await pulumi("refresh", "--yes");
  const state = await stack.exportStack();
  const s3Server = state.deployment.resources.find((r: { urn: string }) => r.urn.endsWith("::lakehouse-s3-server"));
  expect(s3Server.outputs.running).toBe(false);

  const out = await pulumi("up", "--yes", "--skip-preview");
  expect(out).toMatch(/lakehouse-s3-server\s+updated/);
  expect(pidOf("s3")).not.toBe(pid);
  expect(await trino(outs).scalar(`SELECT count(*) FROM hudi.default.smoke_hudi_${suffix}`)).toBe(3);
});

test("destroy stops every service and leaves no open port", async () => {
  const pids = SERVICES.map(pidOf);
  const ports = [outs.s3Endpoint, outs.trinoEndpoint, outs.sparkJobServer].map((u) => Number(new URL(u).port));
  ports.push(Number(outs.metastoreUri.split(":").pop()));
  await pulumi("destroy", "--yes", "--skip-preview");
  for (const pid of pids) expect(isPidAlive(pid)).toBe(false);
  for (const port of ports) expect(await portOpen(port)).toBe(false);
});
