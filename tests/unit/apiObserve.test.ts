/**
 * The API's writes, history and filters observe the table without its row count (`rows: false`):
 * the job server then answers from the table's metadata and never counts it with Spark. Only
 * describe, which shows the row count, asks for it. A job server stand-in records each observe.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { LakeService } from "../../api/service";
import type { JobClient, Observation, ObserveOptions } from "../../lake/jobClient";
import type { Sources } from "../../lake/sources";

const lake: Observation = { exists: true, inCatalog: true, filesExist: true, commits: [{ commit: "c1", time: "2026-12-03T10:00:00.000Z" }], rowCount: 3, columns: [{ name: "id", type: "string" }, { name: "city", type: "string" }] };

let dir: string;
let observed: (ObserveOptions | undefined)[];
let service: LakeService;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-api-observe-"));
  fs.writeFileSync(path.join(dir, "tables.yaml"), "apiVersion: lakeform/v1\ntables:\n  - { name: people, format: hudi, primaryKey: id, sources: [seed.csv] }\n");
  const jobs = {
    observe: async (_t: unknown, opts?: ObserveOptions) => {
      observed.push(opts);
      return lake;
    },
    write: async () => ({ commit: "c9", rowsWritten: 1, renamed: {}, columns: ["id", "city"], addedColumns: [], rowsDeleted: 1, rowsUpdated: 1 }),
  } as unknown as JobClient;
  const landed = { source: { declared: "x", location: "x", hash: "hx", bytes: 1 }, uri: "s3a://w/_lakeform/landing/hx.csv" };
  const landStream = async (_name: string, body: Readable) => {
    for await (const _chunk of body);
    return landed;
  };
  const sources = { landContent: async () => landed, landChange: async () => landed, landStream } as unknown as Sources;
  const endpoints = { warehouseBucket: "w", trinoEndpoint: "http://127.0.0.1:9", trinoPassword: "p", trinoReadPassword: "r" } as unknown as ConstructorParameters<typeof LakeService>[0];
  service = new LakeService(endpoints, jobs, sources, path.join(dir, "tables.yaml"), path.join(dir, "status.json"));
});
beforeEach(() => (observed = []));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each<[string, () => Promise<unknown>]>([
  ["ingest", () => service.ingestCsv("people", Buffer.from("id,city\n4,Oslo\n"))],
  ["delete by keys", () => service.deleteRows("people", { keysCsv: Buffer.from("id\n1\n") })],
  ["delete where", () => service.deleteRows("people", { where: "city = 'Oslo'" })],
  ["update", () => service.updateRows("people", { city: "Bergen" }, "id = '1'")],
  ["history", () => service.history("people")],
])("%s observes the table without asking for its row count", async (_op, call) => {
  await call();
  expect(observed.length).toBeGreaterThan(0);
  expect(observed).toEqual(observed.map(() => ({ rows: false })));
});

test("describe shows the row count, so it asks for it", async () => {
  await expect(service.describe("people")).resolves.toMatchObject({ rowCount: 3 });
  expect(observed).toEqual([undefined]);
});
