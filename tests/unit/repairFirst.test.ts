/**
 * Every write observes and repairs first (issue 19, item 3): the API's ingest, delete and update
 * observe the table under its lease as the reconciler's pass does (reconciler/observe.ts), and a
 * table that needs a repair (plan.ts repairOf) is refused with a retryable REPAIR_PENDING, the
 * job server never asked to write. A job server stand-in answers observe and records writes.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildApi } from "../../api/server";
import { repairPending } from "../../api/repairFirst";
import type { LakeService } from "../../api/service";
import type { JobClient, Observation } from "../../lake/jobClient";
import pino from "pino";
import { repairRequestsDir, requestRepair } from "../../lake/repairRequests";
import { InputWatcher, type FileWatcher, type WatchOptions } from "../../reconciler/watch";
import { TrinoQueryError } from "../../lake/trino";
import { stubLakeService, WRITE_REPLY, type StubLakeService } from "../helpers/lakeService";
import { repairOf } from "../../reconciler/pass";

const obs = (o: Partial<Observation>): Observation => ({ exists: true, inCatalog: true, filesExist: true, commits: [], rowCount: 3, columns: [{ name: "id", type: "string" }, { name: "city", type: "string" }], ...o });
const journal = (n: number) => ({ commit: String(n), time: `t${n}`, source: `s${n}.csv`, sourceHash: `h${n}`, uri: `s3a://w/_lakeform/landing/h${n}.csv`, generation: "g1" });

/** The table's states a write may find, and what the write must then do. */
const states: Record<string, { lake: Observation; repair?: "re-register" | "rebuild" | "resync" }> = {
  "in sync": { lake: obs({}) },
  "new (no catalog entry, no files, no journal)": { lake: obs({ exists: false, inCatalog: false, filesExist: false, rowCount: null, columns: [] }) },
  "files deleted, catalog entry kept": { lake: obs({ exists: false, filesExist: false, rowCount: null, columns: [], journal: [journal(1)] }), repair: "rebuild" },
  "files and catalog entry deleted, journal kept": { lake: obs({ exists: false, inCatalog: false, filesExist: false, rowCount: null, columns: [], journal: [journal(1), journal(2)] }), repair: "rebuild" },
  "files deleted, catalog entry kept, nothing journaled (declared sources only)": { lake: obs({ exists: false, filesExist: false, rowCount: null, columns: [], journal: [] }), repair: "rebuild" },
  "dropped from the metastore, files kept": { lake: obs({ exists: false, inCatalog: false, rowCount: null, columns: [], commits: [{ commit: "c1", time: "t" }] }), repair: "re-register" },
  "metastore lagging the table": { lake: obs({ catalogDrift: ["column(s) city string missing from the metastore"] }), repair: "resync" },
};

describe.each(Object.entries(states))("a table %s", (_name, { lake, repair }) => {
  test(repair ? `needs ${repair} before any write, refused with a retryable REPAIR_PENDING naming it` : "needs no repair: written", () => {
    const refusal = repairPending({ database: "default", name: "people" }, lake);
    if (!repair) {
      expect([repairOf(lake), refusal]).toEqual([undefined, undefined]);
      return;
    }
    expect(refusal).toMatchObject({ code: "REPAIR_PENDING", httpStatus: 409, retryable: true, details: { table: "default.people", repair } });
    expect(refusal?.message).toMatch(new RegExp(`default\\.people is not written until the reconciler has repaired it \\(${repair}\\)`));
  });
});

