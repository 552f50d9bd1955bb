/**
 * `lakeform doctor`'s findings (lake/doctor.ts): each version against the matrix, each table's
 * files against what Trino reads, the hints when one engine alone fails, the exit code, the text;
 * the Thrift get_table probe's bytes. The probes themselves run against the real stack in
 * tests/e2e/22-doctor.test.ts.
 */
import { parseCallAnswer, thriftStringsCall } from "../../components/external/checks";
import {
  compareVersions,
  doctorExitCode,
  formatDoctor,
  hudiTableCheck,
  icebergTableCheck,
  isUnreachable,
  MATRIX,
  matrixWith,
  metastoreVersionCheck,
  newestMetadataKey,
  parseProperties,
  report,
  sparkReachChecks,
  sparkVersionChecks,
  trinoVersionCheck,
  type DoctorCheck,
} from "../../lake/doctor";
import type { DoctorResult } from "../../lake/jobServerContract";

const LAKE = { warehouseBucket: "lakeform-warehouse", metastoreUri: "thrift://127.0.0.1:9083" };

/** What Lakeform's own job server reports (the bundles' jars as --packages names them). */
const SPARK: DoctorResult = {
  spark: "3.5.5",
  scala: "2.12.18",
  bundles: [
    { format: "hudi", jar: "file:/home/u/.ivy2/jars/org.apache.hudi_hudi-spark3.5-bundle_2.12-1.0.2.jar", version: "1.0.2", sparkLine: "3.5", scala: "2.12" },
    { format: "iceberg", jar: "file:/c/jars/iceberg-spark-runtime-3.5_2.12-1.10.0.jar", version: "1.10.0", sparkLine: "3.5", scala: "2.12" },
  ],
  hudiWriteTableVersion: "6",
  s3: { ok: true, detail: "canary written, read back and deleted", ms: 40 },
  metastore: { ok: true, detail: "2 database(s)", ms: 12 },
};

const statuses = (cs: DoctorCheck[]) => Object.fromEntries(cs.map((c) => [c.id, c.status]));

