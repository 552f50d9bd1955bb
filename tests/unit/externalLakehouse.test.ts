/**
 * A lakehouse with every service external (issue 24), under Pulumi mocks: it declares nothing but
 * Lakeform's own job server (the external cluster's driver), its secrets and the checks resource
 * every engine waits for; the outputs name the external services.
 */
import { findCreated, recordResources, valueOf, type CreatedResource } from "../helpers/pulumiMocks";
import { testToolchain } from "../helpers/toolchain";

const created: CreatedResource[] = recordResources((type) => (type.endsWith(":Credentials") ? { secretKey: "generated-secret-for-test-0123" } : {}));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Lakehouse } = require("../../components/lakehouse") as typeof import("../../components/lakehouse");

const S3 = { endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", pathStyle: false, bucket: "team-lake", accessKey: "AKIA0", secretKey: "s3cr3t" };
const TRINO = { endpoint: "https://trino.internal:8443", user: "lake_writer", password: "pw-writer", readUser: "lake_reader", readPassword: "pw-reader" };
const SPARK = { master: "spark://spark-master.internal:7077", executorMemory: "4g", executorCores: 2, maxCores: 8, driverHost: "10.0.0.5" };

let lake: InstanceType<typeof Lakehouse>;
beforeAll(async () => {
  lake = new Lakehouse("lakehouse", {
    runtime: "local",
    dataDir: "/d",
    toolchain: testToolchain(),
    objectStore: { external: S3 },
    metastore: { external: { uri: "thrift://hms.internal:9083" } },
    spark: { port: 8998, external: SPARK },
    trino: { external: TRINO },
  });
  await valueOf(lake.trino.endpoint);
  await new Promise((r) => setTimeout(r, 300));
});

test("nothing provisioned but the job server, Lakeform's own secrets and the checks", () => {
  const custom = created.filter((r) => !r.type.startsWith("lakeform:index:")).map((r) => `${r.type} ${r.name}`).sort();
  expect(custom).toEqual([
    "pulumi-nodejs:dynamic/lakeform:Credentials lakehouse-api-read-token",
    "pulumi-nodejs:dynamic/lakeform:Credentials lakehouse-api-token",
    "pulumi-nodejs:dynamic/lakeform:Credentials lakehouse-job-server-secret",
    "pulumi-nodejs:dynamic/lakeform:ExternalServices lakehouse-external-services",
    "pulumi-nodejs:dynamic/lakeform:LocalService lakehouse-spark-job-server",
  ]);
});

test("the checks carry every external service as a secret, and the job server waits for them", () => {
  const checks = findCreated(created, "pulumi-nodejs:dynamic/lakeform:ExternalServices", "lakehouse-external-services");
  expect(checks.secretInputs).toContain("spec");
  expect(checks.inputs.spec).toEqual({
    objectStore: S3,
    metastore: { uri: "thrift://hms.internal:9083" },
    spark: { master: SPARK.master },
    trino: { ...TRINO, catalogs: ["hive", "hudi", "iceberg"] },
  });
  const server = findCreated(created, "pulumi-nodejs:dynamic/lakeform:LocalService", "lakehouse-spark-job-server");
  expect(server.dependsOn).toContain("lakehouse-external-services");
});

test("the outputs are the external services', the passwords and keys secrets", async () => {
  expect(await valueOf(lake.objectStore.endpoint)).toBe(S3.endpoint);
  expect(await valueOf(lake.objectStore.region)).toBe("eu-west-1");
  expect(lake.objectStore.pathStyle).toBe(false);
  expect(lake.warehouseBucket).toBe("team-lake");
  expect(await valueOf(lake.metastore.uri)).toBe("thrift://hms.internal:9083");
  expect(await valueOf(lake.trino.endpoint)).toBe(TRINO.endpoint);
  expect(await valueOf(lake.trino.certificate)).toBe("");
  expect(await valueOf(lake.trinoPassword)).toBe("pw-writer");
  expect(await valueOf(lake.trinoReadPassword)).toBe("pw-reader");
  expect([lake.trinoUser, lake.trinoReadUser]).toEqual(["lake_writer", "lake_reader"]);
  for (const o of [lake.objectStore.secretKey, lake.objectStore.accessKey, lake.trinoPassword]) expect(await (o as any).isSecret).toBe(true);
});

test("the job server is the external master's client-mode driver: executors as configured, S3 virtual-hosted, no RPC secret of its own", () => {
  const server = findCreated(created, "pulumi-nodejs:dynamic/lakeform:LocalService", "lakehouse-spark-job-server");
  const defaults = server.inputs.files["/d/spark/conf/spark-defaults.conf"] as string;
  expect(defaults).toContain("spark.master spark://spark-master.internal:7077\n");
  expect(defaults).toContain("spark.executor.memory 4g\n");
  expect(defaults).toContain("spark.executor.cores 2\n");
  expect(defaults).toContain("spark.cores.max 8\n");
  expect(defaults).toContain("spark.driver.host 10.0.0.5\n");
  expect(defaults).toContain("spark.hadoop.fs.s3a.path.style.access false\n");
  expect(defaults).toContain(`spark.hadoop.fs.s3a.endpoint ${S3.endpoint}\n`);
  expect(defaults).not.toContain("spark.authenticate");
  expect(server.inputs.process.env.SPARK_LOCAL_IP).toBe("10.0.0.5");
});
