/**
 * The plan: desired table × observed lake (× what the last pass remembered) → one decision.
 * Pure, so every case is a plain object in, a plan out.
 */
import type { Observation } from "../../lake/jobClient";
import { plan, repairOf, type Action, type Call, type TableMemory } from "../../reconciler/pass";
import { replayOf } from "../../reconciler/plan";
import type { ResolvedSource } from "../../lake/sources";
import type { TableSpec } from "../../lake/spec";
import type { SourceReadRequest } from "../../lake/sourceFormat";

const spec: TableSpec = {
  name: "leads", database: "default", format: "hudi", primaryKey: ["index"], partitionBy: [], sources: ["a.csv", "b.csv"],
  schemaPolicy: "addColumns", prune: false, generation: "g1", line: 3,
};
const src = (hash: string): ResolvedSource => ({ declared: `${hash}.csv`, location: `/d/${hash}.csv`, hash, bytes: 1 });
const obs = (o: Partial<Observation>): Observation => ({ exists: true, inCatalog: true, filesExist: true, commits: [], rowCount: 0, columns: [], ...o });
const commit = (sourceHash: string, extra: object = {}) => ({ commit: `c-${sourceHash}`, time: "t", sourceHash, generation: "g1", ...extra });
const gone = { exists: false, inCatalog: false, filesExist: false } as const;
const journal = (hash: string, n: number) => ({ commit: String(n), time: `t${n}`, source: `${hash}.csv`, sourceHash: hash, uri: `s3a://w/_lakeform/landing/${hash}.csv`, generation: "g1" });
/** An action's calls as short strings: "register", "forget", "clearLeftovers", "write:<hash>". */
const calls = (cs: Call[]) => cs.map((c) => (c.op === "write" ? `write:${c.source.hash}` : c.op));
const applyOf = (hashes: string[], extra: Partial<Action> = {}): Action => ({ kind: "apply", calls: hashes.map((h) => ({ op: "write", source: src(h) })), reason: "r", ...extra });