describe("versions against the matrix", () => {
  test("Lakeform's own Spark, bundles and table version: every check ok", () => {
    expect(statuses(sparkVersionChecks(SPARK, MATRIX))).toEqual({ "versions.spark": "ok", "versions.hudi": "ok", "versions.iceberg": "ok", "versions.hudiTableVersion": "ok" });
  });

  test.each([
    ["a Hudi bundle built for Spark 3.4", { bundles: [{ ...SPARK.bundles[0], sparkLine: "3.4" }, SPARK.bundles[1]] }, "versions.hudi", /built for Spark 3\.4/],
    ["an Iceberg bundle built for Scala 2.13", { bundles: [SPARK.bundles[0], { ...SPARK.bundles[1], scala: "2.13" }] }, "versions.iceberg", /Scala 2\.13/],
    ["Spark 3.4 with 3.5 bundles", { spark: "3.4.3" }, "versions.spark", /Spark 3\.4\.3 runs; the matrix is Spark 3\.5\.5/],
    ["no Hudi bundle at all", { bundles: [{ format: "hudi" as const, jar: "not on the classpath: ClassNotFoundException", version: null, sparkLine: null, scala: null }, SPARK.bundles[1]] }, "versions.hudi", /not on the classpath/],
    ["Hudi 1.2.1 writing its default table version 9", { bundles: [{ ...SPARK.bundles[0], version: "1.2.1" }, SPARK.bundles[1]], hudiWriteTableVersion: null }, "versions.hudiTableVersion", /table version 9 \(Hudi 1\.2\.1's default\); Trino 476 reads only 6 and 8/],
  ])("%s is a problem", (_, change, id, detail) => {
    const c = sparkVersionChecks({ ...SPARK, ...change }, MATRIX).find((x) => x.id === id)!;
    expect(c.status).toBe("problem");
    expect(c.detail).toMatch(detail);
    expect(c.fix).toBeTruthy();
  });

  test("a bundle other than the matrix's (a matrix from --matrix): the running one named with the wanted one", () => {
    const m = matrixWith({ hudi: "1.2.1" });
    const c = sparkVersionChecks(SPARK, m).find((x) => x.id === "versions.hudi")!;
    expect(c).toMatchObject({ status: "problem", detail: "Spark runs hudi-spark3.5-bundle_2.12 1.0.2; the matrix has hudi 1.2.1" });
    expect(c.fix).toMatch(/hudi-spark3\.5-bundle_2\.12:1\.2\.1/);
    // Hudi 1.2.1 told to write 6 is fine for Trino.
    expect(sparkVersionChecks({ ...SPARK, bundles: [{ ...SPARK.bundles[0], version: "1.2.1" }, SPARK.bundles[1]] }, m).find((x) => x.id === "versions.hudiTableVersion")!.status).toBe("ok");
  });

  test("a matrix file with an unknown key or a wrong type is refused", () => {
    expect(() => matrixWith({ hudiVersion: "1.2.1" })).toThrow(/hudiVersion/);
    expect(() => matrixWith({ trinoHudiTableVersions: "6" })).toThrow();
  });

  test("Trino: the matrix's version ok, another one a warning, no answer skipped", () => {
    expect(trinoVersionCheck("476", MATRIX).status).toBe("ok");
    expect(trinoVersionCheck("480", MATRIX)).toMatchObject({ status: "warning", detail: expect.stringMatching(/Trino 480 runs; the matrix is Trino 476/) });
    expect(trinoVersionCheck(undefined, MATRIX).status).toBe("skipped");
  });

  test("versions compare by number", () => {
    expect(compareVersions("1.10.0", "1.9.2")).toBe(1);
    expect(compareVersions("1.0.2", "1.1")).toBe(-1);
    expect(compareVersions("4.0.0", "4.0")).toBe(0);
  });
});

describe("the metastore's get_table", () => {
  test("the call's bytes: a strict CALL header, then dbname and tbl_name as string fields 1 and 2, then STOP", () => {
    const b = thriftStringsCall("get_table", ["default", "t"]);
    expect(b.readUInt32BE(0)).toBe(0x80010001);
    expect(b.subarray(8, 17).toString()).toBe("get_table");
    const args = b.subarray(21);
    expect([...args]).toEqual([11, 0, 1, 0, 0, 0, 7, ...Buffer.from("default"), 11, 0, 2, 0, 0, 0, 1, ...Buffer.from("t"), 0]);
  });

  const header = (type: number, name = "get_table") => {
    const n = Buffer.from(name);
    const b = Buffer.alloc(8 + n.length + 4);
    b.writeUInt32BE((0x80010000 | type) >>> 0, 0);
    b.writeInt32BE(n.length, 4);
    n.copy(b, 8);
    b.writeInt32BE(1, 8 + n.length);
    return b;
  };
  const appException = (message: string, type: number) => {
    const m = Buffer.from(message);
    const s = Buffer.alloc(3 + 4 + m.length + 3 + 4 + 1);
    let o = s.writeUInt8(11, 0);
    o = s.writeInt16BE(1, o);
    o = s.writeInt32BE(m.length, o);
    o += m.copy(s, o);
    o = s.writeUInt8(8, o);
    o = s.writeInt16BE(2, o);
    o = s.writeInt32BE(type, o);
    s.writeUInt8(0, o);
    return Buffer.concat([header(3), s]);
  };

  test("a REPLY (a NoSuchObjectException for the made-up table included) means the call is there: ok", () => {
    const answer = parseCallAnswer(Buffer.concat([header(2), Buffer.from([12, 0, 2, 0, 0])]));
    expect(answer).toEqual({ replied: true });
    expect(metastoreVersionCheck(answer!, LAKE.metastoreUri, MATRIX).status).toBe("ok");
  });

  test("an UNKNOWN_METHOD exception (Hive 4.0.1 and later): a problem naming the metastore's limit", () => {
    const full = appException("Invalid method name: 'get_table'", 1);
    expect(parseCallAnswer(full.subarray(0, full.length - 3))).toBeUndefined();
    const answer = parseCallAnswer(full)!;
    expect(answer).toEqual({ replied: false, message: "Invalid method name: 'get_table'", type: 1 });
    const c = metastoreVersionCheck(answer, LAKE.metastoreUri, MATRIX);
    expect(c).toMatchObject({ status: "problem", detail: expect.stringMatching(/no Thrift get_table call .* newer than 4\.0\.0/) });
    expect(c.fix).toMatch(/4\.0\.0 or older/);
  });

  test("no answer: skipped, not a version problem (the reach check says it)", () => {
    expect(metastoreVersionCheck(new Error("connect ECONNREFUSED 127.0.0.1:9083"), LAKE.metastoreUri, MATRIX).status).toBe("skipped");
  });
});

describe("tables against what Trino reads", () => {
  test("hoodie.properties parsed as Java properties", () => {
    expect(parseProperties("#Properties saved on 2026\nhoodie.table.version=6\nhoodie.table.type = MERGE_ON_READ\n\nhoodie.table.name: t\\:x\n")).toEqual({
      "hoodie.table.version": "6",
      "hoodie.table.type": "MERGE_ON_READ",
      "hoodie.table.name": "t:x",
    });
  });

  test("Hudi: copy-on-write of version 6 or 8 ok; merge-on-read, version 9 each a problem with its fix; no files yet skipped", () => {
    expect(hudiTableCheck("default.a", { "hoodie.table.version": "6", "hoodie.table.type": "COPY_ON_WRITE" }, MATRIX).status).toBe("ok");
    expect(hudiTableCheck("default.a", { "hoodie.table.version": "8" }, MATRIX).status).toBe("ok");
    const mor = hudiTableCheck("default.m", { "hoodie.table.version": "8", "hoodie.table.type": "MERGE_ON_READ" }, MATRIX);
    expect(mor).toMatchObject({ status: "problem", detail: expect.stringMatching(/type MERGE_ON_READ/) });
    expect(mor.fix).toMatch(/copy-on-write/);
    const v9 = hudiTableCheck("default.n", { "hoodie.table.version": "9", "hoodie.table.type": "COPY_ON_WRITE" }, MATRIX);
    expect(v9).toMatchObject({ status: "problem", detail: expect.stringMatching(/table version 9, and Trino 476 reads only 6 and 8/) });
    expect(v9.fix).toMatch(/downgrade it to version 8/);
    expect(hudiTableCheck("default.x", undefined, MATRIX).status).toBe("skipped");
  });

  test("Iceberg: format 1 and 2 ok, 3 a problem; the newest metadata file found by its number", () => {
    expect(icebergTableCheck("default.i", { file: "metadata/00002-x.metadata.json", formatVersion: 2 }, MATRIX).status).toBe("ok");
    const v3 = icebergTableCheck("default.i", { file: "metadata/00003-y.metadata.json", formatVersion: 3 }, MATRIX);
    expect(v3).toMatchObject({ status: "problem", detail: expect.stringMatching(/format version 3 .* reads format versions 1 and 2/) });
    expect(newestMetadataKey(["d/t/metadata/00009-a.metadata.json", "d/t/metadata/00010-b.metadata.json", "d/t/metadata/snap-1.avro", "d/t/metadata/00002-c.gz.metadata.json"])).toBe("d/t/metadata/00010-b.metadata.json");
    expect(newestMetadataKey(["d/t/metadata/v3.metadata.json", "d/t/metadata/v12.metadata.json"])).toBe("d/t/metadata/v12.metadata.json");
    expect(newestMetadataKey(["d/t/metadata/snap-1.avro"])).toBeUndefined();
  });
});

describe("the report", () => {
  const all = (over: Partial<Record<string, Partial<DoctorCheck>>> = {}): DoctorCheck[] =>
    [
      { id: "s3", from: "lakeform" as const, to: "s3" },
      { id: "spark.s3", from: "spark" as const, to: "s3" },
      { id: "trino.s3", from: "trino" as const, to: "s3" },
      { id: "metastore", from: "lakeform" as const, to: "metastore" },
      { id: "spark.metastore", from: "spark" as const, to: "metastore" },
      { id: "trino.metastore.hive", from: "trino" as const, to: "metastore (catalog hive)" },
    ].map((c) => ({ ...c, status: "ok" as const, detail: "fine", ...over[c.id] }));

  test("S3 refusing one side while the others get through: the fix says it's that side's settings", () => {
    const r = report("e2e", MATRIX, all({ s3: { status: "problem", detail: "HTTP 403", fix: "check the keys" } }));
    expect(r.problems).toBe(1);
    expect(r.checks.find((c) => c.id === "s3")!.fix).toMatch(/s3 answers spark and trino but not lakeform: the stack outputs .*'s settings differ/);
    expect(doctorExitCode(r)).toBe(1);
  });

  test("the metastore failing from every side: the service itself; only unreachable services exit 6", () => {
    const down = { status: "problem" as const, detail: "connect ECONNREFUSED 127.0.0.1:9083", fix: "start it", unavailable: true };
    const r = report("e2e", MATRIX, all({ metastore: down, "spark.metastore": down, "trino.metastore.hive": down }));
    expect(r.problems).toBe(3);
    expect(r.checks.find((c) => c.id === "spark.metastore")!.fix).toMatch(/fails from every side checked/);
    expect(doctorExitCode(r)).toBe(6);
    expect(doctorExitCode(report("e2e", MATRIX, [...r.checks, { id: "versions.hudi", from: "spark", to: "hudi bundle", status: "problem", detail: "x", fix: "y" }]))).toBe(1);
    expect(doctorExitCode(report("e2e", MATRIX, all({ "trino.s3": { status: "warning", detail: "w", fix: "f" } })))).toBe(0);
  });

  test("what counts as a service not answering", () => {
    expect(isUnreachable("connect ECONNREFUSED 127.0.0.1:9083")).toBe(true);
    expect(isUnreachable("Failed connecting to Hive metastore: [127.0.0.1:9083]")).toBe(true);
    expect(isUnreachable("no answer within 40 s")).toBe(true);
    expect(isUnreachable("the access key is refused or may not use this bucket (HTTP 403)")).toBe(false);
  });

  test("Spark's reach: a failure is a problem naming Spark's settings", () => {
    const cs = sparkReachChecks({ ...SPARK, s3: { ok: false, detail: "java.nio.file.AccessDeniedException: 403 Forbidden", ms: 300 } }, LAKE);
    expect(statuses(cs)).toEqual({ "spark.s3": "problem", "spark.metastore": "ok" });
    expect(cs[0].fix).toMatch(/spark\.hadoop\.fs\.s3a/);
    expect(cs[0].unavailable).toBeUndefined();
  });

  test("the text: a line per check, the fix under a problem, the count", () => {
    const text = formatDoctor(report("e2e", MATRIX, all({ "spark.s3": { status: "problem", detail: "403", fix: "the keys" } })));
    expect(text).toMatch(/^lakeform doctor: stack e2e; the matrix: Spark 3\.5\.5 \/ Scala 2\.12, Hudi 1\.0\.2, Iceberg 1\.10\.0, Trino 476, metastore ≤ 4\.0\.0\n/);
    expect(text).toMatch(/ {2}PROBLEM {2}spark → s3 +403\n +fix: the keys\. s3 answers lakeform and trino but not spark/);
    expect(text.trimEnd().split("\n").at(-1)).toBe("1 problem(s) found.");
    expect(formatDoctor(report("e2e", MATRIX, all())).trimEnd().split("\n").at(-1)).toBe("No problems found.");
  });
});
