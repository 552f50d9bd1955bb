/**
 * Nothing of the local lakehouse listens beyond loopback: after `up`, and after a Hudi and an
 * Iceberg write through the job server and a Trino query (a write starts listeners of its own,
 * Hudi's embedded timeline server among them), every listening socket of every service process
 * (the whole process group of each service: wrappers, JVMs, Python workers) is on 127.0.0.1 or
 * ::1. The metastore is the case that needs it most: Hive 2.3.9 binds every interface unless
 * started through components/local/java/MetastoreServer.java.
 */
import * as path from "node:path";
import { JobClient, type JobTable } from "../../lake/jobClient";
import { Sources } from "../../lake/sources";
import { PROJECT_DIR, type LakeOutputs } from "../../stacks/automation";
import { ensureUp, s3, trino } from "./lake";
import { isLoopback, lakehouseListeners } from "./sockets";

const sfx = Date.now().toString(36);
let outs: LakeOutputs;

beforeAll(async () => {
  outs = await ensureUp();
}, 900_000);

test("every listening socket of every service is on loopback, also after writes and a query", async () => {
  const jobs = new JobClient(outs.sparkJobServer, { secret: outs.jobServerSecret });
  const sources = new Sources(s3(outs), outs.warehouseBucket);
  for (const format of ["hudi", "iceberg"] as const) {
    const name = `sockets_${format}_${sfx}`;
    const tbl: JobTable = { name, database: "default", format, primaryKey: ["id"], partitionBy: [], schemaPolicy: "addColumns", location: `s3a://${outs.warehouseBucket}/default/${name}` };
    const { source, uri } = await sources.landContent(`${name}.csv`, Buffer.from("id,v\n1,a\n2,b\n"));
    await jobs.write(tbl, { uri, hash: source.hash, name: `${name}.csv` }, "1");
    const res = await trino(outs).query(`SELECT count(*) FROM ${format}.default.${name}`);
    expect(Number(res.rows[0][0])).toBe(2);
  }

  const listeners = lakehouseListeners(path.resolve(PROJECT_DIR, ".lakeform", "e2e"));
  const services = new Set(listeners.map((l) => l.service));
  // Each service that serves a port was found listening (the scan sees them at all).
  for (const s of ["s3", "metastore", "spark", "trino"]) expect(services).toContain(s);
  const exposed = listeners.filter((l) => !isLoopback(l.address)).map((l) => `${l.service} (pid ${l.pid}: ${l.command}) on ${l.address}:${l.port}`);
  expect(exposed).toEqual([]);
}, 600_000);
