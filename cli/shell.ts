/**
 * LakeShell: a database-like shell over the lake.
 *
 *   select …                                 any read SQL, through Trino
 *   insert into t values (…), (…)            upsert rows (same write path as the reconciler)
 *   insert into t from 'file.csv'            upsert a CSV file
 *   travel t as of <commit|'timestamp'> [where <filter>] [limit n]
 *   delete from t where <filter>             delete rows (same write path)
 *   update t set c = v [, …] where <filter>  update rows (same write path)
 *   changes t since <commit|'timestamp'> [until …] [limit n]
 *   history t | describe t | tables | status | help | quit
 *
 * Interactive on a terminal (history, tab completion of commands, tables and columns);
 * statements from -c or stdin for scripts, separated by `;` or newlines. Exit code 1 on error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { parse as parseCsv } from "csv-parse/sync";
import type { LakeService } from "../api/service";
import { LakeformError } from "../lake/errors";
import { partitionColumns } from "../lake/partitioning";
import { formatStatus } from "../lake/status";
import type { QueryResult } from "../lake/trino";
import { renderTable } from "./render";

const COMMANDS = ["select", "with", "show", "insert", "delete", "update", "changes", "travel", "history", "describe", "tables", "status", "help", "quit"];

const HELP = `Statements (one per line, or several separated by ;):
  select ...                                   read SQL through Trino (catalogs hudi, iceberg, hive)
  insert into <table> values (v1, v2, ...)     upsert rows, in the table's column order
  insert into <table> from '<file.csv>'        upsert a CSV file
  delete from <table> where <filter>           delete the matching rows (one commit)
  update <table> set c = v [, c2 = v2] where <filter>
                                               set columns of the matching rows (one commit)
  travel <table> as of <commit|'timestamp'> [where <filter>] [limit n]
  changes <table> since <commit|'timestamp'> [until <commit|'timestamp'>] [limit n]
                       rows inserted or updated and keys deleted after a commit, with their commit
  history <table>      commits with their source and rows inserted, updated, deleted
  describe <table>     columns, key, format, status
  tables               the tables of tables.yaml
  status               is each table in sync, and if not, why
  help | quit`;

export type Output = { kind: "rows"; result: QueryResult } | { kind: "text"; text: string } | { kind: "json"; value: unknown };

/**
 * Splits a script into statements: on `;`, and at each line break followed by a non-blank
 * character (an indented line continues the statement). Quotes are respected.
 */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ";" || (ch === "\n" && i + 1 < text.length && /\S/.test(text[i + 1]))) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Parses `(a, 'b', 3), (…)` into rows of strings (SQL-style quotes, NULL → empty). */
export function parseValues(text: string): string[][] {
  const rows: string[][] = [];
  const re = /\s*\(\s*((?:'(?:[^']|'')*'|[^()'])*)\s*\)\s*(,|$)/gy;
  let m: RegExpExecArray | null;
  const src = text.trim();
  let last = 0;
  while ((m = re.exec(src))) {
    last = re.lastIndex;
    const fields = parseCsv(m[1].replace(/''/g, "\u0000"), { quote: "'", trim: true, relax_quotes: false })[0] as string[];
    rows.push(fields.map((f) => (f.toUpperCase() === "NULL" ? "" : f.replace(/\u0000/g, "'"))));
    if (m[2] === "") break;
  }
  if (rows.length === 0 || last < src.length) throw new LakeformError("BAD_VALUES", "expected values like (1, 'text', 2.5), (2, 'more', 3)");
  return rows;
}

/**
 * Parses `c = v [, c2 = v2 …] where <filter>` (the tail of an update): values are 'text' (''
 * for a quote), numbers, true/false or NULL. Returns the assignments and the filter.
 */
export function parseAssignments(text: string): { set: Record<string, string | null>; where: string } {
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*)\s*(,?)/y;
  const set: Record<string, string | null> = {};
  const src = text.trim();
  let pos = 0;
  for (;;) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new LakeformError("BAD_STATEMENT", `can't read the assignments at "${src.slice(pos, pos + 20)}": expected column = value`);
    const [, col, raw, comma] = m;
    let value: string | null;
    if (raw.startsWith("'")) value = raw.slice(1, -1).replace(/''/g, "'");
    else if (/^-?\d/.test(raw)) value = raw;
    else if (/^null$/i.test(raw)) value = null;
    else if (/^(true|false)$/i.test(raw)) value = raw.toLowerCase();
    else throw new LakeformError("BAD_STATEMENT", `${col} = ${raw}: a value is a 'string', a number, true, false or NULL`);
    if (Object.hasOwn(set, col.toLowerCase())) throw new LakeformError("BAD_STATEMENT", `${col} is set twice`);
    set[col.toLowerCase()] = value;
    pos = re.lastIndex;
    if (!comma) break;
  }
  const rest = /^\s*where\s+([\s\S]+)$/i.exec(src.slice(pos));
  if (!rest) throw new LakeformError("BAD_STATEMENT", "update needs a where filter after the assignments (update t set c = v where <filter>)");
  return { set, where: rest[1].trim() };
}

