import { appliedSourceHashes } from "../../lake/commits";
import { planMaintenance, SMALL_FILES_TO_COMPACT } from "../../reconciler/maintenance";

const day = 86_400_000;
const now = Date.parse("2026-11-25T12:00:00Z");
const commits = (n: number, everyMs = 60_000) =>
  Array.from({ length: n }, (_, i) => ({ commit: String(1000 + i), time: new Date(now - (n - i) * everyMs).toISOString() }));
const files = (count: number, small: number) => ({ count, small, bytes: count * 1024, targetBytes: 128 * 1048576 });

const cases: Record<string, { spec: Parameters<typeof planMaintenance>[0]; observed: Parameters<typeof planMaintenance>[1]; due: boolean; reason?: RegExp }> = {
  "more commits than retained": { spec: { format: "iceberg", retain: { commits: 3 } }, observed: { exists: true, commits: commits(6), dataFiles: files(1, 1) }, due: true, reason: /6 commits, retain 3/ },
  "exactly the commits retained": { spec: { format: "iceberg", retain: { commits: 3 } }, observed: { exists: true, commits: commits(3), dataFiles: files(1, 1) }, due: false },
  "commits older than the days retained": { spec: { format: "iceberg", retain: { days: 2 } }, observed: { exists: true, commits: commits(3, day), dataFiles: null }, due: true, reason: /1 commit\(s\) older than 2 day/ },
  "the newest commit is kept however old": { spec: { format: "iceberg", retain: { days: 1 } }, observed: { exists: true, commits: commits(1, 10 * day), dataFiles: null }, due: false },
  "default retention is 7 days": { spec: { format: "iceberg" }, observed: { exists: true, commits: commits(3, 3 * day), dataFiles: null }, due: true, reason: /older than 7 day/ },
  "many small data files": { spec: { format: "iceberg" }, observed: { exists: true, commits: commits(2), dataFiles: files(9, SMALL_FILES_TO_COMPACT) }, due: true, reason: /4 of 9 data files under 3\/4 of the 128 MB target/ },
  "a few small data files": { spec: { format: "iceberg" }, observed: { exists: true, commits: commits(2), dataFiles: files(3, SMALL_FILES_TO_COMPACT - 1) }, due: false },
  "Hudi maintains itself with each write": { spec: { format: "hudi", retain: { commits: 1 } }, observed: { exists: true, commits: commits(5), dataFiles: null }, due: false },
  "a table not in the lake": { spec: { format: "iceberg", retain: { commits: 1 } }, observed: { exists: false, commits: [], dataFiles: null }, due: false },
};

for (const [name, c] of Object.entries(cases)) {
  test(`maintenance: ${name}`, () => {
    const plan = planMaintenance(c.spec, c.observed, now);
    expect(plan.due).toBe(c.due);
    if (c.reason) expect(plan.reasons.join("; ")).toMatch(c.reason);
  });
}

test("sources of expired commits still count as applied", () => {
  const applied = appliedSourceHashes({ exists: true, commits: [{ sourceHash: "b" }, {}], expiredSourceHashes: ["a"] });
  expect([...applied].sort()).toEqual(["a", "b"]);
  expect(appliedSourceHashes({ exists: false, commits: [{ sourceHash: "b" }] }).size).toBe(0);
});