interface Want {
  kind: "upToDate" | "act" | "wait" | "fail";
  calls?: string[];
  repair?: Action["repair"];
  code?: string;
  synced?: { reason: string; message?: RegExp };
}
const cases: Record<string, { sources: ResolvedSource[]; observed: Observation; memory?: TableMemory; spec?: Partial<TableSpec>; want: Want }> = {
  "a new table: clear its location, then apply every source": {
    sources: [src("a"), src("b")], observed: obs(gone),
    want: { kind: "act", calls: ["clearLeftovers", "write:a", "write:b"], synced: { reason: "Applying", message: /new table: 2 source/ } },
  },
  "applied sources are skipped": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("a")] }),
    want: { kind: "act", calls: ["write:b"], synced: { reason: "Applying", message: /1 source\(s\) not applied yet/ } },
  },
  "all applied means up to date": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("b"), commit("a")] }),
    want: { kind: "upToDate", synced: { reason: "UpToDate", message: /all 2 source\(s\) applied/ } },
  },
  "a metastore that lags the table (a commit not hive-synced, a column missing) is synced again, nothing rewritten": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("a"), commit("b")], catalogDrift: ["metastore synced at commit c-a, table's newest commit is c-b", "column(s) city string missing from the metastore"] }),
    want: { kind: "act", calls: ["resync"], repair: "resynced", synced: { reason: "Applying", message: /metastore lags the table: metastore synced at commit c-a, table's newest commit is c-b; column\(s\) city string missing/ } },
  },
  "the metastore killed between a commit and its hive sync: only the last synced commit lags, and that alone is a resync": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("a"), commit("b")], catalogDrift: ["metastore synced at commit c-a, table's newest commit is c-b"] }),
    want: { kind: "act", calls: ["resync"], repair: "resynced", synced: { reason: "Applying", message: /synced at commit c-a, table's newest commit is c-b; syncing it again/ } },
  },
  "a column whose type the metastore has behind the table's latest commit is resynced": {
    sources: [src("a")], observed: obs({ commits: [commit("a")], catalogDrift: ["column type(s) behind the table: amount is int in the metastore, bigint in the table"] }),
    want: { kind: "act", calls: ["resync"], repair: "resynced", synced: { reason: "Applying", message: /amount is int in the metastore, bigint in the table/ } },
  },
  "with a source pending, catalog drift is left to that write's own sync": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("a")], catalogDrift: ["column(s) city string missing from the metastore"] }),
    want: { kind: "act", calls: ["write:b"] },
  },
  "a table missing from the metastore is re-registered, not resynced (drift is only looked at for a table that is there)": {
    sources: [src("a")], observed: obs({ exists: false, inCatalog: false, filesExist: true, commits: [commit("a")], catalogDrift: ["column(s) city string missing from the metastore"] }),
    want: { kind: "act", calls: ["register"], repair: "reregistered" },
  },
  "once the resync took, the table is up to date and says what was resynced": {
    sources: [src("a")], observed: obs({ commits: [commit("a")] }),
    memory: { lastAction: { kind: "resync", calls: [{ op: "resync" }], repair: "resynced", drift: ["column(s) city string missing from the metastore"], reason: "r" } },
    want: { kind: "upToDate", synced: { reason: "Resynced", message: /synced again \(column\(s\) city string missing from the metastore\)/ } },
  },
  "a resync that didn't take (the same drift observed again) is a failure, retried with backoff, not a tight loop": {
    sources: [src("a")], observed: obs({ commits: [commit("a")], catalogDrift: ["column(s) city string missing from the metastore"] }),
    memory: { lastAction: { kind: "resync", calls: [{ op: "resync" }], repair: "resynced", drift: ["column(s) city string missing from the metastore"], reason: "r" } },
    want: { kind: "fail", code: "ACTION_NOT_OBSERVED" },
  },
  "the same content twice is applied once": {
    sources: [src("a"), src("a")], observed: obs(gone),
    want: { kind: "act", calls: ["clearLeftovers", "write:a"] },
  },
  "a table dropped from the metastore with its files intact is re-registered, not rewritten": {
    sources: [src("a"), src("b")], observed: obs({ exists: false, inCatalog: false, filesExist: true, commits: [commit("a"), commit("b")] }),
    want: { kind: "act", calls: ["register"], repair: "reregistered" },
  },
  "an Iceberg table dropped from the metastore (no history readable without it) is re-registered": {
    sources: [src("a")], observed: obs({ exists: false, inCatalog: false, filesExist: true, commits: [] }),
    want: { kind: "act", calls: ["register"], repair: "reregistered" },
  },
  "files deleted under a catalog entry: forget the stale entry, clear leftovers, replay the journal in order (API writes too), then new sources": {
    sources: [src("a"), src("c")],
    observed: obs({ exists: false, inCatalog: true, filesExist: false, journal: [journal("a", 1), journal("api1", 2)] }),
    want: { kind: "act", calls: ["forget", "clearLeftovers", "write:a", "write:api1", "write:c"], repair: "rebuilt", synced: { reason: "Applying", message: /rebuilding from 2 journaled write\(s\) and 1 other/ } },
  },
  "a table gone from the metastore and the object store, with a journal, is rebuilt without forgetting anything": {
    sources: [src("a")], observed: obs({ ...gone, journal: [journal("a", 1)] }),
    want: { kind: "act", calls: ["clearLeftovers", "write:a"], repair: "rebuilt" },
  },
  "a rebuild replays every journal entry once in order: content written twice (A, B, A) is written twice, deletes in their place": {
    sources: [src("a")],
    observed: obs({ ...gone, journal: [journal("a", 1), journal("b", 2), journal("a", 3), journal("del", 4), journal("a", 3)] }),
    want: { kind: "act", calls: ["clearLeftovers", "write:a", "write:b", "write:a", "write:del"], repair: "rebuilt" },
  },
  "files deleted, no journal: rebuilt from all declared sources": {
    sources: [src("a"), src("b")], observed: obs({ exists: false, inCatalog: true, filesExist: false }),
    want: { kind: "act", calls: ["forget", "clearLeftovers", "write:a", "write:b"], repair: "rebuilt" },
  },
  "a changed primary key on a table with data is refused, for good": {
    sources: [src("a")], observed: obs({ commits: [commit("a", { spec: JSON.stringify({ format: "hudi", primaryKey: ["id"], partitionBy: [] }) })] }),
    want: { kind: "fail", code: "INCOMPATIBLE_SPEC_CHANGE" },
  },
  "the last applied spec is the newest commit that recorded one": {
    sources: [src("a"), src("b")],
    observed: obs({ commits: [commit("a", { spec: JSON.stringify({ primaryKey: ["id"] }) }), commit("b", { spec: JSON.stringify({ format: "hudi", primaryKey: ["index"], partitionBy: [] }) })] }),
    want: { kind: "upToDate" },
  },
  "a changed partitioning of a table that doesn't exist is no refusal": {
    sources: [src("a")], observed: obs({ ...gone, commits: [commit("a", { spec: JSON.stringify({ partitionBy: ["x"] }) })] }),
    want: { kind: "act", calls: ["clearLeftovers", "write:a"] },
  },
  "the same input that failed for good is not tried again": {
    sources: [src("a")], observed: obs(gone), memory: { terminal: { fingerprint: "g1:a", code: "BAD_CSV", message: "line 3 has 2 fields" } },
    want: { kind: "wait", code: "BAD_CSV" },
  },
  "a changed source after a terminal failure is tried": {
    sources: [src("a2")], observed: obs(gone), memory: { terminal: { fingerprint: "g1:a", code: "BAD_CSV", message: "line 3 has 2 fields" } },
    want: { kind: "act", calls: ["clearLeftovers", "write:a2"] },
  },
  "a changed spec after a terminal failure is tried": {
    sources: [src("a")], observed: obs(gone), spec: { generation: "g2" }, memory: { terminal: { fingerprint: "g1:a", code: "SCHEMA_REFUSED", message: "x" } },
    want: { kind: "act", calls: ["clearLeftovers", "write:a"] },
  },
  "after a re-registration, in sync says Recreated and how": {
    sources: [src("a")], observed: obs({ commits: [commit("a"), commit("x")] }), memory: { lastAction: { kind: "register", calls: [{ op: "register" }], repair: "reregistered", reason: "r" } },
    want: { kind: "upToDate", synced: { reason: "Recreated", message: /re-registered from its files with its 2 commit\(s\) of history/ } },
  },
  "after a rebuild, in sync says Recreated and how many writes were replayed": {
    sources: [src("a")], observed: obs({ commits: [commit("a"), commit("api1")] }), memory: { lastAction: applyOf(["a", "api1"], { repair: "rebuilt" }) },
    want: { kind: "upToDate", synced: { reason: "Recreated", message: /rebuilt from its write journal and declared sources \(2 write\(s\) replayed/ } },
  },
  "a re-registration the metastore doesn't show fails (retried with backoff), it isn't repeated at once": {
    sources: [src("a")], observed: obs({ exists: false, inCatalog: false, filesExist: true }), memory: { lastAction: { kind: "register", calls: [{ op: "register" }], repair: "reregistered", reason: "r" } },
    want: { kind: "fail", code: "ACTION_NOT_OBSERVED" },
  },
  "a write the table's commits don't show fails, it isn't repeated at once": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("a")] }), memory: { lastAction: applyOf(["b"]) },
    want: { kind: "fail", code: "ACTION_NOT_OBSERVED" },
  },
  "a different action after the last one is carried out": {
    sources: [src("a"), src("b"), src("c")], observed: obs({ commits: [commit("a"), commit("b")] }), memory: { lastAction: applyOf(["b"]) },
    want: { kind: "act", calls: ["write:c"] },
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(name, () => {
    const p = plan({ ...spec, ...c.spec }, { sources: c.sources, lake: c.observed }, c.memory);
    expect(p.kind).toBe(c.want.kind);
    if (p.kind === "act") {
      if (c.want.calls) expect(calls(p.action.calls)).toEqual(c.want.calls);
      expect(p.action.repair).toBe(c.want.repair);
    }
    if ((p.kind === "fail" || p.kind === "wait") && c.want.code) expect(p.error.code).toBe(c.want.code);
    if ((p.kind === "act" || p.kind === "upToDate") && c.want.synced) {
      expect(p.synced.reason).toBe(c.want.synced.reason);
      if (c.want.synced.message) expect(p.synced.message).toMatch(c.want.synced.message);
    }
  });
}

