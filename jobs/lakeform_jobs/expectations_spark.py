"""Expectations on the Spark path (both formats): each rule a boolean Column over the batch's typed
rows (F.col, F.lit: no text of tables.yaml reaches Spark's SQL parser; a filter is parsed into
filter.py's tree first), counted in one aggregation, the rows a drop or quarantine rule breaks
left out, and the quarantined ones written to <table>__quarantine in the table's format (the row's
values as text, plus _qkey, _rule, _reason, _source, _line) before the table's own write, so a
quarantined row is never lost: a retry upserts the same keys."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .csv_source import ID_BITS, POSITION
from .expectations import MAX_SAMPLES, QKEY, QLINE, QREASON, QRULE, QSOURCE, QUARANTINE_COLUMNS, QUARANTINE_SUFFIX, Expectation, Outcome, check_columns, sample_line
from .filter import _temporal, kinds_of, to_column
from .filter_text import parse_text
from .errors import JobFailure

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from .formats import Format
    from .types import Table

log = logging.getLogger("lakeform.jobs")
BROKE = "__lf_broke_"
LINE = "__lf_line"


def _literal(value: str, kind: str, e: Expectation) -> Any:
    """A rule's value (text in the request) as the column's kind: a number, a date, a boolean."""
    try:
        if kind == "number":
            return Decimal(value)
        if kind in ("date", "timestamp"):
            return _temporal(value, kind)
        if kind == "boolean":
            if value.strip().lower() not in ("true", "false"):
                raise ValueError
            return value.strip().lower() == "true"
    except (ValueError, ArithmeticError, JobFailure):
        raise JobFailure("BAD_REQUEST", f"expectation {e.name}: {value!r} is not a {kind} (column {e.column})") from None
    return value


def broken(e: Expectation, df: "DataFrame") -> "Column":
    """True for a row that breaks the rule (never null)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    kinds = kinds_of(df.schema, [c for c in df.columns if not c.startswith("__lf_")])
    if e.rule == "filter":
        try:
            tree = parse_text(e.filter or "", kinds)
        except JobFailure as err:
            # Named by its rule: the filter is tables.yaml's, checked against this batch's columns.
            raise JobFailure(err.code, f"expectation {e.name}: filter {e.filter!r}: {err.message}") from None
        return F.coalesce(~to_column(tree, kinds), F.lit(True))
    c = F.col(f"`{e.column}`")
    kind = kinds.get(e.column or "", "other")
    if e.rule == "not_null":
        return c.isNull()
    if e.rule == "unique":
        return c.isNotNull() & (F.count(F.lit(1)).over(Window.partitionBy(c)) > 1)
    if e.rule == "in":
        cond = c.isin(*[_literal(v, kind, e) for v in e.values])
    elif e.rule == "range":
        if kind not in ("number", "date", "timestamp", "text"):
            raise JobFailure("BAD_REQUEST", f"expectation {e.name}: range applies to numbers, dates, timestamps and text, not column {e.column}")
        cond = F.lit(True)
        if e.min is not None:
            cond = cond & (c >= F.lit(_literal(e.min, kind, e)))
        if e.max is not None:
            cond = cond & (c <= F.lit(_literal(e.max, kind, e)))
    else:  # matches: the whole value, Java's regex (rlike finds; anchored here)
        cond = c.cast("string").rlike(f"^(?:{e.pattern})$")
    return c.isNotNull() & ~cond


def line_numbers(df: "DataFrame", position_source: "DataFrame | None") -> "DataFrame":
    """df with LINE: the row's line in the file (text sources: POSITION is the line's id, mapped
    through the lines per partition) or its ordinal (other sources: POSITION's own partitions)."""
    from pyspark.sql import functions as F

    src = position_source if position_source is not None else df
    id_col = src.columns[0] if position_source is not None else POSITION
    counts = sorted((int(r["p"]), int(r["n"])) for r in src.groupBy(F.shiftright(F.col(id_col), ID_BITS).alias("p")).agg(F.count("*").alias("n")).collect())
    before, total = {}, 0
    for p, n in counts:
        before[p] = total
        total += n
    part = F.shiftright(F.col(POSITION), ID_BITS)
    offset = F.lit(0)
    for p, b in before.items():
        offset = F.when(part == p, F.lit(b)).otherwise(offset)
    return df.withColumn(LINE, offset + F.col(POSITION).bitwiseAND(F.lit((1 << ID_BITS) - 1)) + 1)


