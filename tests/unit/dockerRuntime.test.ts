import * as pulumi from "@pulumi/pulumi";
import { findCreated, recordResources, valueOf, type CreatedResource } from "../helpers/pulumiMocks";
import { testToolchain } from "../helpers/toolchain";

const created: CreatedResource[] = recordResources();
// Import only after the mocks are set.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Lakehouse } = require("../../components/lakehouse") as typeof import("../../components/lakehouse");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { IMAGES } = require("../../components/versions") as typeof import("../../components/versions");

let lake: InstanceType<typeof Lakehouse>;

beforeAll(async () => {
  lake = new Lakehouse("lh", {
    runtime: "docker",
    dataDir: "/unused",
    // The docker runtime needs no Java and no installs on the host.
    toolchain: testToolchain({ local: undefined }),
    credentials: { accessKey: "AKTEST", secretKey: pulumi.secret("s3cr3t-test") },
    objectStore: { engine: "minio", port: 9000 },
    spark: { workers: 2 },
    trino: { workers: 1 },
  });
  await valueOf(lake.trino.endpoint);
  // Let every apply settle so all resources are registered.
  await new Promise((r) => setTimeout(r, 200));
});

const containers = () => created.filter((c) => c.type === "docker:index/container:Container");
const container = (name: string) => findCreated(created, "docker:index/container:Container", name);

test("declares one bridge network that every container joins", () => {
  const net = findCreated(created, "docker:index/network:Network", "lh-net");
  expect(net.inputs.driver).toBe("bridge");
  for (const c of containers()) {
    expect(c.inputs.networksAdvanced.map((n: { name: string }) => n.name)).toContain("lh-net");
  }
});

test("pins every image by version", () => {
  const images = created.filter((c) => c.type === "docker:index/remoteImage:RemoteImage").map((c) => c.inputs.name);
  expect(images.sort()).toEqual([IMAGES.hive, IMAGES.minio, IMAGES.postgres, IMAGES.spark, IMAGES.trino].sort());
  for (const image of images) expect(image).toMatch(/:[\w.-]*\d[\w.-]*$/);
});

test("MinIO gets the generated credentials, a volume, its port and a health check", () => {
  const minio = container("lh-s3-minio");
  expect(minio.inputs.envs).toEqual(expect.arrayContaining(["MINIO_ROOT_USER=AKTEST", "MINIO_ROOT_PASSWORD=s3cr3t-test"]));
  expect(minio.inputs.ports).toEqual([expect.objectContaining({ internal: 9000, external: 9000 })]);
  expect(minio.inputs.volumes).toEqual([expect.objectContaining({ volumeName: "lh-s3-data", containerPath: "/data" })]);
  expect(minio.inputs.healthcheck.tests.join(" ")).toContain("/minio/health/live");
});

test("the warehouse bucket is a resource of its own on the MinIO provider", () => {
  const bucket = findCreated(created, "minio:index/s3Bucket:S3Bucket", "lh-s3-warehouse");
  expect(bucket.inputs.bucket).toBe("warehouse");
  expect(bucket.inputs.forceDestroy).toBe(false);
});

test("the metastore runs Hive's image on PostgreSQL with hadoop-aws and the S3 settings", () => {
  const hms = container("lh-metastore-hms");
  const envs: string[] = hms.inputs.envs;
  expect(envs).toContain("SERVICE_NAME=metastore");
  expect(envs.find((e) => e.startsWith("SERVICE_OPTS="))).toContain("jdbc:postgresql://lh-metastore-postgres:5432/metastore");
  expect(hms.inputs.volumes.map((v: { containerPath: string }) => v.containerPath)).toEqual(
    expect.arrayContaining([expect.stringMatching(/hadoop-aws-3\.3\.4\.jar$/), expect.stringMatching(/aws-java-sdk-bundle/)]),
  );
  const coreSite = hms.inputs.uploads.find((u: { file: string }) => u.file.endsWith("core-site.xml")).content;
  expect(coreSite).toContain("<name>fs.s3a.endpoint</name><value>http://lh-s3-minio:9000</value>");
  expect(coreSite).toContain("<name>fs.s3a.path.style.access</name><value>true</value>");
  expect(container("lh-metastore-postgres").inputs.healthcheck.tests.join(" ")).toContain("pg_isready");
});

