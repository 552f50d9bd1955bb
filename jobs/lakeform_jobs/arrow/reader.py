"""A source read by pyarrow, as the Spark path reads it (csv_source.py; Parquet: readers/frames.py),
for the Arrow path. readers/detect.py (ReadOptions.arrow_refusal) says which sources it takes.

The same rules, and the same code where it is pure: the sample (the first SAMPLE_BYTES, of a
compressed file's content as decompress_head gives it) is cut into records by
csv_source.split_records and its header named by csv_source.column_names, so a file gets the same
column names on both paths. RFC 4180 throughout, in the source's delimiter: quoted separators,
doubled quotes, line breaks inside quotes, a UTF-8 byte-order mark, CRLF or LF.

Types: a column the table has keeps the table's type; a new one gets the type Spark's CSV schema
inference gives the sample's values (int, bigint, double, boolean, timestamp, string), by Spark's
own rules, reimplemented here for the values whose reading both agree on (infer_type). A value
this module can't be sure Spark reads the same way (a number Java parses that Arrow doesn't: `1d`,
`0x1p3`, ` 1.5`, NaN, a big integer Spark makes a decimal, a date, a time in another form) is not
guessed at: the read raises Decline and the write takes the Spark path, which reads it exactly as
before. The same for a record pyarrow won't parse (ragged) or a value the column's type doesn't
take: the Spark path finds it and names its line and column. What this module refuses itself is
what both paths refuse alike: an empty key, named with its line.

read(raw, table_types, options) is the one entry point: a source's bytes as landed in, a typed
pyarrow Table out, by its format: CSV and TSV (read_text: gzip and bzip2 decompressed by pyarrow's
input streams, then read_source in the source's dialect), Parquet (read_parquet: its own types, nested
structs flattened as the Spark path flattens them, lists and maps as Spark's to_json text). JSON
Lines stays on the Spark path (README).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import csv_source
from ..errors import BadCsv
from ..readers.detect import CsvOptions, ReadOptions, decompress_head

if TYPE_CHECKING:
    import pyarrow as pa


class Decline(Exception):
    """The Arrow path can't promise to read this source as the Spark path does: the Spark path writes it."""


# Spark's CSV inference, per value (CSVInferSchema: tryParseInteger, tryParseLong, tryParseDecimal,
# tryParseDouble, tryParseTimestamp, tryParseBoolean, else string). Only forms both readers take alike.
INT32 = (-(1 << 31), (1 << 31) - 1)
INT64 = (-(1 << 63), (1 << 63) - 1)
INTEGER = re.compile(r"^[+-]?[0-9]+$")
# Java's Double.parseDouble takes more (whitespace, a d/f suffix, hex, Infinity): those decline.
DOUBLE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
# Spark's default timestamp parser takes many ISO 8601 forms; these are the ones read here.
TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?$")
HAS_ZONE = r"(Z|[+-][0-9]{2}:[0-9]{2})$"
# What Spark may read as a date, a time or a number in a form not taken above: declined. Java's
# parseDouble takes NaN, Infinity, hex and a d/f suffix; Spark's timestamp parser "2024-1-5",
# "2024-01", "10:30" (today's date), its date parser "2024-01-15".
NUMBER_LIKE = re.compile(r"^[+-]?(NaN|Inf|Infinity)$|^[+-]?0x|^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[dDfF]$", re.IGNORECASE)
# Spark's timestamp grammar: a year of four or more digits, then -month...; or a time [T]h:m...
# (measured: "+1-555-0001", "12-05" and "12 Main St" are strings, "2024-01", "12:30", "T10:30" timestamps).
TIME_LIKE = re.compile(r"^[+-]?[0-9]{4,}-[0-9]|^T?[0-9]{1,2}:")

# The type lattice Spark's inference merges values in (findTightestCommonType for CSV).
ORDER = {"int": 0, "bigint": 1, "double": 2}


