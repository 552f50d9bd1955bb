"""Expectations on the Arrow path (pyarrow.compute), every rule and action of expectations_spark.py
with its semantics: not_null, unique (within the batch), in, range, matches (regex.py: the pattern
in RE2's syntax when it means the same to Java's engine), filter (predicate.py: the API grammar's
tree built as pyarrow.compute calls), with warn, drop, quarantine (quarantine.py: the rows kept
in <table>__quarantine as the Spark path keeps them) or fail. A null passes every rule but
not_null; a filter must be true. Counts per rule, up to MAX_SAMPLES samples with their lines,
the commit's lakeform.expectations and the failure's text come from expectations.py, as on the
Spark path. A pattern or a filter it can't promise to evaluate alike hands the table to the
Spark path (Decline, reason logged) before anything is written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..errors import JobFailure
from ..expectations import MAX_SAMPLES, Expectation, Outcome, check_columns, sample_line
from . import predicate, regex
from . import quarantine as quarantining
from .reader import Decline

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import ArrowRead

RULES = ("not_null", "unique", "in", "range", "matches", "filter")
ACTIONS = ("warn", "drop", "quarantine", "fail")


def refusal(rules: tuple[Expectation, ...]) -> str | None:
    """Why the Arrow path can't evaluate these rules (the Spark path then writes), or None: a
    pattern RE2 reads otherwise than Java (regex.py). A filter is checked against the batch's
    columns once it is read (check)."""
    for e in rules:
        if e.rule not in RULES or e.action not in ACTIONS:
            return f"expectation {e.name} ({e.rule}, {e.action}) is evaluated by the Spark path"
        if e.rule == "matches":
            why = regex.refusal(e.pattern or "")
            if why:
                return f"expectation {e.name}'s pattern has {why}: Java's regex engine reads it on the Spark path"
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


@dataclass
class Batch:
    """What a rule is evaluated over: the rows, their columns' type names, the filter grammar's kinds."""

    table: "pa.Table"
    types: dict[str, str]
    java: quarantining.JavaText

    @property
    def kinds(self) -> dict[str, str]:
        return predicate.kinds(self.types, list(self.table.column_names))


def broken(e: Expectation, table: "pa.Table", batch: Batch | None = None) -> "pa.ChunkedArray":
    """True for a row that breaks the rule (never null): a null passes every rule but not_null,
    a filter's row breaks it unless the filter is true."""
    import pyarrow as pa
    import pyarrow.compute as pc

    b = batch or Batch(table, {}, quarantining.JavaText(None))
    if e.rule == "filter":
        try:
            tree = predicate.parse(e.filter or "", b.kinds)
        except JobFailure as err:
            # Named by its rule, as the Spark path names it (expectations_spark.broken).
            raise JobFailure(err.code, f"expectation {e.name}: filter {e.filter!r}: {err.message}") from None
        return predicate.broken(tree, table, b.types, b.kinds)
    col = table.column(e.column)
    if e.rule == "not_null":
        return pc.is_null(col)
    valid = pc.is_valid(col)
    floating = pa.types.is_floating(col.type)
    if floating and e.rule in ("unique", "in"):
        # Spark groups and compares -0.0 as 0.0 (NaN as NaN, as pyarrow's hashing does).
        col = pc.if_else(pc.equal(col, pa.scalar(0.0, col.type)), pa.scalar(0.0, col.type), col)
    if e.rule == "unique":
        counts = pc.value_counts(col)
        dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
        hit = pc.is_in(col, value_set=dup) if len(dup) else pa.chunked_array([pa.array([False] * len(table))])
        return pc.and_(valid, hit)
    if e.rule == "matches":
        # Spark: cast(string) rlike '^(?:p)$'; the text is the one the Spark path's cast gives.
        text = quarantining.texts(col, b.types.get(e.column or "", "string"), b.java)
        try:
            ok = regex.matches(text, e.pattern or "")
        except regex.Untranslatable as why:
            raise Decline(f"expectation {e.name}'s pattern has {why}") from None
    elif e.rule == "in":
        values = _values(e, list(e.values), col)
        if floating:
            values = pc.if_else(pc.equal(values, pa.scalar(0.0, values.type)), pa.scalar(0.0, values.type), values)
        ok = pc.is_in(col if not floating else pc.cast(col, values.type), value_set=values)
    else:
        ok = pa.chunked_array([pa.array([True] * len(table))])
        for bound, cmp in ((e.min, pc.greater_equal), (e.max, pc.less_equal)):
            if bound is not None:
                v = _values(e, [bound], col)[0]
                within = cmp(col, v)
                if floating:
                    # Spark orders NaN above every number: it passes a min and breaks a max.
                    nan = pc.is_nan(col)
                    within = pc.or_(within, nan) if bound is e.min else pc.and_(within, pc.invert(nan))
                ok = pc.and_(ok, within)
    return pc.fill_null(pc.and_(valid, pc.invert(ok)), False)


