import { objectStoreDockerPlan, objectStoreLocalPlan, seaweedPorts } from "../../../components/objectStore";
import { PLACEHOLDER_CONNECTION } from "../../../components/plans";
import { testToolchain } from "../../helpers/toolchain";
import { fieldsCarrying, shapeOf } from "./conn";

const tc = testToolchain();
const creds = { accessKey: "lakeformab12cd34ef56", secretKey: "s3cr3t-for-plans" };

describe("local plan", () => {
  test("SeaweedFS: every port derived from the S3 port, loopback only, the identity file with the keys", () => {
    const plan = objectStoreLocalPlan({ engine: "seaweedfs", dataDir: "/d", port: 24333 }, tc, creds);
    expect(plan.process.command[0]).toBe(tc.local!.paths.weed);
    expect(plan.process.ports.sort()).toEqual(Object.values(seaweedPorts(24333)).sort());
    expect(Math.min(...plan.process.ports)).toBe(24333);
    expect(Math.max(...plan.process.ports)).toBe(24340);
    expect(plan.process.command).toEqual(expect.arrayContaining(["-ip.bind=127.0.0.1", "-s3.port=24333", "-master.telemetry=false", "-dir=/d/s3/data"]));
    const identity = JSON.parse(plan.files["/d/s3/conf/s3.json"]);
    expect(identity.identities[0].credentials).toEqual([creds]);
    expect(plan.install).toEqual(["python"]);
  });

  test("MinIO: S3 and console on loopback, keys in its environment, built MinIO from the toolchain", () => {
    const plan = objectStoreLocalPlan({ engine: "minio", dataDir: "/d", port: 24400 }, tc, creds);
    expect(plan.process.command).toEqual([tc.local!.paths.minio, "server", "/d/s3/data", "--address", "127.0.0.1:24400", "--console-address", "127.0.0.1:24401"]);
    expect(plan.process.env).toMatchObject({ MINIO_ROOT_USER: creds.accessKey, MINIO_ROOT_PASSWORD: creds.secretKey, MINIO_UPDATE: "off" });
    expect(plan.process.health.http).toBe("http://127.0.0.1:24400/minio/health/live");
    expect(plan.install).toEqual(["minio"]);
  });

  test("refuses to plan without the local toolchain, saying what is missing", () => {
    expect(() => objectStoreLocalPlan({ engine: "seaweedfs", dataDir: "/d", port: 8333 }, testToolchain({ local: undefined }), creds)).toThrow(
      /ObjectStore: the local runtime needs the toolchain/,
    );
  });
});

describe("docker plan", () => {
  for (const engine of ["minio", "seaweedfs"] as const) {
    test(`${engine}: Lakeform's image, data in a named volume, S3 on loopback only, a health check the image can run`, () => {
      const args = { name: "lh-s3", engine, port: 9000, prefix: "dev" };
      const plan = objectStoreDockerPlan(args, tc, creds);
      expect(plan.containers).toHaveLength(1);
      const [c] = plan.containers;
      expect(plan.server).toBe(c.name);
      expect(plan.images).toEqual([{ key: c.image, name: `lakeform/${engine}:${tc.images![engine]!.hash.slice(0, 16)}`, build: { context: tc.images![engine]!.dir, args: { BASE: "debian:bookworm-slim" } } }]);
      expect(plan.volumes).toEqual([{ key: "lh-s3-data", name: "dev-lh-s3-data" }]);
      expect(c.mounts).toEqual([{ volume: "lh-s3-data", containerPath: "/data" }]);
      expect(c.ports).toEqual([{ internal: engine === "minio" ? 9000 : 8333, external: 9000, ip: "127.0.0.1" }]);
      expect(c.healthcheck.tests.slice(0, 2)).toEqual(["CMD", "lakeform-healthcheck"]);
      expect(c.hostname).toBe(`dev-lh-s3-${engine}`);
      expect(fieldsCarrying(plan, creds.secretKey)).toEqual([engine === "minio" ? `${c.name}.envs` : `${c.name}.uploads`]);
      const shape = objectStoreDockerPlan(args, tc, { accessKey: PLACEHOLDER_CONNECTION.accessKey, secretKey: PLACEHOLDER_CONNECTION.secretKey });
      expect(shapeOf(shape)).toEqual(shapeOf(plan));
    });
  }

  test("refuses to plan without the staged images, saying what is missing", () => {
    expect(() => objectStoreDockerPlan({ name: "lh-s3", engine: "seaweedfs", port: 9000, prefix: "dev" }, testToolchain({ images: undefined }), creds)).toThrow(
      /readToolchain\("docker"\)/,
    );
  });
});
