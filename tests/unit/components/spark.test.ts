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
  });
});

describe("docker plan", () => {
  const args = { name: "lh-spark", port: 8998, workers: 2, driverMemory: "2g", workerMemory: "1g" };
  const plan = sparkDockerPlan(args, tc, { ...CONN, metastoreUri: "thrift://lh-metastore-hms:9083" });
  const byName = (n: string) => plan.containers.find((c) => c.name === n)!;

  test("with workers: master, workers after it, the job server after all of them", () => {
    expect(plan.containers.map((c) => c.name)).toEqual(["lh-spark-master", "lh-spark-worker-1", "lh-spark-worker-2", "lh-spark-job-server"]);
    expect(byName("lh-spark-worker-1").after).toEqual(["lh-spark-master"]);
    expect(byName("lh-spark-job-server").after).toEqual(["lh-spark-master", "lh-spark-worker-1", "lh-spark-worker-2"]);
    expect(byName("lh-spark-job-server").uploads[0].content).toContain("spark.master spark://lh-spark-master:7077");
    expect(plan.server).toBe("lh-spark-job-server");
  });

  test("without workers: the job server alone, in local mode", () => {
    const single = sparkDockerPlan({ ...args, workers: 0 }, tc, CONN);
    expect(single.containers.map((c) => c.name)).toEqual(["lh-spark-job-server"]);
    expect(single.containers[0].uploads[0].content).toContain("spark.master local[*]");
  });

  test("the S3 secret is only in the uploaded spark-defaults; the shape doesn't depend on it", () => {
    expect(fieldsCarrying(plan, CONN.secretKey)).toEqual(["lh-spark-job-server.uploads"]);
    expect(shapeOf(sparkDockerPlan(args, tc, PLACEHOLDER_CONNECTION))).toEqual(shapeOf(plan));
  });
});
