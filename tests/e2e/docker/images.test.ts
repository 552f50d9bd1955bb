/**
 * Lakeform's own images on a real Docker Engine, without Pulumi: each image is built from its
 * staged context, run on a user-defined network with its ports published on 127.0.0.1 only, and
 * made to do its job: S3 round trips on SeaweedFS and MinIO, a Spark table created through the
 * metastore with its data on S3 (the metastore resolves s3a:// itself), read back by Trino, still
 * there after the metastore restarts, and the job server answering on its published port.
 * Config goes in as uploads (docker cp before start), as the Pulumi program does it.
 *
 * Needs an engine and the base images (`bash scripts/docker-engine.sh`); without an engine the
 * suite is skipped with a notice, unless LAKEFORM_DOCKER_TESTS=1 demands it.
 * Build times and sizes are printed for the record, never asserted.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  metastoreSiteSettings,
  renderHadoopXml,
  renderProperties,
  s3aSettings,
  sparkDefaults,
  type LakeConnection,
} from "../../../components/connection";
import { makeCertificate } from "../../../components/local/serviceImpl";
import { seaweedS3Config, seaweedSecurityToml } from "../../../components/objectStore";
import { trinoEtcFiles } from "../../../components/trino";
import { TRINO_USERS, TrinoClient } from "../../../lake/trino";
import { buildImage, type BuiltImage } from "../../../images/build";
import { IMAGE_NAMES, type ImageName } from "../../../images/context";

/** Host ports for this suite (published on 127.0.0.1 only): LAKEFORM_IMAGES_TEST_PORTS=28 gives 28333, 28080, … */
const P = Number(process.env.LAKEFORM_IMAGES_TEST_PORTS ?? 28) * 1000;
const PORTS = { s3: P + 333, minio: P + 400, spark: P + 998, trino: P + 80 };

function engineAnswers(): boolean {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore", timeout: 15000 });
    return true;
  } catch {
    return false;
  }
}

const haveEngine = engineAnswers();
if (!haveEngine && process.env.LAKEFORM_DOCKER_TESTS === "1") {
  throw new Error("LAKEFORM_DOCKER_TESTS=1 but no Docker Engine answers `docker info`: run `bash scripts/docker-engine.sh`");
}
if (!haveEngine) console.warn("images.test.ts: no Docker Engine answers; skipped (bash scripts/docker-engine.sh starts one)");
const describeEngine = haveEngine ? describe : describe.skip;

const run = `lfimg${process.pid.toString(36)}`;
const net = `${run}-net`;
const names = {
  s3: `${run}-s3`,
  minio: `${run}-minio`,
  hms: `${run}-hms`,
  spark: `${run}-spark`,
  trino: `${run}-trino`,
  master: `${run}-spark-master`,
  worker: `${run}-spark-worker`,
};
const volumes = { s3: `${run}-s3-data`, hms: `${run}-hms-data`, trino: `${run}-trino-data` };
const keys = { accessKey: "lakeformtest", secretKey: "lakeform-test-secret-0123456789" };
const trinoSecrets = {
  password: "lakeform-trino-test-0123456789",
  readPassword: "lakeform-trino-ro-test-0123456789",
  ...makeCertificate({ commonName: "lakeform-trino", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] }),
};
const conn: LakeConnection = {
  s3Endpoint: `http://${names.s3}:8333`,
  s3Region: "us-east-1",
  ...keys,
  warehouseBucket: "warehouse",
  metastoreUri: `thrift://${names.hms}:9083`,
};
const built = new Map<ImageName, BuiltImage>();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-images-"));

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", timeout: 600_000, stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** docker create + uploads + start: how the Pulumi program's containers get their config. */
function runContainer(name: string, image: string, opts: { ports?: [number, number][]; volumes?: [string, string][]; env?: string[]; uploads?: Record<string, string>; args?: string[] }): void {
  const a = ["create", "--name", name, "--hostname", name, "--network", net];
  for (const [host, inner] of opts.ports ?? []) a.push("-p", `127.0.0.1:${host}:${inner}`);
  for (const [vol, at] of opts.volumes ?? []) a.push("-v", `${vol}:${at}`);
  for (const e of opts.env ?? []) a.push("-e", e);
  docker(...a, image, ...(opts.args ?? []));
  for (const [file, content] of Object.entries(opts.uploads ?? {})) {
    const local = path.join(tmp, `${name}-${path.basename(file)}`);
    fs.writeFileSync(local, content, { mode: 0o644 });
    docker("cp", local, `${name}:${file}`);
  }
  docker("start", name);
}

