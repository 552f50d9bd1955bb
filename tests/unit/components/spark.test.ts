import { PLACEHOLDER_CONNECTION } from "../../../components/plans";
import { sparkDockerPlan, sparkLocalPlans, sparkRpcSecret } from "../../../components/spark";
import { testToolchain } from "../../helpers/toolchain";
import { CONN, fieldsCarrying, shapeOf } from "./conn";

const tc = testToolchain();
/** The job server's secret as the lakehouse would pass it: easy to spot in a rendered plan. */
const SECRET = "job-server-secret-for-plans-0123";
/** A standalone daemon's properties: RPC authentication, no kill links in its UI, no REST submissions. */
const DAEMON = (rpc: string) => `spark.authenticate true\nspark.authenticate.secret ${rpc}\nspark.master.rest.enabled false\nspark.ui.killEnabled false\n`;
const local = { dataDir: "/d", port: 24998, driverMemory: "2g", workerMemory: "1g" };

describe("local plan", () => {
  test("without workers: one job server in local mode, running the toolchain's job program", () => {
    const { cluster, server } = sparkLocalPlans({ ...local, workers: 0 }, tc, CONN, SECRET);
    expect(cluster).toEqual([]);
    expect(server.files["/d/spark/conf/spark-defaults.conf"]).toContain("spark.master local[*]");
    expect(server.process.command).toEqual(expect.arrayContaining([tc.local!.paths.sparkSubmit, tc.jobs.entry, "--serve", "--port", "24998"]));
    expect(server.process.env).toMatchObject({ JAVA_HOME: tc.local!.java17Home, PYSPARK_PYTHON: tc.local!.paths.python, SPARK_LOCAL_IP: "127.0.0.1" });
    expect(server.process.health.http).toBe("http://127.0.0.1:24998/healthz");
  });

  test("with a UI password: the driver's UI on its own port behind Lakeform's filter (the password's hash only), compiled first; without one the UI is off", () => {
    const { server } = sparkLocalPlans({ ...local, workers: 2, uiPassword: "read-token-0123" }, tc, CONN, SECRET);
    const defaults = server.files["/d/spark/conf/spark-defaults.conf"];
    const sha = require("node:crypto").createHash("sha256").update("read-token-0123").digest("hex");
    for (const line of [
      "spark.ui.enabled true", "spark.ui.port 24897", "spark.ui.killEnabled false", "spark.ui.filters lakeform.SparkUiAuthFilter",
      `spark.lakeform.SparkUiAuthFilter.param.passwordSha256 ${sha}`, "spark.lakeform.SparkUiAuthFilter.param.hosts 127.0.0.1:24897,localhost:24897",
      "spark.driver.extraClassPath /d/spark/data/ui-filter",
    ]) expect(defaults).toContain(line + "\n");
    expect(defaults).not.toContain("read-token-0123");
    expect(defaults).not.toContain("spark.ui.enabled false");
    expect(server.process.ports).toEqual([24998, 24897]);
    // The filter compiled by the JDK's javac (when its class is older than the source), then spark-submit in the same process.
    const [sh, c, script, javac, classes, source] = server.process.command;
    expect([sh, c, javac, classes]).toEqual(["/bin/sh", "-c", `${tc.local!.java17Home}/bin/javac`, "/d/spark/data/ui-filter"]);
    expect(script).toMatch(/-nt .*exec "\$@"$/);
    expect(require("node:fs").existsSync(source)).toBe(true);
    expect(server.process.command).toEqual(expect.arrayContaining([tc.local!.paths.sparkSubmit, tc.jobs.entry, "--serve"]));
    expect(JSON.stringify(server.process)).not.toContain("read-token-0123");
    const off = sparkLocalPlans({ ...local, workers: 0 }, tc, CONN, SECRET).server;
    expect(off.files["/d/spark/conf/spark-defaults.conf"]).toContain("spark.ui.enabled false\n");
    expect(off.process.command[0]).toBe(tc.local!.paths.sparkSubmit);
  });

  test("the Arrow write path's budget: the stack's arrowPathMaxMB in bytes in the job server's spark-defaults; unset, the job server derives it from driverMemory", () => {
    const conf = (args: object) => sparkLocalPlans({ ...local, workers: 0, ...args }, tc, CONN, SECRET).server.files["/d/spark/conf/spark-defaults.conf"];
    expect(conf({ arrowPathMaxMB: 100 })).toContain("spark.lakeform.arrowPath.maxBytes 104857600");
    expect(conf({ arrowPathMaxMB: 0 })).toContain("spark.lakeform.arrowPath.maxBytes 0");
    expect(conf({})).not.toContain("arrowPath");
  });

  test("a changed job program is a changed plan (the server restarts on up)", () => {
    const a = sparkLocalPlans({ ...local, workers: 0 }, tc, CONN, SECRET).server;
    const b = sparkLocalPlans({ ...local, workers: 0 }, testToolchain({ jobs: { ...tc.jobs, sha256: "0".repeat(64) } }), CONN, SECRET).server;
    expect(a.process.env.LAKEFORM_JOBS_SHA256).toBe(tc.jobs.sha256);
    expect(JSON.stringify(a.process)).not.toBe(JSON.stringify(b.process));
  });

  test("with workers: a standalone master, one process per worker, the job server submitting to the master", () => {
    const { cluster, server } = sparkLocalPlans({ ...local, workers: 2 }, tc, CONN, SECRET);
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
    const defaults = sparkLocalPlans({ ...local, workers: 2 }, tc, CONN, SECRET).server.files["/d/spark/conf/spark-defaults.conf"];
    expect(defaults).toContain("spark.cores.max 2\n");
    expect(defaults).toContain("spark.executor.cores 1\n");
    // workerMemory 1g: two 512m executors fit on a worker.
    expect(defaults).toContain("spark.executor.memory 512m\n");
    expect(sparkLocalPlans({ ...local, workers: 0 }, tc, CONN, SECRET).server.files["/d/spark/conf/spark-defaults.conf"]).not.toContain("spark.cores.max");
  });

  test("two stacks with workers on different job server ports share no port", () => {
    const a = sparkLocalPlans({ ...local, port: 8998, workers: 2 }, tc, CONN, SECRET);
    const b = sparkLocalPlans({ ...local, port: 18998, workers: 2 }, tc, CONN, SECRET);
    const portsOf = (x: typeof a) => [...x.cluster, x.server].flatMap((p) => p.process.ports);
    expect(portsOf(a).filter((p) => portsOf(b).includes(p))).toEqual([]);
  });

  test("the job server's secret and the warehouse bucket are in its environment, on no command line", () => {
    const { cluster, server } = sparkLocalPlans({ ...local, workers: 2 }, tc, CONN, SECRET);
    expect(server.process.env).toMatchObject({ LAKEFORM_JOB_SERVER_SECRET: SECRET, LAKEFORM_WAREHOUSE_BUCKET: "warehouse" });
    const rpc = sparkRpcSecret(SECRET);
    for (const p of [...cluster, server]) {
      // ps shows every process's command line to every user of the machine.
      expect(JSON.stringify(p.process.command)).not.toContain(SECRET);
      expect(JSON.stringify(p.process.command)).not.toContain(rpc);
    }
    // Only the job server has the job server's secret; the daemons don't need it.
    for (const p of cluster) expect(JSON.stringify(p)).not.toContain(SECRET);
  });

  test("Spark's RPC authentication: master, workers and driver share a secret derived from the job server's, each from a properties file", () => {
    const { cluster, server } = sparkLocalPlans({ ...local, workers: 2 }, tc, CONN, SECRET);
    const rpc = sparkRpcSecret(SECRET);
    expect(rpc).toMatch(/^[0-9a-f]{64}$/);
    expect(rpc).not.toBe(SECRET);
    expect(sparkRpcSecret("another-job-server-secret")).not.toBe(rpc);
    expect(server.files["/d/spark/conf/spark-defaults.conf"]).toContain(`spark.authenticate true\nspark.authenticate.secret ${rpc}\n`);
    for (const daemon of cluster) {
      const file = `/d/${daemon.service}/conf/spark-daemon.conf`;
      expect(daemon.files).toEqual({ [file]: DAEMON(rpc) });
      // The daemon reads that file, not the job server's defaults (written after it starts).
      const cmd = daemon.process.command;
      expect(cmd[cmd.indexOf("--properties-file") + 1]).toBe(file);
    }
    // Without workers the driver authenticates its own RPC too (Spark generates the secret in local mode).
    expect(sparkLocalPlans({ ...local, workers: 0 }, tc, CONN, SECRET).server.files["/d/spark/conf/spark-defaults.conf"]).toContain("spark.authenticate true\n");
  });

  test("an empty job server secret is refused when the plan is made", () => {
    expect(() => sparkLocalPlans({ ...local, workers: 0 }, tc, CONN, "")).toThrow(/jobServerSecret/);
  });
});

