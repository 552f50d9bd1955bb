import * as pulumi from "@pulumi/pulumi";
import { findCreated, recordResources, valueOf, type CreatedResource } from "../helpers/pulumiMocks";
import { testToolchain } from "../helpers/toolchain";

// Generated secrets as the provider would make them (the job server's is checked to be non-empty).
const created: CreatedResource[] = recordResources((type) => (type.endsWith(":Credentials") ? { accessKey: "lakeformab12cd34ef56", secretKey: "generated-secret-for-test" } : {}));
// Import only after the mocks are set.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Lakehouse } = require("../../components/lakehouse") as typeof import("../../components/lakehouse");

const toolchain = testToolchain({ local: undefined });
let lake: InstanceType<typeof Lakehouse>;

beforeAll(async () => {
  lake = new Lakehouse("lh", {
    runtime: "docker",
    dataDir: "/unused",
    stack: "dev",
    // The docker runtime needs no Java and no installs on the host: only the staged image contexts.
    toolchain,
    credentials: { accessKey: "AKTEST", secretKey: pulumi.secret("s3cr3t-test") },
    objectStore: { engine: "minio", port: 9000 },
    spark: { workers: 2 },
    trino: { workers: 1 },
  });
  await valueOf(lake.trino.endpoint);
  // Let every apply settle so all resources are registered.
  await new Promise((r) => setTimeout(r, 200));
});

const ofType = (t: string) => created.filter((c) => c.type === t);
const containers = () => ofType("docker:index/container:Container");
const container = (name: string) => findCreated(created, "docker:index/container:Container", name);

test("one bridge network named for the stack, which every container joins", () => {
  const net = findCreated(created, "docker:index/network:Network", "lh-net");
  expect(net.inputs).toMatchObject({ name: "dev-lh-net", driver: "bridge" });
  expect(containers().length).toBeGreaterThan(0);
  for (const c of containers()) expect(c.inputs.networksAdvanced.map((n: { name: string }) => n.name)).toEqual(["dev-lh-net"]);
});

test("every image is Lakeform's own, built by up from its staged context (nothing pulled, nothing pushed)", () => {
  expect(ofType("docker:index/remoteImage:RemoteImage")).toEqual([]);
  const images = ofType("docker:index/image:Image");
  const contexts = Object.values(toolchain.images!).map((i) => i!.dir);
  for (const img of images) {
    expect(img.inputs.skipPush).toBe(true);
    expect(contexts).toContain(img.inputs.build.context);
    expect(img.inputs.build.args.BASE).toMatch(/^debian:(bookworm|trixie)-slim$/);
    expect(img.inputs.imageName).toMatch(/^lakeform\/(spark|metastore|trino|minio|seaweedfs):[0-9a-f]{16}$/);
  }
  const names = images.map((i) => i.inputs.imageName);
  for (const c of containers()) expect(names).toContain(c.inputs.image);
  // Each container waits for its image to be built.
  for (const c of containers()) expect(c.dependsOn.some((d) => images.some((i) => i.name === d))).toBe(true);
});

test("every container: the stack's name in its name, ports on loopback only, data in named volumes, no host files", () => {
  for (const c of containers()) {
    expect(c.inputs.name).toMatch(/^dev-lh-/);
    for (const p of c.inputs.ports ?? []) expect(p.ip).toBe("127.0.0.1");
    for (const v of c.inputs.volumes ?? []) {
      expect(v.hostPath).toBeUndefined();
      expect(v.volumeName).toMatch(/^dev-lh-/);
    }
  }
  for (const v of ofType("docker:index/volume:Volume")) expect(v.inputs.name).toMatch(/^dev-lh-/);
});

test("every container has a health check the image can run, and up waits for it long enough for 2 cores", () => {
  for (const c of containers()) {
    expect(c.inputs.healthcheck.tests.slice(0, 2)).toEqual(["CMD", "lakeform-healthcheck"]);
    expect(c.inputs.wait).toBe(true);
    expect(c.inputs.waitTimeout).toBeGreaterThanOrEqual(120);
    expect(c.inputs.restart).toBe("unless-stopped");
  }
});

test("the engines reach S3 and the metastore by the containers' names on the stack's network", () => {
  const defaults = container("lh-spark-job-server").inputs.uploads[0].content as string;
  expect(defaults).toContain("spark.hadoop.fs.s3a.endpoint http://dev-lh-s3-minio:9000");
  expect(defaults).toContain("spark.sql.catalog.iceberg.uri thrift://dev-lh-metastore-hms:9083");
  const hive = container("lh-trino-worker-1").inputs.uploads.find((u: { file: string }) => u.file === "/etc/trino/catalog/hive.properties").content;
  expect(hive).toContain("hive.metastore.uri=thrift://dev-lh-metastore-hms:9083");
  expect(hive).toContain("s3.endpoint=http://dev-lh-s3-minio:9000");
});

test("the warehouse bucket is a resource of its own on the MinIO provider, through the loopback port", () => {
  const bucket = findCreated(created, "minio:index/s3Bucket:S3Bucket", "lh-s3-warehouse");
  expect(bucket.inputs).toMatchObject({ bucket: "warehouse", forceDestroy: false });
  expect(findCreated(created, "pulumi:providers:minio", "lh-s3-minio-provider").inputs.minioServer).toBe("127.0.0.1:9000");
});

test("every input that carries the S3 secret is marked secret", () => {
  const carrying = created.flatMap((c) =>
    Object.entries(c.inputs)
      .filter(([, v]) => JSON.stringify(v ?? "").includes("s3cr3t-test"))
      .map(([k]) => ({ resource: c.name, input: k, secret: c.secretInputs.includes(k) })),
  );
  expect(carrying.map((c) => c.resource)).toEqual(
    expect.arrayContaining(["lh-s3-minio", "lh-metastore-hms", "lh-spark-job-server", "lh-trino-coordinator", "lh-trino-worker-1", "lh-s3-minio-provider"]),
  );
  expect(carrying.filter((c) => !c.secret)).toEqual([]);
});

test("services start in order: S3 and its bucket, then the metastore, then Spark and Trino", () => {
  expect(container("lh-metastore-hms").dependsOn).toEqual(expect.arrayContaining(["lh-s3-minio", "lh-s3-warehouse"]));
  expect(container("lh-spark-job-server").dependsOn).toEqual(expect.arrayContaining(["lh-metastore-hms", "lh-spark-worker-1", "lh-spark-worker-2"]));
  expect(container("lh-spark-worker-1").dependsOn).toContain("lh-spark-master");
  expect(container("lh-trino-coordinator").dependsOn).toEqual(expect.arrayContaining(["lh-metastore-hms", "lh-s3-warehouse"]));
  expect(container("lh-trino-worker-1").dependsOn).toContain("lh-trino-coordinator");
});

test("every resource sits under its component, and the components under the Lakehouse", () => {
  expect(findCreated(created, "lakeform:index:Trino", "lh-trino").parent).toBe("lh");
  expect(container("lh-trino-coordinator").parent).toBe("lh-trino");
  expect(container("lh-metastore-hms").parent).toBe("lh-metastore");
  expect(created.filter((c) => c.type !== "lakeform:index:Lakehouse" && !c.parent).map((c) => c.name)).toEqual([]);
});