test("a refusal is not retryable; a repair that didn't take is", () => {
  const refused = plan(spec, { sources: [src("a")], lake: obs({ commits: [commit("a", { spec: JSON.stringify({ format: "iceberg" }) })] }) });
  const notTaken = plan(spec, { sources: [src("a")], lake: obs({ exists: false, inCatalog: false, filesExist: true }) }, { lastAction: { kind: "register", calls: [{ op: "register" }], reason: "r" } });
  expect(refused.kind === "fail" && refused.error.retryable).toBe(false);
  expect(refused.kind === "fail" && refused.error.message).toMatch(/format changed from "iceberg" to "hudi"/);
  expect(notTaken.kind === "fail" && notTaken.error.retryable).toBe(true);
});

test("a rebuild's journal writes are replays (written as often as journaled, not journaled again, read from the lake); declared sources are not", () => {
  const p = plan(spec, { sources: [src("a"), src("s3new")], lake: obs({ ...gone, journal: [journal("a", 1), journal("a", 2)] }) });
  if (p.kind !== "act") throw new Error(`expected act, got ${p.kind}`);
  const writes = p.action.calls.flatMap((c) => (c.op === "write" ? [c.source] : []));
  expect(writes.map((s) => [s.hash, s.replay ?? false, s.location])).toEqual([
    ["a", { of: "1", last: "2" }, "s3://w/_lakeform/landing/a.csv"],
    ["a", { of: "2", last: "2" }, "s3://w/_lakeform/landing/a.csv"],
    ["s3new", false, "/d/s3new.csv"],
  ]);
});