def check(rules: tuple[Expectation, ...], df: "DataFrame", label: str, lines: "DataFrame | None" = None) -> tuple["DataFrame", "DataFrame | None", Outcome]:
    """The batch checked: (rows kept, rows quarantined or None, what was found). `df` has
    POSITION; `lines` is the text source's lines (their ids first) for line numbers."""
    from pyspark.sql import functions as F

    user = [c for c in df.columns if c != POSITION and not c.startswith("__lf_")]
    check_columns(rules, user)
    marked = df
    for i, e in enumerate(rules):
        marked = marked.withColumn(f"{BROKE}{i}", broken(e, df))
    marked = marked.localCheckpoint()
    out = Outcome(rules=rules)
    leave = F.lit(False)
    quarantine = F.lit(False)
    for i, e in enumerate(rules):
        if e.action in ("drop", "quarantine"):
            leave = leave | F.col(f"{BROKE}{i}")
        if e.action == "quarantine":
            quarantine = quarantine | F.col(f"{BROKE}{i}")
    aggs = [F.sum(F.col(f"{BROKE}{i}").cast("long")).alias(f"n{i}") for i in range(len(rules))]
    row = marked.agg(*aggs, F.sum(leave.cast("long")).alias("left"), F.sum(quarantine.cast("long")).alias("q")).first()
    for i, e in enumerate(rules):
        out.failed[e.name] = int(row[f"n{i}"] or 0)
    out.left_out, out.quarantined = int(row["left"] or 0), int(row["q"] or 0)
    hit = [i for i, e in enumerate(rules) if out.failed[e.name]]
    if hit:
        numbered = line_numbers(marked, lines)
        for i in hit:
            e = rules[i]
            for r in numbered.where(F.col(f"{BROKE}{i}")).orderBy(POSITION).limit(MAX_SAMPLES).collect():
                d = r.asDict()
                out.samples.setdefault(e.name, []).append(sample_line(f"{label}, line {d[LINE]}", {c: d[c] for c in user}))
        if out.quarantined:
            marked = numbered
        log.info("expectations on %s: %s", label, ", ".join(f"{e.name} ({e.action}) {out.failed[e.name]}" for e in rules))
    kept = marked.where(~leave).drop(*[f"{BROKE}{i}" for i in range(len(rules))], LINE)
    q = None
    if out.quarantined:
        q = marked.where(quarantine)
    return kept, q, out


def quarantine_key(source_hash: str) -> "Column":
    """A quarantined row's _qkey: the source's hash and the row's LINE, so a retry writes the same keys."""
    from pyspark.sql import functions as F

    return F.concat(F.lit(source_hash[:16] + ":"), F.col(LINE).cast("string"))


def quarantine_rows(rules: tuple[Expectation, ...], q: "DataFrame", user: list[str], source_hash: str, source_name: str) -> "DataFrame":
    """The quarantine table's rows: its key (the source's hash and the line), the first
    quarantine rule each row broke and why, the source and line, and every value as text."""
    from pyspark.sql import functions as F

    rule = F.lit(None).cast("string")
    reason = F.lit(None).cast("string")
    for i in reversed(range(len(rules))):
        e = rules[i]
        if e.action != "quarantine":
            continue
        rule = F.when(F.col(f"{BROKE}{i}"), F.lit(e.name)).otherwise(rule)
        reason = F.when(F.col(f"{BROKE}{i}"), F.lit(f"broke {e.describe()}")).otherwise(reason)
    key = quarantine_key(source_hash)
    return q.select(
        key.alias(QKEY),
        *[F.col(f"`{c}`").cast("string").alias(c) for c in user],
        rule.alias(QRULE),
        reason.alias(QREASON),
        F.lit(source_name).alias(QSOURCE),
        F.col(LINE).cast("long").alias(QLINE),
    )


def quarantine_table(t: "Table") -> "Table":
    """<table>__quarantine: the table's format, database and location's sibling, keyed by _qkey."""
    from .readers import DeclaredColumns

    return replace(
        t, name=t.name + QUARANTINE_SUFFIX, location=t.location + QUARANTINE_SUFFIX, primary_key=[QKEY], ordering_field=None,
        partition_by=[], schema_policy="addColumns", delete_when=None, columns=DeclaredColumns(), expect=(),
    )