def merge(a: str | None, b: str) -> str:
    """Two value types as one column's (Spark's findTightestCommonType for CSV)."""
    if a is None or a == b:
        return b
    if "unsure" in (a, b):
        return "unsure"
    if a in ORDER and b in ORDER:
        return a if ORDER[a] > ORDER[b] else b
    if "timestamp" in (a, b):
        # Spark's timestamp parser, once a column is one, takes forms like "2024" or "5" too.
        return "unsure"
    return "string"


def infer_type(col: Any) -> str:
    """A column's type from the sample's values (nulls, i.e. empty values, left out; string when
    all are), by Spark's rules (see the module's doc), over the whole column at once: "unsure"
    when a value is in a form Spark may read otherwise than pyarrow would."""
    import pyarrow as pa
    import pyarrow.compute as pc

    vals = pc.drop_null(col if isinstance(col, (pa.Array, pa.ChunkedArray)) else pa.array(col, type=pa.string()))
    if len(vals) == 0:
        return "string"

    def m(pattern: str) -> Any:
        return pc.match_substring_regex(vals, pattern)

    def some(mask: Any) -> bool:
        return bool(pc.any(mask).as_py())

    kinds: set[str] = set()
    integer = m(INTEGER.pattern)
    if some(integer):
        digits = pc.utf8_length(pc.replace_substring_regex(pc.filter(vals, integer), r"^[+-]", ""))
        wide = pc.greater(digits, 18)
        # Over 18 digits: exact in Python (few); Spark makes what long can't hold a decimal.
        for v in pc.filter(pc.filter(vals, integer), wide).to_pylist():
            n = int(v)
            kinds.add("bigint" if INT64[0] <= n <= INT64[1] and not INT32[0] <= n <= INT32[1] else "unsure")
        narrow = pc.cast(pc.replace_substring_regex(pc.filter(pc.filter(vals, integer), pc.invert(wide)), r"^\+", ""), pa.int64())
        if len(narrow):
            lo, hi = pc.min(narrow).as_py(), pc.max(narrow).as_py()
            kinds.add("int" if INT32[0] <= lo and hi <= INT32[1] else "bigint")
    rest = pc.invert(integer)
    double = pc.and_(rest, m(DOUBLE.pattern))
    if some(pc.and_(double, m(r"\.$"))):
        return "unsure"  # "5." is a decimal to Spark (a BigDecimal of scale 0), "5.0" and "1e5" doubles
    if some(double):
        kinds.add("double")
    rest = pc.and_(rest, pc.invert(double))
    boolean = pc.and_(rest, pc.is_in(pc.utf8_lower(vals), value_set=pa.array(["true", "false"])))
    if some(boolean):
        kinds.add("boolean")
    rest = pc.and_(rest, pc.invert(boolean))
    stamp = pc.and_(rest, m(TIMESTAMP.pattern))
    if some(stamp):
        kinds.add("timestamp")
    rest = pc.and_(rest, pc.invert(stamp))
    if some(rest):
        other = pc.filter(vals, rest)
        unsure = pc.or_(
            pc.or_(pc.match_substring_regex(other, "(?i)" + NUMBER_LIKE.pattern), pc.match_substring_regex(other, TIME_LIKE.pattern)),
            pc.or_(pc.match_substring_regex(other, r"^\s|\s$"), pc.match_substring_regex(pc.replace_substring_regex(other, "[0-9]", ""), r"\p{Nd}")),
        )
        # Java parses non-ASCII digits as digits, and trims what parseDouble reads.
        if some(unsure):
            return "unsure"
        kinds.add("string")
    t: str | None = None
    for k in sorted(kinds):
        t = merge(t, k)
    return t or "string"


def arrow_type(name: str) -> "pa.DataType":
    import pyarrow as pa

    return {"int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC"), "string": pa.string()}[name]


def type_name(t: "pa.DataType") -> str | None:
    """The inference name of an Arrow type this reader converts CSV text into; None for others."""
    import pyarrow as pa

    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t) and t.tz is not None:
        return "timestamp"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return None


