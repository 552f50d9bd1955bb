/**
 * The docker runtime on a real Docker Engine, driven as a user would (the Automation API on a
 * stack of its own with `lakeform:runtime: docker`): `up` builds Lakeform's images and brings the
 * lakehouse up in containers; a second `up` changes nothing; a container removed behind Pulumi's
 * back is noticed by `refresh` and brought back by `up` with its data (named volumes); the
 * reconciler's example lands a Hudi and an Iceberg table that Trino JOINs, and a second source
 * upserts both; the API travels both formats back to their first commit and answers bad input
 * with a 4xx; `destroy` leaves no container, network or volume of the stack. The stack is scaled
 * out (`spark.workers: 2`, `trino.workers: 1`): each node is a container of its own on the stack's
 * network, the job server's and a spark-submit's executors run on the two workers (the master's
 * and workers' own JSON), and a Trino query's tasks run on both nodes. One stack for all: each
 * test builds on the one before (the local suite covers the same features in depth).
 *
 * Needs an engine and the base images (`bash scripts/docker-engine.sh`); skipped with a notice
 * when no engine answers, unless LAKEFORM_DOCKER_TESTS=1 demands it.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { apiTokens, createLakeService } from "../../../api/runtime";
import { buildApi } from "../../../api/server";
import { stackTrino, TRINO_USERS } from "../../../lake/trino";
import { PROJECT_DIR, readOutputs, type LakeOutputs } from "../../../stacks/automation";
import { buildLakehouse, stackOutputs } from "../../../stacks/index";
import { executorsOnEveryWorker, json, type MasterState, type WorkerState } from "../sparkUi";

const STACK = "e2e-docker";
const sh = promisify(execFile);
const suffix = Date.now().toString(36);

function engineAnswers(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore", timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}
const demanded = process.env.LAKEFORM_DOCKER_TESTS === "1";
const available = engineAnswers();
if (!available && !demanded) process.stderr.write("[e2e docker] no Docker Engine answers `docker info`: skipped (bash scripts/docker-engine.sh starts one)\n");
const describeDocker = available || demanded ? describe : describe.skip;

/** The e2e stack's ports (each helper's own), moved to free ones beside them. */
function dockerConfig(): Record<string, { value: string }> {
  const e2e = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.e2e.yaml"), "utf8")).config;
  return {
    "lakeform:runtime": { value: "docker" },
    // The tests drive what they need; no reconciler or API services of the stack.
    "lakeform:services": { value: "false" },
    "lakeform:dataDir": { value: `.lakeform/${STACK}` },
    // destroy must leave nothing: the bucket goes with its objects (without this, the provider
    // refuses to delete a bucket that holds data, as the real @pulumi/minio does).
    "lakeform:objectStore": { value: JSON.stringify({ engine: "seaweedfs", port: e2e["lakeform:objectStore"].port + 200, forceDestroy: true }) },
    "lakeform:metastore": { value: JSON.stringify({ port: e2e["lakeform:metastore"].port + 200, heap: "512m" }) },
    // Scaled out, as tests/e2e/08-scale-out.test.ts does on the local runtime: a standalone master
    // with two workers (1g each: the job server's and a spark-submit's 512m executors side by
    // side), a Trino coordinator and a worker; every test below runs on that cluster.
    "lakeform:spark": { value: JSON.stringify({ port: e2e["lakeform:spark"].port - 200, workers: 2, driverMemory: "1g", workerMemory: "1g" }) },
    "lakeform:trino": { value: JSON.stringify({ port: e2e["lakeform:trino"].port + 200, workers: 1, heap: "1G" }) },
  };
}

/** Names of the stack's containers, networks and volumes on the engine. */
async function dockerObjects(): Promise<string[]> {
  const list = async (args: string[]) => (await sh("docker", args)).stdout.split("\n").filter((n) => n.startsWith(`${STACK}-`));
  return [
    ...(await list(["ps", "-a", "--format", "{{.Names}}"])),
    ...(await list(["network", "ls", "--format", "{{.Name}}"])),
    ...(await list(["volume", "ls", "--format", "{{.Name}}"])),
  ];
}

const verbose = (o: string) => process.env.LAKEFORM_TEST_VERBOSE && process.stderr.write(o);

