"""A `filter` expectation on the Arrow path: the tree filter_text.parse_text reads the API's grammar
into (filter.py's, checked against the batch's columns exactly as the Spark path checks it), built
as pyarrow.compute calls over the batch's columns: every value of the tree is a scalar, no text of
it is read by anything but filter.py's parser. The Spark semantics filter.py's to_column gives:
  - and / or / not are SQL's three-valued logic (pyarrow's Kleene kernels);
  - a comparison with a null is null; IN is null when no item is equal and one is null;
  - numbers: a num literal is a decimal, compared exactly with an int or bigint column (as Spark
    widens both to a decimal) and as a double with a double column (Spark casts the decimal to
    double, correctly rounded, as Python's float(Decimal) is); columns compared as Spark widens them;
  - text is compared by code point (Spark's UTF8String bytes, Arrow's); a date or timestamp
    column against an ISO literal (filter._temporal: no zone means UTC);
  - LIKE is the whole text, `%` any run and `_` any one character (line breaks too), every other
    character itself, a backslash included (the grammar has no escape character).
What it can't build alike raises Decline (the Spark path evaluates the table's rules): float and
decimal columns, and a double column holding NaN (Spark's NaN equals NaN and is above every number).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..filter import _temporal, column_kind
from ..filter_text import parse_text
from .reader import Decline

if TYPE_CHECKING:
    import pyarrow as pa

INT64 = (-(1 << 63), (1 << 63) - 1)
FLIP = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def spark_type(name: str) -> str:
    """The Spark type name of an Arrow read's column type name (ArrowRead.types)."""
    return "string" if name == "string" else name


def kinds(types: dict[str, str], names: list[str]) -> dict[str, str]:
    """name -> kind, as filter.kinds_of gives the Spark path's batch (its user columns, in order)."""
    return {n: column_kind(spark_type(types.get(n, "string"))) for n in names}


def parse(text: str, kinds_: dict[str, str]) -> dict[str, Any]:
    return parse_text(text, kinds_)


class _Op:
    """An operand: a column (`col`, its type name) or a literal (`value`, its kind; None is null)."""

    def __init__(self, col: Any = None, type_name: str | None = None, value: Any = None, kind: str | None = None):
        self.col, self.type_name, self.value, self.kind = col, type_name, value, kind

    @property
    def is_col(self) -> bool:
        return self.col is not None


