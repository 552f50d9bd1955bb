import { PLACEHOLDER_CONNECTION } from "../../../components/plans";
import { trinoDockerPlan, trinoLocalPlans } from "../../../components/trino";
import { testToolchain } from "../../helpers/toolchain";
import { CONN, fieldsCarrying, shapeOf } from "./conn";

const tc = testToolchain();

describe("local plan", () => {
  const plans = trinoLocalPlans({ dataDir: "/d", port: 24080, workers: 1, heap: "2G" }, tc, CONN);

  test("a coordinator and a worker, on the toolchain's JDK, each on loopback with its own port", () => {
    expect(plans.map((p) => p.service)).toEqual(["trino", "trino-worker-1"]);
    for (const p of plans) {
      expect(p.process.env.JAVA_HOME).toBe(tc.local!.trinoJavaHome);
      expect(p.process.command[0]).toBe(`${tc.local!.paths.trinoHome}/bin/launcher`);
    }
    const [coord, worker] = plans;
    expect(coord.process.ports).toEqual([24080]);
    expect(worker.process.ports).not.toContain(24080);
    expect(worker.files["/d/trino-worker-1/conf/node.properties"]).toContain("node.bind-ip=127.0.0.1");
  });

  test("the worker discovers the coordinator; only the coordinator schedules and enforces access control", () => {
    const [coord, worker] = plans;
    const config = (p: (typeof plans)[number]) => p.files[Object.keys(p.files).find((f) => f.endsWith("/config.properties"))!];
    expect(config(coord)).toContain("coordinator=true");
    expect(config(coord)).toContain("access-control.config-files=");
    expect(config(worker)).toContain("coordinator=false");
    expect(config(worker)).toContain("discovery.uri=http://127.0.0.1:24080");
    expect(config(worker)).not.toContain("access-control.config-files");
    expect(coord.process.health.bodyIncludes).toBe('"starting":false');
  });
});

describe("docker plan", () => {
  const args = { name: "lh-trino", port: 8080, workers: 1, heap: "2G", prefix: "dev" };
  const plan = trinoDockerPlan(args, tc, CONN);
  const [coord, worker] = plan.containers;
  const file = (c: typeof coord, f: string) => c.uploads.find((u) => u.file === `/etc/trino/${f}`)!.content;

  test("a coordinator published on loopback only, a worker after it discovering it by host name", () => {
    expect(coord.ports).toEqual([{ internal: 8080, external: 8080, ip: "127.0.0.1" }]);
    expect(worker.ports).toEqual([]);
    expect(worker.after).toEqual([coord.name]);
    expect(file(worker, "config.properties")).toContain("discovery.uri=http://dev-lh-trino-coordinator:8080");
    expect(file(worker, "config.properties")).toContain("coordinator=false");
    expect(file(coord, "config.properties")).toContain("coordinator=true");
  });

  test("distinct node ids, Trino's data dir in the image, and no loopback bind inside the container", () => {
    expect(file(coord, "node.properties")).toContain("node.id=dev-lh-trino-coordinator");
    expect(file(worker, "node.properties")).toContain("node.id=dev-lh-trino-worker-1");
    expect(file(worker, "node.properties")).toContain("node.data-dir=/var/lib/trino/data");
    expect(file(worker, "node.properties")).not.toContain("bind-ip");
  });

  test("Lakeform's Trino image on its JDK 25 base; health checks the image can run; long enough waits", () => {
    expect(plan.images[0].build.args).toEqual({ BASE: "debian:trixie-slim" });
    expect(coord.healthcheck.tests).toEqual(["CMD", "lakeform-healthcheck", "http", "8080", "/v1/info", '"starting":false']);
    expect(worker.healthcheck.tests).toEqual(["CMD", "lakeform-healthcheck", "http", "8080", "/v1/info"]);
    for (const c of plan.containers) expect(c.waitTimeout).toBeGreaterThanOrEqual(300);
  });

  test("the S3 secret is only in the uploaded catalogs; the shape doesn't depend on it", () => {
    expect(fieldsCarrying(plan, CONN.secretKey)).toEqual(["lh-trino-coordinator.uploads", "lh-trino-worker-1.uploads"]);
    expect(shapeOf(trinoDockerPlan(args, tc, PLACEHOLDER_CONNECTION))).toEqual(shapeOf(plan));
  });
});
