"""Parquet and JSON Lines sources, read by Spark's own readers with the same methods as
csv_source.CsvSource (open, rows, key_counts, diagnose, needs_multiline), so the write path treats
every source alike.

- Parquet: its own types, no inference (a declared type is a cast, checked like any).
- JSON Lines: one object per line (gzip'd or bzip2'd by extension), types inferred by Spark's JSON
  reader over the whole file, so a key first seen on the last line is a column too. Nested objects
  are flattened into columns named parent_child (`{"a": {"b": 1}}` is column a_b), at any depth;
  arrays (and maps) are kept as their JSON text in a string column. Both formats' tables and
  Trino then see plain columns a key, a partition or a filter can name.
- A value that doesn't fit a declared (or the table's) type, a malformed JSON line, or an empty
  key fails the write's own tasks through a guard (as CSV's do), and diagnose() then names the
  file, the line (JSON Lines) or row (Parquet, in file order) and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..csv_source import BAD_FLAG, BAD_RAW, BAD_WHY, ID_BITS, INVALID, LINE_ID, POSITION, column_names, first_reason, line_of, misfit_reason, type_owner
from ..errors import BadCsv, JobFailure, SchemaRefused

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

    from ..catalog import Storage

CORRUPT = "__lf_corrupt"
DOCUMENT_PROBE_BYTES = 64 * 1024  # how much of a JSON source tells a document from JSON Lines


@dataclass
class FrameRead:
    """A Parquet or JSON Lines source, opened: its flattened columns (sanitised) and their types."""

    uri: str
    format: str  # parquet | jsonl
    names: list[str]
    renamed: dict[str, str]
    paths: list[tuple[list[str], bool]]  # per column: its path in the file's schema, whether it is kept as JSON text
    source_types: list["DataType"]  # per column: the type as read
    types: list["DataType"]  # per column: the type written (the table's, declared, or as read)
    bytes_total: int
    existing_types: dict[str, "DataType"] = field(default_factory=dict)
    declared: dict[str, str] = field(default_factory=dict)
    label: str = ""
    file_schema: Any = None  # the reader's schema (JSON Lines: with the corrupt-record column)
    multiline: bool = False  # never: the readers split by themselves
    document: bool = False  # JSON: one document (an array of objects, or an object over several lines), read whole
    dropped: list[str] = field(default_factory=list)  # columns schemaPolicy discardColumns leaves out

    @property
    def unit(self) -> str:
        return "record" if self.document else "line" if self.format == "jsonl" else "row"


def flatten(schema: "StructType", prefix: list[str] | None = None) -> list[tuple[list[str], "DataType", bool]]:
    """Every leaf of a schema: its path, its type and whether it is kept as JSON text (arrays, maps)."""
    from pyspark.sql.types import ArrayType, MapType, StringType, StructType

    out: list[tuple[list[str], Any, bool]] = []
    for f in schema.fields:
        path = (prefix or []) + [f.name]
        if isinstance(f.dataType, StructType) and f.dataType.fields:
            out.extend(flatten(f.dataType, path))
        elif isinstance(f.dataType, (ArrayType, MapType, StructType)):
            out.append((path, StringType(), True))
        else:
            out.append((path, f.dataType, False))
    return out


class FrameSource:
    def __init__(self, spark: "SparkSession", storage: "Storage"):
        self.spark = spark
        self.storage = storage

    # --------------------------------------------------------------------------- open

    def _reader(self, fmt: str, schema: Any = None, document: bool = False):
        r = self.spark.read
        if schema is not None:
            r = r.schema(schema)
        if fmt == "jsonl":
            return lambda uri: r.option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT).option("multiLine", str(document).lower()).json(uri)
        return lambda uri: r.parquet(uri)

    def json_document(self, uri: str, compression: str) -> bool:
        """Whether a JSON source is one document rather than one object per line: it starts with
        an array (`[{...}, {...}]`, as APIs export), or its first object spans lines (pretty
        printed). Spark then reads it whole (multiLine), one row per element of the array."""
        import json

        from .detect import decompress_head

        raw = self.storage.read_head(uri, DOCUMENT_PROBE_BYTES)
        head, _ = decompress_head(raw, compression, False, DOCUMENT_PROBE_BYTES)
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        if text.startswith("["):
            return True
        if not text.startswith("{") or "\n" not in text:
            return False
        try:
            json.loads(text.split("\n", 1)[0])
            return False
        except ValueError:
            return True

    def open(self, uri: str, fmt: str, table_types: dict[str, "DataType"] | None = None, declared: dict[str, str] | None = None, label: str = "", compression: str = "none") -> FrameRead:
        from pyspark.sql.types import StringType, StructField, StructType, TimestampNTZType, TimestampType, _parse_datatype_string

        if not self.storage.exists(uri):
            raise JobFailure("SOURCE_UNREADABLE", f"the source is not at {uri}")
        size = self.storage.size(uri)
        document = fmt == "jsonl" and self.json_document(uri, compression)
        try:
            schema = self._reader(fmt, document=document)(uri).schema
        except Exception as e:
            raise BadCsv(f"{label or uri} can't be read as {'JSON Lines' if fmt == 'jsonl' else 'Parquet'}: {str(e).splitlines()[0][:300]}") from e
        if fmt == "jsonl":
            # The reader adds the corrupt-record column when some line is malformed; it is ours either way.
            schema = StructType([f for f in schema.fields if f.name != CORRUPT] + [StructField(CORRUPT, StringType(), True)])
        leaves = [(p, t, j) for p, t, j in flatten(schema) if p != [CORRUPT]]
        if not leaves:
            raise BadCsv(f"{label or uri} has no columns")
        names, renamed = column_names(["_".join(p) for p, _, _ in leaves])
        table_types = table_types or {}
        declared = {n: t for n, t in (declared or {}).items() if n in names}
        # A timestamp without a time zone (pyarrow's default) is written as a timestamp (in the
        # session's zone, UTC): Hudi's hive sync and Trino's Hudi reader know no timestamp_ntz.
        plain = lambda t: TimestampType() if isinstance(t, TimestampNTZType) else t  # noqa: E731
        types = [table_types.get(n) or (_parse_datatype_string(declared[n]) if n in declared else plain(t)) for n, (_, t, _) in zip(names, leaves)]
        return FrameRead(
            uri=uri, format=fmt, names=names, renamed=renamed, paths=[(p, j) for p, _, j in leaves], source_types=[t for _, t, _ in leaves],
            types=types, bytes_total=size, existing_types={n: t for n, t in table_types.items() if n in names}, declared=declared, label=label, file_schema=schema,
            document=document,
        )

    # --------------------------------------------------------------------------- frames

    def _value(self, path: list[str], as_json: bool) -> "Column":
        from pyspark.sql import functions as F

        c = F.col(".".join(f"`{p}`" for p in path))
        return F.to_json(c) if as_json else c

    def typed(self, r: FrameRead, df: "DataFrame", keep: tuple[str, ...] = (), raw: bool = False) -> "DataFrame":
        """The flattened columns, each cast to its type, with a misfit flag per cast column (a
        value there that the cast turned into null; with raw, that value as text too), the
        corrupt-record column (JSON Lines) and the columns named in keep."""
        from pyspark.sql import functions as F

        cols: list[Any] = [F.col(k) for k in keep]
        for i, n in enumerate(r.names):
            v = self._value(*r.paths[i])
            if r.types[i] != r.source_types[i]:
                cast = v.cast(r.types[i])
                cols += [cast.alias(n), (v.isNotNull() & cast.isNull()).alias(f"__lf_misfit_{i}")]
                if raw:
                    cols.append(v.cast("string").alias(f"__lf_raw_{i}"))
            else:
                cols.append(v.alias(n))
        if r.format == "jsonl":
            cols.append(F.col(CORRUPT))
        return df.select(*cols)

    def _bad(self, r: FrameRead, df: "DataFrame", keys: list[str]) -> "Column":
        from pyspark.sql import functions as F

        cond = F.lit(False)
        for c in df.columns:
            if c.startswith("__lf_misfit_"):
                cond = cond | F.col(c)
        if CORRUPT in df.columns:
            cond = cond | F.col(CORRUPT).isNotNull()
        for k in keys:
            cond = cond | F.col(f"`{k}`").isNull()
        return cond

    def _read(self, r: FrameRead) -> "DataFrame":
        return self._reader(r.format, r.file_schema, r.document)(r.uri)

    def rows(self, r: FrameRead, keys: list[str], multiline: bool = False, position: bool = False, discard: bool = False, flag: bool = False) -> "DataFrame":
        """The typed rows, guarded as CSV's are (the first key column raises on a bad row), or
        with discard the bad rows left out (schemaPolicy discardRows; counted by discarded()), or
        with flag every row kept with BAD_FLAG, and a bad one with BAD_WHY, BAD_RAW (a malformed
        JSON line's text) and each misfit value's text (csv_source.CsvSource.rows(flag=True))."""
        from pyspark.sql import functions as F

        df = self.typed(r, self._read(r), raw=flag)
        if position:
            df = df.withColumn(POSITION, F.monotonically_increasing_id())
        bad = self._bad(r, df, keys)
        if flag:
            cols = [F.col(f"`{n}`") for n in r.names] + ([F.col(POSITION)] if position else [])
            raws = [F.when(bad & F.col(f"__lf_misfit_{i}"), F.col(f"__lf_raw_{i}")).alias(f"{BAD_RAW}_{i}") for i in range(len(r.names)) if f"__lf_raw_{i}" in df.columns]
            corrupt = F.col(CORRUPT) if CORRUPT in df.columns else F.lit(None).cast("string")
            return df.select(*cols, bad.alias(BAD_FLAG), F.when(bad, self.why_bad(r, df, keys)).alias(BAD_WHY), F.when(bad, corrupt).alias(BAD_RAW), *raws)
        if discard:
            df = df.where(~bad)
        else:
            guard = keys[0]
            df = df.withColumn(guard, F.when(bad, F.raise_error(F.lit(INVALID))).otherwise(F.col(f"`{guard}`")))
        return df.select(*[F.col(f"`{n}`") for n in r.names] + ([F.col(POSITION)] if position else []))

    def why_bad(self, r: FrameRead, df: "DataFrame", keys: list[str]) -> "Column":
        """Why a bad row is bad, as diagnose() says it (evaluated on bad rows only)."""
        from pyspark.sql import functions as F

        cases: list[tuple[Any, Any]] = []
        if CORRUPT in df.columns:
            cases.append((F.col(CORRUPT).isNotNull(), F.concat(F.lit("not a JSON object: '"), F.substring(F.col(CORRUPT), 1, 200), F.lit("'"))))
        for i, n in enumerate(r.names):
            if f"__lf_misfit_{i}" in df.columns:
                cases.append((F.col(f"__lf_misfit_{i}"), misfit_reason(n, F.col(f"__lf_raw_{i}"), type_owner(n, r.declared, r.existing_types), r.types[i].simpleString())))
        return first_reason(cases, keys, "can't be read")

    def bad_text(self, r: FrameRead, names: list[str]) -> list["Column"]:
        """A flagged bad row's values as text: a misfit value as it was in the file."""
        from pyspark.sql import functions as F

        idx = {n: i for i, n in enumerate(r.names)}
        out = []
        for n in names:
            text = F.col(f"`{n}`").cast("string")
            # A cast column (typed() keeps its raw value): the misfit's text as the file had it.
            if r.types[idx[n]] != r.source_types[idx[n]]:
                text = F.coalesce(F.col(f"{BAD_RAW}_{idx[n]}"), text)
            out.append(text.alias(n))
        return out

    def bad_count(self, r: FrameRead, keys: list[str], multiline: bool = False) -> int:
        df = self.typed(r, self._read(r))
        return int(df.where(self._bad(r, df, keys)).count())

    def key_counts(self, r: FrameRead, keys: list[str], multiline: bool = False) -> "DataFrame":
        df = self.typed(r, self._read(r))
        return df.select(*[df[f"`{k}`"] for k in keys]).groupBy(*keys).count()

    def needs_multiline(self, r: FrameRead) -> bool:
        return False

    # --------------------------------------------------------------------------- diagnosis

    def first_bad(self, r: FrameRead, keys: list[str]) -> tuple[int | None, dict[str, Any]] | None:
        """The first bad row in file order with its 1-based place (JSON Lines: its line, each line
        parsed with the file's schema; Parquet: its row), or None when every row is fine."""
        from pyspark.sql import functions as F

        if r.format == "jsonl" and not r.document:
            lines = self.spark.read.text(r.uri).select(F.monotonically_increasing_id().alias(LINE_ID), F.col("value"))
            counts_src = lines
            parsed = lines.where(F.length(F.trim("value")) > 0).select(
                LINE_ID, F.from_json(F.col("value"), r.file_schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}).alias("__lf_r"))
            df = parsed.select(LINE_ID, "__lf_r.*")
        else:
            df = self._read(r).withColumn(LINE_ID, F.monotonically_increasing_id())
            counts_src = df
        typed = self.typed(r, df, keep=(LINE_ID,), raw=True)
        bad = typed.where(self._bad(r, typed, keys)).orderBy(LINE_ID).limit(1).collect()
        if not bad:
            return None
        row = bad[0].asDict()
        counts = {int(x["p"]): int(x["n"]) for x in counts_src.groupBy(F.shiftright(F.col(LINE_ID), ID_BITS).alias("p")).agg(F.count("*").alias("n")).collect()}
        return line_of(int(row[LINE_ID]), counts), row

    def diagnose(self, r: FrameRead, keys: list[str], multiline: bool = False) -> JobFailure | None:
        found = self.first_bad(r, keys)
        if found is None:
            return None
        line, row = found
        where = (f"{r.label}, " if r.label else "") + (f"{r.unit} {line}" if line else f"a {r.unit}")
        if row.get(CORRUPT):
            return BadCsv(f"{where} is not a JSON object: {str(row[CORRUPT])[:200]!r}")
        for i, n in enumerate(r.names):
            if row.get(f"__lf_misfit_{i}"):
                value, dtype = row.get(f"__lf_raw_{i}"), r.types[i].simpleString()
                if n in r.existing_types and n not in r.declared:
                    return SchemaRefused(f"{where}, column {n}: value {value!r} doesn't fit the table's type {dtype}; the table was left as it was")
                return SchemaRefused(f"{where}, column {n}: value {value!r} doesn't fit the declared type {dtype} (tables.yaml columns:); the table was left as it was")
        empty = [k for k in keys if row.get(k) is None]
        if empty:
            return BadCsv(f"{where} has an empty primary key ({', '.join(empty)})")
        return BadCsv(f"{where} can't be read")
