import Table from "cli-table3";
import type { QueryResult } from "../lake/trino";

/** Aligned result table for terminals, with the row count underneath. */
export function renderTable(result: QueryResult): string {
  const table = new Table({ head: result.columns.map((c) => c.name), style: { head: [], border: [], compact: true } });
  for (const row of result.rows) table.push(row.map((v) => (v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v))));
  const warnings = (result.warnings ?? []).map((w) => `\nwarning: ${w}`).join("");
  return `${table.toString()}\n(${result.rows.length} row${result.rows.length === 1 ? "" : "s"})${warnings}`;
}
