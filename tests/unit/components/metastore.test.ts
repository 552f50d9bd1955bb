import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { metastoreDockerPlan, metastoreLocalPlan } from "../../../components/metastore";
import { codeDigest, METASTORE_SERVER_SOURCE } from "../../../components/metastore/localPlan";
import { PLACEHOLDER_CONNECTION } from "../../../components/plans";
import { testToolchain } from "../../helpers/toolchain";
import { CONN, fieldsCarrying, shapeOf } from "./conn";

const tc = testToolchain();

describe("local plan", () => {
  const plan = metastoreLocalPlan({ dataDir: "/d", port: 24083, heap: "512m" }, tc, CONN);
  const cmd = plan.process.command;

  test("runs on the toolchain's Java 17 with pyspark's jars and hadoop-aws on the classpath", () => {
    expect(cmd).toContain(path.join(tc.local!.java17Home, "bin", "java"));
    const cp = cmd[cmd.indexOf("-cp") + 1].split(":");
    expect(cp).toEqual(expect.arrayContaining([...tc.local!.paths.s3aJars, path.join(tc.local!.paths.sparkJarsDir, "*")]));
    expect(tc.local!.paths.sparkJarsDir).toContain("python3.12");
  });

  test("serves Thrift on its port, through MetastoreServer (127.0.0.1 only: its default bind address), with Derby and config under the data dir", () => {
    expect(cmd.slice(-2)).toEqual([METASTORE_SERVER_SOURCE, "24083"]);
    expect(cmd).not.toContain("org.apache.hadoop.hive.metastore.HiveMetaStore");
    expect(plan.process.ports).toEqual([24083]);
    expect(plan.files["/d/metastore/conf/hive-site.xml"]).toContain("jdbc:derby:;databaseName=/d/metastore/data/metastore_db;create=true");
    expect(plan.files["/d/metastore/conf/core-site.xml"]).toContain("<name>fs.s3a.endpoint</name><value>http://127.0.0.1:8333</value>");
    expect(cmd).toContain("-Xmx512m");
  });

  test("names its server code's digest in its environment, so an `up` after a change to MetastoreServer.java restarts it", () => {
    expect(plan.process.env.LAKEFORM_METASTORE_CODE).toMatch(/^[0-9a-f]{16}$/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-code-"));
    const f = path.join(dir, "A.java");
    fs.writeFileSync(f, "class A {}");
    const a = codeDigest([f]);
    fs.writeFileSync(f, "class A { int x; }");
    expect(codeDigest([f])).not.toBe(a);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("docker plan", () => {
  const args = { name: "lh-metastore", port: 9083, heap: "512m", prefix: "dev" };
  const plan = metastoreDockerPlan(args, tc, { ...CONN, metastoreUri: "thrift://dev-lh-metastore-hms:9083" });
  const [hms] = plan.containers;

  test("Lakeform's metastore image (Hive 2.3.9 + matching hadoop-aws), not apache/hive with its too-old PostgreSQL driver", () => {
    expect(plan.containers).toHaveLength(1);
    expect(plan.images.map((i) => i.name)).toEqual([`lakeform/metastore:${tc.images!.metastore!.hash.slice(0, 16)}`]);
    expect(plan.images[0].build.context).toBe(tc.images!.metastore!.dir);
  });

  test("the schema lives on Derby in a named volume, so a restart resumes on it instead of re-initialising", () => {
    expect(hms.mounts).toEqual([{ volume: "lh-metastore-data", containerPath: "/var/lib/metastore" }]);
    expect(plan.volumes).toEqual([{ key: "lh-metastore-data", name: "dev-lh-metastore-data" }]);
    const site = hms.uploads.find((u) => u.file === "/opt/lakeform/conf/hive-site.xml")!.content;
    expect(site).toContain("jdbc:derby:;databaseName=/var/lib/metastore/metastore_db;create=true");
    expect(site).toContain("<name>hive.metastore.warehouse.dir</name><value>s3a://warehouse/</value>");
    expect(hms.uploads.find((u) => u.file === "/opt/lakeform/conf/core-site.xml")!.content).toContain("<name>fs.s3a.endpoint</name>");
  });

  test("Thrift not published on the host (it authenticates no one; only the stack's network reaches it), a health check on the port, waits long enough for a JVM on 2 cores", () => {
    expect(hms.ports).toEqual([]);
    expect(hms.healthcheck.tests).toEqual(["CMD", "lakeform-healthcheck", "tcp", "9083"]);
    expect(hms.waitTimeout).toBeGreaterThanOrEqual(300);
    expect(hms.afterDependencies).toBe(true);
    expect(hms.envs).toContain("METASTORE_HEAP=512m");
  });

  test("the S3 secret is only in the uploaded core-site; the shape doesn't depend on it", () => {
    expect(fieldsCarrying(plan, CONN.secretKey)).toEqual([`${hms.name}.uploads`]);
    expect(shapeOf(metastoreDockerPlan(args, tc, PLACEHOLDER_CONNECTION))).toEqual(shapeOf(plan));
  });
});
