/**
 * The API's writes, history and filters observe the table without its row count (`rows: false`):
 * the job server then answers from the table's metadata and never counts it with Spark. Only
 * describe, which shows the row count, asks for it. A job server stand-in records each observe.
 */
import type { LakeService } from "../../api/service";
import type { JobClient, Observation, ObserveOptions } from "../../lake/jobClient";
import { stubLakeService, WRITE_REPLY, type StubLakeService } from "../helpers/lakeService";

const lake: Observation = { exists: true, inCatalog: true, filesExist: true, commits: [{ commit: "c1", time: "2026-12-03T10:00:00.000Z" }], rowCount: 3, columns: [{ name: "id", type: "string" }, { name: "city", type: "string" }] };

let observed: (ObserveOptions | undefined)[];
let stub: StubLakeService;
let service: LakeService;

beforeAll(() => {
  const jobs: Partial<JobClient> = {
    observe: async (_t: unknown, opts?: ObserveOptions) => {
      observed.push(opts);
      return lake;
    },
    write: (async () => WRITE_REPLY) as unknown as JobClient["write"],
  };
  stub = stubLakeService("lakeform-api-observe-", "apiVersion: lakeform/v1\ntables:\n  - { name: people, format: hudi, primaryKey: id, sources: [seed.csv] }\n", jobs);
  service = stub.service;
});
beforeEach(() => (observed = []));
afterAll(() => stub.cleanup());

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
