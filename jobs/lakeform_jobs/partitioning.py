"""A table's partition fields as the request carries them (lake/partitioning.ts's canonical form:
a column for identity, `day(ts)`, `bucket(16, id)`, `truncate(4, code)`...), parsed and checked
here, and said to each engine from the parsed parts only: Spark's DataFrameWriterV2 transforms,
Spark SQL's partition field expressions (ALTER TABLE ... ADD/DROP PARTITION FIELD), pyiceberg's
PartitionSpec, and back from an Iceberg metadata file's partition spec. Nothing of a request's
text is pasted into SQL: a column is an identifier (types.COLUMN), a parameter a whole number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadRequest, JobFailure

if TYPE_CHECKING:
    from pyspark.sql import Column

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TIME = ("year", "month", "day", "hour")
CALL = re.compile(r"(year|month|day|hour|bucket|truncate)\((?:(\d{1,7}), )?([A-Za-z_][A-Za-z0-9_]*)\)")
# Iceberg metadata's transform names: identity, year, month, day, hour, bucket[N], truncate[W], void.
META_TRANSFORM = re.compile(r"(identity|year|month|day|hour|void)|(bucket|truncate)\[(\d+)\]")
# Spark's partition field names for each transform (what Iceberg names a field Spark adds).
FIELD_SUFFIX = {"year": "year", "month": "month", "day": "day", "hour": "hour", "bucket": "bucket", "truncate": "trunc"}
# The source column types each transform takes (Spark's simple type names).
TIME_TYPES = ("date", "timestamp", "timestamp_ntz")
BUCKET_TYPES = ("int", "bigint", "smallint", "tinyint", "date", "timestamp", "timestamp_ntz", "string", "binary")
TRUNCATE_TYPES = ("int", "bigint", "smallint", "tinyint", "string", "binary")


@dataclass(frozen=True)
class PartitionField:
    transform: str  # identity | year | month | day | hour | bucket | truncate
    column: str
    param: int | None = None

    @property
    def text(self) -> str:
        """The canonical form (lake/partitioning.ts formatPartitionField)."""
        if self.transform == "identity":
            return self.column
        return f"{self.transform}({self.param}, {self.column})" if self.param is not None else f"{self.transform}({self.column})"

    def spark_sql(self) -> str:
        """The field as Spark SQL's Iceberg extensions write it: `days(`ts`)`, `bucket(16, `id`)`."""
        col = f"`{self.column}`"
        if self.transform == "identity":
            return col
        if self.transform in TIME:
            return f"{self.transform}s({col})"
        return f"{self.transform}({int(self.param or 0)}, {col})"

    def spark_column(self) -> "Column | None":
        """The field as DataFrameWriterV2.partitionedBy takes it; None for truncate (Spark has no
        such function: the table is created by SQL then)."""
        from pyspark.sql import functions as F

        col = F.col(f"`{self.column}`")
        if self.transform == "identity":
            return col
        if self.transform == "bucket":
            return F.bucket(int(self.param or 0), col)
        if self.transform in TIME:
            return {"year": F.years, "month": F.months, "day": F.days, "hour": F.hours}[self.transform](col)
        return None

    @property
    def iceberg_name(self) -> str:
        """The partition field's name, as Spark's Iceberg names it: ts_day, id_bucket, code_trunc."""
        return self.column if self.transform == "identity" else f"{self.column}_{FIELD_SUFFIX[self.transform]}"


def parse_field(text: Any, where: str) -> PartitionField:
    """One canonical entry; BAD_REQUEST naming the field otherwise."""
    if not isinstance(text, str):
        raise BadRequest(f"field {where} must be a string")
    if IDENTIFIER.fullmatch(text):
        return PartitionField("identity", text)
    m = CALL.fullmatch(text)
    if not m or (m.group(1) in TIME) != (m.group(2) is None):
        raise BadRequest(f"field {where} {text!r} is not a partition field (a column, year(c), month(c), day(c), hour(c), bucket(N, c) or truncate(W, c))")
    param = int(m.group(2)) if m.group(2) is not None else None
    if param is not None and param < 1:
        raise BadRequest(f"field {where} {text!r}: {m.group(1)} takes a number from 1")
    return PartitionField(m.group(1), m.group(3), param)


