/** Two stacks on one Docker host: no container or volume name in common, whatever the service. */
import { metastoreDockerPlan } from "../../../components/metastore";
import { objectStoreDockerPlan } from "../../../components/objectStore";
import { sparkDockerPlan } from "../../../components/spark";
import { trinoDockerPlan } from "../../../components/trino";
import type { DockerPlan } from "../../../components/plans";
import { testToolchain } from "../../helpers/toolchain";
import { CONN, TRINO_SECRETS, hostNames } from "./conn";

const tc = testToolchain({ local: undefined });
const plans: Record<string, (prefix: string) => DockerPlan> = {
  objectStore: (prefix) => objectStoreDockerPlan({ name: "lakehouse-s3", engine: "seaweedfs", port: 8333, prefix }, tc, CONN),
  metastore: (prefix) => metastoreDockerPlan({ name: "lakehouse-metastore", port: 9083, heap: "512m", prefix }, tc, CONN),
  spark: (prefix) => sparkDockerPlan({ name: "lakehouse-spark", port: 8998, workers: 2, driverMemory: "2g", workerMemory: "2g", prefix }, tc, CONN, "job-server-secret-for-plans"),
  trino: (prefix) => trinoDockerPlan({ name: "lakehouse-trino", port: 8080, workers: 1, heap: "2G", prefix }, tc, CONN, TRINO_SECRETS),
};

for (const [service, plan] of Object.entries(plans)) {
  test(`${service}: the dev and e2e stacks share no container or volume name`, () => {
    const dev = hostNames(plan("dev"));
    const e2e = hostNames(plan("e2e"));
    expect(dev.length).toBeGreaterThan(0);
    expect(dev.filter((n) => e2e.includes(n))).toEqual([]);
    for (const n of dev) expect(n).toMatch(/^dev-/);
  });
}