describe("a rebuild that stopped partway is resumed after the last entry it replayed", () => {
  const full = [journal("a", 1), journal("b", 2), journal("a", 3), journal("del", 4)];
  const replayed = (n: number) => full.slice(0, n).map((e) => commit(e.sourceHash, { commit: `r${e.commit}`, replayOf: e.commit, replayLast: "4" }));

  test("two of four replayed: the other two, in order, then new declared sources; writes wait for it", () => {
    const lake = obs({ commits: replayed(2), journal: full });
    const p = plan(spec, { sources: [src("a"), src("c")], lake });
    if (p.kind !== "act") throw new Error(`expected act, got ${p.kind}`);
    expect(calls(p.action.calls)).toEqual(["write:a", "write:del", "write:c"]);
    expect(p.action.calls.flatMap((c) => (c.op === "write" ? [c.source.replay?.of ?? null] : []))).toEqual(["3", "4", null]);
    expect(p.action.repair).toBe("rebuilt");
    expect(repairOf(lake)).toMatchObject({ repair: "rebuilt", reason: expect.stringMatching(/stopped after replaying 2 of 4 journaled write\(s\): replaying the other 2/) });
  });

  test("the last entry replayed: the rebuild is whole, nothing replayed again", () => {
    const lake = obs({ commits: replayed(4), journal: full });
    expect(repairOf(lake)).toBeUndefined();
    expect(plan(spec, { sources: [src("a")], lake }).kind).toBe("upToDate");
  });

  test("a write after the rebuild (newest commit no replay): nothing resumed", () => {
    const lake = obs({ commits: [...replayed(2), commit("x")], journal: full });
    expect(repairOf(lake)).toBeUndefined();
  });
});

describe("a rebuild's replay reads each source as its write did (the journal record's read)", () => {
  const semicolon: SourceReadRequest = { format: "csv", compression: "none", csv: { delimiter: ";", quote: '"', header: true, encoding: "iso-8859-1", nullValues: ["NA"] } };
  const tsv: SourceReadRequest = { format: "tsv", compression: "none", csv: { delimiter: "\t", quote: '"', header: true, encoding: "utf-8" } };
  const entries = [
    { ...journal("eu", 1), source: "march.csv", read: semicolon },
    { ...journal("old", 2), source: "old.txt", uri: "s3a://w/_lakeform/landing/old.tsv", read: tsv },
    journal("before", 3), // a record from before records kept the read
  ];

  test("replayOf carries each record's read, and none for a record without one", () => {
    const replays = replayOf(entries);
    expect(replays.map((s) => [s.name, s.read])).toEqual([
      ["march.csv", semicolon],
      ["old.txt", tsv],
      ["before.csv", undefined],
    ]);
    expect("read" in replays[2]).toBe(false);
  });

  test("the plan's replays carry it, resumed ones too", () => {
    const p = plan(spec, { sources: [], lake: obs({ ...gone, journal: entries }) });
    if (p.kind !== "act") throw new Error(`expected act, got ${p.kind}`);
    expect(p.action.calls.flatMap((c) => (c.op === "write" ? [c.source.read ?? null] : []))).toEqual([semicolon, tsv, null]);
    const resumed = plan(spec, { sources: [], lake: obs({ commits: [commit("eu", { commit: "r1", replayOf: "1", replayLast: "3" })], journal: entries }) });
    if (resumed.kind !== "act") throw new Error(`expected act, got ${resumed.kind}`);
    expect(resumed.action.calls.flatMap((c) => (c.op === "write" ? [c.source.read ?? null] : []))).toEqual([tsv, null]);
  });
});
