/**
 * `lakeform doctor` against the real e2e stack (issue 22, item 4), run as a user runs it
 * (bin/lakeform doctor -o json), each broken set-up provoked for real and put back:
 *
 * 1. tables Trino can't read: a Hudi table of table version 9 and type MERGE_ON_READ (its
 *    hoodie.properties as another writer would leave it) and an Iceberg table whose newest
 *    metadata file is format version 3, beside a copy-on-write version-6 Hudi table and a v2
 *    Iceberg one, which pass;
 * 2. a bundle other than the matrix's: the job server's real bundles against a matrix (--matrix)
 *    that wants Hudi 1.2.1;
 * 3. S3 keys wrong for one side: Lakeform's own (the outputs its reconciler and API read) with a
 *    wrong secret key, while Spark and Trino get through with theirs;
 * 4. a stopped service: the metastore's supervisor paused and its JVM killed, seen from Lakeform's
 *    side, Spark's (its Hive client) and Trino's (every catalog, and the canary table that needs it);
 * then, everything put back, the doctor finds nothing wrong.
 *
 * The healthy checks are the real ones each time: S3 canaries written, read and deleted by Lakeform,
 * Spark (S3A) and Trino (a canary table it writes a row into and reads back), the metastore's
 * get_table answered, the job server's versions.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { checkMetastore, CANARY_PREFIX } from "../../components/external/checks";
import type { DoctorCheck, DoctorReport } from "../../lake/doctor";
import type { LakeOutputs } from "../../lake/outputKeys";
import { servicePaths } from "../../lake/paths";
import { readOutputs } from "../../stacks/automation";
import { e2eStack, s3, trino, waitFor } from "./lake";

jest.setTimeout(600_000);

const CLI = path.resolve(__dirname, "../../bin/lakeform");
const DB = "lakeform_doctor_e2e";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-doctor-"));
let outs: LakeOutputs;

function tablesFile(name: string, tables: { name: string; format: "hudi" | "iceberg" }[]): string {
  fs.writeFileSync(path.join(dir, "seed.csv"), "id\n1\n");
  const body = tables.map((t) => `  - { name: ${t.name}, database: ${DB}, format: ${t.format}, primaryKey: id, sources: [seed.csv] }`).join("\n");
  const file = path.join(dir, name);
  fs.writeFileSync(file, `apiVersion: lakeform/v1\ntables:${tables.length ? `\n${body}` : " []"}\n`);
  return file;
}

const HEALTHY = [
  { name: "doctor_cow", format: "hudi" as const },
  { name: "doctor_v2", format: "iceberg" as const },
];
const BROKEN = [
  { name: "doctor_mor", format: "hudi" as const },
  { name: "doctor_v3", format: "iceberg" as const },
];

async function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; report: DoctorReport; stderr: string }> {
  const res = await promisify(execFile)(CLI, ["doctor", "-o", "json", ...args], { env: { ...process.env, NODE_NO_WARNINGS: "1", ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );
  if (!res.stdout.trim().startsWith("{")) throw new Error(`lakeform doctor exited ${res.code} without a report: ${res.stdout}\n${res.stderr}`);
  return { code: res.code, report: JSON.parse(res.stdout) as DoctorReport, stderr: res.stderr };
}

const find = (r: DoctorReport, id: string): DoctorCheck => {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} among ${r.checks.map((x) => x.id).join(", ")}`);
  return c;
};
/** The checks that aren't ok, by id, with their status. */
const notOk = (r: DoctorReport) => Object.fromEntries(r.checks.filter((c) => c.status !== "ok").map((c) => [c.id, c.status]));

async function keysUnder(prefix: string): Promise<string[]> {
  const res = await s3(outs).send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!);
}
async function deleteUnder(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  if (keys.length) await s3(outs).send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
}
const put = (key: string, body: string) => s3(outs).send(new PutObjectCommand({ Bucket: outs.warehouseBucket, Key: `${DB}/${key}`, Body: body }));