class Builder:
    def __init__(self, table: "pa.Table", types: dict[str, str], kinds_: dict[str, str]):
        # One chunk per column: every array built here lines up with every other.
        self.table, self.types, self.kinds = table.combine_chunks(), types, kinds_
        self.n = len(table)

    # ---------------------------------------------------------------------------- constants

    def const(self, v: bool | None) -> "pa.Array":
        import pyarrow as pa

        return pa.chunked_array([pa.array([v] * self.n, pa.bool_())])

    def nulls_of(self, col: Any, v: bool) -> "pa.Array":
        """v where the column has a value, null where it has none."""
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.if_else(pc.is_valid(col), pa.scalar(v), pa.scalar(None, pa.bool_()))

    # ---------------------------------------------------------------------------- operands

    def operand(self, o: dict[str, Any], context: str | None) -> _Op:
        if "col" in o:
            name = o["col"]
            t = self.types.get(name, "string")
            return _Op(col=self.table.column(name), type_name=t)
        if "num" in o:
            return _Op(value=Decimal(o["num"]), kind="number")
        if "bool" in o:
            return _Op(value=o["bool"], kind="boolean")
        if "null" in o:
            return _Op(value=None, kind="null")
        if context in ("date", "timestamp"):
            return _Op(value=_temporal(o["str"], context), kind=context)
        return _Op(value=o["str"], kind="string")

    def ops(self, items: list[dict[str, Any]]) -> list[_Op]:
        context = next((self.kinds[o["col"]] for o in items if "col" in o), None)
        return [self.operand(o, context) for o in items]

    def comparable(self, a: _Op) -> None:
        """Decline a column whose comparisons are Spark's own (see the module's doc)."""
        import pyarrow.compute as pc

        if not a.is_col:
            return
        t = a.type_name or ""
        if t == "float" or t.startswith("decimal"):
            raise Decline(f"a filter compares a {t} column, whose comparisons the Spark path makes")
        if t == "double" and pc.any(pc.is_nan(a.col)).as_py():
            raise Decline("a filter compares a double column holding NaN (Spark's NaN equals NaN and is above every number)")

    # ---------------------------------------------------------------------------- comparisons

    def cmp(self, op: str, a: _Op, b: _Op) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.comparable(a)
        self.comparable(b)
        if (not a.is_col and a.value is None) or (not b.is_col and b.value is None):
            return self.const(None)
        if not a.is_col and not b.is_col:
            x, y = a.value, b.value
            return self.const({"=": x == y, "<>": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])
        if not a.is_col:
            a, b, op = b, a, FLIP[op]
        if b.is_col:
            return self._kernel(op)(a.col, b.col)
        t, v = a.type_name, b.value
        if t in ("int", "bigint") and isinstance(v, Decimal):
            return self._int_cmp(op, a.col, v)
        if t == "double" and isinstance(v, Decimal):
            return self._kernel(op)(a.col, pa.scalar(float(v), pa.float64()))
        if t == "timestamp":
            return self._kernel(op)(a.col, pa.scalar(v, a.col.type))
        if t == "date":
            return self._kernel(op)(a.col, pa.scalar(v, pa.date32()))
        if t == "boolean":
            return self._kernel(op)(a.col, pa.scalar(bool(v), pa.bool_()))
        if t == "string":
            return self._kernel(op)(a.col, pa.scalar(v, pa.string()))
        raise Decline(f"a filter compares a {t} column with a literal, which the Spark path does")

    @staticmethod
    def _kernel(op: str) -> Any:
        import pyarrow.compute as pc

        return {"=": pc.equal, "<>": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal}[op]

    def _int_cmp(self, op: str, col: Any, v: Decimal) -> Any:
        """An integer column against a decimal, as Spark's analyzer rewrites it (DecimalPrecision's
        integralAndDecimalLiteral): an ordering against a literal beyond every bigint is a constant,
        true or false for every row, a null one too; otherwise against its floor or ceiling. An
        equality widens both to a decimal: exact, null for a null."""
        import pyarrow as pa

        if op in ("=", "<>"):
            if v == v.to_integral_value() and INT64[0] <= v <= INT64[1]:
                return self._kernel(op)(col, pa.scalar(int(v), pa.int64()))
            return self.nulls_of(col, op == "<>")
        if v > INT64[1] or v < INT64[0]:
            return self.const(v > INT64[1] if op in ("<", "<=") else v < INT64[0])
        bound = math.floor(v) if op in (">", "<=") else math.ceil(v)
        return self._kernel(op)(col, pa.scalar(int(bound), pa.int64()))

    # ---------------------------------------------------------------------------- the tree

    def build(self, n: dict[str, Any]) -> Any:
        import pyarrow.compute as pc

        op = n["op"]
        neg = n.get("negated", False)
        if op in ("and", "or"):
            out = self.build(n["args"][0])
            for a in n["args"][1:]:
                out = pc.and_kleene(out, self.build(a)) if op == "and" else pc.or_kleene(out, self.build(a))
            return out
        if op == "not":
            return pc.invert(self.build(n["arg"]))
        if op == "cmp":
            left, right = self.ops([n["left"], n["right"]])
            return self.cmp(n["cmp"], left, right)
        if op == "in":
            value, *items = self.ops([n["value"], *n["list"]])
            c = self.cmp("=", value, items[0])
            for it in items[1:]:
                c = pc.or_kleene(c, self.cmp("=", value, it))
        elif op == "like":
            (value,) = self.ops([n["value"]])
            c = self.like(value, n["pattern"])
        elif op == "between":
            value, low, high = self.ops([n["value"], n["low"], n["high"]])
            c = pc.and_kleene(self.cmp(">=", value, low), self.cmp("<=", value, high))
        elif op == "isNull":
            (value,) = self.ops([n["value"]])
            if value.is_col:
                return pc.is_valid(value.col) if neg else pc.is_null(value.col)
            return self.const((value.value is not None) if neg else (value.value is None))
        else:  # bool
            (value,) = self.ops([n["value"]])
            if value.is_col:
                return value.col
            return self.const(value.value)
        return pc.invert(c) if neg else c

    def like(self, value: _Op, pattern: str) -> Any:
        """The whole text against the pattern: % any run, _ any one character, the rest itself."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from .regex import _hex

        parts = []
        for ch in pattern:
            parts.append("(?s:.*)" if ch == "%" else "(?s:.)" if ch == "_" else (ch if ch.isascii() and ch.isalnum() else _hex(ord(ch))))
        regex = "\\A" + "".join(parts) + "\\z"
        if value.is_col:
            return pc.match_substring_regex(value.col, pattern=regex)
        if value.value is None:
            return self.const(None)
        return self.const(bool(pc.match_substring_regex(pa.array([value.value]), pattern=regex)[0].as_py()))


def broken(tree: dict[str, Any], table: "pa.Table", types: dict[str, str], kinds_: dict[str, str]) -> Any:
    """True for a row the filter isn't true for (false or null): Spark's coalesce(~f, true)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = Builder(table, types, kinds_).build(tree)
    if isinstance(out, pa.ChunkedArray) or isinstance(out, pa.Array):
        return pc.fill_null(pc.invert(out), True)
    raise AssertionError("a filter built no column")
