"""Expectations on the Arrow path (pyarrow.compute), the same rules as expectations_spark.py's for
the rules it can promise to evaluate alike: not_null, unique (within the batch), in and range, with
warn, drop or fail. A table with a matches or filter rule (Java's regex and the filter grammar are
the Spark path's), or with a quarantine action (its rows go to <table>__quarantine through the
table's format on Spark), is handed to the Spark path (Decline, reason logged) before anything is
written."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..errors import JobFailure
from ..expectations import MAX_SAMPLES, Expectation, Outcome, check_columns, sample_line

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import ArrowRead

RULES = ("not_null", "unique", "in", "range")
ACTIONS = ("warn", "drop", "fail")


def refusal(rules: tuple[Expectation, ...]) -> str | None:
    """Why the Arrow path can't evaluate these rules (the Spark path then writes), or None."""
    for e in rules:
        if e.rule not in RULES:
            return f"expectation {e.name} ({e.rule}) is evaluated by the Spark path"
        if e.action not in ACTIONS:
            return f"expectation {e.name} quarantines: its rows go to the quarantine table through the Spark path"
    return None


def _values(e: Expectation, texts: list[str], col: "pa.ChunkedArray") -> "pa.Array":
    """A rule's values (text) as the column's type, as Spark compares them; BAD_REQUEST otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    try:
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            nums = [Decimal(v) for v in texts]
            if pa.types.is_integer(t) and all(n == n.to_integral_value() for n in nums):
                return pa.array([int(n) for n in nums], t)
            return pa.array([float(n) for n in nums], pa.float64())
        if pa.types.is_boolean(t):
            if any(v.strip().lower() not in ("true", "false") for v in texts):
                raise ValueError
            return pa.array([v.strip().lower() == "true" for v in texts], pa.bool_())
        return pc.cast(pa.array(texts, pa.string()), t)
    except (ValueError, InvalidOperation, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise JobFailure("BAD_REQUEST", f"expectation {e.name}: {texts[:3]!r} are not values of column {e.column} ({t})") from None


def broken(e: Expectation, table: "pa.Table") -> "pa.ChunkedArray":
    """True for a row that breaks the rule (never null): a null passes every rule but not_null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(e.column)
    if e.rule == "not_null":
        return pc.is_null(col)
    valid = pc.is_valid(col)
    if e.rule == "unique":
        counts = pc.value_counts(col)
        dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
        hit = pc.is_in(col, value_set=dup) if len(dup) else pa.chunked_array([pa.array([False] * len(table))])
        return pc.and_(valid, hit)
    if e.rule == "in":
        ok = pc.is_in(col, value_set=_values(e, list(e.values), col))
    else:
        ok = pa.chunked_array([pa.array([True] * len(table))])
        for bound, cmp in ((e.min, pc.greater_equal), (e.max, pc.less_equal)):
            if bound is not None:
                v = _values(e, [bound], col)[0]
                ok = pc.and_(ok, cmp(col, v))
    return pc.fill_null(pc.and_(valid, pc.invert(ok)), False)


def check(rules: tuple[Expectation, ...], r: "ArrowRead", label: str) -> tuple["pa.Table", Outcome]:
    """(the rows kept, what was found): counts per rule, samples with their lines, drop rows left out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = r.table
    check_columns(rules, list(table.column_names))
    out = Outcome(rules=rules)
    leave = pa.chunked_array([pa.array([False] * len(table))])
    for e in rules:
        b = broken(e, table)
        n = int(pc.sum(pc.cast(b, pa.int64())).as_py() or 0)
        out.failed[e.name] = n
        if n:
            rows = pc.indices_nonzero(b).to_pylist()[:MAX_SAMPLES] if hasattr(pc, "indices_nonzero") else [i for i, x in enumerate(b.to_pylist()) if x][:MAX_SAMPLES]
            for i in rows:
                values: dict[str, Any] = table.slice(i, 1).to_pylist()[0]
                out.samples.setdefault(e.name, []).append(sample_line(f"{label}, line {r.line_of(i)}", values))
        if e.action == "drop":
            leave = pc.or_(leave, b)
    out.left_out = int(pc.sum(pc.cast(leave, pa.int64())).as_py() or 0)
    kept = table.filter(pc.invert(leave)) if out.left_out else table
    return kept, out
