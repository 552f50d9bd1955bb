/**
 * The data plan in the Table resources' `pulumi preview` (issue 22, item 1): the plain Pulumi
 * CLI previews the e2e stack with its services and tables on (LAKEFORM_SERVICES=1: the Table
 * resources of its tables.yaml, new to its state), and under each table it shows what
 * `lakeform plan` computes for it against the same lake: the decision, each pending source with its
 * bytes and rows. A preview: nothing is created, nothing written.
 */
import { lakePlan } from "../../cli/plan";
import { stackTablesFile } from "../../lake/stackData";
import type { TableDataPlan } from "../../reconciler/dataPlan";
import { PROJECT_DIR, readOutputs } from "../../stacks/automation";
import { e2eStack, run, STACK } from "./lake";

jest.setTimeout(600_000);

const bytes = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

test("pulumi preview shows each Table's data plan as lakeform plan has it: the decision, each pending source's bytes and rows", async () => {
  const stack = await e2eStack();
  const outs = await readOutputs(stack);
  const tablesFile = stackTablesFile(STACK, PROJECT_DIR);
  const plan = await lakePlan(outs, tablesFile);
  const tables = plan.tables.filter((t): t is TableDataPlan => t.decision !== "error");
  expect(tables.length).toBeGreaterThan(0);

  const { stdout } = await run("pulumi", ["preview", "--stack", STACK, "--non-interactive"], {
    cwd: PROJECT_DIR,
    env: { ...process.env, LAKEFORM_SERVICES: "1", NODE_NO_WARNINGS: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const t of tables) {
    const line = stdout
      .split("\n")
      .find((l) => l.includes(`${t.table}: data plan: `))
      ?.trim()
      .replace(/^.*?(\S+: data plan: )/, "$1");
    const head = t.decision === "upToDate" ? `${t.table}: data plan: up to date (${t.reason})` : `${t.table}: data plan: ${t.reason}`;
    const writes = t.writes.map((w) => `+ ${w.source}  ${bytes(w.bytes)}  ${w.rowsExact ? "" : "~"}${w.rows!.toLocaleString("en-US")} rows`);
    if (t.decision === "act") expect({ table: t.table, line }).toEqual({ table: t.table, line: [head, ...writes].join("; ") });
    else expect({ table: t.table, line: line?.slice(0, head.length) }).toEqual({ table: t.table, line: head });
  }
});