/** Polls the container's own health check until it passes (or the container dies). */
async function healthy(name: string, check: string[], timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    try {
      docker("exec", name, "lakeform-healthcheck", ...check);
      return;
    } catch {
      const state = docker("inspect", "--format", "{{.State.Status}}", name);
      if (state !== "running" || Date.now() > deadline) {
        const logs = execFileSync("docker", ["logs", "--tail", "40", name], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        throw new Error(`${name} not healthy (${state}) after ${timeoutS}s:\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** The host side of a published port: only ever 127.0.0.1. */
function publishedOn(name: string): string[] {
  return docker("port", name)
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" -> ")[1]);
}

async function s3RoundTrip(endpoint: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
  const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "warehouse" }));
    const body = `hello from ${run} ${Date.now()}`;
    await s3.send(new PutObjectCommand({ Bucket: "warehouse", Key: "probe/hello.txt", Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "warehouse", Key: "probe/hello.txt" }));
    expect(await got.Body!.transformToString()).toBe(body);
  } finally {
    s3.destroy();
  }
}

describeEngine("Lakeform's images on a real Docker Engine", () => {
  beforeAll(async () => {
    for (const name of IMAGE_NAMES) {
      const b = await buildImage(name);
      built.set(name, b);
      console.log(`image ${b.tag}: built in ${b.seconds.toFixed(1)} s, ${(b.sizeBytes / 1e6).toFixed(0)} MB`);
    }
    docker("network", "create", net);
    for (const v of Object.values(volumes)) docker("volume", "create", v);
  });

  afterAll(() => {
    for (const n of Object.values(names)) {
      try {
        docker("rm", "-f", "-v", n);
      } catch {
        /* never started */
      }
    }
    for (const v of Object.values(volumes)) {
      try {
        docker("volume", "rm", v);
      } catch {
        /* absent */
      }
    }
    try {
      docker("network", "rm", net);
    } catch {
      /* absent */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("SeaweedFS: S3 round trip through the published port, with the uploaded identities", async () => {
    runContainer(names.s3, built.get("seaweedfs")!.tag, {
      ports: [[PORTS.s3, 8333]],
      volumes: [[volumes.s3, "/data"]],
      uploads: {
        "/etc/seaweedfs/s3.json": seaweedS3Config(keys.accessKey, keys.secretKey),
        "/etc/seaweedfs/security.toml": seaweedSecurityToml(keys.secretKey),
      },
    });
    await healthy(names.s3, ["http", "8333", "/healthz"], 120);
    expect(publishedOn(names.s3)).toEqual([`127.0.0.1:${PORTS.s3}`]);
    await s3RoundTrip(`http://127.0.0.1:${PORTS.s3}`, keys.accessKey, keys.secretKey);
    // Wrong keys are refused: the uploaded identity file is in force.
    await expect(s3RoundTrip(`http://127.0.0.1:${PORTS.s3}`, keys.accessKey, "not-the-secret")).rejects.toThrow();
    // S3 works with the JWT keys in force, while the volume server refuses an unsigned read and
    // the master's and filer's HTTP APIs are off (probed from inside: they aren't published).
    const statusLine = (port: number, p: string) =>
      docker("exec", names.s3, "bash", "-c", `exec 3<>/dev/tcp/$(hostname -i | cut -d' ' -f1)/${port}; printf 'GET ${p} HTTP/1.0\\r\\n\\r\\n' >&3; head -1 <&3`);
    expect(statusLine(8080, "/1,0123456789")).toMatch(/^HTTP\/1\.[01] 401/);
    expect(statusLine(9333, "/dir/assign")).toMatch(/^HTTP\/1\.[01] 404/);
    expect(statusLine(8888, "/buckets/warehouse/probe/hello.txt")).toMatch(/^HTTP\/1\.[01] 404/);
  });

  test("MinIO (built from source): S3 round trip", async () => {
    runContainer(names.minio, built.get("minio")!.tag, {
      ports: [[PORTS.minio, 9000]],
      env: [`MINIO_ROOT_USER=${keys.accessKey}`, `MINIO_ROOT_PASSWORD=${keys.secretKey}`],
    });
    await healthy(names.minio, ["http", "9000", "/minio/health/ready"], 120);
    expect(publishedOn(names.minio)).toEqual([`127.0.0.1:${PORTS.minio}`]);
    await s3RoundTrip(`http://127.0.0.1:${PORTS.minio}`, keys.accessKey, keys.secretKey);
    docker("rm", "-f", "-v", names.minio);
  });

  test("metastore + Spark + Trino: a table made by Spark through the metastore, on S3, read by Trino, kept across a metastore restart", async () => {
    // Not published, as the docker runtime runs it: Spark and Trino reach it on the network.
    runContainer(names.hms, built.get("metastore")!.tag, {
      volumes: [[volumes.hms, "/var/lib/metastore"]],
      uploads: {
        "/opt/lakeform/conf/hive-site.xml": renderHadoopXml(metastoreSiteSettings(conn, "/var/lib/metastore/metastore_db")),
        "/opt/lakeform/conf/core-site.xml": renderHadoopXml(s3aSettings(conn)),
      },
    });
    const defaults = renderProperties({ ...sparkDefaults(conn, { driverMemory: "1g" }), "spark.master": "local[2]" }, " ");
    runContainer(names.spark, built.get("spark")!.tag, {
      ports: [[PORTS.spark, 8998]],
      uploads: { "/opt/lakeform/conf/spark-defaults.conf": defaults },
      // The job server serves only with a secret, and tables only in its warehouse bucket.
      env: [`LAKEFORM_JOB_SERVER_SECRET=${keys.secretKey}-job-server`, "LAKEFORM_WAREHOUSE_BUCKET=warehouse"],
    });
    // The coordinator's config as the docker runtime renders it: catalogs, access rules, the
    // password file and its authenticator.
    const etc = trinoEtcFiles(
      { coordinator: true, port: 8080, httpsPort: 8443, discoveryUri: "http://localhost:8080", nodeId: names.trino, dataDir: "/var/lib/trino/data", heap: "1G" },
      conn,
      "/etc/trino",
      trinoSecrets,
    );
    runContainer(names.trino, built.get("trino")!.tag, {
      ports: [[PORTS.trino, 8443]],
      volumes: [[volumes.trino, "/var/lib/trino/data"]],
      uploads: Object.fromEntries(Object.entries(etc).map(([f, content]) => [`/etc/trino/${f}`, content])),
    });

    await healthy(names.hms, ["tcp", "9083"], 600);
    expect(publishedOn(names.hms)).toEqual([]);

    // Spark creates a database and a table on S3 through the metastore, writes and reads it.
    const sql = [
      "CREATE DATABASE IF NOT EXISTS imgtest LOCATION 's3a://warehouse/imgtest'",
      "CREATE TABLE imgtest.probe (id INT, name STRING) USING parquet LOCATION 's3a://warehouse/imgtest/probe'",
      "INSERT INTO imgtest.probe VALUES (1, 'a'), (2, 'b'), (3, 'c')",
      "SELECT count(*) AS n FROM imgtest.probe",
    ].join("; ");
    const out = docker(
      "exec", names.spark, "spark-sql", "--properties-file", "/opt/lakeform/conf/spark-defaults.conf",
      "--conf", "spark.driver.memory=512m", "--conf", "spark.master=local[1]", "-S", "-e", sql,
    );
    expect(out.split("\n").pop()).toBe("3");

    // The job server answers on its published port (its first Spark session takes a while).
    await healthy(names.spark, ["http", "8998", "/healthz"], 600);
    expect(publishedOn(names.spark)).toEqual([`127.0.0.1:${PORTS.spark}`]);
    const res = await fetch(`http://127.0.0.1:${PORTS.spark}/healthz`);
    expect(res.status).toBe(200);

    // Trino answers, and reads the table through its hive catalog (metastore + native S3).
    await healthy(names.trino, ["http", "8080", "/v1/info", '"starting":false'], 600);
    expect(publishedOn(names.trino)).toEqual([`127.0.0.1:${PORTS.trino}`]);
    // Without a password (or with a wrong one) Trino answers 401; with the configured one, rows.
    const endpoint = `https://127.0.0.1:${PORTS.trino}`;
    await expect(new TrinoClient(endpoint, { user: TRINO_USERS.admin, ca: trinoSecrets.certPem }).query("SELECT 1")).rejects.toThrow(/401/);
    await expect(new TrinoClient(endpoint, { user: TRINO_USERS.admin, password: "wrong-password-0123456789", ca: trinoSecrets.certPem }).query("SELECT 1")).rejects.toThrow(/401/);
    const trino = new TrinoClient(endpoint, { user: TRINO_USERS.admin, password: trinoSecrets.password, ca: trinoSecrets.certPem });
    expect(await trino.scalar("SELECT 1")).toBe(1);
    const plugins = (await trino.query("SHOW CATALOGS")).rows.map((r) => r[0]).sort();
    expect(plugins).toEqual(["hive", "hudi", "iceberg", "system"]);
    expect(await trino.scalar("SELECT sum(id) FROM hive.imgtest.probe")).toBe(6);

    // A restart resumes on the same Derby database in the volume: the table is still there.
    docker("restart", "-t", "20", names.hms);
    await healthy(names.hms, ["tcp", "9083"], 600);
    const tables = (await trino.query("SHOW TABLES FROM hive.imgtest")).rows.map((r) => r[0]);
    expect(tables).toContain("probe");
    const logs = execFileSync("docker", ["logs", names.hms], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(logs).toContain("lakeform: metastore transaction tables present");
  });

  test("Spark standalone: a master and a worker from the same image, each healthy by its own check, the worker registered", async () => {
    const image = built.get("spark")!.tag;
    runContainer(names.master, image, { args: ["master"] });
    runContainer(names.worker, image, { args: ["worker", `spark://${names.master}:7077`, "--memory", "1g", "--cores", "1"] });
    // The master binds to its container address, not localhost: its health check must still pass.
    await healthy(names.master, ["tcp", "7077"], 300);
    await healthy(names.worker, ["http", "8081", "/"], 300);
    const deadline = Date.now() + 120_000;
    let workers: { state: string; host: string }[] = [];
    while (Date.now() < deadline) {
      const json = docker("exec", names.master, "python3", "-c", `import urllib.request,socket;print(urllib.request.urlopen("http://"+socket.gethostbyname(socket.gethostname())+":8080/json").read().decode())`);
      workers = JSON.parse(json).workers;
      if (workers.some((w) => w.state === "ALIVE")) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(workers.filter((w) => w.state === "ALIVE")).toHaveLength(1);
    // The worker registered under its container address on the stack's network.
    const workerAddr = docker("inspect", "--format", `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, names.worker);
    expect(workers[0].host).toBe(workerAddr);
  });
});
