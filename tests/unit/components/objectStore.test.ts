import * as crypto from "node:crypto";
import { objectStoreDockerPlan, objectStoreLocalPlan, SEAWEED_JWT_SECTIONS, seaweedPorts, seaweedSecurityToml } from "../../../components/objectStore";
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

  test("SeaweedFS: security.toml in the directory -config_dir names (a global flag, before `server`), the master and filer HTTP APIs off", () => {
    const plan = objectStoreLocalPlan({ engine: "seaweedfs", dataDir: "/d", port: 24333 }, tc, creds);
    expect(plan.process.command.slice(0, 3)).toEqual([tc.local!.paths.weed, "-config_dir=/d/s3/conf", "server"]);
    expect(plan.files["/d/s3/conf/security.toml"]).toBe(seaweedSecurityToml(creds.secretKey));
    expect(plan.process.command).toContain("-disableHttp");
    // The keys live in files (written 0600), never on the command line or in the environment.
    const exposed = JSON.stringify([plan.process.command, plan.process.env]);
    expect(exposed).not.toContain(creds.secretKey);
    for (const key of tomlKeys(seaweedSecurityToml(creds.secretKey))) expect(exposed).not.toContain(key);
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

/** section → key of a rendered security.toml (a TOML subset: [section] then key = "…"). */
function tomlKeys(toml: string): string[] {
  return [...toml.matchAll(/^key = "([^"]*)"$/gm)].map((m) => m[1]);
}

describe("SeaweedFS security.toml", () => {
  const toml = seaweedSecurityToml(creds.secretKey);

  test("a key for each JWT section SeaweedFS 4.x reads: volume writes and reads, filer writes and reads", () => {
    const sections = [...toml.matchAll(/^\[([a-z_.]+)\]$/gm)].map((m) => m[1]);
    expect(sections).toEqual([...SEAWEED_JWT_SECTIONS, "access"]);
    const keys = tomlKeys(toml);
    expect(keys).toHaveLength(4);
    expect(new Set(keys).size).toBe(4);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(toml).toContain("[access]\nui = false");
  });

  test("the keys come from the stack's S3 secret: stable across renders, other for another stack, and the secret itself isn't in them", () => {
    expect(seaweedSecurityToml(creds.secretKey)).toBe(toml);
    const other = tomlKeys(seaweedSecurityToml("another-stack-secret"));
    expect(other.filter((k) => tomlKeys(toml).includes(k))).toEqual([]);
    expect(toml).not.toContain(creds.secretKey);
    const want = crypto.createHmac("sha256", creds.secretKey).update("lakeform seaweedfs jwt.signing").digest("base64url");
    expect(tomlKeys(toml)[0]).toBe(want);
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
      // S3 only is published: no console, no master, volume or filer port.
      expect(c.ports).toHaveLength(1);
      if (engine === "minio") expect(c.envs).toContain("MINIO_BROWSER=off");
      else expect(c.uploads.find((u) => u.file === "/etc/seaweedfs/security.toml")?.content).toBe(seaweedSecurityToml(creds.secretKey));
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