@dataclass
class ArrowRead:
    """One CSV source read whole: its rows typed, its names as csv_source names them."""

    table: "pa.Table"
    names: list[str]
    renamed: dict[str, str]
    multiline: bool
    types: dict[str, str] = field(default_factory=dict)  # column -> inference name
    data: bytes = b""  # CSV, TSV: the text (decompressed), to name a record's line
    header: bool = True  # CSV, TSV: whether the first record is the header
    unit: str = "line"  # how a place in the source is named: line (CSV, TSV), row (Parquet)

    def line_of(self, row: int) -> int:
        """The 1-based physical line a data row (0-based, header excluded) starts on; Parquet:
        the row's 1-based place in the file."""
        if self.unit == "row":
            return row + 1
        return record_lines(self.data, row + int(self.header))[-1]


def record_lines(data: bytes, upto: int) -> list[int]:
    """The 1-based line each record (the header is record 0) starts on, for records 0..upto;
    empty lines are no records (as on both readers). Only asked when naming a bad record."""
    text = data.decode("utf-8", errors="replace")
    starts: list[int] = []
    line, quotes, start = 0, 0, None
    for raw in text.split("\n"):
        line += 1
        if start is None:
            if not raw.strip("\r"):
                continue
            start = line
        quotes += raw.count('"')
        if quotes % 2 == 0:
            starts.append(start)
            start, quotes = None, 0
            if len(starts) > upto:
                break
    return starts


