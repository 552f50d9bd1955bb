"""Expectations (tables.yaml `expect:`, lake/expectations.ts): named rules every row of a write is
checked against inside the write, each with an action for the rows that break it: warn (written,
counted), drop (left out, counted), quarantine (left out, counted, kept in <table>__quarantine),
fail (nothing written: EXPECTATION_FAILED with the rule, the count and sample rows).

This module is the pure half: the rules parsed from a request (a bad one is a BAD_REQUEST naming
table.expect[i] and its field), the patterns checked, the counts and the commit's metadata. The
Spark evaluation is expectations_spark.py's, the Arrow path's arrow/expect.py's.

Rules: not_null; unique (no two rows of the batch share the value); in (values, compared as the
column's type); range (min and/or max, inclusive); matches (the whole value, Java regex syntax as
Spark's rlike reads it); filter (the API's filter grammar, lake/filter.ts: parsed here against the
batch's columns into a tree, built as F.col/F.lit by filter.py; never pasted into SQL). A null
passes every rule but not_null, and breaks a filter (which must be true).

Patterns: Java's regex engine backtracks, so a pattern from tables.yaml is refused when it is
longer than MAX_PATTERN_CHARS, has a backreference or a lookaround, or a quantifier inside a
quantified group (star height above 1, the shape of catastrophic backtracking: (a+)+, (a|aa)*),
read with Python's own regex parser; lake/expectations.ts refuses the same with safe-regex2."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest, JobFailure

ACTIONS = ("warn", "drop", "quarantine", "fail")
RULES = ("not_null", "unique", "in", "range", "matches", "filter")
MAX_PATTERN_CHARS = 200
MAX_IN_VALUES = 1000
MAX_SAMPLES = 3
QUARANTINE_SUFFIX = "__quarantine"
# The commit's metadata key (lakeform.expectations): {"<name>": {"action": a, "failed": n}, ...}.
META_KEY = "expectations"
# The quarantine table's own columns (the row's values come between _qkey and them, as text).
QKEY, QRULE, QREASON, QSOURCE, QLINE = "_qkey", "_rule", "_reason", "_source", "_line"
QUARANTINE_COLUMNS = (QKEY, QRULE, QREASON, QSOURCE, QLINE)


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern is refused (see the module's doc), or None."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"is longer than {MAX_PATTERN_CHARS} characters"
    try:
        import re._parser as sre_parse  # type: ignore[import-not-found]
    except ImportError:  # Python < 3.11
        import sre_parse  # type: ignore[no-redef]
    try:
        tree = sre_parse.parse(pattern)
    except Exception as e:
        return f"is not a regular expression: {e}"
    repeats = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)} - {None}
    refused = {sre_parse.GROUPREF, sre_parse.GROUPREF_EXISTS, sre_parse.ASSERT, sre_parse.ASSERT_NOT}

    def height(items: Any) -> int:
        """The deepest nesting of unbounded quantifiers; -1 for a refused construct."""
        best = 0
        for op, av in items:
            if op in refused:
                return -1
            inner: list[Any] = []
            if op in repeats:
                lo, hi, sub = av
                h = height(sub)
                if h < 0:
                    return -1
                best = max(best, h + (1 if hi is sre_parse.MAXREPEAT else 0))
                continue
            if op is sre_parse.SUBPATTERN:
                inner = [av[-1]]
            elif op is sre_parse.BRANCH:
                inner = list(av[1])
            for sub in inner:
                h = height(sub)
                if h < 0:
                    return -1
                best = max(best, h)
        return best

    h = height(tree)
    if h < 0:
        return "has a backreference or a lookaround (not supported)"
    if h > 1:
        return "may backtrack catastrophically (a quantifier inside a quantified group, such as (a+)+)"
    return None


@dataclass(frozen=True)
class Expectation:
    name: str
    rule: str
    action: str
    column: str | None = None
    values: tuple[str, ...] = ()
    min: str | None = None
    max: str | None = None
    pattern: str | None = None
    filter: str | None = None

    @property
    def leaves_out(self) -> bool:
        return self.action in ("drop", "quarantine")

    def describe(self) -> str:
        """The rule as a person reads it in a reason or a status message."""
        c = self.column
        if self.rule == "not_null":
            return f"{c} is not null"
        if self.rule == "unique":
            return f"{c} is unique in the batch"
        if self.rule == "in":
            shown = ", ".join(self.values[:5]) + (", …" if len(self.values) > 5 else "")
            return f"{c} in ({shown})"
        if self.rule == "range":
            return " and ".join(p for p in ((f"{c} >= {self.min}" if self.min is not None else ""), (f"{c} <= {self.max}" if self.max is not None else "")) if p)
        if self.rule == "matches":
            return f"{c} matches {self.pattern!r}"
        return str(self.filter)

    @staticmethod
    def parse(body: Any, i: int) -> "Expectation":
        where = f"table.expect[{i}]"
        if not isinstance(body, dict):
            raise BadRequest(f"field {where} must be an object")

        def get(name: str, kind: type, required: bool = False) -> Any:
            v = body.get(name)
            if v is None:
                if required:
                    raise BadRequest(f"missing field {where}.{name}")
                return None
            if not isinstance(v, kind):
                raise BadRequest(f"field {where}.{name} must be {kind.__name__}")
            return v

        from .types import COLUMN

        name = get("name", str, True)
        if not COLUMN.fullmatch(name):
            raise BadRequest(f"field {where}.name {name!r} is not a plain identifier")
        if name.lower() == "_bad_row":
            raise BadRequest(f"field {where}.name {name!r} is Lakeform's own (bad rows quarantined, bad_rows.py)")
        rule = get("rule", str, True)
        if rule not in RULES:
            raise BadRequest(f"field {where}.rule must be one of {', '.join(RULES)}, got {rule!r}")
        action = get("action", str) or "warn"
        if action not in ACTIONS:
            raise BadRequest(f"field {where}.action must be one of {', '.join(ACTIONS)}, got {action!r}")
        col = get("column", str)
        if rule != "filter":
            if col is None:
                raise BadRequest(f"missing field {where}.column ({rule} checks a column)")
            if not COLUMN.fullmatch(col):
                raise BadRequest(f"field {where}.column {col!r} is not a valid column name")
        values = get("values", list)
        if rule == "in":
            if not values or len(values) > MAX_IN_VALUES or not all(isinstance(v, str) for v in values):
                raise BadRequest(f"field {where}.values must be 1 to {MAX_IN_VALUES} strings")
        lo, hi = get("min", str), get("max", str)
        if rule == "range" and lo is None and hi is None:
            raise BadRequest(f"field {where} range needs min, max or both")
        pattern = get("pattern", str)
        if rule == "matches":
            if pattern is None:
                raise BadRequest(f"missing field {where}.pattern")
            why = pattern_problem(pattern)
            if why:
                raise BadRequest(f"field {where}.pattern {pattern[:60]!r} {why}")
        text = get("filter", str)
        if rule == "filter" and not (text and text.strip()):
            raise BadRequest(f"missing field {where}.filter")
        return Expectation(name=name, rule=rule, action=action, column=col, values=tuple(values or ()), min=lo, max=hi, pattern=pattern, filter=text)


def parse_all(body: Any) -> tuple[Expectation, ...]:
    if body is None:
        return ()
    if not isinstance(body, list):
        raise BadRequest("field table.expect must be a list")
    out = tuple(Expectation.parse(b, i) for i, b in enumerate(body))
    names = [e.name.lower() for e in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise BadRequest(f"field table.expect: duplicate expectation {dup}")
    return out


def check_columns(rules: tuple[Expectation, ...], columns: list[str]) -> None:
    """Every rule's column is one of the batch's (BAD_REQUEST naming the rule otherwise)."""
    for e in rules:
        if e.column is not None and e.column not in columns:
            raise JobFailure("BAD_REQUEST", f"expectation {e.name}: column {e.column} is not in the source (columns: {', '.join(columns)})")


@dataclass
class Outcome:
    """What a batch's check found: per rule, the rows that broke it and a few of them."""

    rules: tuple[Expectation, ...]
    failed: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    left_out: int = 0  # rows dropped or quarantined (a row breaking two such rules counted once)
    quarantined: int = 0

    def results(self) -> list[dict[str, Any]]:
        """The write reply's expectations: one per rule, in declared order."""
        out = []
        for e in self.rules:
            r: dict[str, Any] = {"name": e.name, "action": e.action, "failed": int(self.failed.get(e.name, 0))}
            if self.samples.get(e.name):
                r["samples"] = self.samples[e.name]
            out.append(r)
        return out

    def meta(self) -> dict[str, str]:
        """The commit's metadata: lakeform.expectations, a JSON object by rule name."""
        return {META_KEY: json.dumps({e.name: {"action": e.action, "failed": int(self.failed.get(e.name, 0))} for e in self.rules}, separators=(",", ":"), sort_keys=True)}

    def failure(self) -> JobFailure | None:
        """EXPECTATION_FAILED for the first fail rule some row broke: the rule, the count, samples."""
        for e in self.rules:
            n = self.failed.get(e.name, 0)
            if e.action == "fail" and n:
                shown = "; ".join(self.samples.get(e.name, []))
                return JobFailure("EXPECTATION_FAILED", f"expectation {e.name} ({e.describe()}, action fail): {n} row(s) broke it" + (f", e.g. {shown}" if shown else "") + "; the table was left as it was")
        return None


def counts_from_meta(meta: dict[str, str], prefix: str) -> dict[str, dict[str, Any]] | None:
    """A commit's expectation counts (lakeform.expectations), or None when it has none."""
    raw = meta.get(prefix + META_KEY)
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def sample_line(where: str, row: dict[str, Any], limit: int = 200) -> str:
    """One sample row as the status shows it: where it is, then its values."""
    text = ", ".join(f"{k}={v!r}" for k, v in row.items())
    return f"{where}: {text[:limit]}"
