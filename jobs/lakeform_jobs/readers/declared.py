"""Declared column types (tables.yaml `columns: { amount: "decimal(12,2)", created_at: timestamp }`):
they fix a column's type instead of inference, for every format. lake/spec.ts normalises them to
these names; a column the table already has keeps the table's type (a declared type that differs
from it is refused: changing a column's type is a rewrite, not a write)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, SchemaRefused
from ..names import sanitize_column

if TYPE_CHECKING:
    from pyspark.sql.types import DataType

TYPE = re.compile(r"^(string|int|bigint|smallint|tinyint|double|float|boolean|date|timestamp|decimal\((\d{1,2}),(\d{1,2})\))$")


def check_type(name: str, t: str) -> str:
    m = TYPE.fullmatch(t)
    if not m:
        raise BadRequest(f"field table.columns.{name}: {t!r} is not a column type (string, int, bigint, double, float, boolean, date, timestamp, decimal(p,s))")
    if m.group(2) is not None and not (1 <= int(m.group(2)) <= 38 and int(m.group(3)) <= int(m.group(2))):
        raise BadRequest(f"field table.columns.{name}: {t!r} needs 1 <= p <= 38 and s <= p")
    return t


@dataclass(frozen=True)
class DeclaredColumns:
    """Column name (sanitised) → Spark type name."""

    types: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(body: Any) -> "DeclaredColumns":
        if body is None:
            return DeclaredColumns()
        if not isinstance(body, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in body.items()):
            raise BadRequest("field table.columns must map column names to type names")
        return DeclaredColumns({sanitize_column(k): check_type(k, v.strip().lower().replace(" ", "")) for k, v in body.items()})

    def __bool__(self) -> bool:
        return bool(self.types)

    def to_json(self) -> dict[str, str] | None:
        return dict(self.types) or None

    def data_types(self) -> dict[str, "DataType"]:
        from pyspark.sql.types import _parse_datatype_string

        return {n: _parse_datatype_string(t) for n, t in self.types.items()}

    def check_against(self, table_types: dict[str, "DataType"]) -> None:
        """A declared type of a column the table has must be its type."""
        for n, t in self.data_types().items():
            have = table_types.get(n)
            if have is not None and have != t:
                raise SchemaRefused(
                    f"column {n} is declared {t.simpleString()} but the table has it as {have.simpleString()}: changing a column's type needs a rewrite; the table was left as it was"
                )
