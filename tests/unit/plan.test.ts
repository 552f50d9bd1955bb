import type { Observation } from "../../lake/jobClient";
import { planTable, type Plan } from "../../reconciler/plan";
import type { ResolvedSource } from "../../lake/sources";
import type { TableSpec } from "../../lake/spec";

const spec: TableSpec = {
  name: "leads", database: "default", format: "hudi", primaryKey: ["index"], partitionBy: [], sources: ["a.csv", "b.csv"],
  schemaPolicy: "addColumns", prune: false, generation: "g1", line: 3,
};
const src = (hash: string): ResolvedSource => ({ declared: `${hash}.csv`, location: `/d/${hash}.csv`, hash, bytes: 1 });
const obs = (o: Partial<Observation>): Observation => ({ exists: true, inCatalog: true, filesExist: true, commits: [], rowCount: 0, columns: [], ...o });
const commit = (sourceHash: string) => ({ commit: `c-${sourceHash}`, time: "t", sourceHash, generation: "g1" });

const cases: Record<string, { sources: ResolvedSource[]; observed: Observation; last?: Partial<TableSpec>; want: Partial<Plan> & { pending?: string[] } }> = {
  "a new table applies every source": {
    sources: [src("a"), src("b")], observed: obs({ exists: false, inCatalog: false, filesExist: false }),
    want: { kind: "apply", recreate: false, pending: ["a", "b"] },
  },
  "applied sources are skipped": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("a")] }),
    want: { kind: "apply", recreate: false, pending: ["b"] },
  },
  "all applied means up to date": {
    sources: [src("a"), src("b")], observed: obs({ commits: [commit("b"), commit("a")] }),
    want: { kind: "upToDate" },
  },
  "the same content twice is applied once": {
    sources: [src("a"), src("a")], observed: obs({ exists: false, inCatalog: false, filesExist: false }),
    want: { kind: "apply", pending: ["a"] },
  },
  "a table dropped from the metastore with its files intact is re-registered, not rewritten": {
    sources: [src("a"), src("b")], observed: obs({ exists: false, inCatalog: false, filesExist: true, commits: [commit("a"), commit("b")] }),
    want: { kind: "register" },
  },
  "an Iceberg table dropped from the metastore (no history readable without it) is re-registered": {
    sources: [src("a")], observed: obs({ exists: false, inCatalog: false, filesExist: true, commits: [] }),
    want: { kind: "register" },
  },
  "a table whose files were removed replays its journal in order (API writes too), then new declared sources": {
    sources: [src("a"), src("c")],
    observed: obs({
      exists: false, inCatalog: true, filesExist: false, commits: [],
      journal: [
        { commit: "1", time: "t1", source: "a.csv", sourceHash: "a", uri: "s3a://w/_lakeform/landing/a.csv", generation: "g1" },
        { commit: "2", time: "t2", source: "api-1.csv", sourceHash: "api1", uri: "s3a://w/_lakeform/landing/api1.csv", generation: "g1" },
      ],
    }),
    want: { kind: "apply", recreate: true, pending: ["a", "api1", "c"] },
  },
  "a table gone from the metastore and the object store, with a journal, is rebuilt too": {
    sources: [src("a")],
    observed: obs({ exists: false, inCatalog: false, filesExist: false, journal: [{ commit: "1", time: "t", source: "a.csv", sourceHash: "a", uri: "s3a://w/x.csv", generation: "g1" }] }),
    want: { kind: "apply", recreate: true, pending: ["a"] },
  },
  "a table whose files were removed is rebuilt from all sources": {
    sources: [src("a"), src("b")], observed: obs({ exists: false, inCatalog: true, filesExist: false, commits: [] }),
    want: { kind: "apply", recreate: true, pending: ["a", "b"] },
  },
  "a changed primary key on a table with data is refused": {
    sources: [src("a")], observed: obs({ commits: [commit("a")] }), last: { primaryKey: ["id"] },
    want: { kind: "refuse" },
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(name, () => {
    const plan = planTable(spec, c.sources, c.observed, c.last);
    expect(plan.kind).toBe(c.want.kind);
    if (plan.kind === "apply") {
      expect(plan.sources.map((s) => s.hash)).toEqual(c.want.pending);
      if (c.want.kind === "apply" && "recreate" in c.want) expect(plan.recreate).toBe(c.want.recreate);
    }
  });
}
