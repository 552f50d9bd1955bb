"""The factory: the one place that branches on a table's format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Context, Format, WritePlan

if TYPE_CHECKING:
    from ..types import Table


def format_for(t: "Table", ctx: Context) -> Format:
    if t.format == "hudi":
        from .hudi import Hudi

        return Hudi(ctx)
    if t.format == "iceberg":
        from .iceberg import Iceberg

        return Iceberg(ctx)
    from ..errors import BadRequest

    raise BadRequest(f"unknown table format {t.format!r}")


__all__ = ["Context", "Format", "WritePlan", "format_for"]
