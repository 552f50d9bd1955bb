"""Bad rows quarantined, not refused (a write request's badRows "quarantine": what the reconciler
asks for the sources it applies, tables.yaml's files arriving with nobody to answer a refusal).

A bad row is one the source's reader can't give the table: a record with another number of
fields than the header, a quote left open, a value that doesn't fit its column's type (declared,
the table's or inferred), a malformed JSON line, an empty key. With badRows "quarantine" and a
schemaPolicy that doesn't say otherwise (addColumns, discardColumns; strict refuses, discardRows
leaves them out), the good rows are written and each bad row is kept in <table>__quarantine (as
expectations' quarantined rows are: its values as text, _qkey, _rule "_bad_row", _reason naming
what is wrong, _source, _line), before the table's own write, so none is lost; the count goes into
the commit (lakeform.expectations, under the rule "_bad_row"), the reply, history, the status and
/metrics. `lakeform quarantine replay` re-applies them once the data or the declared type is fixed.

The reader flags the rows as it parses them (rows(flag=True)); the key check's one parse keeps
them (batch_rows.parsed_once), so a file with no bad row costs one count over the kept rows."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .csv_source import BAD_FLAG, BAD_RAW, BAD_WHY, POSITION
from .expectations import MAX_SAMPLES, META_KEY, QKEY, QLINE, QREASON, QRULE, QSOURCE, sample_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from .formats import Format

log = logging.getLogger("lakeform.jobs")
RULE = "_bad_row"
MODES = ("refuse", "quarantine")


@dataclass
class BadRows:
    """What a write quarantined: how many rows, a few of them (where, and why), the commit."""

    rows: int
    samples: list[str] = field(default_factory=list)
    commit: str = ""

    def result(self) -> dict[str, Any]:
        """Its entry in the write reply's expectations."""
        out: dict[str, Any] = {"name": RULE, "action": "quarantine", "failed": self.rows}
        if self.samples:
            out["samples"] = self.samples
        return out

    def counts(self) -> dict[str, dict[str, Any]]:
        """Its entry in the commit's lakeform.expectations."""
        return {RULE: {"action": "quarantine", "failed": self.rows}}


def meta(plan_meta: dict[str, str], bad: BadRows) -> dict[str, str]:
    """The commit's lakeform.expectations with the bad rows counted beside the rules' counts."""
    counts = json.loads(plan_meta.get(META_KEY) or "{}")
    counts.update(bad.counts())
    return {META_KEY: json.dumps(counts, separators=(",", ":"), sort_keys=True), "rows_quarantined": str(bad.rows)}


def results(outcome: Any, bad: BadRows | None) -> list[dict[str, Any]] | None:
    """The write reply's expectations: the rules' results, then the bad rows' (None when neither)."""
    out = (outcome.results() if outcome is not None else []) + ([bad.result()] if bad is not None else [])
    return out or None


def flagged(df: "DataFrame") -> bool:
    return BAD_FLAG in df.columns


def good(df: "DataFrame") -> "DataFrame":
    """The flagged rows without the bad ones and the flag's columns."""
    from pyspark.sql import functions as F

    return df.where(~F.col(BAD_FLAG)).drop(*[c for c in df.columns if c.startswith(BAD_FLAG) or c.startswith(BAD_WHY) or c.startswith(BAD_RAW)])


def count(df: "DataFrame") -> int:
    from pyspark.sql import functions as F

    return int(df.where(F.col(BAD_FLAG)).count())


def quarantine(ctx: Any, fmt: "Format", req: Any, readers: Any, r: Any, df: "DataFrame", n: int, lines: "DataFrame | None", guard: Any) -> BadRows:
    """The n bad rows of the flagged rows `df` upserted into <table>__quarantine (one commit,
    keyed by the source's hash and the row's line, so a retry writes the same keys), the lease
    checked first; what was quarantined."""
    from pyspark.sql import functions as F

    from . import expectations_spark as expect

    t, source = req.table, req.source
    label = source.name or source.uri.rsplit("/", 1)[-1]
    names = [c for c in df.columns if c != POSITION and not c.startswith("__lf_")]
    numbered = expect.line_numbers(df, lines).where(F.col(BAD_FLAG))
    rows = numbered.select(
        expect.quarantine_key(source.hash).alias(QKEY),
        *readers.bad_text(r, names),
        F.lit(RULE).alias(QRULE),
        F.col(BAD_WHY).alias(QREASON),
        F.lit(label).alias(QSOURCE),
        F.col(expect.LINE).cast("long").alias(QLINE),
    ).localCheckpoint()
    samples = [sample_line(f"{label}, line {s[QLINE]}", {"reason": s[QREASON]}) for s in rows.orderBy(QLINE).limit(MAX_SAMPLES).collect()]
    if guard is not None:
        guard.check()
    commit = expect.write_quarantine(ctx, fmt, t, rows, {"source_hash": source.hash + ":bad", "source": source.name, "generation": req.generation})
    log.warning("table=%s: %d bad row(s) of %s quarantined in %s (commit %s), the first: %s", t.key, n, label, expect.quarantine_table(t).key, commit, samples[0] if samples else "")
    return BadRows(rows=n, samples=samples, commit=commit)
