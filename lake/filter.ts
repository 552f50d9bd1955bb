/**
 * Row filters (`where` of rows, delete, update and travel) as data: the text a caller sends is
 * parsed once, here, into a tree; the tree is type-checked against the table's columns; then
 * each engine gets it in its own form, never as the caller's text:
 *
 *   - Trino: rendered by renderTrino with Trino's own literal forms (identifiers quoted, strings as
 *     U&'…' escapes of every character that isn't a letter or a digit, numbers as DECIMAL '…').
 *   - Spark: the tree itself goes to the job server, which builds Column expressions from it
 *     (F.col, F.lit: jobs/lakeform_jobs/filter.py). No text of the caller reaches Spark's parser.
 *
 * Why not pass the text on: Spark's SQL parser reads `\'` as an escaped quote, Trino's (and this
 * grammar) doesn't, so a filter that is one condition here is another one to Spark.
 *
 * The grammar:
 *
 *   condition := disjunct (OR disjunct)* ;  disjunct := negation (AND negation)*
 *   negation  := NOT negation | ( condition ) | predicate
 *   predicate := operand (=|<>|!=|<|<=|>|>=) operand | operand [NOT] IN (operand, …)
 *              | operand [NOT] LIKE 'pattern' | operand [NOT] BETWEEN operand AND operand
 *              | operand IS [NOT] NULL | a boolean column | TRUE | FALSE
 *   operand   := a column of the table | 'string' ('' for a quote) | [-]digits[.digits] | NULL | TRUE | FALSE
 *
 * LIKE: `%` any run, `_` one character, no escape character (as Trino and the SQL standard
 * without ESCAPE). Types: a column is compared only with a column or literal of its kind
 * (text, number, boolean, date, timestamp); a date or timestamp column takes a string literal in
 * ISO form ('2026-11-24', '2026-11-24 10:00:00', no zone means UTC). Tests/fixtures/filters.json
 * holds vectors the Python side is checked against too.
 */
import { LakeformError } from "./errors";
import { quoteIdent } from "./sql";

export type Operand = { col: string } | { str: string } | { num: string } | { bool: boolean } | { null: true };
export type Comparison = "=" | "<>" | "<" | "<=" | ">" | ">=";

export type FilterNode =
  | { op: "and" | "or"; args: FilterNode[] }
  | { op: "not"; arg: FilterNode }
  | { op: "cmp"; cmp: Comparison; left: Operand; right: Operand }
  | { op: "in"; negated: boolean; value: Operand; list: Operand[] }
  | { op: "like"; negated: boolean; value: Operand; pattern: string }
  | { op: "between"; negated: boolean; value: Operand; low: Operand; high: Operand }
  | { op: "isNull"; negated: boolean; value: Operand }
  | { op: "bool"; value: Operand };

/** What the type check knows of a column: its kind, from the engine's type name. */
export type ColumnKind = "text" | "number" | "boolean" | "date" | "timestamp" | "other";

/** A column's kind from a Spark or Trino type name (string, varchar(10), bigint, decimal(12,2), timestamp(6) with time zone, …). */
export function columnKind(type: string): ColumnKind {
  const t = type.toLowerCase().trim();
  if (/^(string|varchar|char)\b/.test(t)) return "text";
  if (/^(tinyint|smallint|int|integer|bigint|long|short|byte|float|real|double|decimal|numeric)\b/.test(t)) return "number";
  if (t === "boolean") return "boolean";
  if (t === "date") return "date";
  if (/^timestamp/.test(t)) return "timestamp";
  return "other";
}

/** The most characters a filter may have, and the most digits of a number literal (Spark's and Trino's decimals hold 38). */
export const MAX_FILTER_CHARS = 2000;
const MAX_DIGITS = 38;
/** Nesting deeper than this is refused: a parser's recursion and the engines' plans stay small. */
const MAX_DEPTH = 64;

const KEYWORDS = new Set(["and", "or", "not", "in", "like", "is", "null", "between", "true", "false"]);

type Token = { kind: "string" | "number" | "word" | "compare" | "punct"; text: string; value?: string };

