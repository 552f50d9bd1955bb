/**
 * One pass (observe → plan → act → report) against a driver and a source store that are plain
 * objects of functions. Each step is made to fail in turn; every case asserts the status the
 * pass reports, when the table is looked at again, and what the pass remembers.
 */
import pino from "pino";
import { getCondition } from "../../lake/conditions";
import { LakeformError, type ErrorCode } from "../../lake/errors";
import type { Observation } from "../../lake/jobClient";
import { SourceError, type ResolvedSource } from "../../lake/sources";
import type { TableSpec } from "../../lake/spec";
import type { SourceReadRequest } from "../../lake/sourceFormat";
import type { TableStatus } from "../../lake/status";
import type { LakeDriver, SourceStore } from "../../reconciler/driver";
import { initialStatus, runPass, type Next, type PassResult, type TableMemory } from "../../reconciler/pass";

const spec: TableSpec = {
  name: "leads", database: "default", format: "hudi", primaryKey: ["index"], partitionBy: [], sources: ["a.csv"],
  schemaPolicy: "addColumns", prune: false, generation: "g1", line: 3,
};
const src = (hash: string): ResolvedSource => ({ declared: `${hash}.csv`, location: `/d/${hash}.csv`, hash, bytes: 1 });
const obs = (o: Partial<Observation> = {}): Observation => ({ exists: true, inCatalog: true, filesExist: true, commits: [], rowCount: 3, columns: [{ name: "index", type: "int" }], ...o });
const missing = obs({ exists: false, inCatalog: false, filesExist: false, rowCount: null, columns: [] });
const applied = (hash: string) => obs({ commits: [{ commit: "c1", time: "2026-11-25T09:00:00Z", sourceHash: hash, generation: "g1" }] });
const fail = (code: ErrorCode, message = `${code} happened`) => async (): Promise<never> => {
  throw new LakeformError(code, message);
};

interface Fake {
  driver?: Partial<LakeDriver>;
  sources?: Partial<SourceStore>;
}

/** A lake that records each driver call and answers observe with `lake`. */
function fakes(lake: Observation, f: Fake = {}) {
  const calls: string[] = [];
  const record = <A extends unknown[], R>(name: string, impl: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    calls.push(name);
    return impl(...a);
  };
  const driver: LakeDriver = {
    observe: record("observe", f.driver?.observe ?? (async () => lake)),
    write: record("write", f.driver?.write ?? (async () => ({ commit: "c2", rowsWritten: 3, renamed: {}, columns: ["index"], addedColumns: [], durationMs: 1 }))),
    register: record("register", f.driver?.register ?? (async () => undefined)),
    resync: record("resync", f.driver?.resync ?? (async () => ({ resynced: true, drift: ["column(s) city string missing from the metastore"] }))),
    evolvePartitions: record("evolvePartitions", f.driver?.evolvePartitions ?? (async () => ({ evolved: true, before: [], after: [], dropped: [], added: [] }))),
    forget: record("forget", f.driver?.forget ?? (async () => undefined)),
    clearLeftovers: record("clearLeftovers", f.driver?.clearLeftovers ?? (async () => undefined)),
    drop: record("drop", f.driver?.drop ?? (async () => undefined)),
    maintain: record("maintain", f.driver?.maintain ?? (async () => ({ actions: ["expired 3 snapshots"], commitsBefore: 5, commitsAfter: 2, dataFilesBefore: 4, dataFilesAfter: 1, oldestCommit: "c4", durationMs: 1 }))),
  };
  const sources: SourceStore = {
    resolve: f.sources?.resolve ?? (async () => [src("a")]),
    land: record("land", f.sources?.land ?? (async (s: ResolvedSource) => `s3a://w/_lakeform/landing/${s.hash}.csv`)),
  };
  return { calls, deps: { driver, sources, warehouseBucket: "w", baseDir: "/d" } };
}

async function pass(lake: Observation, f: Fake = {}, memory: TableMemory = {}, prev: Partial<TableStatus> = {}, tableSpec: TableSpec = spec) {
  const { calls, deps } = fakes(lake, f);
  const applying: TableStatus[] = [];
  const result = await runPass(deps, tableSpec, {
    prev: { ...initialStatus(spec, "/d/tables.yaml"), ...prev },
    declaredIn: "/d/tables.yaml",
    memory,
    log: pino({ level: "silent" }),
    onApplying: (st) => applying.push(st),
  });
  return { result, calls, applying };
}

const synced = (r: PassResult) => getCondition(r.status.conditions, "Synced");
const degraded = (r: PassResult) => getCondition(r.status.conditions, "Degraded");