/** The metastore's supervisor (its pid file) and its engine (the supervisor's report). */
function metastoreProcesses(): { engine: number; supervisor: number } {
  const p = servicePaths(outs.dataDir, "metastore");
  const engine = (JSON.parse(fs.readFileSync(p.supervisorFile, "utf8")) as { childPid?: number }).childPid;
  if (!engine) throw new Error(`the metastore has no running process: ${fs.readFileSync(p.supervisorFile, "utf8")}`);
  return { engine, supervisor: (JSON.parse(fs.readFileSync(p.pidFile, "utf8")) as { pid: number }).pid };
}
let paused: number | undefined;

beforeAll(async () => {
  // Refreshed first, as `lakeform up` does: a service another test left stopped is started again,
  // so what the doctor finds is what this file breaks.
  const stack = await e2eStack();
  await stack.up({ refresh: true, onOutput: (o) => process.env.LAKEFORM_TEST_VERBOSE && process.stderr.write(o) });
  outs = await readOutputs(stack);
  await deleteUnder(`${DB}/`);
  // What the doctor reads of each table: Hudi's hoodie.properties, Iceberg's newest metadata file.
  await put("doctor_cow/.hoodie/hoodie.properties", "#Updated by Hudi\nhoodie.table.name=doctor_cow\nhoodie.table.type=COPY_ON_WRITE\nhoodie.table.version=6\n");
  await put("doctor_mor/.hoodie/hoodie.properties", "#Updated by Hudi\nhoodie.table.name=doctor_mor\nhoodie.table.type=MERGE_ON_READ\nhoodie.table.version=9\n");
  await put("doctor_v2/metadata/00000-5b0c.metadata.json", JSON.stringify({ "format-version": 2, "table-uuid": "5b0c" }));
  await put("doctor_v3/metadata/00000-7e1f.metadata.json", JSON.stringify({ "format-version": 2, "table-uuid": "7e1f" }));
  await put("doctor_v3/metadata/00001-7e1f.metadata.json", JSON.stringify({ "format-version": 3, "table-uuid": "7e1f" }));
}, 900_000);

afterAll(async () => {
  if (paused) process.kill(paused, "SIGCONT");
  if (!outs) return;
  await waitFor("the metastore answering again", async () => ((await checkMetastore({ uri: outs.metastoreUri })).length === 0 ? true : undefined), { timeoutMs: 180_000, intervalMs: 1000 }).catch(() => undefined);
  await deleteUnder(`${DB}/`);
  await deleteUnder(CANARY_PREFIX);
  fs.rmSync(dir, { recursive: true, force: true });
}, 300_000);

