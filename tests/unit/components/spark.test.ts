import { PLACEHOLDER_CONNECTION } from "../../../components/plans";
import { sparkDockerPlan, sparkLocalPlans } from "../../../components/spark";
import { testToolchain } from "../../helpers/toolchain";
import { CONN, fieldsCarrying, shapeOf } from "./conn";

const tc = testToolchain();
const local = { dataDir: "/d", port: 24998, driverMemory: "2g", workerMemory: "1g" };

describe("local plan", () => {
  test("without workers: one job server in local mode, running the toolchain's job program", () => {
    const { cluster, server } = sparkLocalPlans({ ...local, workers: 0 }, tc, CONN);
    expect(cluster).toEqual([]);
    expect(server.files["/d/spark/conf/spark-defaults.conf"]).toContain("spark.master local[*]");
    expect(server.process.command).toEqual(expect.arrayContaining([tc.local!.paths.sparkSubmit, tc.jobs.entry, "--serve", "--port", "24998"]));
    expect(server.process.env).toMatchObject({ JAVA_HOME: tc.local!.java17Home, PYSPARK_PYTHON: tc.local!.paths.python, SPARK_LOCAL_IP: "127.0.0.1" });
    expect(server.process.health.http).toBe("http://127.0.0.1:24998/healthz");
  });

  test("a changed job program is a changed plan (the server restarts on up)", () => {
    const a = sparkLocalPlans({ ...local, workers: 0 }, tc, CONN).server;
    const b = sparkLocalPlans({ ...local, workers: 0 }, testToolchain({ jobs: { ...tc.jobs, sha256: "0".repeat(64) } }), CONN).server;
    expect(a.process.env.LAKEFORM_JOBS_SHA256).toBe(tc.jobs.sha256);
    expect(JSON.stringify(a.process)).not.toBe(JSON.stringify(b.process));
  });

  test("with workers: a standalone master, one process per worker, the job server submitting to the master", () => {
    const { cluster, server } = sparkLocalPlans({ ...local, workers: 2 }, tc, CONN);
    expect(cluster.map((p) => p.service)).toEqual(["spark-master", "spark-worker-1", "spark-worker-2"]);
    const master = /spark\.master (\S+)/.exec(server.files["/d/spark/conf/spark-defaults.conf"])![1];
    expect(master).toMatch(/^spark:\/\/127\.0\.0\.1:\d+$/);
    for (const w of cluster.slice(1)) expect(w.process.command).toContain(master);
    const ports = cluster.flatMap((p) => p.process.ports);
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports).not.toContain(local.port);
    // Workers are healthy only once registered with this master.
    for (const w of cluster.slice(1)) expect(w.process.health.bodyIncludes).toBe(`"${master}"`);
  });

  test("with workers: each app takes one single-core executor per worker, so a second app still gets cores", () => {
    const defaults = sparkLocalPlans({ ...local, workers: 2 }, tc, CONN).server.files["/d/spark/conf/spark-defaults.conf"];
    expect(defaults).toContain("spark.cores.max 2\n");
    expect(defaults).toContain("spark.executor.cores 1\n");
    // workerMemory 1g: two 512m executors fit on a worker.
    expect(defaults).toContain("spark.executor.memory 512m\n");
    expect(sparkLocalPlans({ ...local, workers: 0 }, tc, CONN).server.files["/d/spark/conf/spark-defaults.conf"]).not.toContain("spark.cores.max");
  });

  test("two stacks with workers on different job server ports share no port", () => {
    const a = sparkLocalPlans({ ...local, port: 8998, workers: 2 }, tc, CONN);
    const b = sparkLocalPlans({ ...local, port: 18998, workers: 2 }, tc, CONN);
    const portsOf = (x: typeof a) => [...x.cluster, x.server].flatMap((p) => p.process.ports);
    expect(portsOf(a).filter((p) => portsOf(b).includes(p))).toEqual([]);
  });
});

