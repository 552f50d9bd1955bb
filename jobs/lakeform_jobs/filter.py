"""Row filters as data: the tree lake/filter.ts parses a caller's `where` into, checked here
against the table's schema and turned into a Spark Column (F.col, F.lit). No text of a caller
ever reaches Spark's SQL parser: Spark reads `\\'` as an escaped quote where Trino and the API's
grammar don't, so text that passed the API's check could be another filter to Spark.

The tree (JSON), as lake/filter.ts's FilterNode:
  {"op": "and"|"or", "args": [node, ...]}        {"op": "not", "arg": node}
  {"op": "cmp", "cmp": "="|"<>"|"<"|"<="|">"|">=", "left": operand, "right": operand}
  {"op": "in", "negated": bool, "value": operand, "list": [operand, ...]}
  {"op": "like", "negated": bool, "value": operand, "pattern": str}      (no escape character)
  {"op": "between", "negated": bool, "value": operand, "low": operand, "high": operand}
  {"op": "isNull", "negated": bool, "value": operand}                     {"op": "bool", "value": operand}
  operand: {"col": name} | {"str": text} | {"num": "-12.5"} | {"bool": true} | {"null": true}

The grammar's text form, for change documents journaled before filters were sent as trees (a
rebuild replays them), is read by filter_text.py; tests/fixtures/filters.json holds the vectors
both languages are checked against.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import JobFailure

if TYPE_CHECKING:
    from pyspark.sql import Column
    from pyspark.sql.types import StructType

MAX_DEPTH = 64
MAX_NODES = 2000
MAX_DIGITS = 38
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z)?$")


def bad(message: str) -> JobFailure:
    return JobFailure("BAD_WHERE", message)


def column_kind(type_name: str) -> str:
    """A column's kind from a Spark type name (lake/filter.ts columnKind)."""
    t = type_name.lower().strip()
    if re.match(r"^(string|varchar|char)\b", t):
        return "text"
    if re.match(r"^(tinyint|smallint|int|integer|bigint|long|short|byte|float|real|double|decimal|numeric)\b", t):
        return "number"
    if t == "boolean":
        return "boolean"
    if t == "date":
        return "date"
    if t.startswith("timestamp"):
        return "timestamp"
    return "other"


# ------------------------------------------------------------------------------- the tree, checked


def _operand(o: Any, kinds: dict[str, str]) -> dict[str, Any]:
    if not isinstance(o, dict) or len(o) != 1:
        raise bad(f"an operand must be one of col, str, num, bool, null: {str(o)[:80]}")
    (key, value), = o.items()
    if key == "col":
        if not isinstance(value, str) or value not in kinds:
            raise bad(f"{str(value)[:80]!r} is not a column of the table (columns: {', '.join(kinds)})")
    elif key == "str":
        if not isinstance(value, str):
            raise bad("a str operand holds text")
    elif key == "num":
        if not isinstance(value, str) or not NUMBER.fullmatch(value) or len(value.replace("-", "").replace(".", "")) > MAX_DIGITS:
            raise bad(f"{str(value)[:80]!r} is not a number of up to {MAX_DIGITS} digits")
    elif key == "bool":
        if not isinstance(value, bool):
            raise bad("a bool operand holds true or false")
    elif key == "null":
        if value is not True:
            raise bad("a null operand is {\"null\": true}")
    else:
        raise bad(f"unknown operand {key!r}")
    return o


def _kind(o: dict[str, Any], kinds: dict[str, str]) -> str:
    if "col" in o:
        return kinds[o["col"]]
    return {"str": "string", "num": "number", "bool": "boolean", "null": "null"}[next(iter(o))]


def _same_kind(ops: list[dict[str, Any]], kinds: dict[str, str]) -> None:
    typed = [o for o in ops if _kind(o, kinds) != "null"]
    cols = [o for o in typed if "col" in o]
    for c in cols:
        if kinds[c["col"]] == "other":
            raise bad(f"column {c['col']} can't be compared in a filter (only IS NULL applies to it)")
    target = _kind(cols[0], kinds) if cols else (_kind(typed[0], kinds) if typed else "null")
    for o in typed:
        k = _kind(o, kinds)
        if k == target or (k == "string" and target in ("text", "date", "timestamp")) or (target == "string" and k == "text"):
            continue
        raise bad(f"operands of different kinds can't be compared: {k} and {target}")
    if target in ("date", "timestamp"):
        for o in typed:
            if "str" in o:
                _temporal(o["str"], target)