describe("the API's writes into a table that needs a repair", () => {
  let dir: string;
  let lake: Observation;
  let writes: { mustExist?: boolean }[];
  let service: LakeService;
  let stub: StubLakeService;

  beforeAll(() => {
    const jobs: Partial<JobClient> = {
      observe: async () => lake,
      write: (async (_t: unknown, _s: unknown, _g: string, opts: { mustExist?: boolean } = {}) => {
        writes.push(opts);
        return WRITE_REPLY;
      }) as unknown as JobClient["write"],
    };
    stub = stubLakeService(
      "lakeform-repair-first-",
      "apiVersion: lakeform/v1\ntables:\n  - { name: people, format: hudi, primaryKey: id, sources: [seed.csv] }\n  - { name: places, format: iceberg, primaryKey: id, sources: [seed.csv] }\n",
      jobs,
    );
    ({ service, dir } = stub);
  });
  beforeEach(() => (writes = []));
  afterAll(() => stub.cleanup());

  const writesOf: Record<string, () => Promise<unknown>> = {
    ingest: () => service.ingestCsv("people", Buffer.from("id,city\n4,Oslo\n")),
    "delete by keys": () => service.deleteRows("people", { keysCsv: Buffer.from("id\n1\n") }),
    "delete where": () => service.deleteRows("people", { where: "city = 'Oslo'" }),
    update: () => service.updateRows("people", { city: "Bergen" }, "id = '1'"),
  };

  test.each(Object.keys(writesOf))("%s: refused with REPAIR_PENDING when files are gone or the catalog entry is, and the job server is never asked to write", async (op) => {
    for (const state of ["files deleted, catalog entry kept", "dropped from the metastore, files kept", "metastore lagging the table"]) {
      lake = states[state].lake;
      await expect(writesOf[op]()).rejects.toMatchObject({ code: "REPAIR_PENDING", details: { repair: states[state].repair } });
    }
    expect(writes).toEqual([]);
  });

  test("a refused write asks the reconciler for a pass over the table now: a request file beside the status file", async () => {
    const requests = repairRequestsDir(path.join(dir, "status.json"));
    fs.rmSync(requests, { recursive: true, force: true });
    lake = states["files deleted, catalog entry kept"].lake;
    await expect(writesOf.ingest()).rejects.toMatchObject({ code: "REPAIR_PENDING", message: expect.stringMatching(/the reconciler is asked to do it now/) });
    expect(fs.readdirSync(requests)).toEqual(["default.people.json"]);
    expect(JSON.parse(fs.readFileSync(path.join(requests, "default.people.json"), "utf8"))).toMatchObject({ table: "default.people", reason: expect.stringMatching(/rebuild/) });
  });

  test.each(Object.keys(writesOf))("%s: a table in sync is written, the job server told it must exist (it refuses rather than create one)", async (op) => {
    lake = states["in sync"].lake;
    await writesOf[op]();
    expect(writes).toEqual([{ mustExist: true }]);
  });

  test("an ingest into a new table (nothing there, nothing journaled) creates it: the job server is not told it must exist", async () => {
    lake = states["new (no catalog entry, no files, no journal)"].lake;
    await expect(service.ingestCsv("people", Buffer.from("id,city\n4,Oslo\n"))).resolves.toMatchObject({ commit: "c9" });
    expect(writes).toEqual([{ mustExist: false }]);
  });

  test("over HTTP: POST /ingest, DELETE and PATCH /tables/{t}/rows answer 409 REPAIR_PENDING, and the document says so", async () => {
    const app = await buildApi({ lake: service, tokens: { read: "r", write: "w" } });
    try {
      lake = states["dropped from the metastore, files kept"].lake;
      const w = { authorization: "Bearer w" };
      const answers = [
        await app.inject({ method: "POST", url: "/ingest/people", headers: { ...w, "content-type": "text/csv" }, payload: "id,city\n4,Oslo\n" }),
        await app.inject({ method: "DELETE", url: "/tables/people/rows", headers: { ...w, "content-type": "text/csv" }, payload: "id\n1\n" }),
        await app.inject({ method: "PATCH", url: "/tables/people/rows", headers: { ...w, "content-type": "application/json" }, payload: { set: { city: "Bergen" }, where: "id = '1'" } }),
      ];
      for (const res of answers) expect([res.statusCode, res.json().error.code, res.json().error.details?.repair]).toEqual([409, "REPAIR_PENDING", "re-register"]);
      expect(writes).toEqual([]);
      const doc = (await app.inject({ method: "GET", url: "/openapi.json", headers: { authorization: "Bearer r" } })).json();
      for (const op of [doc.paths["/ingest/{table}"].post, doc.paths["/tables/{table}/rows"].delete, doc.paths["/tables/{table}/rows"].patch]) {
        expect(Object.keys(op.responses)).toContain("409");
        expect(op.description).toMatch(/409 REPAIR_PENDING, retryable/);
      }
    } finally {
      await app.close();
    }
  });
});

describe("the reconciler's watcher and repair requests", () => {
  test("a request file requeues its table at once and is removed; other files in the folder trigger nothing", async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-repair-requests-")));
    const tablesFile = path.join(dir, "tables.yaml");
    fs.writeFileSync(tablesFile, "apiVersion: lakeform/v1\ntables: []\n");
    const requests = repairRequestsDir(path.join(dir, "data", "status.json"));
    const requeued: string[][] = [];
    let watched: string[] = [];
    let opts: WatchOptions | undefined;
    let all: ((event: string, file: string) => void) | undefined;
    const fake: FileWatcher = {
      on: (event: string, cb: (...a: never[]) => void) => {
        if (event === "all") all = cb as unknown as typeof all;
        return fake;
      },
      once: (_e: string, cb: () => void) => (setImmediate(cb), fake),
      add: () => fake,
      unwatch: () => fake,
      close: async () => undefined,
    } as FileWatcher;
    const loop = { tables: [], loadDesired: () => ({ added: [], changed: [], removed: [] }), requeue: (ids: string[]) => void requeued.push(ids) };
    const w = await InputWatcher.start(loop, {
      tablesFile,
      log: pino({ level: "silent" }),
      repairRequests: requests,
      watch: (dirs, o) => ((watched = dirs), (opts = o), fake),
    });
    try {
      expect(watched).toContain(requests);
      /** A file written and reported, as chokidar would unless its ignored says so. */
      const report = (file: string) => {
        if (!opts!.ignored(file, { isDirectory: () => false })) all!("add", file);
      };
      fs.writeFileSync(path.join(requests, "notes.txt"), "x");
      report(path.join(requests, "notes.txt"));
      report(path.join(requests, "default.people.json.123.tmp"));
      expect(requeued).toEqual([]);
      requestRepair(path.join(dir, "data", "status.json"), "default.people", "files gone");
      report(path.join(requests, "default.people.json"));
      expect(requeued).toEqual([["default.people"]]);
      expect(fs.existsSync(path.join(requests, "default.people.json"))).toBe(false);
    } finally {
      await w.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