/** A container's address on the stack's network (the host reaches it over the bridge). */
async function containerIp(container: string): Promise<string> {
  const ip = (await sh("docker", ["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container])).stdout.trim().split(" ")[0];
  if (!ip) throw new Error(`${container} has no address on a network`);
  return ip;
}

describeDocker("the docker runtime on a real engine", () => {
  let stack: Stack;
  let outs: LakeOutputs;

  beforeAll(async () => {
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: STACK, projectName: "lakeform", program: async () => stackOutputs(buildLakehouse(PROJECT_DIR)) },
      { workDir: PROJECT_DIR },
    );
    await stack.setAllConfig(dockerConfig());
    await stack.up({ onOutput: verbose });
    outs = await readOutputs(stack);
  });

  afterAll(async () => {
    if (process.env.LAKEFORM_KEEP_E2E === "1" || !stack) return;
    await stack.destroy({ onOutput: verbose }).catch(() => undefined);
    await stack.workspace.removeStack(STACK).catch(() => undefined);
  });

  test("every service answers on its published port, and only on 127.0.0.1", async () => {
    const health = await fetch(`${outs.sparkJobServer}/healthz`, { signal: AbortSignal.timeout(10_000) });
    // The job server listens on every interface inside its container: the published port reaches it.
    expect(health.ok).toBe(true);
    const { rows } = await stackTrino(outs, "admin").query("SHOW CATALOGS");
    expect(rows.map((r) => r[0])).toEqual(expect.arrayContaining(["hive", "hudi", "iceberg"]));
    const ps = (await sh("docker", ["ps", "--filter", `name=^${STACK}-`, "--format", "{{.Names}} {{.Ports}}"])).stdout.trim().split("\n");
    expect(ps.length).toBeGreaterThanOrEqual(4);
    for (const line of ps) {
      for (const binding of line.split(" ").slice(1).join(" ").split(", ").filter((b) => b.includes("->"))) {
        expect(binding).toMatch(/^127\.0\.0\.1:\d+->/);
      }
    }
  });

  const name = (resource: string) => `${STACK}-lakehouse-${resource}`;

  test("only S3, Trino's coordinator and the job server are published; Trino asks for a password; SeaweedFS's other APIs are closed inside the network too", async () => {
    const published = async (c: string) => (await sh("docker", ["port", c])).stdout.trim().split("\n").filter(Boolean);
    // The metastore authenticates no one: not published, reached by name on the stack's network.
    expect(await published(name("metastore-hms"))).toEqual([]);
    expect(outs.metastoreUri).toBe(`thrift://${name("metastore-hms")}:9083`);
    expect(await published(name("trino-worker-1"))).toEqual([]);
    // S3 only: no master, volume or filer port.
    expect(await published(name("s3-seaweedfs"))).toEqual([`8333/tcp -> 127.0.0.1:${new URL(outs.s3Endpoint).port}`]);
    expect(await published(name("trino-coordinator"))).toEqual([`8443/tcp -> 127.0.0.1:${new URL(outs.trinoEndpoint).port}`]);

    // HTTPS trusting the stack's certificate (fetch would refuse it as self-signed).
    const statement = (headers: Record<string, string>) =>
      new Promise<{ status: number }>((resolve, reject) => {
        const req = https.request(`${outs.trinoEndpoint}/v1/statement`, { method: "POST", headers: { "X-Trino-User": TRINO_USERS.admin, ...headers }, ca: outs.trinoCertificate, timeout: 30_000 }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        });
        req.on("error", reject);
        req.end("SELECT 1");
      });
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    expect((await statement({})).status).toBe(401);
    expect((await statement(basic(TRINO_USERS.admin, `${outs.trinoPassword}x`))).status).toBe(401);
    expect((await statement(basic(TRINO_USERS.admin, outs.trinoPassword))).status).toBe(200);
    await expect(stackTrino(outs, "readOnly").query("CREATE SCHEMA hive.refused_ro")).rejects.toMatchObject({ code: "QUERY_REFUSED" });

    // From inside the SeaweedFS container (the image has bash, no curl): the master's and the
    // filer's HTTP APIs are off, the volume server asks for a JWT.
    const statusLine = async (port: number, p: string, method = "GET") =>
      (
        await sh("docker", [
          "exec", name("s3-seaweedfs"), "bash", "-c",
          `exec 3<>/dev/tcp/$(hostname -i | cut -d' ' -f1)/${port}; printf '${method} ${p} HTTP/1.0\\r\\n\\r\\n' >&3; head -1 <&3`,
        ])
      ).stdout.trim();
    expect(await statusLine(9333, "/dir/assign")).toMatch(/^HTTP\/1\.[01] 404/);
    expect(await statusLine(9333, `/col/delete?collection=${outs.warehouseBucket}`)).toMatch(/^HTTP\/1\.[01] 404/);
    expect(await statusLine(8888, `/buckets/${outs.warehouseBucket}/`)).toMatch(/^HTTP\/1\.[01] 404/);
    expect(await statusLine(8888, `/buckets/${outs.warehouseBucket}/x`, "DELETE")).toMatch(/^HTTP\/1\.[01] 404/);
    expect(await statusLine(8080, "/1,0123456789")).toMatch(/^HTTP\/1\.[01] 401/);
  });
  const SPARK_NODES = ["spark-master", "spark-worker-1", "spark-worker-2", "spark-job-server"].map(name);
  const TRINO_NODES = ["trino-coordinator", "trino-worker-1"].map(name);

  test("docker ps shows each node of the scaled-out engines as a container of its own, healthy", async () => {
    const ps = (await sh("docker", ["ps", "--filter", `name=^${STACK}-`, "--format", "{{.Names}} {{.Status}}"])).stdout.trim().split("\n");
    const running = new Map(ps.map((l) => [l.split(" ")[0], l]));
    for (const c of [...SPARK_NODES, ...TRINO_NODES]) {
      expect({ container: c, status: running.get(c) ?? "absent" }).toEqual({ container: c, status: expect.stringContaining("(healthy)") });
    }
    // Each its own host on the stack's network: distinct addresses.
    const ips = await Promise.all([...SPARK_NODES, ...TRINO_NODES].map(containerIp));
    expect(new Set(ips).size).toBe(ips.length);
  });

  const masterUi = async () => `http://${await containerIp(name("spark-master"))}:8080/json/`;
  const workerUis = () => Promise.all(["spark-worker-1", "spark-worker-2"].map(async (w) => `http://${await containerIp(name(w))}:8081/json/`));

  test("the standalone master has both workers, and the job server's executors run on them", async () => {
    const master = await json<MasterState>(await masterUi());
    const alive = master.workers.filter((w) => w.state === "ALIVE");
    expect(alive).toHaveLength(2);
    // Registered from the workers' own containers.
    const workerIps = await Promise.all(["spark-worker-1", "spark-worker-2"].map((w) => containerIp(name(w))));
    expect(alive.map((w) => w.host).sort()).toEqual(workerIps.sort());
    // The job server's SparkSession names the app (jobs/lakeform_jobs/server.py: "lakeform-jobs").
    const jobServer = master.activeapps.find((a) => a.name.startsWith("lakeform-job"));
    expect(jobServer).toBeDefined();
    for (const url of await workerUis()) {
      expect((await json<WorkerState>(url)).executors.map((e) => e.appid)).toContain(jobServer!.id);
    }
  });

  test("a Spark write runs its executors on the workers, and Trino reads what it wrote", async () => {
    // spark-submit in the job server's container, with the spark-defaults the stack uploaded there
    // (spark.master is the standalone master); its driver is reached by the container's name.
    const js = name("spark-job-server");
    const defaults = (await sh("docker", ["exec", js, "cat", "/opt/lakeform/conf/spark-defaults.conf"])).stdout;
    expect(defaults).toMatch(new RegExp(`^spark\\.master spark://${name("spark-master")}:7077$`, "m"));
    await sh("docker", ["cp", path.join(__dirname, "..", "fixtures", "smoke_write.py"), `${js}:/tmp/smoke_write.py`]);
    await sh(
      "docker",
      ["exec", js, "spark-submit", "--properties-file", "/opt/lakeform/conf/spark-defaults.conf", "--conf", `spark.driver.host=${js}`, "/tmp/smoke_write.py", outs.warehouseBucket, suffix],
      { maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
    );
    const master = await json<MasterState>(await masterUi());
    const smoke = master.completedapps.find((a) => a.name === "lakeform-smoke");
    expect(smoke).toBeDefined();
    const ran = await executorsOnEveryWorker(await workerUis(), smoke!.id);
    expect(ran).toEqual([true, true]);
    expect(await stackTrino(outs, "admin").scalar(`SELECT count(*) FROM iceberg.default.smoke_iceberg_${suffix}`)).toBe(3);
  });

  test("Trino has a coordinator and a worker, each its own container, and a query's tasks run on both", async () => {
    const t = stackTrino(outs, "admin");
    const nodes = await t.query("SELECT node_id, coordinator, state FROM system.runtime.nodes ORDER BY coordinator DESC");
    // The node ids are the containers' names (components/trino/dockerPlan.ts).
    expect(nodes.rows).toEqual([
      [TRINO_NODES[0], true, "active"],
      [TRINO_NODES[1], false, "active"],
    ]);
    const marker = `scale_${suffix}`;
    // GROUP BY: a hash-partitioned stage, which Trino spreads over every node.
    const sql = `SELECT name, count(*) AS ${marker} FROM hudi.default.smoke_hudi_${suffix} GROUP BY name`;
    expect((await t.query(sql)).rows).toHaveLength(3);
    const { rows } = await t.query(
      `SELECT DISTINCT t.node_id FROM system.runtime.tasks t JOIN system.runtime.queries q ON t.query_id = q.query_id
       WHERE q.query = '${sql}'`,
    );
    expect(rows.map((r) => r[0]).sort()).toEqual([...TRINO_NODES].sort());
  });

  test("a second up changes nothing", async () => {
    const res = await stack.up({ onOutput: verbose });
    expect(Object.keys(res.summary.resourceChanges ?? {}).filter((k) => k !== "same")).toEqual([]);
  });

  test("a removed container is noticed by refresh and brought back by up, with its data", async () => {
    // The metastore: its catalog lives in a named volume. (The S3 container has a test of its own
    // below: refresh reads the bucket through it.)
    const t = stackTrino(outs, "admin");
    const schema = `kept_${suffix}`;
    await t.query(`CREATE SCHEMA hive.${schema}`);
    const container = `${STACK}-lakehouse-metastore-hms`;
    await sh("docker", ["rm", "-f", container]);
    const refreshed = await stack.refresh({ onOutput: verbose });
    expect(refreshed.summary.resourceChanges?.delete ?? 0).toBeGreaterThanOrEqual(1);
    const res = await stack.up({ onOutput: verbose });
    expect(res.summary.resourceChanges?.create ?? 0).toBeGreaterThanOrEqual(1);
    expect((await sh("docker", ["inspect", "-f", "{{.State.Health.Status}}", container])).stdout.trim()).toBe("healthy");
    const { rows } = await t.query("SHOW SCHEMAS FROM hive");
    expect(rows.map((r) => r[0])).toContain(schema);
  });

  /** The example tables.yaml and its CSVs in a folder of their own, table names suffixed. */
  const LEADS = `leads_${suffix}`;
  const REGIONS = `regions_${suffix}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-docker-e2e-"));
  const reconcile = () =>
    sh(path.join(PROJECT_DIR, "bin", "lakeform"), ["reconcile", "--once", "-f", path.join(dir, "tables.yaml")], {
      cwd: dir,
      env: { ...process.env, LAKEFORM_STACK: STACK },
      timeout: 20 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  const count = async (fq: string) => Number(await stackTrino(outs, "admin").scalar(`SELECT count(*) FROM ${fq}`));

  test("the reconciler's example lands a Hudi and an Iceberg table that Trino JOINs", async () => {
    fs.cpSync(path.join(PROJECT_DIR, "examples", "data"), path.join(dir, "data"), { recursive: true });
    const yaml = fs
      .readFileSync(path.join(PROJECT_DIR, "examples", "tables.yaml"), "utf8")
      .replace("name: leads", `name: ${LEADS}`)
      .replace("name: regions", `name: ${REGIONS}`)
      // A glob for the regions too, so the second-source test can add a file beside the first.
      .replace("- data/regions.csv", "- data/regions*.csv");
    fs.writeFileSync(path.join(dir, "tables.yaml"), yaml);
    await reconcile();
    const t = stackTrino(outs, "admin");
    expect(await count(`hudi.default.${LEADS}`)).toBe(100);
    const regions = fs.readFileSync(path.join(dir, "data", "regions.csv"), "utf8").trim().split("\n").length - 1;
    expect(await count(`iceberg.default.${REGIONS}`)).toBe(regions);
    const codes = new Set((await t.query(`SELECT region_code FROM iceberg.default.${REGIONS}`)).rows.map((r) => r[0]));
    const expected = (await t.query(`SELECT region_code FROM hudi.default.${LEADS}`)).rows.filter((r) => codes.has(r[0])).length;
    const joined = await count(`hudi.default.${LEADS} l JOIN iceberg.default.${REGIONS} r ON l.region_code = r.region_code`);
    expect(joined).toBeGreaterThan(0);
    expect(joined).toBe(expected);
  });

  test("a second source upserts both tables: new rows, updated rows, a new column", async () => {
    // Leads: 10 existing keys changed (a later Updated At wins), 5 new ones, a new column.
    const lines = fs.readFileSync(path.join(dir, "data", "leads-100.csv"), "utf8").trim().split(/\r?\n/);
    const header = `${lines[0]},Lead Score`;
    const row = (l: string, status: string, index?: number) => {
      const f = l.split(",");
      if (f.length !== 10) throw new Error(`the example CSV changed shape: ${l}`);
      if (index !== undefined) f[0] = String(index);
      f[7] = status;
      f[8] = "2027-01-01";
      return f.join(",");
    };
    const update = [header, ...lines.slice(1, 11).map((l, i) => `${row(l, `Upgraded${i}`)},${50 + i}`), ...[0, 1, 2, 3, 4].map((i) => `${row(lines[1], "New", 101 + i)},${90 + i}`)];
    fs.writeFileSync(path.join(dir, "data", "leads-update.csv"), update.join("\n") + "\n");
    const regionsBefore = await count(`iceberg.default.${REGIONS}`);
    fs.writeFileSync(path.join(dir, "data", "regions-more.csv"), "Region Code,Region Name,HQ City,Timezone\nMEA,Middle East,Dubai,UTC+4\n");
    await reconcile();
    const t = stackTrino(outs, "admin");
    expect(await count(`hudi.default.${LEADS}`)).toBe(105);
    const { rows } = await t.query(`SELECT "index", status, lead_score FROM hudi.default.${LEADS} WHERE "index" <= 10 ORDER BY "index"`);
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, `Upgraded${i}`, 50 + i]));
    expect(await count(`iceberg.default.${REGIONS}`)).toBe(regionsBefore + 1);
    expect(await t.scalar(`SELECT timezone FROM iceberg.default.${REGIONS} WHERE region_code = 'MEA'`)).toBe("UTC+4");
  });

  test("time travel on both formats: each table as of its first commit has its first source's rows", async () => {
    const app = await buildApi({ lake: createLakeService(outs, path.join(dir, "tables.yaml")), tokens: apiTokens(outs) });
    try {
      for (const [table, first] of [
        [LEADS, 100],
        [REGIONS, fs.readFileSync(path.join(dir, "data", "regions.csv"), "utf8").trim().split("\n").length - 1],
      ] as const) {
        const history = await app.inject({ method: "GET", url: `/tables/${table}/history`, headers: { authorization: `Bearer ${outs.apiReadToken}` } });
        expect(history.statusCode).toBe(200);
        const commits = history.json().commits as { commit: string }[];
        expect(commits.length).toBeGreaterThanOrEqual(2);
        const old = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${commits[0].commit}&limit=1000`, headers: { authorization: `Bearer ${outs.apiReadToken}` } });
        expect(old.statusCode).toBe(200);
        expect(old.json().rows).toHaveLength(first);
        const now = await app.inject({ method: "GET", url: `/tables/${table}/rows?asOf=${commits[commits.length - 1].commit}&limit=1000`, headers: { authorization: `Bearer ${outs.apiReadToken}` } });
        expect(now.json().rows.length).toBeGreaterThan(first);
      }
    } finally {
      await app.close();
    }
  });

  test("the API's bad input gets a 4xx with a reason, and the lake is unchanged", async () => {
    const app = await buildApi({ lake: createLakeService(outs, path.join(dir, "tables.yaml")), tokens: apiTokens(outs) });
    const auth = { authorization: `Bearer ${outs.apiToken}` };
    const ingest = (body: string, headers: Record<string, string> = auth) =>
      app.inject({ method: "POST", url: `/ingest/${REGIONS}`, headers: { "content-type": "text/csv", ...headers }, payload: body });
    try {
      const before = await count(`iceberg.default.${REGIONS}`);
      const cases: { name: string; res: () => Promise<{ statusCode: number; json: () => any }>; status: number; message: RegExp }[] = [
        { name: "a write through /query", res: () => app.inject({ method: "POST", url: "/query", headers: auth, payload: { sql: `DELETE FROM iceberg.default.${REGIONS}` } }), status: 400, message: /DELETE is refused/ },
        { name: "two statements", res: () => app.inject({ method: "POST", url: "/query", headers: auth, payload: { sql: `SELECT 1; DROP TABLE iceberg.default.${REGIONS}` } }), status: 400, message: /one statement/ },
        { name: "injection in a table name", res: () => app.inject({ method: "GET", url: `/tables/${encodeURIComponent(`${REGIONS}; DROP TABLE x`)}/history`, headers: { authorization: `Bearer ${outs.apiReadToken}` } }), status: 400, message: /not a table name/ },
        { name: "injection in asOf", res: () => app.inject({ method: "GET", url: `/tables/${REGIONS}/rows?asOf=${encodeURIComponent("1 OR 1=1; DROP TABLE x")}`, headers: { authorization: `Bearer ${outs.apiReadToken}` } }), status: 400, message: /neither a commit id/ },
        { name: "an unknown table", res: () => app.inject({ method: "GET", url: "/tables/nope/history", headers: { authorization: `Bearer ${outs.apiReadToken}` } }), status: 404, message: /no table "nope"/ },
        { name: "a ragged CSV (streamed: the job server refuses it)", res: () => ingest("Region Code,Region Name,HQ City\nXX,x\n"), status: 400, message: /line 2 has a different number of fields/ },
        { name: "no token", res: () => ingest("Region Code,Region Name,HQ City\nXX,x,y\n", {}), status: 401, message: /Bearer/ },
        { name: "a missing key column", res: () => ingest("Region Name,HQ City\nx,y\n"), status: 422, message: /not in the CSV header/ },
      ];
      for (const c of cases) {
        const res = await c.res();
        expect({ case: c.name, status: res.statusCode }).toEqual({ case: c.name, status: c.status });
        expect(res.json().error.message).toMatch(c.message);
      }
      expect(await count(`iceberg.default.${REGIONS}`)).toBe(before);
    } finally {
      await app.close();
    }
  });

  test("a removed S3 container is noticed by refresh and brought back by up, with the tables in its volume", async () => {
    const container = `${STACK}-lakehouse-s3-seaweedfs`;
    const before = await count(`hudi.default.${LEADS}`);
    await sh("docker", ["rm", "-f", container]);
    // The bucket can't be read while its server is gone: it keeps its last state (a warning).
    const refreshed = await stack.refresh({ onOutput: verbose });
    expect(refreshed.summary.resourceChanges?.delete ?? 0).toBe(1);
    const res = await stack.up({ onOutput: verbose });
    expect(res.summary.resourceChanges?.create ?? 0).toBeGreaterThanOrEqual(1);
    expect((await sh("docker", ["inspect", "-f", "{{.State.Health.Status}}", container])).stdout.trim()).toBe("healthy");
    expect(await count(`hudi.default.${LEADS}`)).toBe(before);
    expect(await count(`iceberg.default.${REGIONS} r JOIN hudi.default.${LEADS} l ON l.region_code = r.region_code`)).toBeGreaterThan(0);
  });

  test("destroy leaves no container, network or volume of the stack", async () => {
    expect(await dockerObjects()).toEqual(expect.arrayContaining([...SPARK_NODES, ...TRINO_NODES, `${STACK}-lakehouse-net`]));
    await stack.destroy({ onOutput: verbose });
    expect(await dockerObjects()).toEqual([]);
  });
});
