import * as crypto from "node:crypto";
import { PLACEHOLDER_CONNECTION } from "../../../components/plans";
import { trinoDockerPlan, trinoLocalPlans, trinoPasswordFile, trinoPasswordLine, trinoSharedSecret } from "../../../components/trino";
import { TRINO_USERS } from "../../../lake/trino";
import { testToolchain } from "../../helpers/toolchain";
import { CONN, fieldsCarrying, shapeOf, TRINO_SECRETS } from "./conn";

const tc = testToolchain();

describe("local plan", () => {
  const plans = trinoLocalPlans({ dataDir: "/d", port: 24080, workers: 1, heap: "2G" }, tc, CONN, TRINO_SECRETS);

  test("a coordinator and a worker, on the toolchain's JDK, each on loopback with its own port", () => {
    expect(plans.map((p) => p.service)).toEqual(["trino", "trino-worker-1"]);
    for (const p of plans) {
      expect(p.process.env.JAVA_HOME).toBe(tc.local!.trinoJavaHome);
      expect(p.process.command[0]).toBe(`${tc.local!.paths.trinoHome}/bin/launcher`);
    }
    const [coord, worker] = plans;
    // HTTPS for clients on the stack's port, plain HTTP for the cluster beside it.
    expect(coord.process.ports).toEqual([24080, 24081]);
    expect(worker.process.ports).not.toContain(24080);
    expect(worker.files["/d/trino-worker-1/conf/node.properties"]).toContain("node.bind-ip=127.0.0.1");
  });

  test("the worker discovers the coordinator; only the coordinator schedules and enforces access control", () => {
    const [coord, worker] = plans;
    const config = (p: (typeof plans)[number]) => p.files[Object.keys(p.files).find((f) => f.endsWith("/config.properties"))!];
    expect(config(coord)).toContain("coordinator=true");
    expect(config(coord)).toContain("access-control.config-files=");
    expect(config(worker)).toContain("coordinator=false");
    expect(config(worker)).toContain("discovery.uri=http://127.0.0.1:24081");
    expect(config(worker)).not.toContain("access-control.config-files");
    expect(coord.process.health.bodyIncludes).toBe('"starting":false');
  });
});

describe("docker plan", () => {
  const args = { name: "lh-trino", port: 8080, workers: 1, heap: "2G", prefix: "dev" };
  const plan = trinoDockerPlan(args, tc, CONN, TRINO_SECRETS);
  const [coord, worker] = plan.containers;
  const file = (c: typeof coord, f: string) => c.uploads.find((u) => u.file === `/etc/trino/${f}`)!.content;

  test("a coordinator published on loopback only (its HTTPS port), a worker after it discovering it by host name", () => {
    expect(coord.ports).toEqual([{ internal: 8443, external: 8080, ip: "127.0.0.1" }]);
    expect(file(coord, "config.properties")).toContain("http-server.https.port=8443");
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
    const placeholders = { password: "placeholder-password-0", readPassword: "placeholder-password-1", certPem: "placeholder", keyPem: "placeholder" };
    expect(shapeOf(trinoDockerPlan(args, tc, PLACEHOLDER_CONNECTION, placeholders))).toEqual(shapeOf(plan));
  });

  test("the coordinator asks for passwords from its password file; workers share only the internal secret", () => {
    expect(file(coord, "config.properties")).toContain("http-server.authentication.type=PASSWORD");
    expect(file(coord, "password-authenticator.properties")).toContain("file.password-file=/etc/trino/password.db");
    expect(file(coord, "password.db")).toBe(trinoPasswordFile(TRINO_SECRETS));
    expect(worker.uploads.map((u) => u.file)).not.toContain("/etc/trino/password.db");
    const secret = trinoSharedSecret(TRINO_SECRETS);
    expect(file(worker, "config.properties")).toContain(`internal-communication.shared-secret=${secret}`);
    expect(file(coord, "config.properties")).toContain(`internal-communication.shared-secret=${secret}`);
    // The passwords themselves are in no file and no other field: only their hashes.
    for (const pw of Object.values(TRINO_SECRETS)) expect(fieldsCarrying(plan, pw)).toEqual([]);
  });
});

/** What Trino 476's FileAuthenticator does with a line (EncryptionUtil.doesPBKDF2PasswordMatch), redone here. */
function trinoAccepts(line: string, user: string, password: string): boolean {
  const [name, ...hashed] = line.split(":");
  if (name !== user) return false;
  const [iterations, saltHex, hashHex] = hashed;
  if (hashed.length !== 3 || Number(iterations) < 1000 || !/^[0-9a-f]+$/.test(saltHex) || !/^[0-9a-f]+$/.test(hashHex)) return false;
  const want = Buffer.from(hashHex, "hex");
  const got = crypto.pbkdf2Sync(password, Buffer.from(saltHex, "hex"), Number(iterations), want.length, "sha1");
  return crypto.timingSafeEqual(want, got);
}

