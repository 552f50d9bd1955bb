/**
 * The write-journal record the Trino light path writes (lake/sources.ts) is the one the job
 * server writes (jobs/lakeform_jobs/journal.py): both are checked against
 * tests/fixtures/journal-entry.json (the Python side by jobs/tests/test_journal.py).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { JournalEntry } from "../../lake/jobServerContract";
import { JOURNAL_ATTEMPTS, Sources } from "../../lake/sources";

const shared = JSON.parse(fs.readFileSync(path.join(__dirname, "../fixtures/journal-entry.json"), "utf8")) as {
  key: string;
  database: string;
  table: string;
  /** With its read: how the write read its source. */
  entry: JournalEntry;
};

test("the light path's journal record is the shared record, at the shared key", async () => {
  const sent: { Bucket?: string; Key?: string; Body?: unknown }[] = [];
  const s3 = { send: async (cmd: { input: (typeof sent)[number] }) => void sent.push(cmd.input) } as unknown as S3Client;
  const { time, ...entry } = shared.entry;
  // The record's time is the write's: the fixture's, read back as the UTC instant it names.
  const at = `${time.slice(0, 4)}-${time.slice(4, 6)}-${time.slice(6, 8)}T${time.slice(8, 10)}:${time.slice(10, 12)}:${time.slice(12, 14)}.${time.slice(14)}Z`;
  jest.useFakeTimers({ now: new Date(at) });
  try {
    await new Sources(s3, "lakeform-warehouse").journal(shared.database, shared.table, entry);
  } finally {
    jest.useRealTimers();
  }
  expect(sent).toHaveLength(1);
  expect(sent[0].Bucket).toBe("lakeform-warehouse");
  expect(sent[0].Key).toBe(shared.key);
  expect(JSON.parse(String(sent[0].Body))).toEqual(shared.entry);
  expect(shared.entry.read?.csv?.delimiter).toBe(";");
});

test("the light path's journal record is retried while the store refuses it, then fails loudly naming the commit", async () => {
  const { time: _time, ...entry } = shared.entry;
  let tries = 0;
  const flaky = (failures: number) =>
    ({
      send: async () => {
        tries++;
        if (tries <= failures) throw Object.assign(new Error("reset"), { name: "NetworkingError" });
      },
    }) as unknown as S3Client;
  await new Sources(flaky(JOURNAL_ATTEMPTS - 1), "w").journal(shared.database, shared.table, entry);
  expect(tries).toBe(JOURNAL_ATTEMPTS);
  tries = 0;
  await expect(new Sources(flaky(JOURNAL_ATTEMPTS), "w").journal(shared.database, shared.table, entry)).rejects.toMatchObject({
    code: "OBJECT_STORE_ERROR",
    message: expect.stringContaining(`journaling commit ${entry.commit}`),
  });
  expect(tries).toBe(JOURNAL_ATTEMPTS);
}, 20_000);