def _as_spark_row(v: Any) -> Any:
    """A value as the Spark path's collected Row holds it (a sample's text): timestamps in the
    process's local time without a zone, as pyspark converts them."""
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone().replace(tzinfo=None)
    return v


@dataclass
class Checked:
    """A batch checked: the rows kept, the rows for <table>__quarantine (or None), what was found."""

    kept: "pa.Table"
    quarantine: "pa.Table | None"
    outcome: Outcome


def check_all(rules: tuple[Expectation, ...], r: "ArrowRead", label: str, source_hash: str = "", java: quarantining.JavaText | None = None, with_rows: bool = True) -> Checked:
    """expectations_spark.check's and quarantine_rows' work: counts per rule, samples with their
    lines, the rows a drop or quarantine rule broke left out, the quarantined rows as the
    quarantine table holds them (texts, key, rule, reason, source, line)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = r.table
    check_columns(rules, list(table.column_names))
    batch = Batch(table, dict(r.types), java or quarantining.JavaText(None))
    out = Outcome(rules=rules)
    leave = pa.chunked_array([pa.array([False] * len(table))])
    q = pa.chunked_array([pa.array([False] * len(table))])
    marks = []
    for e in rules:
        b = broken(e, table, batch)
        marks.append(b)
        n = int(pc.sum(pc.cast(b, pa.int64())).as_py() or 0)
        out.failed[e.name] = n
        if n:
            rows = pc.indices_nonzero(b).to_pylist()[:MAX_SAMPLES]
            at = quarantining.lines(r, rows)
            for i, line in zip(rows, at):
                values: dict[str, Any] = {k: _as_spark_row(v) for k, v in table.slice(i, 1).to_pylist()[0].items()}
                out.samples.setdefault(e.name, []).append(sample_line(f"{label}, line {line}", values))
        if e.action in ("drop", "quarantine"):
            leave = pc.or_(leave, b)
        if e.action == "quarantine":
            q = pc.or_(q, b)
    out.left_out = int(pc.sum(pc.cast(leave, pa.int64())).as_py() or 0)
    out.quarantined = int(pc.sum(pc.cast(q, pa.int64())).as_py() or 0)
    kept = table.filter(pc.invert(leave)) if out.left_out else table
    rows_q = None
    if with_rows and out.quarantined and out.failure() is None:
        rows_q = quarantining.rows(rules, table, batch.types, marks, source_hash, label, lambda rows: quarantining.lines(r, rows), batch.java)
    return Checked(kept=kept, quarantine=rows_q, outcome=out)


def check(rules: tuple[Expectation, ...], r: "ArrowRead", label: str) -> tuple["pa.Table", Outcome]:
    """(the rows kept, what was found): check_all without the quarantine's rows."""
    c = check_all(rules, r, label, with_rows=False)
    return c.kept, c.outcome
