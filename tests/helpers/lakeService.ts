/**
 * A LakeService over a stand-in job server and object store, for unit tests of the API's service
 * layer: the tables.yaml given is written to a temp dir, landing always "lands" the same object
 * (a stream is read to its end first, as the real one does) and the endpoints point nowhere.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { LakeService } from "../../api/service";
import type { JobClient } from "../../lake/jobClient";
import type { Sources } from "../../lake/sources";

/** The reply a stand-in job server gives to a write. */
export const WRITE_REPLY = { commit: "c9", rowsWritten: 1, renamed: {}, columns: ["id", "city"], addedColumns: [], rowsDeleted: 1, rowsUpdated: 1 };

export interface StubLakeService {
  service: LakeService;
  dir: string;
  statusFile: string;
  /** Removes the temp dir. */
  cleanup(): void;
}

export function stubLakeService(prefix: string, tablesYaml: string, jobs: Partial<JobClient>): StubLakeService {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.writeFileSync(path.join(dir, "tables.yaml"), tablesYaml);
  const landed = { source: { declared: "x", location: "x", hash: "hx", bytes: 1 }, uri: "s3a://w/_lakeform/landing/hx.csv" };
  const landStream = async (_name: string, body: Readable) => {
    for await (const _chunk of body);
    return landed;
  };
  const sources = { landContent: async () => landed, landChange: async () => landed, landStream } as unknown as Sources;
  const endpoints = { warehouseBucket: "w", trinoEndpoint: "http://127.0.0.1:9", trinoPassword: "p", trinoReadPassword: "r" } as unknown as ConstructorParameters<typeof LakeService>[0];
  const statusFile = path.join(dir, "status.json");
  const service = new LakeService(endpoints, jobs as JobClient, sources, path.join(dir, "tables.yaml"), statusFile);
  return { service, dir, statusFile, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
