/**
 * The engines answer only Lakeform, on the real local stack: Trino asks every query for a password
 * of its password file over HTTPS (none, a wrong one, a stranger's user: 401; its plain-HTTP port
 * for the cluster refuses clients) and its read-only user can't write; SeaweedFS's filer, master and volume HTTP APIs refuse a request without a JWT signed with
 * the stack's keys (and the object is still there afterwards, read back through S3 with the keys),
 * while the same volume read signed with the key succeeds; S3 without keys is refused. The config
 * files holding the secrets are 0600, and no process on the machine shows a secret on its command
 * line.
 *
 * What this suite can't close, said in components/objectStore/localPlan.ts (seaweedSecurityToml):
 * SeaweedFS's gRPC ports take no JWT.
 */
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { machineInstallPaths } from "../../components/local/install";
import { seaweedPorts, seaweedSecurityToml } from "../../components/objectStore";
import { trinoInternalPort, trinoSharedSecret } from "../../components/trino";
import { stackTrino, TRINO_USERS, TrinoClient } from "../../lake/trino";
import type { LakeOutputs } from "../../stacks/automation";
import { ensureUp, s3 } from "./lake";

const sh = promisify(execFile);
const suffix = Date.now().toString(36);
let outs: LakeOutputs;

beforeAll(async () => {
  outs = await ensureUp();
});

/**
 * POST /v1/statement as a client would, with these credentials (or none), to the endpoint (HTTPS,
 * trusting the stack's certificate) or to another URL: Trino's HTTP status and body.
 */
function statement(sql: string, auth?: { user: string; password: string }, url = `${outs.trinoEndpoint}/v1/statement`): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { "X-Trino-User": auth?.user ?? TRINO_USERS.admin };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}`;
  const request = url.startsWith("https:") ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers, ca: outs.trinoCertificate, timeout: 30_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(sql);
  });
}

describe("Trino", () => {
  test("a statement without a password is refused with 401, as Lakeform's own user too", async () => {
    expect((await statement("SELECT 1")).status).toBe(401);
  });

  test("a wrong password, another user's password, or a user not in the password file: 401", async () => {
    expect((await statement("SELECT 1", { user: TRINO_USERS.admin, password: `${outs.trinoPassword}x` })).status).toBe(401);
    expect((await statement("SELECT 1", { user: TRINO_USERS.admin, password: outs.trinoReadPassword })).status).toBe(401);
    expect((await statement("SELECT 1", { user: "admin", password: outs.trinoPassword })).status).toBe(401);
    await expect(new TrinoClient(outs.trinoEndpoint, { user: TRINO_USERS.readOnly, password: "not-the-password", ca: outs.trinoCertificate }).query("SELECT 1")).rejects.toThrow(/401/);
  });

  test("with the right password a statement is accepted (200) and SELECT returns its rows, for the writer and the reader", async () => {
    expect((await statement("SELECT 1", { user: TRINO_USERS.admin, password: outs.trinoPassword })).status).toBe(200);
    expect(await stackTrino(outs, "admin").scalar("SELECT 40 + 2")).toBe(42);
    expect(await stackTrino(outs, "readOnly").scalar("SELECT count(*) FROM (VALUES 1, 2, 3) t(x)")).toBe(3);
  });

  test("the read-only user can't create or insert; the writer can, and the reader reads what it wrote", async () => {
    const admin = stackTrino(outs, "admin");
    const reader = stackTrino(outs, "readOnly");
    const table = `hive.default.sec_engines_${suffix}`;
    await expect(reader.query(`CREATE TABLE hive.default.sec_ro_${suffix} (x integer)`)).rejects.toMatchObject({ code: "QUERY_REFUSED" });
    await admin.query(`CREATE TABLE ${table} (x integer)`);
    try {
      await expect(reader.query(`INSERT INTO ${table} VALUES (1)`)).rejects.toMatchObject({ code: "QUERY_REFUSED" });
      await admin.query(`INSERT INTO ${table} VALUES (7)`);
      expect((await reader.query(`SELECT x FROM ${table}`)).rows).toEqual([[7]]);
      await expect(reader.query(`DROP TABLE ${table}`)).rejects.toMatchObject({ code: "QUERY_REFUSED" });
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
    }
    // No table of the refused CREATE exists.
    const { rows } = await admin.query(`SHOW TABLES FROM hive.default LIKE 'sec_ro_${suffix}'`);
    expect(rows).toEqual([]);
  });

  test("the reader sees and kills only its own queries: the writer's statements are not in its system.runtime.queries, and killing one is refused", async () => {
    const admin = stackTrino(outs, "admin");
    const reader = stackTrino(outs, "readOnly");
    const marker = `sec_marker_${suffix}`;
    await admin.query(`SELECT '${marker}' AS m`);
    const writers = `SELECT query_id FROM system.runtime.queries WHERE "user" = '${TRINO_USERS.admin}' AND query LIKE '%${marker}%' AND query NOT LIKE '%system.runtime%'`;
    // The writer sees its own statement: the query the reader runs below can find one.
    const own = await admin.query(writers);
    expect(own.rows.length).toBeGreaterThan(0);
    expect((await reader.query(writers)).rows).toEqual([]);
    await expect(reader.query(`CALL system.runtime.kill_query(query_id => '${own.rows[0][0]}', message => 'x')`)).rejects.toMatchObject({ code: "QUERY_REFUSED" });
    // Its own queries it still sees.
    const mine = await reader.query(`SELECT count(*) FROM system.runtime.queries WHERE "user" = '${TRINO_USERS.readOnly}'`);
    expect(Number(mine.rows[0][0])).toBeGreaterThan(0);
  });

  test("the endpoint is HTTPS with the stack's certificate: a client that doesn't trust it is refused", async () => {
    expect(outs.trinoEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(outs.trinoCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await expect(fetch(`${outs.trinoEndpoint}/v1/info`)).rejects.toThrow();
  });

  test("the cluster's plain-HTTP port refuses a statement from a client, with or without a password; /v1/info (the health check) answers there", async () => {
    const internal = `http://127.0.0.1:${trinoInternalPort(Number(new URL(outs.trinoEndpoint).port))}`;
    expect((await statement("SELECT 1", undefined, `${internal}/v1/statement`)).status).toBe(403);
    expect((await statement("SELECT 1", { user: TRINO_USERS.admin, password: outs.trinoPassword }, `${internal}/v1/statement`)).status).toBe(403);
    const res = await fetch(`${internal}/v1/info`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ starting: false });
  });
});

