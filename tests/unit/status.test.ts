/** `lakeform status` for terminals: in sync or not, and if not (or if repaired), why. */
import type { Condition } from "../../lake/conditions";
import { emptyStatus, formatStatus, type TableStatus } from "../../lake/status";

const cond = (type: Condition["type"], status: Condition["status"], reason: string, message: string): Condition =>
  ({ type, status, reason, message, lastTransitionTime: "2026-11-24T10:00:00Z" }) as Condition;
const table = (name: string, inSync: boolean, conditions: Condition[]): TableStatus => ({
  table: `default.${name}`, format: "hudi", generation: "g2", observedGeneration: "g2", inSync, sources: { total: 2, applied: inSync ? 2 : 1 },
  lastCommit: { id: "20261124100000000", time: "2026-11-24T10:00:00.000Z" }, rowCount: 105, conditions, failures: 0,
});

test("one line per table: healthy ones say UpToDate, repaired and failing ones say why", () => {
  const st = emptyStatus("tables.yaml");
  st.tables["default.a"] = table("a", true, [cond("Synced", "True", "UpToDate", "all 2 source(s) applied"), cond("Degraded", "False", "Healthy", "ok")]);
  st.tables["default.b"] = table("b", true, [cond("Synced", "True", "Recreated", "table had disappeared from the metastore; re-registered"), cond("Degraded", "False", "Healthy", "ok")]);
  st.tables["default.c"] = table("c", false, [cond("Synced", "False", "BadCsv", "line 3 has 2 fields"), cond("Degraded", "True", "BadCsv", "line 3 has 2 fields")]);
  const lines = formatStatus(st).split("\n");
  expect(lines[0]).toMatch(/^TABLE\s+FORMAT\s+SYNCED\s+SOURCES\s+ROWS/);
  expect(lines.find((l) => l.startsWith("default.a"))).toMatch(/\byes\b.*2\/2.*105.*UpToDate$/);
  expect(lines.find((l) => l.startsWith("default.b"))).toMatch(/\byes\b.*Recreated: table had disappeared from the metastore; re-registered$/);
  expect(lines.find((l) => l.startsWith("default.c"))).toMatch(/\bNO\b.*1\/2.*BadCsv: line 3 has 2 fields$/);
});

test("a table whose last checked write had expectation hits says so after its reason; rules no row broke are left out", () => {
  const st = emptyStatus("tables.yaml");
  st.tables["default.a"] = {
    ...table("a", true, [cond("Synced", "True", "UpToDate", "all 2 source(s) applied"), cond("Degraded", "False", "Healthy", "ok")]),
    expectations: { email_shape: { action: "warn", failed: 3 }, known_region: { action: "quarantine", failed: 2 }, deal_value: { action: "fail", failed: 0 } },
  };
  st.tables["default.b"] = { ...table("b", true, [cond("Synced", "True", "UpToDate", "all 2 source(s) applied")]), expectations: { deal_value: { action: "fail", failed: 0 } } };
  const lines = formatStatus(st).split("\n");
  expect(lines.find((l) => l.startsWith("default.a"))).toMatch(/\bUpToDate; expectations: email_shape 3 warned, known_region 2 quarantined$/);
  expect(lines.find((l) => l.startsWith("default.b"))).toMatch(/\bUpToDate$/);
});