test("tables Trino can't read and a bundle other than the matrix's: each found with its fix; every connection from every side ok", async () => {
  const matrix = path.join(dir, "matrix.json");
  fs.writeFileSync(matrix, JSON.stringify({ hudi: "1.2.1" }));
  const { code, report } = await doctor(["-f", tablesFile("tables.yaml", [...HEALTHY, ...BROKEN]), "--matrix", matrix]);
  expect(notOk(report)).toEqual({ [`table.${DB}.doctor_mor`]: "problem", [`table.${DB}.doctor_v3`]: "problem", "versions.hudi": "problem" });
  expect(code).toBe(1);

  const mor = find(report, `table.${DB}.doctor_mor`);
  expect(mor.detail).toMatch(/table version 9, and Trino 476 reads only 6 and 8; type MERGE_ON_READ/);
  expect(mor.fix).toMatch(/downgrade it to version 8.*copy-on-write/);
  expect(find(report, `table.${DB}.doctor_v3`).detail).toMatch(/format version 3 \(metadata\/00001-7e1f\.metadata\.json\); Trino 476 reads format versions 1 and 2/);
  // The running bundle is read off the job server's classpath, named against the matrix's.
  const hudi = find(report, "versions.hudi");
  expect(hudi.detail).toBe("Spark runs hudi-spark3.5-bundle_2.12 1.0.2; the matrix has hudi 1.2.1");
  expect(hudi.fix).toMatch(/hudi-spark3\.5-bundle_2\.12:1\.2\.1/);
  expect(find(report, "versions.iceberg").detail).toMatch(/^iceberg-spark-runtime-3\.5_2\.12 1\.10\.0 \(.*\.jar\)$/);
  expect(find(report, "versions.hudiTableVersion").detail).toMatch(/Spark writes Hudi table version 6 \(hoodie\.write\.table\.version=6\)/);
  expect(find(report, `table.${DB}.doctor_cow`).detail).toBe("Hudi table version 6, COPY_ON_WRITE");
  expect(find(report, "versions.metastore").detail).toMatch(/answers get_table/);
  expect(find(report, "versions.trino").detail).toBe("Trino 476");
  expect(find(report, "trino.s3").detail).toMatch(/Trino read Lakeform's object, wrote a row and read it back/);
  expect(find(report, "spark.s3").detail).toMatch(/written, read back and deleted/);
  // Every canary is gone again: Lakeform's, Spark's, and Trino's table and files.
  expect(await keysUnder(CANARY_PREFIX)).toEqual([]);
  expect((await trino(outs).query("SHOW TABLES FROM hive.default LIKE 'lakeform_doctor_%'")).rows).toEqual([]);
});

test("S3 keys wrong for one side: Lakeform's own (the outputs its reconciler and API use) refused while Spark and Trino get through", async () => {
  const stale = path.join(dir, "outputs.json");
  fs.writeFileSync(stale, JSON.stringify({ ...outs, s3SecretKey: `${outs.s3SecretKey.slice(0, -4)}xxxx` }), { mode: 0o600 });
  const { code, report } = await doctor(["-f", tablesFile("none.yaml", [])], { LAKEFORM_OUTPUTS_FILE: stale });
  expect(notOk(report)).toEqual({ s3: "problem" });
  expect(code).toBe(1);
  const c = find(report, "s3");
  expect(c.detail).toMatch(/403|SignatureDoesNotMatch|refused/);
  expect(c.fix).toMatch(/s3 answers spark and trino but not lakeform: the stack outputs .* settings differ from theirs/);
  expect(find(report, "trino.s3").detail).toMatch(/wrote a row and read it back/);
});

test("a stopped service: the metastore, found from Lakeform's, Spark's and Trino's side; exit 6 (only services that don't answer)", async () => {
  const { engine, supervisor } = metastoreProcesses();
  // Paused, its supervisor can't start it again: the metastore stays stopped until SIGCONT.
  process.kill(supervisor, "SIGSTOP");
  paused = supervisor;
  process.kill(engine, "SIGKILL");
  await waitFor("the metastore's port refusing", async () => ((await checkMetastore({ uri: outs.metastoreUri })).some((p) => /ECONNREFUSED/.test(p)) ? true : undefined), { timeoutMs: 30_000 });

  const { code, report } = await doctor(["-f", tablesFile("none.yaml", [])]);
  try {
    expect(notOk(report)).toEqual({
      metastore: "problem",
      "versions.metastore": "skipped",
      "spark.metastore": "problem",
      "trino.metastore.hive": "problem",
      "trino.metastore.hudi": "problem",
      "trino.metastore.iceberg": "problem",
      "trino.s3": "problem",
    });
    expect(find(report, "metastore").detail).toMatch(/ECONNREFUSED/);
    expect(find(report, "spark.metastore").fix).toMatch(/fails from every side checked/);
    // Every problem is a service that doesn't answer (what exit 6 says): none named otherwise.
    expect(report.checks.filter((c) => c.status === "problem" && !c.unavailable).map((c) => `${c.id}: ${c.detail}`)).toEqual([]);
    expect(code).toBe(6);
  } finally {
    process.kill(supervisor, "SIGCONT");
    paused = undefined;
    // Back before the next test, whatever this one found.
    await waitFor("the metastore answering again", async () => ((await checkMetastore({ uri: outs.metastoreUri })).length === 0 ? true : undefined), { timeoutMs: 180_000, intervalMs: 1000 });
  }
});

test("everything put back: the doctor finds nothing wrong, on the healthy tables too", async () => {
  const { code, report } = await doctor(["-f", tablesFile("healthy.yaml", HEALTHY)]);
  expect(notOk(report)).toEqual({});
  expect(code).toBe(0);
  expect(report.problems).toBe(0);
});
