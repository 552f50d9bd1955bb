import * as path from "node:path";
import { metastoreDockerPlan, metastoreLocalPlan } from "../../../components/metastore";
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

  test("serves Thrift on its port with Derby and config under the data dir", () => {
    expect(cmd.slice(-2)).toEqual(["-p", "24083"]);
    expect(plan.process.ports).toEqual([24083]);
    expect(plan.files["/d/metastore/conf/hive-site.xml"]).toContain("jdbc:derby:;databaseName=/d/metastore/data/metastore_db;create=true");
    expect(plan.files["/d/metastore/conf/core-site.xml"]).toContain("<name>fs.s3a.endpoint</name><value>http://127.0.0.1:8333</value>");
    expect(cmd).toContain("-Xmx512m");
  });
});

describe("docker plan", () => {
  const plan = metastoreDockerPlan({ name: "lh-metastore", port: 9083, heap: "512m" }, tc, { ...CONN, metastoreUri: "thrift://lh-metastore-hms:9083" });
  const [pg, hms] = plan.containers;

  test("PostgreSQL on a named volume first, then the metastore pointing at it", () => {
    expect(pg.mounts).toEqual([{ volume: "lh-metastore-postgres-data", containerPath: "/var/lib/postgresql/data" }]);
    expect(hms.after).toEqual([pg.name]);
    expect(hms.afterDependencies).toBe(true);
    expect(hms.envs.find((e) => e.startsWith("SERVICE_OPTS="))).toContain(`jdbc:postgresql://${pg.name}:5432/metastore`);
    expect(plan.server).toBe(hms.name);
    expect(hms.ports).toEqual([expect.objectContaining({ internal: 9083, external: 9083 })]);
  });

  test("the generated secret reaches the database only through envs, never the plan's shape", () => {
    expect(fieldsCarrying(plan, CONN.secretKey).sort()).toEqual([`${pg.name}.envs`, `${hms.name}.envs`, `${hms.name}.uploads`].sort());
    expect(shapeOf(metastoreDockerPlan({ name: "lh-metastore", port: 9083, heap: "512m" }, tc, PLACEHOLDER_CONNECTION))).toEqual(shapeOf(plan));
  });
});