export async function execute(lake: LakeService, statement: string, baseDir = process.cwd()): Promise<Output> {
  const s = statement.trim().replace(/;$/, "");
  const word = s.split(/\s+/)[0]?.toLowerCase() ?? "";
  let m: RegExpMatchArray | null;
  switch (word) {
    case "select":
    case "with":
    case "show":
    case "explain":
      return { kind: "rows", result: await lake.query(s) };
    case "insert":
      if ((m = /^insert\s+into\s+(\w+)\s+from\s+'([^']+)'$/i.exec(s))) {
        const file = path.resolve(baseDir, m[2]);
        if (!fs.existsSync(file)) throw new LakeformError("NO_FILE", `no such file: ${file}`);
        // Streamed to the object store as it is read: a file of any size, never held whole.
        const res = await lake.ingestCsv(m[1], fs.createReadStream(file), path.basename(file));
        return { kind: "text", text: `upserted ${res.rowsWritten} row(s) into ${m[1]}: commit ${res.commit}` };
      }
      if ((m = /^insert\s+into\s+(\w+)\s+values\s+([\s\S]+)$/i.exec(s))) {
        const res = await lake.insertValues(m[1], parseValues(m[2]));
        return { kind: "text", text: `upserted ${res.rowsWritten} row(s) into ${m[1]}: commit ${res.commit}` };
      }
      throw new LakeformError("BAD_STATEMENT", "insert into <table> values (...) | insert into <table> from '<file.csv>'");
    case "travel":
      if ((m = /^travel\s+(\w+)\s+as\s+of\s+('[^']+'|\S+)(?:\s+where\s+([\s\S]+?))?(?:\s+limit\s+(\d+))?$/i.exec(s))) {
        return { kind: "rows", result: await lake.travel(m[1], m[2].replace(/^'|'$/g, ""), m[4] ? Number(m[4]) : 1000, m[3]) };
      }
      throw new LakeformError("BAD_STATEMENT", "travel <table> as of <commit|'timestamp'> [where <filter>] [limit n]");
    case "delete":
      if ((m = /^delete\s+from\s+(\w+)\s+where\s+([\s\S]+)$/i.exec(s))) {
        const res = await lake.deleteRows(m[1], { where: m[2] }, "shell");
        return { kind: "text", text: res.commit ? `deleted ${res.rowsDeleted} row(s) from ${m[1]}: commit ${res.commit}` : `no row of ${m[1]} matched; nothing written` };
      }
      throw new LakeformError("BAD_STATEMENT", "delete from <table> where <filter>");
    case "update":
      if ((m = /^update\s+(\w+)\s+set\s+([\s\S]+)$/i.exec(s))) {
        const { set, where } = parseAssignments(m[2]);
        const res = await lake.updateRows(m[1], set, where, "shell");
        return { kind: "text", text: res.commit ? `updated ${res.rowsUpdated} row(s) of ${m[1]}: commit ${res.commit}` : `no row of ${m[1]} matched; nothing written` };
      }
      throw new LakeformError("BAD_STATEMENT", "update <table> set c = v [, c2 = v2] where <filter>");
    case "changes":
      if ((m = /^changes\s+(\w+)\s+since\s+('[^']+'|\S+)(?:\s+until\s+('[^']+'|\S+))?(?:\s+limit\s+(\d+))?$/i.exec(s))) {
        const unq = (v: string) => v.replace(/^'|'$/g, "");
        const res = await lake.changes(m[1], unq(m[2]), m[3] ? unq(m[3]) : undefined, m[4] ? Number(m[4]) : 10_000);
        return { kind: "rows", result: { columns: res.columns, rows: res.rows } };
      }
      throw new LakeformError("BAD_STATEMENT", "changes <table> since <commit|'timestamp'> [until <commit|'timestamp'>] [limit n]");
    case "history": {
      const t = s.split(/\s+/)[1];
      if (!t) throw new LakeformError("BAD_STATEMENT", "history <table>");
      const commits = await lake.history(t);
      return {
        kind: "rows",
        result: {
          columns: ["commit", "time", "operation", "source", "inserted", "updated", "deleted", "generation"].map((name) => ({ name, type: "varchar" })),
          rows: commits.map((c) => [c.commit, c.time, c.operation ?? "", c.source ?? "", c.rowsInserted ?? null, c.rowsUpdated ?? null, c.rowsDeleted ?? null, c.generation ?? ""]),
        },
      };
    }
    case "describe":
    case "desc": {
      const t = s.split(/\s+/)[1];
      if (!t) throw new LakeformError("BAD_STATEMENT", "describe <table>");
      const d = await lake.describe(t);
      const key = new Set(d.primaryKey);
      return {
        kind: "rows",
        result: {
          columns: [{ name: "column", type: "varchar" }, { name: "type", type: "varchar" }, { name: "key", type: "varchar" }],
          rows: d.columns.map((c) => [c.name, c.type, key.has(c.name) ? "primary key" : partitionColumns(d.partitionBy).includes(c.name) ? "partition" : ""]),
        },
      };
    }
    case "tables":
      return {
        kind: "rows",
        result: {
          columns: ["table", "format", "primary key", "in sync", "rows"].map((name) => ({ name, type: "varchar" })),
          rows: lake.tables().map((t) => [t.name, t.format, t.primaryKey.join(", "), t.status ? (t.status.inSync ? "yes" : "no") : "?", t.status?.rowCount ?? null]),
        },
      };
    case "status": {
      const st = lake.status();
      return { kind: "text", text: st ? formatStatus(st) : "no status yet: run `lakeform reconcile`" };
    }
    case "help":
      return { kind: "text", text: HELP };
    default:
      throw new LakeformError("UNKNOWN_STATEMENT", `unknown statement "${word}"; type help`);
  }
}