test("Spark has a master, two workers and a job server configured for Hudi, Iceberg and the metastore", () => {
  expect(container("lh-spark-master").inputs.command).toContain("org.apache.spark.deploy.master.Master");
  for (const w of ["lh-spark-worker-1", "lh-spark-worker-2"]) {
    expect(container(w).inputs.command).toContain("spark://lh-spark-master:7077");
  }
  const server = container("lh-spark-job-server");
  const defaults = server.inputs.uploads[0].content as string;
  expect(defaults).toContain("spark.master spark://lh-spark-master:7077");
  expect(defaults).toContain("spark.sql.catalog.iceberg.uri thrift://lh-metastore-hms:9083");
  expect(defaults).toContain("spark.hadoop.fs.s3a.endpoint http://lh-s3-minio:9000");
  expect(defaults).toContain("org.apache.spark.sql.hudi.HoodieSparkSessionExtension");
  expect(defaults).toMatch(/spark\.jars .*hudi-spark3\.5-bundle_2\.12-1\.0\.2\.jar/);
  expect(server.inputs.healthcheck.tests.join(" ")).toContain("/healthz");
});

test("Trino's coordinator and worker get the three catalogs against the same metastore and S3", () => {
  for (const [name, coordinator] of [["lh-trino-coordinator", true], ["lh-trino-worker-1", false]] as const) {
    const uploads: { file: string; content: string }[] = container(name).inputs.uploads;
    const file = (f: string) => uploads.find((u) => u.file === `/etc/trino/${f}`)?.content ?? "";
    expect(file("config.properties")).toContain(`coordinator=${coordinator}`);
    expect(file("config.properties")).toContain("discovery.uri=http://lh-trino-coordinator:8080");
    for (const catalog of ["hive", "hudi", "iceberg"]) {
      expect(file(`catalog/${catalog}.properties`)).toContain("hive.metastore.uri=thrift://lh-metastore-hms:9083");
      expect(file(`catalog/${catalog}.properties`)).toContain("s3.endpoint=http://lh-s3-minio:9000");
    }
    expect(file("catalog/hive.properties")).toContain("hive.hudi-catalog-name=hudi");
  }
  expect(container("lh-trino-coordinator").inputs.ports).toEqual([expect.objectContaining({ internal: 8080, external: 8080 })]);
});

test("every container has a health check and waits for it", () => {
  for (const c of containers()) {
    expect(c.inputs.healthcheck?.tests?.length).toBeGreaterThan(0);
    expect(c.inputs.wait).toBe(true);
  }
});

test("every input that carries the S3 secret is marked secret", () => {
  const carrying = created.flatMap((c) =>
    Object.entries(c.inputs)
      .filter(([, v]) => JSON.stringify(v ?? "").includes("s3cr3t-test"))
      .map(([k]) => ({ resource: c.name, input: k, secret: c.secretInputs.includes(k) })),
  );
  expect(carrying.length).toBeGreaterThan(5);
  expect(carrying.filter((c) => !c.secret)).toEqual([]);
});

test("services start in order: S3 and its bucket, then the metastore, then Spark and Trino", () => {
  expect(container("lh-metastore-hms").dependsOn).toEqual(expect.arrayContaining(["lh-metastore-postgres", "lh-s3-minio", "lh-s3-warehouse"]));
  expect(container("lh-spark-job-server").dependsOn).toEqual(expect.arrayContaining(["lh-metastore-hms", "lh-spark-worker-1", "lh-spark-worker-2"]));
  expect(container("lh-spark-worker-1").dependsOn).toContain("lh-spark-master");
  expect(container("lh-trino-coordinator").dependsOn).toEqual(expect.arrayContaining(["lh-metastore-hms", "lh-s3-warehouse"]));
  expect(container("lh-trino-worker-1").dependsOn).toContain("lh-trino-coordinator");
});

test("every resource sits under its component, and the components under the Lakehouse", () => {
  expect(findCreated(created, "lakeform:index:Trino", "lh-trino").parent).toBe("lh");
  expect(container("lh-trino-coordinator").parent).toBe("lh-trino");
  expect(container("lh-metastore-postgres").parent).toBe("lh-metastore");
  expect(created.filter((c) => c.type !== "lakeform:index:Lakehouse" && !c.parent).map((c) => c.name)).toEqual([]);
});