function tokens(text: string, bad: (m: string) => Error): Token[] {
  const re = /\s*(?:'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|<>|!=|=|<|>)|([,()]))/y;
  const out: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) {
      if (/^\s*$/.test(text.slice(pos))) break;
      const rest = text.slice(pos).trimStart();
      throw bad(rest.startsWith("'") ? "a string is not closed (a quote inside a string is written '')" : `can't read the filter at "${rest.slice(0, 20)}"`);
    }
    pos = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: "string", text: `'${m[1]}'`, value: m[1].replace(/''/g, "'") });
    else if (m[2] !== undefined) out.push({ kind: "number", text: m[2] });
    else if (m[3] !== undefined) out.push({ kind: "word", text: m[3] });
    else if (m[4] !== undefined) out.push({ kind: "compare", text: m[4] });
    else out.push({ kind: "punct", text: m[5] });
  }
  return out;
}

/** A table's columns as the parser needs them: name → type name (Spark's or Trino's). */
export type FilterColumns = ReadonlyArray<{ name: string; type: string }>;

/**
 * Parses and type-checks a filter against a table's columns: BAD_WHERE, naming what is wrong,
 * for anything outside the grammar, an unknown column, or operands of different kinds.
 */
export function parseFilter(where: string, columns: FilterColumns): FilterNode {
  const bad = (message: string) => new LakeformError("BAD_WHERE", message, { where });
  const text = where.trim();
  if (!text) throw bad("the filter is empty");
  if ([...text].length > MAX_FILTER_CHARS) throw bad(`the filter is longer than ${MAX_FILTER_CHARS} characters`);
  // A lone surrogate (half of a UTF-16 pair) is no character any engine can hold.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) throw bad("the filter holds an invalid character (a lone UTF-16 surrogate)");
  const kinds = new Map(columns.map((c) => [c.name.toLowerCase(), columnKind(c.type)]));
  const names = columns.map((c) => c.name);
  const toks = tokens(text, bad);
  let i = 0;
  let depth = 0;
  const peek = () => toks[i];
  const isWord = (w: string) => peek()?.kind === "word" && peek().text.toLowerCase() === w;
  const isPunct = (p: string) => peek()?.kind === "punct" && peek().text === p;
  const at = () => (peek() ? `at "${toks.slice(i, i + 3).map((t) => t.text).join(" ")}"` : "at the end");
  const expectPunct = (p: string) => {
    if (!isPunct(p)) throw bad(`expected "${p}" ${at()}`);
    i++;
  };
  const expectWord = (w: string) => {
    if (!isWord(w)) throw bad(`expected ${w.toUpperCase()} ${at()}`);
    i++;
  };
  const operand = (): Operand => {
    const t = peek();
    if (!t) throw bad("the filter ends where a value or column was expected");
    if (t.kind === "string") {
      i++;
      return { str: t.value ?? "" };
    }
    if (t.kind === "number") {
      i++;
      if (t.text.replace(/[-.]/g, "").length > MAX_DIGITS) throw bad(`the number ${t.text} has more than ${MAX_DIGITS} digits`);
      return { num: t.text };
    }
    if (t.kind !== "word") throw bad(`expected a value or column ${at()}`);
    const w = t.text.toLowerCase();
    if (w === "true" || w === "false") {
      i++;
      return { bool: w === "true" };
    }
    if (w === "null") {
      i++;
      return { null: true };
    }
    if (KEYWORDS.has(w)) throw bad(`expected a value or column ${at()}`);
    if (!kinds.has(w)) throw bad(`"${t.text}" is not a column of the table (columns: ${names.join(", ")})`);
    i++;
    if (isPunct("(")) throw bad("function calls are not allowed in a filter");
    return { col: w };
  };
  const kindOf = (o: Operand): ColumnKind | "string" | "null" => {
    if ("col" in o) return kinds.get(o.col) ?? "other";
    if ("str" in o) return "string";
    if ("num" in o) return "number";
    if ("bool" in o) return "boolean";
    return "null";
  };
  const describe = (o: Operand) => ("col" in o ? `column ${o.col} (${kindOf(o)})` : "str" in o ? `'${o.str.slice(0, 40)}'` : "num" in o ? o.num : "bool" in o ? String(o.bool).toUpperCase() : "NULL");
  /** Operands compared with each other must be of one kind; a string literal stands for a date or timestamp too. */
  const sameKind = (what: string, ops: Operand[]) => {
    const typed = ops.filter((o) => kindOf(o) !== "null");
    const cols = typed.filter((o) => "col" in o);
    for (const c of cols) if (kindOf(c) === "other") throw bad(`${describe(c)} can't be compared in a filter (only IS NULL applies to it)`);
    const target = cols.length > 0 ? kindOf(cols[0]) : typed.length > 0 ? kindOf(typed[0]) : "null";
    for (const o of typed) {
      const k = kindOf(o);
      if (k === target) continue;
      if (k === "string" && (target === "text" || target === "date" || target === "timestamp")) continue;
      if (target === "string" && k === "text") continue;
      throw bad(`${what}: ${describe(o)} can't be compared with ${describe(cols[0] ?? typed[0])}`);
    }
    if (target === "date" || target === "timestamp") {
      for (const o of typed) if ("str" in o) checkTemporal(o.str, target, bad);
    }
  };
  const predicate = (): FilterNode => {
    const value = operand();
    const t = peek();
    if (t?.kind === "compare") {
      i++;
      const right = operand();
      const cmp = (t.text === "!=" ? "<>" : t.text) as Comparison;
      sameKind(`${t.text}`, [value, right]);
      return { op: "cmp", cmp, left: value, right };
    }
    const negated = isWord("not");
    if (negated) i++;
    if (isWord("in")) {
      i++;
      expectPunct("(");
      const list = [operand()];
      while (isPunct(",")) {
        i++;
        list.push(operand());
      }
      expectPunct(")");
      sameKind("IN", [value, ...list]);
      return { op: "in", negated, value, list };
    }
    if (isWord("like")) {
      i++;
      const p = peek();
      if (p?.kind !== "string") throw bad(`LIKE takes a string pattern ('…') ${at()}`);
      i++;
      if (!("str" in value) && !("col" in value && kindOf(value) === "text")) throw bad(`LIKE applies to text, not ${describe(value)}`);
      return { op: "like", negated, value, pattern: p.value ?? "" };
    }
    if (isWord("between")) {
      i++;
      const low = operand();
      expectWord("and");
      const high = operand();
      sameKind("BETWEEN", [value, low, high]);
      return { op: "between", negated, value, low, high };
    }
    if (!negated && isWord("is")) {
      i++;
      const not = isWord("not");
      if (not) i++;
      expectWord("null");
      return { op: "isNull", negated: not, value };
    }
    if (negated) throw bad(`expected IN, LIKE or BETWEEN after NOT ${at()}`);
    if (kindOf(value) === "boolean") return { op: "bool", value };
    throw bad(`expected a comparison (=, <, IN, LIKE, BETWEEN, IS NULL) ${at()}`);
  };
  const nested = <T>(f: () => T): T => {
    if (++depth > MAX_DEPTH) throw bad(`the filter nests deeper than ${MAX_DEPTH} levels`);
    try {
      return f();
    } finally {
      depth--;
    }
  };
  const negation = (): FilterNode =>
    nested(() => {
      if (isWord("not")) {
        i++;
        return { op: "not", arg: negation() };
      }
      // A parenthesis opens a nested condition here (an operand never starts with one).
      if (isPunct("(")) {
        i++;
        const inner = condition();
        expectPunct(")");
        return inner;
      }
      return predicate();
    });
  const chain = (op: "and" | "or", next: () => FilterNode): FilterNode => {
    const args = [next()];
    while (isWord(op)) {
      i++;
      args.push(next());
    }
    return args.length === 1 ? args[0] : { op, args };
  };
  const disjunct = () => chain("and", negation);
  const condition = (): FilterNode => nested(() => chain("or", disjunct));
  const tree = condition();
  if (i < toks.length) throw bad(`unexpected ${at()}`);
  return tree;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z)?$/;

