/**
 * What POST /query runs: one read statement. The text is cut into tokens the way Trino's lexer
 * cuts it (string literals '…''…', quoted identifiers "…""…", `--` and `/* … *\/` comments), so
 * a `;` inside a string or a comment doesn't end the statement and one hidden behind a comment
 * still does; then the first keyword says what the statement is. Only reads pass: a session
 * property, a prepared statement, a transaction or a write would outlive or reach beyond the
 * one query the caller asked for, and the read-only Trino user is the second line, not the first.
 */
import { LakeformError } from "../lake/errors";

export type SqlTokenKind = "word" | "string" | "quoted" | "number" | "semicolon" | "punct";

export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
  /** Offsets into the statement text: [start, end). */
  start: number;
  end: number;
}

/** The statements a read begins with (after any opening parentheses). EXPLAIN is looked into. */
export const READ_KEYWORDS = ["SELECT", "WITH", "VALUES", "TABLE", "SHOW", "DESCRIBE", "EXPLAIN"] as const;
const READS = new Set<string>(READ_KEYWORDS);

const bad = (message: string) => new LakeformError("BAD_STATEMENT", message);

/**
 * Trino's tokens, comments and whitespace left out. An unterminated string, quoted identifier or
 * comment is BAD_STATEMENT here (Trino refuses it too): what follows it is never guessed at.
 */
export function sqlTokens(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  const n = sql.length;
  let i = 0;
  /** The end of a literal quoted by q, where q doubled is q itself. */
  const closing = (q: string, from: number, what: string): number => {
    for (let j = from + 1; j < n; j++) {
      if (sql[j] !== q) continue;
      if (sql[j + 1] === q) j++;
      else return j + 1;
    }
    throw bad(`the ${what} opened at offset ${from} is never closed`);
  };
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.slice(i).search(/[\r\n]/);
      i = nl < 0 ? n : i + nl;
    } else if (c === "/" && sql[i + 1] === "*") {
      // Not nested, as in Trino's grammar: the first */ closes it.
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) throw bad(`the comment opened at offset ${i} is never closed`);
      i = end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      const end = closing(c, i, c === "'" ? "string literal" : "quoted identifier");
      out.push({ kind: c === "'" ? "string" : "quoted", text: sql.slice(i, end), start: i, end });
      i = end;
    } else if (c === ";") {
      out.push({ kind: "semicolon", text: c, start: i, end: i + 1 });
      i++;
    } else {
      const word = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(sql.slice(i, i + 1024)) ?? undefined;
      const number = word ? undefined : /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i, i + 1024)) ?? undefined;
      const text = word?.[0] ?? number?.[0] ?? c;
      out.push({ kind: word ? "word" : number ? "number" : "punct", text, start: i, end: i + text.length });
      i += text.length;
    }
  }
  return out;
}

const isWord = (t: SqlToken | undefined, w: string) => t?.kind === "word" && t.text.toUpperCase() === w;

/**
 * Whether the statement in toks[from..] reads only. Opening parentheses are skipped ((SELECT 1)
 * is a query). EXPLAIN [ANALYZE] [VERBOSE] [(FORMAT …, TYPE …)] <statement>: a plain EXPLAIN
 * only plans its statement, so it passes whatever that is (Trino still checks the user may run
 * it), unless that is an EXPLAIN ANALYZE; EXPLAIN ANALYZE runs its statement, which must then be
 * a read itself.
 * Returns the refused keyword, or undefined for a read.
 */
function refusedKeyword(toks: SqlToken[], from: number): string | undefined {
  let i = from;
  while (toks[i]?.kind === "punct" && toks[i].text === "(") i++;
  const first = toks[i];
  if (!first) return "(nothing)";
  const word = first.kind === "word" ? first.text.toUpperCase() : first.text;
  if (!READS.has(word)) return word;
  if (word !== "EXPLAIN") return undefined;
  i++;
  const analyze = isWord(toks[i], "ANALYZE");
  if (analyze) i++;
  if (isWord(toks[i], "VERBOSE")) i++;
  // Explain options are FORMAT … or TYPE … in parentheses; a parenthesis before anything else opens the statement.
  if (toks[i]?.text === "(" && (isWord(toks[i + 1], "FORMAT") || isWord(toks[i + 1], "TYPE"))) {
    let depth = 0;
    for (; i < toks.length; i++) {
      if (toks[i].text === "(") depth++;
      else if (toks[i].text === ")" && --depth === 0) break;
    }
    i++;
  }
  if (!analyze) {
    // Planned, not run, unless it is itself an EXPLAIN ANALYZE: that one is looked into too.
    let j = i;
    while (toks[j]?.text === "(") j++;
    if (!isWord(toks[j], "EXPLAIN")) return undefined;
    const inner = refusedKeyword(toks, i);
    return inner === undefined ? undefined : `EXPLAIN ${inner}`;
  }
  const inner = refusedKeyword(toks, i);
  return inner === undefined ? undefined : `EXPLAIN ANALYZE ${inner}`;
}

/**
 * The one read statement of a /query body, as Trino is sent it (a trailing `;` and what follows
 * it, comments only, left out: Trino's statement API takes no `;`). Empty: EMPTY_QUERY; a second
 * statement after a `;`: MULTIPLE_STATEMENTS; anything but a read: QUERY_REFUSED.
 */
export function readStatement(sql: string): string {
  const toks = sqlTokens(sql);
  const semi = toks.findIndex((t) => t.kind === "semicolon");
  const body = semi < 0 ? toks : toks.slice(0, semi);
  if (semi >= 0 && toks.length > semi + 1) {
    throw new LakeformError("MULTIPLE_STATEMENTS", "one statement at a time: the text goes on after a `;` outside any string or comment", { at: toks[semi].start });
  }
  if (body.length === 0) throw new LakeformError("EMPTY_QUERY", "the query is empty (nothing but whitespace and comments)");
  const refused = refusedKeyword(body, 0);
  if (refused !== undefined) {
    throw new LakeformError(
      "QUERY_REFUSED",
      `POST /query runs one read statement (${READ_KEYWORDS.join(", ")}); ${refused} is refused: a session setting, prepared statement, transaction, procedure or write would reach beyond the one query asked for`,
      { statement: refused },
    );
  }
  return sql.slice(body[0].start, body[body.length - 1].end);
}