describe("docker plan", () => {
  const args = { name: "lh-spark", port: 8998, workers: 2, driverMemory: "2g", workerMemory: "1g", prefix: "dev" };
  const plan = sparkDockerPlan(args, tc, { ...CONN, metastoreUri: "thrift://dev-lh-metastore-hms:9083" }, SECRET);
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
    const single = sparkDockerPlan({ ...args, workers: 0 }, tc, CONN, SECRET);
    expect(single.containers.map((c) => c.name)).toEqual(["lh-spark-job-server"]);
    expect(single.containers[0].uploads[0].content).toContain("spark.master local[*]");
    expect(single.containers[0].uploads[0].content).not.toContain("spark.cores.max");
  });

  test("the S3 secret is only in the uploaded spark-defaults; the shape doesn't depend on it", () => {
    expect(fieldsCarrying(plan, CONN.secretKey)).toEqual(["lh-spark-job-server.uploads"]);
    expect(shapeOf(sparkDockerPlan(args, tc, PLACEHOLDER_CONNECTION, "placeholder-job-server-secret"))).toEqual(shapeOf(plan));
  });

  test("the job server's secret only in the job server's envs, the RPC secret only in uploads; neither in a command or the shape", () => {
    const rpc = sparkRpcSecret(SECRET);
    expect(fieldsCarrying(plan, SECRET)).toEqual(["lh-spark-job-server.envs"]);
    expect(fieldsCarrying(plan, rpc)).toEqual(["lh-spark-master.uploads", "lh-spark-worker-1.uploads", "lh-spark-worker-2.uploads", "lh-spark-job-server.uploads"]);
    expect(byName("lh-spark-job-server").envs).toEqual(
      expect.arrayContaining([`LAKEFORM_JOB_SERVER_SECRET=${SECRET}`, "LAKEFORM_WAREHOUSE_BUCKET=warehouse", "LAKEFORM_JOB_SERVER_HOSTS=dev-lh-spark-job-server"]),
    );
    for (const c of plan.containers.filter((c) => c.name !== "lh-spark-job-server")) {
      // The master and the workers read $SPARK_CONF_DIR/spark-defaults.conf: Spark's RPC authentication.
      expect(c.uploads).toEqual([{ file: "/opt/lakeform/conf/spark-defaults.conf", content: DAEMON(rpc) }]);
    }
    expect(defaults()).toContain(`spark.authenticate.secret ${rpc}\n`);
    expect(shapeOf(sparkDockerPlan(args, tc, CONN, "placeholder-job-server-secret"))).toEqual(shapeOf(plan));
  });
});