/** A date or timestamp literal must be a real one in ISO form: the engines would otherwise disagree (Spark reads a bad one as NULL, Trino fails). */
function checkTemporal(value: string, kind: "date" | "timestamp", bad: (m: string) => Error): void {
  const m = (kind === "date" ? DATE : TIMESTAMP).exec(value);
  const [y, mo, d, h = "0", mi = "0", s = "0"] = m ? m.slice(1, 7) : [];
  const t = m ? new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))) : undefined;
  const real =
    t !== undefined && Number(y) >= 1 && t.getUTCFullYear() === Number(y) && t.getUTCMonth() === Number(mo) - 1 && t.getUTCDate() === Number(d) && t.getUTCHours() === Number(h) && t.getUTCMinutes() === Number(mi) && t.getUTCSeconds() === Number(s);
  if (!real) throw bad(`'${value.slice(0, 40)}' is not a ${kind} (${kind === "date" ? "YYYY-MM-DD" : "YYYY-MM-DD[ hh:mm[:ss[.ffffff]]][Z], UTC"})`);
}

/** The columns a tree names. */
export function filterColumns(node: FilterNode): string[] {
  const out = new Set<string>();
  const op = (o: Operand) => "col" in o && out.add(o.col);
  const walk = (n: FilterNode): void => {
    switch (n.op) {
      case "and":
      case "or":
        n.args.forEach(walk);
        return;
      case "not":
        return walk(n.arg);
      case "cmp":
        op(n.left);
        op(n.right);
        return;
      case "in":
        op(n.value);
        n.list.forEach(op);
        return;
      case "like":
      case "isNull":
      case "bool":
        op(n.value);
        return;
      case "between":
        [n.value, n.low, n.high].forEach(op);
        return;
    }
  };
  walk(node);
  return [...out];
}

