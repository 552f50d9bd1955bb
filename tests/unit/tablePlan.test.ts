/**
 * The data plan in a Table resource's preview (issue 22, item 1): reconciler/tablePlan.ts's lines
 * for each decision, and components/table/impl.ts's dataPlanLines before the lakehouse is up (no
 * outputs cache: nothing shown) and with its job server out of reach (said, never failing the
 * preview). What a real plan holds is tests/unit/dataPlan.test.ts's and tests/e2e/19-plan.test.ts's.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dataPlanLines, table } from "../../components/table/impl";
import type { LakeOutputs } from "../../lake/outputKeys";
import { outputsFile, statusFile } from "../../lake/paths";
import type { TableSpec } from "../../lake/spec";
import { writeOutputsCache } from "../../lake/stackData";
import type { TableDataPlan } from "../../reconciler/dataPlan";
import { tablePlanLines } from "../../reconciler/tablePlan";
import { unusedPort } from "../helpers/ports";

const base: TableDataPlan = { table: "default.orders", format: "iceberg", decision: "act", reason: "1 source(s) not applied yet", exists: true, rowCount: 5, writes: [] };

test("a pending write: bytes, rows (~ when estimated), the schema change and the deletes, one line each", () => {
  const lines = tablePlanLines({
    ...base,
    writes: [
      { source: "more.csv", location: "/d/more.csv", hash: "h", bytes: 182, rows: 6, rowsExact: true, columns: ["id", "note"], schema: { change: "additive", added: ["note"] }, deletes: 2 },
      { source: "big.csv", location: "/d/big.csv", hash: "i", bytes: 3 * 1024 * 1024, rows: 41000, rowsExact: false, columns: ["id"], schema: { change: "needsRewrite", added: [], reason: "amount: lots is not a double" } },
    ],
  });
  expect(lines).toEqual([
    "default.orders: data plan: 1 source(s) not applied yet",
    "  + more.csv  182 B  6 rows  schema: additive (+ note)  deletes: 2",
    "  + big.csv  3.0 MiB  ~41,000 rows  schema: needs a rewrite: amount: lots is not a double",
  ]);
});

test("a write with bad rows says how many are quarantined (or left out under discardRows) and the first, and is not refused", () => {
  const w = { source: "mixed.csv", location: "/d/mixed.csv", hash: "h", bytes: 2048, rows: 40, rowsExact: false, columns: ["id"], schema: { change: "none" as const, added: [] } };
  expect(tablePlanLines({ ...base, writes: [{ ...w, badRows: { rows: 3, action: "quarantine", first: "row 2 has 2 field(s), the header 3" } }] })[1]).toBe(
    "  + mixed.csv  2.0 KiB  ~40 rows  bad rows: ~3 quarantined (row 2 has 2 field(s), the header 3)",
  );
  expect(tablePlanLines({ ...base, writes: [{ ...w, rowsExact: true, badRows: { rows: 1, action: "drop", first: "row 5 has an empty primary key (id)" } }] })[1]).toMatch(/bad rows: 1 left out \(discardRows\) \(row 5 has an empty primary key \(id\)\)$/);
});

test("up to date (with maintenance due) and refused are one line", () => {
  expect(tablePlanLines({ ...base, decision: "upToDate", reason: "all 2 source(s) applied", maintenance: { due: true, reasons: ["9 commits, retain 5"] } as TableDataPlan["maintenance"] })).toEqual([
    "default.orders: data plan: up to date (all 2 source(s) applied); maintenance due: 9 commits, retain 5",
  ]);
  expect(tablePlanLines({ ...base, decision: "fail", code: "INCOMPATIBLE_SPEC_CHANGE", reason: "primaryKey changed" })).toEqual(["default.orders: data plan: refused (INCOMPATIBLE_SPEC_CHANGE): primaryKey changed"]);
});

describe("in the resource's diff", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lakeform-tableplan-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spec = { name: "orders", database: "default", format: "iceberg", primaryKey: ["id"], partitionBy: [], sources: ["a.csv"], schemaPolicy: "addColumns", prune: false, generation: "g1" } as unknown as TableSpec;
  const inputs = { spec, tablesFile: path.join(dir, "tables.yaml"), statusFile: statusFile(dir), tableId: "default.orders" };

  test("before the lakehouse's first up (no outputs cache) nothing is shown", async () => {
    expect(await dataPlanLines(inputs as never)).toEqual([]);
  });

  test("a job server out of reach: the plan is said to be unavailable, and why, without failing", async () => {
    const port = await unusedPort();
    const outs = { dataDir: dir, s3Endpoint: `http://127.0.0.1:${port}`, s3Region: "us-east-1", s3AccessKey: "k", s3SecretKey: "s", warehouseBucket: "w", metastoreUri: `thrift://127.0.0.1:${port}`, sparkJobServer: `http://127.0.0.1:${port}`, trinoEndpoint: `https://127.0.0.1:${port}`, apiToken: "a", apiReadToken: "r", trinoPassword: "p", trinoReadPassword: "q", trinoCertificate: "", jobServerSecret: "0123456789abcdef0123" } satisfies LakeOutputs;
    writeOutputsCache(outputsFile(dir), outs);
    fs.writeFileSync(path.join(dir, "a.csv"), "id\n1\n");
    const lines = await dataPlanLines(inputs as never, 10_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^default\.orders: data plan: not available \(.*(unreachable|ECONNREFUSED)/);
  });

  test("the provider's check (every preview and up, a new table's too) prints those lines under the resource and keeps its inputs", async () => {
    const said: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      said.push(String(s));
      return true;
    });
    try {
      const news = { ...inputs, warehouseBucket: "w", timeoutSec: 1 };
      expect(await table.check({}, news as never)).toEqual({ inputs: news });
    } finally {
      spy.mockRestore();
    }
    expect(said.join("")).toMatch(/^default\.orders: data plan: not available \(/);
  });
});