def read_source(
    data: bytes, table_types: dict[str, "pa.DataType"], *, threads: bool = True, opts: CsvOptions = CsvOptions(), sample_head: tuple[bytes, bool] | None = None,
) -> ArrowRead:
    """A CSV or TSV file's bytes (decompressed) as a typed Arrow table (see the module's doc), in
    the dialect of opts (readers/detect.py's arrow_refusal says which the Arrow path takes).
    sample_head: the sample's bytes and whether they are the whole file, as the Spark path
    takes them (a compressed file's: decompress_head); by default the first SAMPLE_BYTES. Decline
    when the Spark path must read it; BadCsv for what both paths refuse (no header)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    head, whole = sample_head if sample_head is not None else (data[: csv_source.SAMPLE_BYTES], len(data) <= csv_source.SAMPLE_BYTES)
    if not data.startswith(head) or (whole and len(head) != len(data)):
        # e.g. a gzip file of several members: the Spark path's sample is the first one's.
        raise Decline("the file's sample is not the start of its content as pyarrow reads it")
    sample = csv_source.take_sample(head, whole_file=whole, opts=opts)
    names, renamed = csv_source.column_names(sample.header)
    try:
        raw = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(use_threads=threads, column_names=names, skip_rows=1 if opts.header else 0, block_size=8 << 20),
            parse_options=pcsv.ParseOptions(delimiter=opts.delimiter, quote_char='"', double_quote=True, escape_char=False, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""]),
        )
    except pa.ArrowInvalid as e:
        raise Decline(f"pyarrow could not parse the file ({str(e)[:200]})") from e
    # The sample's records are the file's first ones: Spark infers the types from those.
    inferred = raw.slice(0, len(sample.records))
    types: dict[str, str] = {}
    for n in names:
        if n in table_types:
            known = type_name(table_types[n])
            if known is None:
                raise Decline(f"column {n}'s type {table_types[n]} is read by the Spark path")
            types[n] = known
        else:
            types[n] = infer_type(inferred.column(n))
            if types[n] == "unsure":
                raise Decline(f"column {n}'s values in the sample are in a form the Spark path reads")
    cols = [convert(raw.column(n), types[n], n) for n in names]
    if crlf_file(head):
        # Spark's multi-line reader (univocity) detects the file's line ending and turns a CRLF
        # inside a quoted value into LF in such a file (and only there): so here too.
        import pyarrow.compute as pc

        cols = [pc.replace_substring(c, "\r\n", "\n") if types[n] == "string" else c for n, c in zip(names, cols)]
    table = pa.Table.from_arrays(cols, names=names)
    return ArrowRead(table=table, names=names, renamed=renamed, multiline=sample.multiline, types=types, data=data, header=opts.header)


def crlf_file(head: bytes) -> bool:
    """Whether the file's first line ends with CRLF (what Spark's multi-line reader detects)."""
    i = head.find(b"\n")
    return i > 0 and head[i - 1 : i] == b"\r"


def convert(col: "pa.ChunkedArray", kind: str, name: str) -> "pa.ChunkedArray":
    """CSV text into the column's type, the values checked against the forms both readers take
    alike first: any other value declines (the Spark path names it, or reads it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "string":
        return col
    if kind in ("int", "bigint", "double"):
        # Arrow's number parser takes no form Java's rejects but lower-case nan/inf (checked
        # below) and a leading +: the cast itself is the check, the patterns only its fallback.
        try:
            out = pc.cast(col, arrow_type(kind))
            if kind != "double" or not pc.any(pc.invert(pc.is_finite(out))).as_py():
                return out
        except pa.ArrowInvalid:
            pass
    pattern = {"int": INTEGER, "bigint": INTEGER, "double": DOUBLE, "timestamp": TIMESTAMP}.get(kind)
    if kind == "boolean":
        low = pc.utf8_lower(col)
        # is_in answers false for a null (an empty field), which every type takes.
        ok = pc.or_(pc.is_null(low), pc.is_in(low, value_set=pa.array(["true", "false"])))
    else:
        assert pattern is not None
        ok = pc.match_substring_regex(col, pattern.pattern)
    if pc.any(pc.invert(pc.fill_null(ok, True))).as_py():
        raise Decline(f"column {name} has a value not in a form the Arrow path reads as {kind}")
    if kind == "boolean":
        return pc.equal(low, "true")
    if kind in ("int", "bigint"):
        text = pc.replace_substring_regex(col, r"^\+", "")
        try:
            return pc.cast(text, arrow_type(kind))
        except pa.ArrowInvalid as e:
            raise Decline(f"column {name} has a value out of the range of {kind}") from e
    if kind == "timestamp":
        zoned = pc.if_else(pc.match_substring_regex(col, HAS_ZONE), col, pc.binary_join_element_wise(col, pa.scalar("Z"), ""))
        return pc.cast(zoned, arrow_type(kind))
    return pc.cast(col, arrow_type(kind))


def first_empty_key(table: "pa.Table", keys: list[str]) -> int | None:
    """The index of the first row with an empty key column, or None."""
    import pyarrow.compute as pc

    mask = None
    for k in keys:
        m = pc.is_null(table.column(k))
        mask = m if mask is None else pc.or_(mask, m)
    if mask is None or not pc.any(mask).as_py():
        return None
    return int(pc.index(mask, True).as_py())


def refuse_empty_keys(r: ArrowRead, keys: list[str]) -> None:
    """BAD_CSV naming the first record with an empty key, as the Spark path names it."""
    row = first_empty_key(r.table, keys)
    if row is None:
        return
    empty = [k for k in keys if r.table.column(k)[row].as_py() is None]
    raise BadCsv(f"{r.unit} {r.line_of(row)} has an empty primary key ({', '.join(empty)})")



# ------------------------------------------------------------------------------- other formats

# The kinds a CSV's text is read into (infer_type's); a Parquet column may also be one of these.
CSV_KINDS = ("int", "bigint", "double", "boolean", "timestamp", "string")
# Spark 3.5 reads a Parquet file that no Spark 3 wrote (pyarrow's, say) with the rebase mode
# EXCEPTION: a date before the Gregorian switch or a timestamp that old is refused; here the
# Arrow path leaves anything before these to the Spark path (timestamps: a margin to 1900).
OLDEST_DATE = "1582-10-15"
OLDEST_TIMESTAMP = "1900-01-01T00:00:00+00:00"


def decompressed(raw: bytes, compression: str, max_bytes: int | None = None) -> bytes:
    """A gzip'd or bzip2'd file's content through pyarrow's input stream; Decline past max_bytes
    (the path's budget is the content's, not the compressed file's) or when pyarrow can't read it."""
    import pyarrow as pa

    if compression == "none":
        return raw
    codec = {"gzip": "gzip", "bzip2": "bz2"}.get(compression)
    if codec is None or not pa.Codec.is_available(codec):
        raise Decline(f"pyarrow doesn't decompress {compression} here")
    out, n = [], 0
    try:
        with pa.CompressedInputStream(pa.BufferReader(raw), codec) as f:
            while True:
                chunk = f.read(16 << 20)
                if not chunk:
                    break
                n += len(chunk)
                if max_bytes is not None and n > max_bytes:
                    raise Decline(f"the source's content is over the Arrow path's budget ({max_bytes} bytes) once decompressed")
                out.append(chunk)
    except (pa.ArrowException, OSError) as e:
        raise Decline(f"pyarrow could not decompress the file ({str(e)[:200]})") from e
    return b"".join(out)


def read_text(raw: bytes, table_types: dict[str, "pa.DataType"], read: ReadOptions, *, threads: bool = True, max_bytes: int | None = None) -> ArrowRead:
    """A CSV or TSV source's bytes as landed (gzip'd, bzip2'd or plain): decompressed by pyarrow,
    its sample taken as csv_source takes it (decompress_head over the file's first SAMPLE_BYTES)."""
    data = decompressed(raw, read.compression, max_bytes)
    head = raw[: csv_source.SAMPLE_BYTES]
    sample = decompress_head(head, read.compression, len(head) >= len(raw), csv_source.SAMPLE_BYTES)
    return read_source(data, table_types, threads=threads, opts=read.csv, sample_head=sample)


def parquet_kind(t: "pa.DataType") -> str | None:
    """The kind of a Parquet column as pyarrow reads it, named as the Spark path types it (Spark
    reads INT(8) and INT(16) as byte and short, which an Iceberg table holds as int); None when the
    Spark path reads it otherwise or refuses it (a 64-bit unsigned integer, nanosecond and INT96
    timestamps, times, fixed-size binary, float16, decimals over 38 digits; lists and maps are
    Spark's to_json text: json_text)."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return "string" if pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type) else None
    if pa.types.is_boolean(t):
        return "boolean"
    # Spark reads UINT_8 as smallint, UINT_16 as int (an Iceberg int both), UINT_32 as bigint;
    # UINT_64 as decimal(20,0), left to it.
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_int32(t) or pa.types.is_uint8(t) or pa.types.is_uint16(t):
        return "int"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "bigint"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_decimal128(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_date32(t) or pa.types.is_date64(t):
        return "date"
    if pa.types.is_timestamp(t) and t.unit in ("ms", "us"):
        return "timestamp"
    return None


def kind_type(kind: str) -> "pa.DataType":
    import pyarrow as pa

    if kind.startswith("decimal("):
        p, s = kind[len("decimal(") : -1].split(",")
        return pa.decimal128(int(p), int(s))
    return {"float": pa.float32(), "date": pa.date32(), "binary": pa.binary()}.get(kind) or arrow_type(kind)


def table_kind(t: "pa.DataType") -> str | None:
    """The kind of a column the table has (pyiceberg's Arrow types), for a Parquet source."""
    import pyarrow as pa

    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_decimal128(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    return type_name(t)


# A column of the kind the table has for it, taken from the source's: the same, or a widening
# that Spark's cast and pyarrow's make alike, exactly (every other difference Spark's cast decides).
WIDENS = {("int", "bigint"), ("float", "double")}


# Spark's to_json (Jackson): a quote and a backslash escaped, control characters as \b \t \n \f
# \r or \u00XX in upper-case hex (measured: test_arrow_parity.py), everything else as it is.
_JSON_ESCAPES = {**{i: f"\\u{i:04X}" for i in range(32)}, 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def json_refusal(t: "pa.DataType") -> str | None:
    """Why a list or map column's JSON text (Spark keeps it as to_json's) isn't written here alike:
    only strings, signed integers and booleans, in lists, string-keyed maps and structs, are (a
    double is Java's Double.toString, a timestamp or a date Spark's format: the Spark path's)."""
    import pyarrow as pa

    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return json_refusal(t.value_type)
    if pa.types.is_map(t):
        if not (pa.types.is_string(t.key_type) or pa.types.is_large_string(t.key_type)):
            return f"a map keyed by {t.key_type}"
        return json_refusal(t.item_type)
    if pa.types.is_struct(t):
        names = [f.name for f in t]
        if not names or len(set(names)) != len(names):
            return "a struct without fields or with a name twice"
        return next((why for why in (json_refusal(f.type) for f in t) if why), None)
    if pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or (pa.types.is_integer(t) and pa.types.is_signed_integer(t)):
        return None
    return f"{t} inside a list or map"


def spark_json(v: Any, t: "pa.DataType") -> str:
    """One value as Spark's to_json writes it (a struct's null fields left out, a list's and a
    map's nulls written as null)."""
    import pyarrow as pa

    if v is None:
        return "null"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "[" + ",".join(spark_json(x, t.value_type) for x in v) + "]"
    if pa.types.is_map(t):
        return "{" + ",".join(spark_json(k, t.key_type) + ":" + spark_json(x, t.item_type) for k, x in v) + "}"
    if pa.types.is_struct(t):
        return "{" + ",".join(spark_json(f.name, pa.string()) + ":" + spark_json(v[f.name], f.type) for f in t if v[f.name] is not None) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + v.translate(_JSON_ESCAPES) + '"'


def json_text(col: Any) -> Any:
    """A list or map column as its JSON text, as the Spark path keeps it (frames.py: to_json)."""
    import pyarrow as pa

    return pa.chunked_array([pa.array([None if v is None else spark_json(v, col.type) for v in c.to_pylist()], pa.string()) for c in col.chunks], type=pa.string())


def parquet_refusal(pf: Any) -> str | None:
    """What of a Parquet file's schema the Spark path reads otherwise or refuses (see parquet_kind),
    from its physical schema (INT96, nanoseconds) and the Arrow one (the leaves' kinds, names)."""
    import pyarrow as pa

    schema = pf.schema
    for i in range(len(schema)):
        c = schema.column(i)
        if c.physical_type == "INT96":
            return f"column {c.path} is an INT96 timestamp"
        lt = c.logical_type.to_json() if c.logical_type is not None else ""
        if "nanoseconds" in lt.lower():
            return f"column {c.path} is in nanoseconds, which Spark 3.5 doesn't read"

    def check(fields: list[Any], where: str) -> str | None:
        seen: set[str] = set()
        for f in fields:
            if not f.name or "`" in f.name:
                return f"column {where}{f.name!r}'s name"
            if f.name.lower() in seen:
                return f"two columns {where}{f.name!r} differ only in case (Spark refuses them)"
            seen.add(f.name.lower())
            if pa.types.is_struct(f.type):
                if f.type.num_fields == 0:
                    return f"column {where}{f.name} is an empty struct"
                why = check(list(f.type), f"{where}{f.name}.")
                if why:
                    return why
            elif (pa.types.is_list(f.type) or pa.types.is_large_list(f.type) or pa.types.is_map(f.type)) and not json_refusal(f.type):
                continue  # kept as its JSON text (spark_json)
            elif parquet_kind(f.type) is None:
                return f"column {where}{f.name} is {f.type}, which the Spark path reads (or refuses) as its own"
        return None

    return check(list(pf.schema_arrow), "")


def read_parquet(data: bytes, table_types: dict[str, "pa.DataType"], *, threads: bool = True, max_bytes: int | None = None) -> ArrowRead:
    """A Parquet file as the Spark path reads it (readers/frames.py): its own types, no inference;
    nested structs flattened into parent_child columns named by csv_source.column_names; lists
    and maps as their JSON text, as Spark's to_json writes it (json_refusal says which); a
    timestamp without a zone read as one in UTC; a column the table has keeps the table's type.
    Decline for what Spark reads otherwise or refuses (parquet_refusal, old dates), a type the
    table's differs from, or a file whose content is over the budget."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as e:
        raise Decline(f"pyarrow could not open the Parquet file ({str(e)[:200]})") from e
    why = parquet_refusal(pf)
    if why:
        raise Decline(why)
    size = sum(pf.metadata.row_group(i).total_byte_size for i in range(pf.metadata.num_row_groups))
    if max_bytes is not None and size > max_bytes:
        raise Decline(f"the Parquet file's content ({size} bytes) is over the Arrow path's budget ({max_bytes} bytes)")
    try:
        raw = pf.read(use_threads=threads)
    except (pa.ArrowException, OSError) as e:
        raise Decline(f"pyarrow could not read the Parquet file ({str(e)[:200]})") from e
    leaves: list[tuple[list[str], Any]] = []

    def flatten(path: list[str], col: Any) -> None:
        if pa.types.is_struct(col.type):
            # StructArray.flatten: a null struct's fields are null (as Spark's a.b of a null a).
            parts = [c.flatten() for c in col.chunks]
            for i, f in enumerate(col.type):
                flatten(path + [f.name], pa.chunked_array([p[i] for p in parts], type=f.type))
        else:
            leaves.append((path, col))

    for f, col in zip(raw.schema, raw.columns):
        flatten([f.name], col)
    names, renamed = csv_source.column_names(["_".join(p) for p, _ in leaves])
    types: dict[str, str] = {}
    cols = []
    for n, (_, col) in zip(names, leaves):
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_map(col.type):
            col = json_text(col)
        kind = parquet_kind(col.type)
        assert kind is not None  # parquet_refusal checked every leaf
        if n in table_types:
            have = table_kind(table_types[n])
            if have is None or (have != kind and (kind, have) not in WIDENS):
                raise Decline(f"column {n} is {kind} in the file and {table_types[n]} in the table: the Spark path casts it or names the value")
            kind = have
        out = pc.cast(col, kind_type(kind))
        if kind in ("date", "timestamp"):
            oldest = pc.min(out).as_py()
            if oldest is not None and str(oldest if kind == "date" else oldest.isoformat()) < (OLDEST_DATE if kind == "date" else OLDEST_TIMESTAMP):
                raise Decline(f"column {n} has a value before {OLDEST_DATE if kind == 'date' else OLDEST_TIMESTAMP[:10]}, which Spark reads with its calendar rebase rules")
        types[n] = kind
        cols.append(out)
    table = pa.Table.from_arrays(cols, names=names)  # fresh fields: no Parquet field ids or metadata
    return ArrowRead(table=table, names=names, renamed=renamed, multiline=False, types=types, unit="row")


def read(raw: bytes, table_types: dict[str, "pa.DataType"], options: ReadOptions, *, threads: bool = True, max_bytes: int | None = None) -> ArrowRead:
    """A source's bytes as landed, read by its format (readers/detect.py arrow_refusal says which
    sources the Arrow path takes; anything else is the Spark path's before this is asked)."""
    reader = READERS.get(options.format)
    if reader is None:
        raise Decline(f"{options.format} sources are read by the Spark path")
    return reader(raw, table_types, options, threads=threads, max_bytes=max_bytes)


def _parquet(raw: bytes, table_types: dict[str, Any], options: ReadOptions, **kw: Any) -> ArrowRead:
    return read_parquet(raw, table_types, **kw)


READERS = {"csv": read_text, "tsv": read_text, "parquet": _parquet}