// ---------------------------------------------------------------- Trino

/**
 * A string as a Trino literal that holds no quote, backslash or control character of its own:
 * U&'…' with every character but a letter, a digit or a space written as a \XXXX or \+XXXXXX
 * escape. Whatever the text, the literal is that text and nothing else.
 */
export function trinoString(value: string): string {
  let out = "";
  for (const ch of value) {
    if (/^[A-Za-z0-9 ]$/.test(ch)) out += ch;
    else {
      const cp = ch.codePointAt(0) ?? 0;
      out += cp <= 0xffff ? `\\${cp.toString(16).padStart(4, "0")}` : `\\+${cp.toString(16).padStart(6, "0")}`;
    }
  }
  return `U&'${out}'`;
}

/** An operand in Trino's form; a string literal is read as the kind of the column it meets (a date, a timestamp, text). */
function trinoOperand(o: Operand, kind: ColumnKind | undefined): string {
  if ("col" in o) return quoteIdent(o.col);
  if ("num" in o) return `DECIMAL '${o.num}'`;
  if ("bool" in o) return o.bool ? "TRUE" : "FALSE";
  if ("null" in o) return "NULL";
  if (kind === "date") return `DATE '${o.str}'`;
  if (kind === "timestamp") {
    const [date, time = "00:00:00"] = o.str.replace(/Z$/, "").split(/[T ]/);
    return `TIMESTAMP '${date} ${time.length === 5 ? `${time}:00` : time} UTC'`;
  }
  return trinoString(o.str);
}

/** The tree as a Trino boolean expression over the table's columns (quoted), every literal in Trino's own form. */
export function renderTrino(node: FilterNode, columns: FilterColumns): string {
  const kinds = new Map(columns.map((c) => [c.name.toLowerCase(), columnKind(c.type)]));
  /** The kind a literal is read as: the kind of the column it is compared with. */
  const contextKind = (ops: Operand[]): ColumnKind | undefined => {
    for (const o of ops) if ("col" in o) return kinds.get(o.col);
    return undefined;
  };
  const list = (ops: Operand[]) => {
    const k = contextKind(ops);
    return ops.map((o) => trinoOperand(o, k));
  };
  const render = (n: FilterNode): string => {
    switch (n.op) {
      case "and":
      case "or":
        return `(${n.args.map(render).join(` ${n.op.toUpperCase()} `)})`;
      case "not":
        return `(NOT ${render(n.arg)})`;
      case "cmp": {
        const [l, r] = list([n.left, n.right]);
        return `(${l} ${n.cmp} ${r})`;
      }
      case "in": {
        const [v, ...rest] = list([n.value, ...n.list]);
        return `(${v} ${n.negated ? "NOT IN" : "IN"} (${rest.join(", ")}))`;
      }
      case "like": {
        const [v] = list([n.value]);
        return `(${v} ${n.negated ? "NOT LIKE" : "LIKE"} ${trinoString(n.pattern)})`;
      }
      case "between": {
        const [v, lo, hi] = list([n.value, n.low, n.high]);
        return `(${v} ${n.negated ? "NOT BETWEEN" : "BETWEEN"} ${lo} AND ${hi})`;
      }
      case "isNull": {
        const [v] = list([n.value]);
        return `(${v} IS ${n.negated ? "NOT NULL" : "NULL"})`;
      }
      case "bool": {
        const [v] = list([n.value]);
        return `(${v})`;
      }
    }
  };
  return render(node);
}