interface Want {
  ok: boolean;
  reason: string;
  /**
   * What the loop is told: done (the next regular look), requeue at once (to observe an action's
   * result), requeue with backoff (a failure retrying may fix), terminal (not retried until the
   * input changes). When that is, and the failure count, are the queue's (queue.test.ts).
   */
  next: Next;
  /** Remembered as terminal: not tried again until the input changes. */
  terminal?: boolean;
  calls: string[];
}

const retry: Next = { kind: "requeue" };
const now: Next = { kind: "requeue", afterMs: 0 };
const terminal = (reason: string): Next => ({ kind: "terminal", reason });

const cases: Record<string, { lake: Observation; fake?: Fake; memory?: TableMemory; prev?: Partial<TableStatus>; want: Want }> = {
  "observe: an unreadable source is reported and waits for its input (no Spark call)": {
    lake: missing, fake: { sources: { resolve: async () => { throw new SourceError("a.csv", "file not found: /d/a.csv"); } } },
    want: { ok: false, reason: "SourceUnreadable", next: terminal("SourceUnreadable"), calls: [] },
  },
  "observe: Spark unavailable is retried with backoff": {
    lake: missing, fake: { driver: { observe: fail("SPARK_UNAVAILABLE", "Spark job server at http://127.0.0.1:1 unreachable") } },
    want: { ok: false, reason: "SparkUnavailable", next: retry, calls: ["observe"] },
  },
  "plan: an incompatible spec change is refused and not retried": {
    lake: obs({ commits: [{ commit: "c1", time: "t", sourceHash: "a", spec: JSON.stringify({ primaryKey: ["id"] }) }] }),
    want: { ok: false, reason: "IncompatibleSpecChange", next: terminal("IncompatibleSpecChange"), terminal: true, calls: ["observe"] },
  },
  "plan: the last pass's action planned again (the lake doesn't show it) is its own failure, retried with backoff": {
    lake: missing, memory: { lastAction: { kind: "apply", calls: [{ op: "clearLeftovers" }, { op: "write", source: src("a") }], reason: "new table: 1 source(s) to apply" } },
    want: { ok: false, reason: "ActionNotObserved", next: retry, calls: ["observe"] },
  },
  "act: a failed re-registration is retried with backoff": {
    lake: obs({ exists: false, inCatalog: false, filesExist: true }), fake: { driver: { register: fail("SPARK_ERROR") } },
    want: { ok: false, reason: "SparkError", next: retry, calls: ["observe", "register"] },
  },
  "act: forgetting a stale catalog entry fails: nothing is written": {
    lake: obs({ exists: false, inCatalog: true, filesExist: false }), fake: { driver: { forget: fail("SPARK_UNAVAILABLE") } },
    want: { ok: false, reason: "SparkUnavailable", next: retry, calls: ["observe", "forget"] },
  },
  "act: clearing leftovers fails: nothing is written": {
    lake: missing, fake: { driver: { clearLeftovers: fail("OBJECT_STORE_ERROR") } },
    want: { ok: false, reason: "ObjectStoreError", next: retry, calls: ["observe", "clearLeftovers"] },
  },
  "act: landing a source in S3 fails: retried": {
    lake: missing, fake: { sources: { land: fail("OBJECT_STORE_ERROR") } },
    want: { ok: false, reason: "ObjectStoreError", next: retry, calls: ["observe", "clearLeftovers", "land"] },
  },
  "act: a bad CSV is terminal: remembered against its input": {
    lake: missing, fake: { driver: { write: fail("BAD_CSV", "line 3 has a different number of fields") } },
    want: { ok: false, reason: "BadCsv", next: terminal("BadCsv"), terminal: true, calls: ["observe", "clearLeftovers", "land", "write"] },
  },
  "act: a refused schema change is terminal": {
    lake: applied("x"), fake: { driver: { write: fail("SCHEMA_REFUSED", "new column timezone") } },
    want: { ok: false, reason: "SchemaRefused", next: terminal("SchemaRefused"), terminal: true, calls: ["observe", "land", "write"] },
  },
  "act: an error of no known kind (a bug, say) is retried with backoff, as an internal error": {
    lake: applied("x"), fake: { driver: { write: async () => { throw new TypeError("cannot read properties of undefined"); } } },
    want: { ok: false, reason: "InternalError", next: retry, calls: ["observe", "land", "write"] },
  },
  "act: a Spark failure during a write is retried with backoff": {
    lake: applied("x"), fake: { driver: { write: fail("SPARK_ERROR", "java.lang.OutOfMemoryError") } },
    want: { ok: false, reason: "SparkError", next: retry, calls: ["observe", "land", "write"] },
  },
  "the same terminal input again: nothing is tried, the reason stays, and it is not a new failure": {
    lake: missing, memory: { terminal: { fingerprint: "g1:a", code: "BAD_CSV", message: "line 3 has a different number of fields" } }, prev: { failures: 1 },
    want: { ok: false, reason: "BadCsv", next: { kind: "terminal", reason: "BadCsv", again: true }, terminal: true, calls: ["observe"] },
  },
  "a successful action: the next pass comes at once, to observe what it did": {
    lake: missing,
    want: { ok: true, reason: "Applying", next: now, calls: ["observe", "clearLeftovers", "land", "write"] },
  },
  "in sync: done, looked at again at the next resync": {
    lake: applied("a"), prev: { failures: 4 },
    want: { ok: true, reason: "UpToDate", next: { kind: "done" }, calls: ["observe"] },
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(name, async () => {
    const { result, calls } = await pass(c.lake, c.fake, c.memory, c.prev);
    expect(calls).toEqual(c.want.calls);
    expect(result.ok).toBe(c.want.ok);
    expect(synced(result)?.reason).toBe(c.want.reason);
    expect(result.status.inSync).toBe(c.want.reason === "UpToDate");
    expect(result.next).toEqual(c.want.next);
    if (!c.want.ok) {
      expect(degraded(result)).toMatchObject({ status: "True", reason: c.want.reason });
      expect(result.memory.terminal !== undefined).toBe(c.want.terminal === true);
      if (c.want.terminal) expect(result.memory.terminal?.fingerprint).toBe("g1:a");
    } else {
      expect(degraded(result)?.status).toBe("False");
    }
  });
}

test("an apply is shown as Applying before it writes; the status is reported once at the end", async () => {
  const { result, applying } = await pass(missing);
  expect(applying).toHaveLength(1);
  expect(getCondition(applying[0].conditions, "Synced")).toMatchObject({ status: "False", reason: "Applying" });
  expect(getCondition(applying[0].conditions, "Synced")?.message).toMatch(/new table: 1 source/);
  expect(result.memory.lastAction?.kind).toBe("apply");
});

test("a repair is reported as Recreated once the table is back in sync, with its history", async () => {
  const first = await pass(obs({ exists: false, inCatalog: false, filesExist: true }));
  expect(first.calls).toEqual(["observe", "register"]);
  expect(first.result).toMatchObject({ ok: true, acted: true, next: { kind: "requeue", afterMs: 0 } });
  const second = await pass(applied("a"), {}, first.result.memory, first.result.status);
  expect(second.calls).toEqual(["observe"]);
  expect(synced(second.result)).toMatchObject({ status: "True", reason: "Recreated" });
  expect(synced(second.result)?.message).toMatch(/re-registered from its files with its 1 commit\(s\) of history/);
  expect(second.result.status).toMatchObject({ inSync: true, rowCount: 3, columns: ["index"], lastCommit: { id: "c1" }, observedGeneration: "g1" });
  // Said once: the pass after that is plain UpToDate.
  const third = await pass(applied("a"), {}, second.result.memory, second.result.status);
  expect(synced(third.result)?.reason).toBe("UpToDate");
});

test("a metastore behind the table (its hive sync missed) is resynced, then reported as Resynced with what lagged", async () => {
  const drift = ["metastore synced at commit c0, table's newest commit is c1", "column(s) city string missing from the metastore"];
  const first = await pass({ ...applied("a"), catalogDrift: drift });
  expect(first.calls).toEqual(["observe", "resync"]);
  expect(first.result).toMatchObject({ ok: true, acted: true, next: { kind: "requeue", afterMs: 0 } });
  const second = await pass(applied("a"), {}, first.result.memory, first.result.status);
  expect(second.calls).toEqual(["observe"]);
  expect(synced(second.result)).toMatchObject({ status: "True", reason: "Resynced" });
  expect(synced(second.result)?.message).toMatch(/synced again \(metastore synced at commit c0, table's newest commit is c1; column\(s\) city string missing from the metastore\)/);
  expect(second.result.status.inSync).toBe(true);
  const third = await pass(applied("a"), {}, second.result.memory, second.result.status);
  expect(synced(third.result)?.reason).toBe("UpToDate");
});

test("a resync the job server can't complete is a failure retried with backoff", async () => {
  const { result, calls } = await pass({ ...applied("a"), catalogDrift: ["column(s) city string missing from the metastore"] }, { driver: { resync: fail("SPARK_UNAVAILABLE") } });
  expect(calls).toEqual(["observe", "resync"]);
  expect(result).toMatchObject({ ok: false, next: { kind: "requeue" } });
  expect(synced(result)?.reason).toBe("SparkUnavailable");
});

test("a terminal failure is tried again once its input changes", async () => {
  const bad = await pass(missing, { driver: { write: fail("BAD_CSV") } });
  const fixed = await pass(missing, { sources: { resolve: async () => [src("a-fixed")] } }, bad.result.memory, bad.result.status);
  expect(fixed.calls).toEqual(["observe", "clearLeftovers", "land", "write"]);
  const respec = await pass(missing, {}, bad.result.memory, bad.result.status);
  expect(respec.calls).toEqual(["observe"]);
});

describe("maintenance of a table in sync", () => {
  const iceberg: TableSpec = { ...spec, format: "iceberg", retain: { commits: 2 } };
  const fiveCommits = obs({ commits: ["a", "b", "c", "d", "e"].map((h, i) => ({ commit: `c${i}`, time: "2026-11-25T09:00:00Z", sourceHash: h })) });

  test("due: done by the pass that finds the table in sync, and reported", async () => {
    const { result, calls } = await pass(fiveCommits, {}, {}, {}, iceberg);
    expect(calls).toEqual(["observe", "maintain", "observe"]);
    expect(result).toMatchObject({ ok: true, acted: false, next: { kind: "done" } });
    expect(getCondition(result.status.conditions, "Maintained")).toMatchObject({ status: "True", reason: "Maintained", message: "expired 3 snapshots" });
    expect(result.status.lastMaintenance).toMatchObject({ actions: ["expired 3 snapshots"], commits: 2, dataFiles: 1, oldestCommit: "c4" });
  });

  test("a failed maintenance is reported and retried on the next pass; the table stays in sync, no backoff", async () => {
    const { result } = await pass(fiveCommits, { driver: { maintain: fail("SPARK_ERROR", "rewrite_data_files failed") } }, {}, {}, iceberg);
    expect(result).toMatchObject({ ok: true, next: { kind: "done" } });
    expect(result.status).toMatchObject({ inSync: true });
    expect(getCondition(result.status.conditions, "Maintained")).toMatchObject({ status: "False", reason: "MaintenanceFailed", message: expect.stringMatching(/rewrite_data_files failed/) });
    expect(synced(result)?.reason).toBe("UpToDate");
  });

  test("not due (Hudi maintains itself with each write): nothing is asked of the job server", async () => {
    const { result, calls } = await pass(obs({ commits: fiveCommits.commits }), {}, {}, {}, { ...spec, retain: { commits: 2 } });
    expect(calls).toEqual(["observe"]);
    expect(getCondition(result.status.conditions, "Maintained")).toMatchObject({ status: "True", message: expect.stringMatching(/Hudi cleans/) });
  });
});

test("a rebuild sends each replay the read its journal record kept (not the table's CSV options), and a record from before gets the extension and the table's", async () => {
  const semicolon: SourceReadRequest = { format: "csv", compression: "none", csv: { delimiter: ";", quote: '"', header: true, encoding: "iso-8859-1", nullValues: ["NA"] } };
  const tsv: SourceReadRequest = { format: "tsv", compression: "none", csv: { delimiter: "\t", quote: '"', header: true, encoding: "utf-8" } };
  const record = (n: number, source: string, uri: string, read?: object) => ({ commit: String(n), time: `t${n}`, source, sourceHash: `h${n}`, uri, generation: "g1", ...(read ? { read } : {}) });
  const lake = obs({
    ...missing,
    journal: [
      record(1, "march.csv", "s3a://w/_lakeform/landing/h1.csv", semicolon),
      record(2, "old.txt", "s3a://w/_lakeform/landing/h2.tsv", tsv),
      record(3, "upload.csv", "s3a://w/_lakeform/landing/h3.csv"),
    ],
  });
  const sent: Parameters<LakeDriver["write"]>[1][] = [];
  const tableSpec: TableSpec = { ...spec, sources: [], csv: { delimiter: "|" }, sourceReads: { "march.csv": { csv: { delimiter: "," } } } };
  const { result } = await pass(
    lake,
    {
      driver: { write: async (_t, source) => (sent.push(source), { commit: `c${sent.length}`, rowsWritten: 1, renamed: {}, columns: ["index"], addedColumns: [], durationMs: 1 }) },
      sources: { resolve: async () => [], land: async (s: ResolvedSource) => s.location.replace(/^s3:/, "s3a:") },
    },
    {},
    {},
    tableSpec,
  );
  // The fake lake still answers "gone" afterwards: only what was sent is looked at here.
  expect(result.status.conditions.length).toBeGreaterThan(0);
  expect(sent).toHaveLength(3);
  const { format: _f, compression: _c, csv: _csv, ...rest } = sent[0];
  expect(rest).toEqual({ uri: "s3a://w/_lakeform/landing/h1.csv", hash: "h1", name: "march.csv", replay: { of: "1", last: "3" } });
  expect(sent.map(({ format, compression, csv }) => ({ format, compression, csv }))).toEqual([
    semicolon,
    tsv,
    { format: "csv", compression: "none", csv: { delimiter: "|" } },
  ]);
});