describe("password file", () => {
  const lines = trinoPasswordFile(TRINO_SECRETS).trimEnd().split("\n");

  test("one PBKDF2 line per Lakeform user, in the iterations:salt:hash form Trino 476 reads", () => {
    expect(lines.map((l) => l.split(":")[0])).toEqual([TRINO_USERS.admin, TRINO_USERS.readOnly]);
    for (const l of lines) expect(l).toMatch(/^[a-z_]+:\d+:[0-9a-f]{32}:[0-9a-f]{64}$/);
  });

  test("each user's line verifies its own password, and neither the other's nor a wrong one", () => {
    const [admin, reader] = lines;
    expect(trinoAccepts(admin, TRINO_USERS.admin, TRINO_SECRETS.password)).toBe(true);
    expect(trinoAccepts(reader, TRINO_USERS.readOnly, TRINO_SECRETS.readPassword)).toBe(true);
    expect(trinoAccepts(admin, TRINO_USERS.admin, TRINO_SECRETS.readPassword)).toBe(false);
    expect(trinoAccepts(reader, TRINO_USERS.readOnly, TRINO_SECRETS.password)).toBe(false);
    expect(trinoAccepts(admin, TRINO_USERS.admin, `${TRINO_SECRETS.password}x`)).toBe(false);
  });

  test("the same passwords render the same file (no restart on every up); another password, another hash and salt", () => {
    expect(trinoPasswordFile(TRINO_SECRETS)).toBe(trinoPasswordFile({ ...TRINO_SECRETS }));
    const other = trinoPasswordLine(TRINO_USERS.admin, "another-password-0123456789");
    expect(other.split(":")[2]).not.toBe(lines[0].split(":")[2]);
    expect(other.split(":")[3]).not.toBe(lines[0].split(":")[3]);
  });

  test("refuses a short password or a user name that would break the file", () => {
    expect(() => trinoPasswordLine(TRINO_USERS.admin, "short")).toThrow(/shorter than 16/);
    expect(() => trinoPasswordLine("bad:user", TRINO_SECRETS.password)).toThrow(/password file/);
  });

  test("the internal secret is derived from the writer's password: stable, and another for another password", () => {
    expect(trinoSharedSecret(TRINO_SECRETS)).toBe(trinoSharedSecret({ ...TRINO_SECRETS }));
    expect(trinoSharedSecret({ password: "another-password-0123456789" })).not.toBe(trinoSharedSecret(TRINO_SECRETS));
    expect(trinoSharedSecret(TRINO_SECRETS)).not.toContain(TRINO_SECRETS.password);
  });
});

describe("local plan: secrets", () => {
  const [coord, worker] = trinoLocalPlans({ dataDir: "/d", port: 24080, workers: 1, heap: "2G" }, tc, CONN, TRINO_SECRETS);

  test("the coordinator's password file and authenticator under its conf dir; no secret on a command line or in the environment", () => {
    expect(coord.files["/d/trino/conf/password.db"]).toBe(trinoPasswordFile(TRINO_SECRETS));
    expect(coord.files["/d/trino/conf/password-authenticator.properties"]).toContain("file.password-file=/d/trino/conf/password.db");
    const config = coord.files["/d/trino/conf/config.properties"];
    // Passwords over HTTPS only: over HTTP Trino would take a bare user name.
    expect(config).toContain("http-server.authentication.allow-insecure-over-http=false");
    expect(config).toContain("http-server.https.enabled=true");
    expect(config).toContain("http-server.https.port=24080");
    expect(config).toContain("http-server.http.port=24081");
    expect(coord.files["/d/trino/conf/https.pem"]).toBe(`${TRINO_SECRETS.keyPem}${TRINO_SECRETS.certPem}`);
    expect(Object.keys(worker.files)).not.toContain("/d/trino-worker-1/conf/https.pem");
    expect(Object.keys(worker.files)).not.toContain("/d/trino-worker-1/conf/password.db");
    for (const p of [coord, worker]) {
      const exposed = JSON.stringify([p.process.command, p.process.env]);
      for (const s of [TRINO_SECRETS.password, TRINO_SECRETS.readPassword, trinoSharedSecret(TRINO_SECRETS), CONN.secretKey, "TEST-KEY-0123456789"]) expect(exposed).not.toContain(s);
    }
  });

  test("the health check asks /v1/info on the cluster's HTTP port, which Trino serves without a password", () => {
    expect(coord.process.health.http).toBe("http://127.0.0.1:24081/v1/info");
  });
});
