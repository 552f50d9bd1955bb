"""Quarantine on the Arrow path: the rows a quarantine rule broke, upserted into <table>__quarantine
by pyiceberg, the table expectations_spark.write_quarantine keeps: the same table
(quarantine_table: the sibling location, keyed by _qkey), the same columns and types (_qkey, the
row's values as text, _rule, _reason, _source as string, _line as bigint), the same keys
(the source hash's first 16 characters, ':', the line), the same commit tag (lakeform.source_hash
= sha256(source hash + ':q')), so the Spark path, Trino and a quarantine replay read what either
path wrote, and either path upserts into the other's.

A value's text is Spark's cast to string, which the Spark path writes: integers' and booleans'
as pyarrow casts them; doubles and floats by the JVM's own Double.toString / Float.toString
(java.util.Arrays.toString over the values, through the job server's py4j gateway: Java 17's
digits are not always the shortest, so no Python formatting is the same); timestamps as Spark
formats them in the session's zone (UTC: 2024-01-15 10:30:00, a fraction without its trailing
zeros), dates as yyyy-MM-dd, decimals as Java's BigDecimal.toString (Python's Decimal str is the
same specification). A value no rule here writes alike raises Decline (before anything is written)."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from typing import TYPE_CHECKING, Any, Callable

from ..expectations import QKEY, QLINE, QREASON, QRULE, QSOURCE, Expectation
from .reader import Decline, record_lines

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import ArrowRead


class JavaText:
    """Java's text of doubles and floats (Spark's cast to string), through a JVM (py4j), or None."""

    def __init__(self, spark: Any | None):
        self.spark = spark

    def zone(self) -> str | None:
        if self.spark is None:
            return None
        try:
            return str(self.spark.conf.get("spark.sql.session.timeZone"))
        except Exception:
            return None

    def floating(self, values: list[float], single: bool) -> list[str]:
        if not values:
            return []
        if self.spark is None:
            raise Decline("a double's text is Java's Double.toString, and no JVM is at hand")
        jvm = self.spark._jvm
        gateway = self.spark.sparkContext._gateway
        kind, code, view = (jvm.float, "f", "asFloatBuffer") if single else (jvm.double, "d", "asDoubleBuffer")
        arr = gateway.new_array(kind, len(values))
        buf = jvm.java.nio.ByteBuffer.wrap(struct.pack(f">{len(values)}{code}", *values))
        getattr(buf, view)().get(arr)
        text = str(jvm.java.util.Arrays.toString(arr))
        out = text[1:-1].split(", ")
        if len(out) != len(values):
            raise Decline("the JVM's text of the doubles could not be read back")
        return out


def _timestamp(v: dt.datetime) -> str:
    v = v.astimezone(dt.timezone.utc)
    s = f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        s += ("." + f"{v.microsecond:06d}").rstrip("0")
    return s


def texts(col: "pa.ChunkedArray", type_name: str, java: JavaText) -> "pa.Array":
    """The column's values as Spark's cast(string) writes them (see the module's doc); nulls stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if type_name == "string":
        return pc.cast(col, pa.string())
    if type_name in ("int", "bigint", "boolean"):
        return pc.cast(col, pa.string())
    values = col.to_pylist()
    present = [v for v in values if v is not None]
    if type_name in ("double", "float"):
        done = iter(java.floating(present, type_name == "float"))
    elif type_name == "timestamp":
        zone = java.zone()
        if zone not in ("UTC", "Etc/UTC", "Z", "+00:00", "GMT"):
            raise Decline(f"a timestamp's text is Spark's in the session's zone ({zone}), written here only in UTC")
        done = iter(_timestamp(v) for v in present)
    elif type_name == "date":
        done = iter(f"{v.year:04d}-{v.month:02d}-{v.day:02d}" for v in present)
    elif type_name.startswith("decimal("):
        done = iter(str(v) for v in present)
    else:
        raise Decline(f"a {type_name} value's text is the Spark path's")
    return pa.array([None if v is None else next(done) for v in values], pa.string())


def lines(r: "ArrowRead", rows: list[int]) -> list[int]:
    """The line (CSV, TSV: the physical line a record starts on) or the row (Parquet: its place) of
    each data row (0-based), in one pass over the text (ArrowRead.line_of for all of them)."""
    if not rows:
        return []
    if r.unit == "row":
        return [i + 1 for i in rows]
    skip = int(r.header)
    starts = record_lines(r.data, max(rows) + skip)
    return [starts[i + skip] for i in rows]


def rows(
    rules: tuple[Expectation, ...], table: "pa.Table", types: dict[str, str], broke: list[Any], source_hash: str, label: str, line_of: Callable[[list[int]], list[int]], java: JavaText,
) -> "pa.Table | None":
    """The quarantine table's rows (expectations_spark.quarantine_rows): every row some quarantine
    rule broke, its key, its values as text, the first such rule and why, the source and line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    q = [i for i, e in enumerate(rules) if e.action == "quarantine"]
    if not q:
        return None
    hit = broke[q[0]]
    for i in q[1:]:
        hit = pc.or_(hit, broke[i])
    where = pc.indices_nonzero(hit.combine_chunks() if isinstance(hit, pa.ChunkedArray) else hit).to_pylist()
    if not where:
        return None
    picked = table.take(pa.array(where, pa.int64()))
    marks = [pc.take(broke[i], pa.array(where, pa.int64())).to_pylist() for i in q]
    first = [next(k for k, m in enumerate(marks) if m[j]) for j in range(len(where))]
    at = line_of(where)
    cols: dict[str, Any] = {QKEY: pa.array([f"{source_hash[:16]}:{n}" for n in at], pa.string())}
    for c in table.column_names:
        cols[c] = texts(picked.column(c), types.get(c, "string"), java)
    cols[QRULE] = pa.array([rules[q[k]].name for k in first], pa.string())
    cols[QREASON] = pa.array([f"broke {rules[q[k]].describe()}" for k in first], pa.string())
    cols[QSOURCE] = pa.array([label] * len(where), pa.string())
    cols[QLINE] = pa.array(at, pa.int64())
    return pa.table(cols)


def write(writer: Any, fmt: Any, t: Any, q: "pa.Table", meta: dict[str, str], before_commit: Callable[[], None]) -> str:
    """Upserts the rows into <table>__quarantine (made on first use, new columns added, columns the
    batch lacks written null as the Spark path writes them); its commit's snapshot id."""
    import pyarrow as pa

    from ..expectations_spark import quarantine_table
    from ..formats.base import META_PREFIX
    from .iceberg import ArrowPlan

    qt = quarantine_table(t)
    existing = writer.load(qt)
    visible = [f.name for f in existing.schema().fields] if existing is not None else []
    for c in visible:
        if c not in q.column_names:
            q = q.append_column(pa.field(c, pa.string()), pa.nulls(len(q), pa.string()))
    new_cols = [c for c in q.column_names if existing is not None and c not in visible]
    tag = hashlib.sha256((meta.get("source_hash", "") + ":q").encode()).hexdigest()
    summary = {META_PREFIX + k: v for k, v in {**meta, "source_hash": tag}.items()}
    summary[META_PREFIX + "path"] = "arrow"
    plan = ArrowPlan(keys=[QKEY], meta=summary, new_cols=new_cols, flag=None, properties=fmt.table_properties(qt), partition_by=[], location=qt.location)
    out = writer.write(qt, q, plan, existing is not None, before_commit=before_commit)
    return out.commit