def write_quarantine(ctx: Any, fmt: "Format", t: "Table", rows: "DataFrame", meta: dict[str, str]) -> str:
    """Upserts the quarantined rows into <table>__quarantine (made on first use); its commit."""
    from .formats.base import WritePlan

    qt = quarantine_table(t)
    exists = ctx.catalog.has(qt) and fmt.files_exist(qt)
    visible = fmt.user_columns(ctx.spark.table(fmt.qualified(qt))) if exists else []
    new_cols = [c for c in rows.columns if exists and c not in visible]
    missing = [c for c in visible if c not in rows.columns]
    if missing:
        from pyspark.sql import functions as F

        rows = rows.select(*rows.columns, *[F.lit(None).cast("string").alias(c) for c in missing])
    tag = hashlib.sha256((meta.get("source_hash", "") + ":q").encode()).hexdigest()
    plan = WritePlan(keys=[QKEY], meta={**meta, "source_hash": tag}, exists=exists, existing_cols=visible, new_cols=new_cols, bulk=not exists)
    return fmt.write(qt, rows.localCheckpoint(), plan)


def apply(ctx: Any, fmt: "Format", req: Any, df: "DataFrame", lines: "DataFrame | None", guard: Any) -> tuple["DataFrame", Outcome]:
    """A write's expectations (write.py, the Spark path): a fail rule some row broke refuses the
    write (EXPECTATION_FAILED, nothing committed); quarantined rows are upserted into
    <table>__quarantine first (the lease checked before); the rows kept and what was found."""
    t, source = req.table, req.source
    label = source.name or source.uri.rsplit("/", 1)[-1]
    kept, quarantined, outcome = check(t.expect, df, label, lines)
    failure = outcome.failure()
    if failure is not None:
        raise failure
    if quarantined is not None:
        user = [c for c in df.columns if c != POSITION and not c.startswith("__lf_")]
        rows = quarantine_rows(t.expect, quarantined, user, source.hash, label)
        if guard is not None:
            guard.check()
        commit = write_quarantine(ctx, fmt, t, rows, {"source_hash": source.hash, "source": source.name, "generation": req.generation})
        log.warning("table=%s: %d row(s) of %s quarantined in %s (commit %s)", t.key, outcome.quarantined, label, quarantine_table(t).key, commit)
    return kept, outcome


def remove_replayed(ctx: Any, fmt: "Format", req: Any) -> int:
    """A quarantine replay's rows (req.quarantine_keys) removed from the quarantine table, once the table's write committed."""
    t, source = req.table, req.source
    removed = remove_quarantined(ctx, fmt, t, list(req.quarantine_keys), {"source_hash": source.hash, "source": source.name, "generation": req.generation})
    log.info("table=%s: quarantine replay %s applied; %d row(s) removed from %s", t.key, source.name, removed, quarantine_table(t).key)
    return removed


__all__ = ["QUARANTINE_COLUMNS", "apply", "check", "quarantine_rows", "quarantine_table", "remove_replayed", "write_quarantine", "broken"]


def remove_quarantined(ctx: Any, fmt: "Format", t: "Table", keys: list[str], meta: dict[str, str]) -> int:
    """A quarantine replay's last step: the replayed rows (by _qkey) removed from
    <table>__quarantine in one commit, once the table's own write committed. How many."""
    from pyspark.sql import functions as F

    from .formats.base import WritePlan

    qt = quarantine_table(t)
    if not keys or not (ctx.catalog.has(qt) and fmt.files_exist(qt)):
        return 0
    current = ctx.spark.table(fmt.qualified(qt))
    wanted = ctx.spark.createDataFrame([(k,) for k in keys], f"{QKEY} string")
    rows = current.join(F.broadcast(wanted), QKEY, "left_semi").localCheckpoint()
    n = rows.count()
    if n == 0:
        return 0
    visible = fmt.user_columns(current)
    tag = hashlib.sha256((meta.get("source_hash", "") + ":qdel").encode()).hexdigest()
    fmt.delete(qt, rows.select(*[F.col(f"`{c}`") for c in visible]), WritePlan(keys=[QKEY], meta={**meta, "source_hash": tag}, exists=True, existing_cols=visible, new_cols=[]))
    return n