describe("SeaweedFS", () => {
  const key = `sec/${suffix}/secret.txt`;
  const body = `only lakeform reads this ${suffix}`;
  let ports: ReturnType<typeof seaweedPorts>;
  let fid: string;

  beforeAll(async () => {
    ports = seaweedPorts(Number(new URL(outs.s3Endpoint).port));
    await s3(outs).send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: key, Body: body }));
    // The object's file id on the volume server, from the filer's metadata over gRPC (weed shell:
    // gRPC takes no JWT, see seaweedSecurityToml).
    const master = `127.0.0.1:${ports.master}.${ports.masterGrpc}`;
    const filer = `127.0.0.1:${ports.filer}.${ports.filerGrpc}`;
    const child = execFile(machineInstallPaths().weed, ["shell", `-master=${master}`, `-filer=${filer}`], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    child.stdin!.end(`fs.meta.cat /buckets/${outs.warehouseBucket}/${key}\n`);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    await new Promise((r) => child.on("close", r));
    const m = out.match(/"fileId":\s*"(\d+,[0-9a-f]+)"/);
    if (!m) throw new Error(`no file id in weed shell's fs.meta.cat output:\n${out.slice(-2000)}`);
    fid = m[1];
  });

  const objectStillThere = async () => {
    const got = await s3(outs).send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: key }));
    expect(await got.Body!.transformToString()).toBe(body);
  };

  /** Refused: 401/403 from the JWT check, 404 where the HTTP API is switched off (-disableHttp). */
  const REFUSED = [401, 403, 404];

  test("the stack's security.toml is in force: rendered from the stack's secret, 0600", () => {
    const file = path.join(outs.dataDir, "s3", "conf", "security.toml");
    expect(fs.readFileSync(file, "utf8")).toBe(seaweedSecurityToml(outs.s3SecretKey));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  test("the filer's HTTP API: GET, listing and DELETE of the object refused without a JWT; the object is still there", async () => {
    const url = `http://127.0.0.1:${ports.filer}/buckets/${outs.warehouseBucket}/${key}`;
    for (const [method, u] of [["GET", url], ["GET", `${url}?metadata=true`], ["GET", path.dirname(url) + "/"], ["DELETE", url], ["PUT", `${url}.evil`]] as const) {
      const res = await fetch(u, { method, ...(method === "PUT" ? { body: "evil" } : {}) });
      const text = await res.text();
      expect({ method, u, status: res.status, refused: REFUSED.includes(res.status) }).toMatchObject({ refused: true });
      expect(text).not.toContain(body);
    }
    await objectStillThere();
  });

  test("the volume server: a read and a DELETE of the object's file id without a JWT get 401; signed with the stack's read key, the read succeeds", async () => {
    const url = `http://127.0.0.1:${ports.volume}/${fid}`;
    const get = await fetch(url);
    expect(get.status).toBe(401);
    expect(await get.text()).not.toContain(body);
    expect((await fetch(url, { method: "DELETE" })).status).toBe(401);
    await objectStillThere();
    // The positive control: the same request with a JWT made from the stack's key is served, so
    // the 401s above are the key check, not a wrong address.
    const readKey = seaweedSecurityToml(outs.s3SecretKey).match(/\[jwt\.signing\.read\]\nkey = "([^"]+)"/)![1];
    const signed = await fetch(url, { headers: { authorization: `Bearer ${hs256(readKey, { fid })}` } });
    expect(signed.status).toBe(200);
    expect(await signed.text()).toBe(body);
  });

  test("the master hands out no file id and no JWT over HTTP: /dir/assign, /dir/lookup and /col/delete refused", async () => {
    const master = `http://127.0.0.1:${ports.master}`;
    for (const p of ["/dir/assign", `/dir/lookup?fileId=${fid}&read=yes`, `/dir/lookup?fileId=${fid}`, `/col/delete?collection=${outs.warehouseBucket}`]) {
      const res = await fetch(`${master}${p}`);
      expect({ p, status: res.status, refused: REFUSED.includes(res.status) }).toMatchObject({ refused: true });
      expect(res.headers.get("authorization")).toBeNull();
    }
    await objectStillThere();
  });

  test("S3 without keys, or with the access key and a wrong secret, is refused", async () => {
    const anonymous = await fetch(`${outs.s3Endpoint}/${outs.warehouseBucket}/${key}`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).not.toContain(body);
    const wrong = new S3Client({
      endpoint: outs.s3Endpoint, region: outs.s3Region, forcePathStyle: true,
      credentials: { accessKeyId: outs.s3AccessKey, secretAccessKey: `${outs.s3SecretKey}x` },
    });
    await expect(wrong.send(new GetObjectCommand({ Bucket: outs.warehouseBucket, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await objectStillThere();
  });

  test("every SeaweedFS port listens on 127.0.0.1 only", async () => {
    const { stdout } = await sh("ss", ["-Hltn"]);
    for (const port of Object.values(ports)) {
      const listeners = stdout.split("\n").map((l) => l.trim().split(/\s+/)[3]).filter((a) => a?.endsWith(`:${port}`));
      expect({ port, listeners }).toEqual({ port, listeners: [`127.0.0.1:${port}`] });
    }
  });
});

describe("secrets at rest and in the process table", () => {
  test("every config file of S3, the metastore and Trino is 0600", () => {
    for (const service of ["s3", "metastore", "trino"]) {
      const conf = path.join(outs.dataDir, service, "conf");
      const files = fs.readdirSync(conf, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect({ f, mode: (fs.statSync(f).mode & 0o777).toString(8) }).toEqual({ f, mode: "600" });
    }
    expect(fs.readFileSync(path.join(outs.dataDir, "trino", "conf", "password.db"), "utf8")).not.toContain(outs.trinoPassword);
  });

  test("no process on this machine has a stack secret on its command line", () => {
    const key = fs.readFileSync(path.join(outs.dataDir, "trino", "conf", "https.pem"), "utf8").match(/-----BEGIN PRIVATE KEY-----\n([^-]+)-----END/)![1].replace(/\n/g, "");
    const secrets = [outs.s3SecretKey, outs.trinoPassword, outs.trinoReadPassword, trinoSharedSecret({ password: outs.trinoPassword }), key.slice(0, 40)];
    secrets.push(...[...seaweedSecurityToml(outs.s3SecretKey).matchAll(/^key = "([^"]+)"$/gm)].map((m) => m[1]));
    let seen = 0;
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      let cmdline: string;
      try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue; // gone meanwhile
      }
      seen++;
      for (const s of secrets) if (cmdline.includes(s)) throw new Error(`process ${pid} shows a secret on its command line: ${cmdline.replace(/\0/g, " ").slice(0, 300)}`);
    }
    expect(seen).toBeGreaterThan(10);
  });
});

/** A JWT signed HS256 with `key`, expiring in 10 s: the form SeaweedFS's guard checks. */
function hs256(key: string, claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = b64({ alg: "HS256", typ: "JWT" });
  const payload = b64({ ...claims, exp: Math.floor(Date.now() / 1000) + 10 });
  return `${head}.${payload}.${crypto.createHmac("sha256", key).update(`${head}.${payload}`).digest("base64url")}`;
}