def parse_fields(entries: list[str], fmt: str, where: str) -> list[PartitionField]:
    fields = [parse_field(e, f"{where}[{i}]") for i, e in enumerate(entries)]
    if fmt == "hudi":
        bad = [f.text for f in fields if f.transform != "identity"]
        if bad:
            raise BadRequest(f"field {where}: a Hudi table partitions by columns only, not {', '.join(bad)} (Iceberg partition transforms)")
    if len({f.text for f in fields}) != len(fields):
        raise BadRequest(f"field {where} names a partition field twice")
    return fields


def check_types(fields: list[PartitionField], types: dict[str, str], table: str) -> None:
    """Each field's source column is there and of a type its transform takes: SCHEMA_REFUSED
    naming the table, the field and the column's type (before Iceberg's own, vaguer error)."""
    for f in fields:
        if f.column not in types:
            raise JobFailure("SCHEMA_REFUSED", f"table {table}: partitionBy {f.text} names column {f.column}, which the table and its source don't have (columns: {', '.join(types)})")
        t = types[f.column].lower()
        ok = (
            f.transform == "identity"
            or (f.transform in ("year", "month", "day") and t in TIME_TYPES)
            or (f.transform == "hour" and t in ("timestamp", "timestamp_ntz"))
            or (f.transform == "bucket" and (t in BUCKET_TYPES or t.startswith("decimal")))
            or (f.transform == "truncate" and (t in TRUNCATE_TYPES or t.startswith("decimal")))
        )
        if not ok:
            takes = "a date or timestamp" if f.transform in ("year", "month", "day") else "a timestamp" if f.transform == "hour" else "a number, string, date or timestamp" if f.transform == "bucket" else "a number or string"
            raise JobFailure("SCHEMA_REFUSED", f"table {table}: partitionBy {f.text}: column {f.column} is {t}, and {f.transform} takes {takes} column (declare its type under columns:)")


def spec_from_metadata(meta: dict[str, Any]) -> list[str] | None:
    """The table's current (default) partition spec in canonical form, from its metadata file;
    None when the file doesn't say it (then nothing is evolved)."""
    specs = meta.get("partition-specs")
    default = meta.get("default-spec-id")
    if not isinstance(specs, list) or default is None:
        return None
    spec = next((s for s in specs if s.get("spec-id") == default), None)
    if spec is None:
        return None
    names: dict[int, str] = {}
    current = meta.get("current-schema-id")
    # Every schema's names, the current one's last (a renamed column reads by its name now).
    for s in sorted(meta.get("schemas") or [], key=lambda s: s.get("schema-id") == current):
        for f in s.get("fields") or []:
            names[int(f["id"])] = str(f["name"])
    out = []
    for f in spec.get("fields") or []:
        m = META_TRANSFORM.fullmatch(str(f.get("transform", "")))
        column = names.get(int(f.get("source-id", -1)))
        if not m or column is None:
            return None
        if m.group(1) == "void":
            continue  # a field format v1 keeps after it was dropped: it partitions nothing
        out.append(PartitionField(m.group(1) or m.group(2), column, int(m.group(3)) if m.group(3) else None).text)
    return out


def pyiceberg_spec(fields: list[PartitionField], schema: Any) -> Any:
    """pyiceberg's PartitionSpec of these fields over a pyiceberg schema (field ids from 1000, as
    Iceberg numbers them)."""
    from pyiceberg.partitioning import PartitionField as IcebergField, PartitionSpec
    from pyiceberg import transforms as tr

    def transform(f: PartitionField) -> Any:
        if f.transform == "identity":
            return tr.IdentityTransform()
        if f.transform == "bucket":
            return tr.BucketTransform(int(f.param or 0))
        if f.transform == "truncate":
            return tr.TruncateTransform(int(f.param or 0))
        return {"year": tr.YearTransform, "month": tr.MonthTransform, "day": tr.DayTransform, "hour": tr.HourTransform}[f.transform]()

    return PartitionSpec(*[
        IcebergField(source_id=schema.find_field(f.column).field_id, field_id=1000 + i, transform=transform(f), name=f.iceberg_name)
        for i, f in enumerate(fields)
    ])


def pyiceberg_writes(fields: list[PartitionField]) -> bool:
    """Whether pyiceberg can write data files of these fields here: its transforms other than
    identity compute partitions with pyiceberg-core, which not every job server has."""
    return all(f.transform == "identity" for f in fields) or has_pyiceberg_core()


def has_pyiceberg_core() -> bool:
    try:
        import pyiceberg_core  # noqa: F401
    except ImportError:
        return False
    return True