function print(out: Output, json: boolean): void {
  if (json) {
    const value = out.kind === "rows" ? out.result : out.kind === "json" ? out.value : { message: out.text };
    process.stdout.write(JSON.stringify(value) + "\n");
  } else if (out.kind === "rows") process.stdout.write(renderTable(out.result) + "\n");
  else process.stdout.write((out.kind === "text" ? out.text : JSON.stringify(out.value, null, 2)) + "\n");
}

function printError(err: unknown, json: boolean): void {
  const message = err instanceof LakeformError ? `${err.code}: ${err.message}` : (err as Error).message;
  if (json) process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.stderr.write(`error: ${message}\n`);
}

/** Tab completion: commands first, then table names, then columns of tables named in the line. */
export function completer(lake: LakeService, columns: Map<string, string[]>) {
  return (line: string): [string[], string] => {
    const words = line.split(/\s+/);
    const current = words[words.length - 1] ?? "";
    let candidates: string[];
    if (words.length <= 1) candidates = COMMANDS;
    else {
      let tables: string[] = [];
      try {
        tables = lake.tables().map((t) => t.name);
      } catch {
        tables = [];
      }
      const mentioned = tables.filter((t) => words.slice(0, -1).some((w) => w.replace(/^.*\./, "") === t));
      const cols = mentioned.flatMap((t) => columns.get(t) ?? []);
      candidates = [...tables, ...tables.flatMap((t) => [`hudi.default.${t}`, `iceberg.default.${t}`]), ...cols, "from", "where", "as", "of", "values", "into", "limit", "set", "since", "until"];
    }
    const hits = [...new Set(candidates)].filter((c) => c.startsWith(current.toLowerCase()));
    return [hits, current];
  };
}

/** Runs each statement of a script, printing results and errors; false when any failed. */
async function runStatements(lake: LakeService, text: string, json: boolean): Promise<boolean> {
  let ok = true;
  for (const stmt of splitStatements(text)) {
    try {
      print(await execute(lake, stmt), json);
    } catch (err) {
      printError(err, json);
      ok = false;
    }
  }
  return ok;
}

export async function runShell(lake: LakeService, opts: { command?: string; json?: boolean }): Promise<number> {
  const json = Boolean(opts.json);
  if (opts.command !== undefined || !process.stdin.isTTY) {
    return (await runStatements(lake, opts.command ?? fs.readFileSync(0, "utf8"), json)) ? 0 : 1;
  }

  // Interactive.
  const columns = new Map<string, string[]>();
  void (async () => {
    for (const t of lake.tables()) {
      const cols = t.status?.columns;
      if (cols) columns.set(t.name, cols);
    }
  })().catch(() => undefined);
  const historyFile = path.join(os.homedir(), ".lakeform_history");
  const history = fs.existsSync(historyFile) ? fs.readFileSync(historyFile, "utf8").split("\n").filter(Boolean).reverse().slice(0, 500) : [];
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, completer: completer(lake, columns), history, historySize: 500, prompt: "lake> " });
  process.stdout.write("LakeShell — one statement per line (Tab completes, help lists them, Ctrl-D quits)\n");
  rl.prompt();
  let failed = false;
  for await (const line of rl) {
    const stmt = line.trim();
    if (/^(quit|exit)\s*;?$/i.test(stmt)) break;
    if (stmt) {
      fs.appendFileSync(historyFile, stmt + "\n");
      if (!(await runStatements(lake, stmt, json))) failed = true;
    }
    rl.prompt();
  }
  rl.close();
  return failed ? 1 : 0;
}
