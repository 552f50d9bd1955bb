/**
 * External services (issue 24): the stack config's `external` blocks (errors naming the field) and
 * the checks `up` runs on them. tests/unit/externalLakehouse.test.ts: what such a stack declares.
 */
import * as net from "node:net";
import { checkMetastore, checkObjectStore, checkSparkMaster, parseDatabasesReply, thriftCall } from "../../components/external";
import { parseStackConfig } from "../../stacks/config";
import { unusedPort } from "../helpers/ports";

const S3 = { endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", pathStyle: false, bucket: "team-lake", accessKey: "AKIA0", secretKey: "s3cr3t" };
const TRINO = { endpoint: "https://trino.internal:8443", user: "lake_writer", password: "pw-writer", readUser: "lake_reader", readPassword: "pw-reader" };
const SPARK = { master: "spark://spark-master.internal:7077", executorMemory: "4g", executorCores: 2, maxCores: 8, driverHost: "10.0.0.5" };
const ALL = { objectStore: { external: S3 }, metastore: { external: { uri: "thrift://hms.internal:9083" } }, spark: { port: 8998, external: SPARK }, trino: { external: TRINO } };

const refused = (raw: Record<string, unknown>) => {
  try {
    parseStackConfig(raw, "/p");
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("accepted");
};

describe("stack config: external", () => {
  test("every service external: the bucket is the external one, defaults filled in", () => {
    const c = parseStackConfig(ALL, "/p");
    expect(c.warehouseBucket).toBe("team-lake");
    expect(c.objectStore.external).toEqual(S3);
    expect(c.trino.external?.catalogs).toEqual({ hive: "hive", hudi: "hudi", iceberg: "iceberg" });
    expect(parseStackConfig({ objectStore: { external: { ...S3, region: undefined, pathStyle: undefined } } }, "/p").objectStore.external).toMatchObject({ region: "us-east-1", pathStyle: true });
  });

  test.each([
    [{ objectStore: { external: { ...S3, secretKey: undefined } } }, "lakeform:objectStore.external.secretKey"],
    [{ objectStore: { external: { ...S3, bucket: "Team_Lake" } } }, "lakeform:objectStore.external.bucket: must be an S3 bucket name"],
    [{ objectStore: { external: { ...S3, endpoint: "s3.amazonaws.com" } } }, "lakeform:objectStore.external.endpoint"],
    [{ objectStore: { engine: "minio", external: S3 } }, "lakeform:objectStore.engine: is for a service Lakeform provisions"],
    [{ objectStore: { external: { ...S3, pathstyle: false } } }, "lakeform:objectStore.external: Unrecognized key"],
    [{ warehouseBucket: "other", objectStore: { external: S3 } }, 'lakeform:warehouseBucket: "other" is not the external object store\'s bucket'],
    [{ metastore: { external: { uri: "http://hms:9083" } } }, "lakeform:metastore.external.uri: must look like thrift://host:9083"],
    [{ spark: { external: { master: "k8s://https://api:6443" } } }, "lakeform:spark.external.master: must look like spark://host:7077 (k8s:// is not supported yet"],
    [{ spark: { workers: 2, external: { master: "spark://m:7077" } } }, "lakeform:spark.workers: is for a service Lakeform provisions"],
    [{ spark: { external: { master: "spark://m:7077", executorMemory: "lots" } } }, "lakeform:spark.external.executorMemory: must look like 512m or 2g"],
    [{ trino: { external: { ...TRINO, password: "" } } }, "lakeform:trino.external.password"],
    [{ trino: { external: { ...TRINO, catalogs: { iceberg: "lake" } } } }, 'lakeform:trino.external.catalogs.iceberg: must be "iceberg"'],
    [{ trino: { external: { ...TRINO, caCertificate: "not a pem" } } }, "lakeform:trino.external.caCertificate: must be a PEM certificate"],
    [{ runtime: "docker", metastore: { external: { uri: "thrift://hms:9083" } } }, "lakeform:runtime: external services work with the local runtime only"],
  ])("refused, naming the field: %j", (raw, message) => {
    expect(refused(raw)).toContain(message);
  });
});

describe("checks", () => {
  test("a metastore's get_all_databases answer is read; a MetaException or non-Thrift bytes are refused", () => {
    const name = Buffer.from("get_all_databases");
    const reply = (body: Buffer) => {
      const head = Buffer.alloc(8 + name.length + 4);
      head.writeUInt32BE(0x80010002, 0);
      head.writeInt32BE(name.length, 4);
      name.copy(head, 8);
      head.writeInt32BE(1, 8 + name.length);
      return Buffer.concat([head, body]);
    };
    const list = Buffer.concat([Buffer.from([0x0f, 0, 0, 0x0b, 0, 0, 0, 2]), Buffer.from([0, 0, 0, 7]), Buffer.from("default"), Buffer.from([0, 0, 0, 2]), Buffer.from("db"), Buffer.from([0])]);
    expect(parseDatabasesReply(reply(list))).toEqual(["default", "db"]);
    expect(parseDatabasesReply(reply(list).subarray(0, 30))).toBeUndefined();
    expect(() => parseDatabasesReply(reply(Buffer.from([0x0c, 0, 1, 0])))).toThrow(/MetaException/);
    expect(() => parseDatabasesReply(Buffer.from("HTTP/1.1 400 Bad"))).toThrow(/not a Thrift/);
    expect(thriftCall("get_all_databases").subarray(0, 4).toString("hex")).toBe("80010001");
  });

  test("the metastore check talks Thrift to a server, and names the field when nothing answers", async () => {
    const name = Buffer.from("get_all_databases");
    const server = net.createServer((sock) =>
      sock.once("data", () => {
        const head = Buffer.alloc(8 + name.length + 4);
        head.writeUInt32BE(0x80010002, 0);
        head.writeInt32BE(name.length, 4);
        name.copy(head, 8);
        sock.end(Buffer.concat([head, Buffer.from([0x0f, 0, 0, 0x0b, 0, 0, 0, 1, 0, 0, 0, 7]), Buffer.from("default"), Buffer.from([0])]));
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      expect(await checkMetastore({ uri: `thrift://127.0.0.1:${port}` })).toEqual([]);
    } finally {
      server.close();
    }
    const closed = await unusedPort();
    expect(await checkMetastore({ uri: `thrift://127.0.0.1:${closed}` })).toEqual([expect.stringMatching(/^lakeform:metastore\.external \(thrift:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED/)]);
  });

  test("an unreachable Spark master and S3 endpoint are named by their fields", async () => {
    const closed = await unusedPort();
    expect(await checkSparkMaster({ master: `spark://127.0.0.1:${closed}` })).toEqual([expect.stringMatching(/^lakeform:spark\.external .*unreachable/)]);
    const problems = await checkObjectStore({ ...S3, endpoint: `http://127.0.0.1:${closed}`, pathStyle: true });
    expect(problems).toEqual([expect.stringMatching(/^lakeform:objectStore\.external \(http:\/\/127\.0\.0\.1:\d+, bucket team-lake\): unreachable or refused/)]);
  });
});
