/**
 * A table's metastore entry changes whole for its readers (the guarantee a rebuild's swap stands
 * on): one entry is flipped between an Iceberg table's and a Hudi table's with Hive's alter_table,
 * a few hundred times, while three readers call get_table on it; none ever gets half of each. On
 * Derby at read-committed, Hive 2.3.9's own server returned a mix on about one read in six (the
 * Hudi serde with Iceberg's input format: Trino's "Unsupported storage format"); the stack serves
 * the metastore through components/local/java/MetastoreServer.java, which keeps entries whole. And
 * its whole replace (two renames under its write lock, partitions following their table): an entry
 * replaced by a partitioned or unpartitioned one fifty times over is never missing nor mixed.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { machineInstallPaths } from "../../components/local/install";
import type { LakeOutputs } from "../../stacks/automation";
import { ensureUp, s3 } from "./lake";

jest.setTimeout(180_000);

const sfx = Date.now().toString(36);
let outs: LakeOutputs;

beforeAll(async () => {
  outs = await ensureUp();
});

afterAll(async () => {
  // create_table makes each entry's location (an empty directory marker on S3).
  const client = s3(outs);
  const listed = await client.send(new ListObjectsV2Command({ Bucket: outs.warehouseBucket, Prefix: `e2e-entries/${sfx}/` }));
  const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
  if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket: outs.warehouseBucket, Delete: { Objects: keys } }));
});

test("an entry flipped between an Iceberg table's and a Hudi table's is never read half one, half the other", async () => {
  const script = path.join(__dirname, "fixtures", "entry_flip.py");
  const { stdout } = await promisify(execFile)(
    machineInstallPaths().python,
    [script, outs.metastoreUri, "default", `mse_${sfx}`, `s3a://${outs.warehouseBucket}/e2e-entries/${sfx}`, "300"],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const seen = JSON.parse(stdout.trim().split("\n").pop()!) as { alters: number; reads: number; mixed: number; sample: unknown[] };
  expect(seen.sample).toEqual([]);
  expect(seen.mixed).toBe(0);
  expect(seen.alters).toBe(300);
  // The readers ran beside the writer the whole time (a few hundred reads at least).
  expect(seen.reads).toBeGreaterThan(300);
  process.stdout.write(`metastore entries: ${seen.alters} alters, ${seen.reads} reads, none mixed\n`);
});

test("an entry replaced whole by another, partitions and all (a partitioned Hudi table's rebuild swap), is never missing nor mixed; a managed table is refused", async () => {
  const script = path.join(__dirname, "fixtures", "entry_replace.py");
  const { stdout } = await promisify(execFile)(
    machineInstallPaths().python,
    [script, outs.metastoreUri, "default", `msr_${sfx}`, `s3a://${outs.warehouseBucket}/e2e-entries/${sfx}/r`, "51"],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const seen = JSON.parse(stdout.trim().split("\n").pop()!) as {
    capability: string; replaces: number; reads: number; missing: number; mixed: number; sample: unknown[]; partitions: string[][]; leftover: string[]; refused: string | null;
  };
  // What the job server asks before it relies on it (a stock metastore refuses the key).
  expect(seen.capability).toBe("1");
  expect(seen.sample).toEqual([]);
  expect(seen).toMatchObject({ replaces: 51, missing: 0, mixed: 0, leftover: [] });
  expect(seen.reads).toBeGreaterThan(51);
  // The last shadow was partitioned: its three partitions came along under the table's name, at their own locations.
  expect(seen.partitions).toEqual([["s51", "region=ap"], ["s51", "region=eu"], ["s51", "region=us"]]);
  expect(seen.refused).toMatch(/must both be external tables/);
  process.stdout.write(`metastore whole replaces: ${seen.replaces} replaces, ${seen.reads} reads, none missing or mixed\n`);
});