def check(node: Any, kinds: dict[str, str]) -> dict[str, Any]:
    """Checks a tree's shape and types against the table's columns (name -> kind); BAD_WHERE otherwise."""
    count = 0

    def walk(n: Any, depth: int) -> None:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            raise bad(f"the filter is deeper than {MAX_DEPTH} levels or has more than {MAX_NODES} parts")
        if not isinstance(n, dict) or not isinstance(n.get("op"), str):
            raise bad("a filter node is an object with an op")
        op = n["op"]
        negated = n.get("negated", False)
        if not isinstance(negated, bool):
            raise bad("negated is true or false")
        if op in ("and", "or"):
            args = n.get("args")
            if not isinstance(args, list) or len(args) < 2:
                raise bad(f"{op} takes two or more args")
            for a in args:
                walk(a, depth + 1)
        elif op == "not":
            walk(n.get("arg"), depth + 1)
        elif op == "cmp":
            if n.get("cmp") not in COMPARISONS:
                raise bad(f"unknown comparison {str(n.get('cmp'))[:10]!r}")
            _same_kind([_operand(n.get("left"), kinds), _operand(n.get("right"), kinds)], kinds)
        elif op == "in":
            items = n.get("list")
            if not isinstance(items, list) or not items:
                raise bad("IN takes a list of one or more operands")
            _same_kind([_operand(n.get("value"), kinds), *[_operand(o, kinds) for o in items]], kinds)
        elif op == "like":
            v = _operand(n.get("value"), kinds)
            if not isinstance(n.get("pattern"), str):
                raise bad("LIKE takes a string pattern")
            if not ("str" in v or ("col" in v and kinds[v["col"]] == "text")):
                raise bad("LIKE applies to text")
        elif op == "between":
            _same_kind([_operand(n.get(k), kinds) for k in ("value", "low", "high")], kinds)
        elif op == "isNull":
            _operand(n.get("value"), kinds)
        elif op == "bool":
            v = _operand(n.get("value"), kinds)
            if _kind(v, kinds) != "boolean":
                raise bad("a predicate on its own must be a boolean column, TRUE or FALSE")
        else:
            raise bad(f"unknown filter op {op[:20]!r}")

    walk(node, 0)
    return node


def _temporal(value: str, kind: str) -> dt.date | dt.datetime:
    m = (DATE if kind == "date" else TIMESTAMP).fullmatch(value)
    try:
        if not m:
            raise ValueError
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if kind == "date":
            return dt.date(y, mo, d)
        h, mi, s = (int(m.group(i) or 0) for i in (4, 5, 6))
        micros = int((m.group(7) or "").ljust(6, "0"))
        return dt.datetime(y, mo, d, h, mi, s, micros, tzinfo=dt.timezone.utc)
    except ValueError:
        raise bad(f"{value[:40]!r} is not a {kind} (ISO form; no zone means UTC)") from None


# ------------------------------------------------------------------------------- the tree as a Column


def kinds_of(schema: "StructType", names: list[str] | None = None) -> dict[str, str]:
    """name -> kind of a DataFrame's columns (the user columns `names` only, when given)."""
    fields = {f.name: f for f in schema.fields}
    return {n: column_kind(fields[n].dataType.simpleString()) for n in (names if names is not None else list(fields))}


def to_column(node: dict[str, Any], kinds: dict[str, str]) -> "Column":
    """The checked tree as a Spark boolean Column: columns by name, every value a literal (F.lit)."""
    from pyspark.sql import functions as F

    check(node, kinds)

    def context(ops: list[dict[str, Any]]) -> str | None:
        for o in ops:
            if "col" in o:
                return kinds[o["col"]]
        return None

    def operand(o: dict[str, Any], kind: str | None) -> "Column":
        if "col" in o:
            return F.col("`" + o["col"].replace("`", "``") + "`")
        if "num" in o:
            return F.lit(Decimal(o["num"]))
        if "bool" in o:
            return F.lit(o["bool"])
        if "null" in o:
            return F.lit(None)
        if kind in ("date", "timestamp"):
            return F.lit(_temporal(o["str"], kind))
        return F.lit(o["str"])

    def ops(items: list[dict[str, Any]]) -> list["Column"]:
        k = context(items)
        return [operand(o, k) for o in items]

    def build(n: dict[str, Any]) -> "Column":
        op = n["op"]
        neg = n.get("negated", False)
        if op == "and" or op == "or":
            out = build(n["args"][0])
            for a in n["args"][1:]:
                out = (out & build(a)) if op == "and" else (out | build(a))
            return out
        if op == "not":
            return ~build(n["arg"])
        if op == "cmp":
            left, right = ops([n["left"], n["right"]])
            return {
                "=": lambda: left == right,
                "<>": lambda: left != right,
                "<": lambda: left < right,
                "<=": lambda: left <= right,
                ">": lambda: left > right,
                ">=": lambda: left >= right,
            }[n["cmp"]]()
        if op == "in":
            value, *items = ops([n["value"], *n["list"]])
            c = value.isin(*items)
        elif op == "like":
            (value,) = ops([n["value"]])
            # Spark's LIKE escapes with a backslash; the grammar's LIKE has no escape character
            # (Trino's default): each backslash of the pattern stands for itself.
            c = value.like(n["pattern"].replace("\\", "\\\\"))
        elif op == "between":
            value, low, high = ops([n["value"], n["low"], n["high"]])
            c = (value >= low) & (value <= high)
        elif op == "isNull":
            (value,) = ops([n["value"]])
            return value.isNotNull() if neg else value.isNull()
        else:  # bool
            (value,) = ops([n["value"]])
            return value
        return ~c if neg else c

    return build(node)


def from_request(filter_tree: Any, where: Any, kinds: dict[str, str]) -> dict[str, Any] | None:
    """The checked tree of a request or change document: its `filter`, or (journaled before
    trees) its `where` text parsed by the grammar. None when it has neither."""
    if filter_tree is not None:
        return check(filter_tree, kinds)
    if where is not None:
        if not isinstance(where, str):
            raise bad("where is the filter's text")
        from .filter_text import parse_text

        return parse_text(where, kinds)
    return None

