"""A row filter's text form, the API's grammar (lake/filter.ts parseFilter), read into the tree
filter.py checks: only for change documents journaled with a `where` text before filters were
sent as trees (a rebuild replays them). Nothing of the text reaches Spark's SQL parser."""

from __future__ import annotations

import re
from typing import Any

from .filter import MAX_DEPTH, bad, check

_TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|<>|!=|=|<|>)|([,()]))")
_KEYWORDS = {"and", "or", "not", "in", "like", "is", "null", "between", "true", "false"}


def parse_text(where: str, kinds: dict[str, str]) -> dict[str, Any]:
    """The grammar's text (lake/filter.ts parseFilter) as a checked tree: for change documents
    journaled with a `where` text before filters were sent as trees."""
    text = where.strip()
    if not text:
        raise bad("the filter is empty")
    toks: list[tuple[str, str, str | None]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if not text[pos:].strip():
                break
            raise bad(f"can't read the filter at {text[pos:].strip()[:20]!r}")
        pos = m.end()
        if m.group(1) is not None:
            toks.append(("string", m.group(0).strip(), m.group(1).replace("''", "'")))
        elif m.group(2) is not None:
            toks.append(("number", m.group(2), None))
        elif m.group(3) is not None:
            toks.append(("word", m.group(3), None))
        elif m.group(4) is not None:
            toks.append(("compare", m.group(4), None))
        else:
            toks.append(("punct", m.group(5), None))
    i = 0

    def peek() -> tuple[str, str, str | None] | None:
        return toks[i] if i < len(toks) else None

    def is_word(w: str) -> bool:
        t = peek()
        return t is not None and t[0] == "word" and t[1].lower() == w

    def is_punct(p: str) -> bool:
        t = peek()
        return t is not None and t[0] == "punct" and t[1] == p

    def expect(kind: str, value: str) -> None:
        nonlocal i
        if not (is_punct(value) if kind == "punct" else is_word(value)):
            raise bad(f"expected {value.upper()}")
        i += 1

    def operand() -> dict[str, Any]:
        nonlocal i
        t = peek()
        if t is None:
            raise bad("the filter ends where a value or column was expected")
        i += 1
        if t[0] == "string":
            return {"str": t[2]}
        if t[0] == "number":
            return {"num": t[1]}
        if t[0] != "word":
            raise bad(f"expected a value or column at {t[1]!r}")
        w = t[1].lower()
        if w in ("true", "false"):
            return {"bool": w == "true"}
        if w == "null":
            return {"null": True}
        if w in _KEYWORDS or w not in kinds:
            raise bad(f"{t[1]!r} is not a column of the table")
        if is_punct("("):
            raise bad("function calls are not allowed in a filter")
        return {"col": w}

    def predicate() -> dict[str, Any]:
        nonlocal i
        value = operand()
        t = peek()
        if t is not None and t[0] == "compare":
            i += 1
            return {"op": "cmp", "cmp": "<>" if t[1] == "!=" else t[1], "left": value, "right": operand()}
        negated = is_word("not")
        if negated:
            i += 1
        if is_word("in"):
            i += 1
            expect("punct", "(")
            items = [operand()]
            while is_punct(","):
                i += 1
                items.append(operand())
            expect("punct", ")")
            return {"op": "in", "negated": negated, "value": value, "list": items}
        if is_word("like"):
            i += 1
            p = peek()
            if p is None or p[0] != "string":
                raise bad("LIKE takes a string pattern")
            i += 1
            return {"op": "like", "negated": negated, "value": value, "pattern": p[2]}
        if is_word("between"):
            i += 1
            low = operand()
            expect("word", "and")
            return {"op": "between", "negated": negated, "value": value, "low": low, "high": operand()}
        if not negated and is_word("is"):
            i += 1
            neg = is_word("not")
            if neg:
                i += 1
            expect("word", "null")
            return {"op": "isNull", "negated": neg, "value": value}
        if negated:
            raise bad("expected IN, LIKE or BETWEEN after NOT")
        return {"op": "bool", "value": value}

    def negation(depth: int) -> dict[str, Any]:
        nonlocal i
        if depth > MAX_DEPTH:
            raise bad(f"the filter nests deeper than {MAX_DEPTH} levels")
        if is_word("not"):
            i += 1
            return {"op": "not", "arg": negation(depth + 1)}
        if is_punct("("):
            i += 1
            inner = condition(depth + 1)
            expect("punct", ")")
            return inner
        return predicate()

    def chain(op: str, nxt: Any, depth: int) -> dict[str, Any]:
        nonlocal i
        args = [nxt(depth)]
        while is_word(op):
            i += 1
            args.append(nxt(depth))
        return args[0] if len(args) == 1 else {"op": op, "args": args}

    def condition(depth: int) -> dict[str, Any]:
        return chain("or", lambda d: chain("and", negation, d), depth)

    tree = condition(0)
    if i < len(toks):
        raise bad(f"unexpected {toks[i][1]!r}")
    return check(tree, kinds)