describe("docker plan", () => {
  const args = { name: "lh-spark", port: 8998, workers: 2, driverMemory: "2g", workerMemory: "1g", prefix: "dev" };
  const plan = sparkDockerPlan(args, tc, { ...CONN, metastoreUri: "thrift://dev-lh-metastore-hms:9083" });
  const byName = (n: string) => plan.containers.find((c) => c.name === n)!;
  const defaults = () => byName("lh-spark-job-server").uploads.find((u) => u.file === "/opt/lakeform/conf/spark-defaults.conf")!.content;

  test("with workers: master, workers after it, the job server after all of them, each its own host", () => {
    expect(plan.containers.map((c) => c.hostname)).toEqual(["dev-lh-spark-master", "dev-lh-spark-worker-1", "dev-lh-spark-worker-2", "dev-lh-spark-job-server"]);
    expect(byName("lh-spark-worker-1").after).toEqual(["lh-spark-master"]);
    expect(byName("lh-spark-worker-2").command).toEqual(["worker", "spark://dev-lh-spark-master:7077", "--memory", "1g"]);
    expect(byName("lh-spark-job-server").after).toEqual(["lh-spark-master", "lh-spark-worker-1", "lh-spark-worker-2"]);
    expect(defaults()).toContain("spark.master spark://dev-lh-spark-master:7077");
    expect(defaults()).toContain("spark.cores.max 2\n");
    expect(plan.server).toBe("lh-spark-job-server");
  });

  test("the master's health check probes the address it binds (its container address), not localhost", () => {
    // The image's entrypoint binds the master to the container's address; lakeform-healthcheck
    // probes that same address (a probe of localhost never reaches it).
    expect(byName("lh-spark-master").command).toEqual(["master"]);
    expect(byName("lh-spark-master").healthcheck.tests).toEqual(["CMD", "lakeform-healthcheck", "tcp", "7077"]);
    expect(byName("lh-spark-worker-1").healthcheck.tests).toEqual(["CMD", "lakeform-healthcheck", "http", "8081", "/json/", '"spark://']);
  });

  test("the job server: the image's job-server role (listening on all interfaces inside), published on loopback only", () => {
    const server = byName("lh-spark-job-server");
    expect(server.command).toEqual(["job-server"]);
    expect(server.ports).toEqual([{ internal: 8998, external: 8998, ip: "127.0.0.1" }]);
    expect(server.healthcheck.tests).toEqual(["CMD", "lakeform-healthcheck", "http", "8998", "/healthz"]);
    expect(server.waitTimeout).toBeGreaterThanOrEqual(300);
  });

  test("jars and jobs/ are in the image, built from its staged context: no bind mount of the host's cache", () => {
    for (const c of plan.containers) expect(c.mounts).toEqual([]);
    expect(plan.images).toEqual([{ key: "lh-spark-image", name: `lakeform/spark:${tc.images!.spark!.hash.slice(0, 16)}`, build: { context: tc.images!.spark!.dir, args: { BASE: "debian:bookworm-slim" } } }]);
    expect(defaults()).toMatch(/^spark\.jars \/opt\/lakeform\/jars\/hudi-spark3\.5-bundle_2\.12-1\.0\.2\.jar,/m);
  });

  test("without workers: the job server alone, in local mode", () => {
    const single = sparkDockerPlan({ ...args, workers: 0 }, tc, CONN);
    expect(single.containers.map((c) => c.name)).toEqual(["lh-spark-job-server"]);
    expect(single.containers[0].uploads[0].content).toContain("spark.master local[*]");
    expect(single.containers[0].uploads[0].content).not.toContain("spark.cores.max");
  });

  test("the S3 secret is only in the uploaded spark-defaults; the shape doesn't depend on it", () => {
    expect(fieldsCarrying(plan, CONN.secretKey)).toEqual(["lh-spark-job-server.uploads"]);
    expect(shapeOf(sparkDockerPlan(args, tc, PLACEHOLDER_CONNECTION))).toEqual(shapeOf(plan));
  });
});
