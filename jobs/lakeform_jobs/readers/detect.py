"""A source's format, compression and CSV options (lake/sourceFormat.ts decides them on the
TypeScript side; the extension tables are the contract's, constants.json `sourceFormats`).

A write request says them (source.format, source.compression, source.csv); without them (an older
reconciler, an API upload, a journal replay of an older landing) they come from the landed key's
extension, and anything unknown is CSV, as every source was before formats. Pure: no Spark, so the
Arrow write path (issue 20) reads sources the same way from the same ReadOptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..contract import CONSTANTS
from ..errors import BadRequest

_TABLES: dict[str, Any] = CONSTANTS.get("sourceFormats", {})
FORMATS: tuple[str, ...] = tuple(_TABLES.get("formats", ("csv", "tsv", "parquet", "jsonl")))
COMPRESSIONS: tuple[str, ...] = tuple(_TABLES.get("compressions", ("none", "gzip", "zstd", "bzip2")))
FORMAT_EXTENSIONS: dict[str, str] = dict(_TABLES.get("formatExtensions", {".csv": "csv"}))
COMPRESSION_EXTENSIONS: dict[str, str] = dict(_TABLES.get("compressionExtensions", {}))
TEXT_FORMATS = ("csv", "tsv")
MAX_NULL_VALUES: int = int(_TABLES.get("maxNullValues", 20))  # lake/sourceFormat.ts's MAX_NULL_VALUES


@dataclass(frozen=True)
class CsvOptions:
    """A CSV or TSV source's dialect. Defaults are RFC 4180's: comma, double quote, a doubled quote
    as its escape, a header line, an empty field as no value, UTF-8."""

    delimiter: str = ","
    quote: str = '"'
    escape: str | None = None  # None: the quote itself (a doubled quote)
    header: bool = True
    null_values: tuple[str, ...] = ()  # the texts meaning no value; (): an empty field
    encoding: str = "utf-8"
    locale: str | None = None  # decimals, dates and timestamps as written in a locale (BCP 47)

    @property
    def null_value(self) -> str | None:
        """The first null text: Spark's CSV reader's own nullValue (it takes one; the others are
        csv_source's to turn into nulls)."""
        return self.null_values[0] if self.null_values else None

    @property
    def extra_nulls(self) -> tuple[str, ...]:
        """The null texts after the first, which Spark's reader doesn't know."""
        return self.null_values[1:]

    @property
    def escape_char(self) -> str:
        return self.escape if self.escape is not None else self.quote

    @property
    def rfc4180_quotes(self) -> bool:
        """Whether quotes are RFC 4180's (escaped by doubling): then a line's quote count tells
        whether a record spans lines, and the file can be read line by line."""
        return self.escape_char == self.quote

    @property
    def utf8(self) -> bool:
        return self.encoding.lower().replace("_", "-") in ("utf-8", "utf8")

    def spark(self) -> dict[str, str]:
        """Spark's CSV options for this dialect (the parser's; not header or mode)."""
        opts = {"sep": self.delimiter, "quote": self.quote, "escape": self.escape_char}
        if self.null_value is not None:
            opts["nullValue"] = self.null_value
        if not self.utf8:
            opts["encoding"] = self.encoding
        if self.locale:
            opts["locale"] = self.locale
        return opts

    @staticmethod
    def parse(body: Any, fmt: str) -> "CsvOptions":
        default = CsvOptions(delimiter="\t" if fmt == "tsv" else ",")
        if body is None:
            return default
        if not isinstance(body, dict):
            raise BadRequest("field source.csv must be an object")

        def get(name: str, kind: type, fallback: Any) -> Any:
            v = body.get(name)
            if v is None:
                return fallback
            if not isinstance(v, kind) or (kind is str and v == ""):
                raise BadRequest(f"field source.csv.{name} must be a {'non-empty string' if kind is str else kind.__name__}")
            return v

        delimiter = get("delimiter", str, default.delimiter)
        quote = get("quote", str, default.quote)
        escape = get("escape", str, None)
        for name, v in (("delimiter", delimiter), ("quote", quote), ("escape", escape)):
            if v is not None and len(v) != 1:
                raise BadRequest(f"field source.csv.{name} must be one character, got {v!r}")
        if delimiter == quote:
            raise BadRequest("field source.csv.delimiter must differ from the quote character")
        nulls = body.get("nullValues")
        if nulls is not None and (not isinstance(nulls, list) or not 1 <= len(nulls) <= MAX_NULL_VALUES or not all(isinstance(v, str) for v in nulls)):
            raise BadRequest(f"field source.csv.nullValues must be a list of 1 to {MAX_NULL_VALUES} strings")
        return CsvOptions(
            delimiter=delimiter,
            quote=quote,
            escape=escape,
            header=get("header", bool, True),
            null_values=tuple(dict.fromkeys(nulls)) if nulls else (),
            encoding=get("encoding", str, "utf-8"),
            locale=get("locale", str, None),
        )


@dataclass(frozen=True)
class ReadOptions:
    """How one source is read: its format, its compression, and (CSV, TSV) its dialect."""

    format: str = "csv"
    compression: str = "none"
    csv: CsvOptions = field(default_factory=CsvOptions)

    @property
    def text(self) -> bool:
        return self.format in TEXT_FORMATS

    @property
    def plain_csv(self) -> bool:
        """RFC 4180 CSV, uncompressed: what every source was before formats (and what a reader
        that knows only that, such as the Arrow path's, can read)."""
        return self.format == "csv" and self.compression == "none" and self.csv == CsvOptions()

    def __bool__(self) -> bool:
        """True when the source says anything but plain_csv (`if source.read:` asks that)."""
        return not self.plain_csv

    def arrow_refusal(self, uri: str) -> str | None:
        """Why the Arrow write path (arrow/reader.py) can't promise to read this source, landed
        at uri, as the Spark path does; None when it takes it. It reads Parquet; CSV and TSV,
        plain or gzip'd or bzip2'd, with a header line or without, in a delimiter of their own,
        with RFC 4180's quotes, an empty field as no value, in UTF-8 (zstd lands decompressed).
        Not JSON Lines: Spark's JSON inference and flattening are only Spark's (README)."""
        if self.format == "jsonl":
            return "JSON Lines sources are read by Spark's JSON reader"
        # Hadoop picks a text file's codec by the name's last extension, pyarrow by the request:
        # taken only when the name says both (a landed key does: lake/sourceFormat.ts).
        base = uri.rsplit("/", 1)[-1].lower()
        suffix = next((ext for ext, c in COMPRESSION_EXTENSIONS.items() if c == self.compression), "")
        named = base.endswith(suffix) and any(base[: len(base) - len(suffix)].endswith(ext) and f == self.format for ext, f in FORMAT_EXTENSIONS.items())
        if detect(uri) != (self.format, self.compression) or not named:
            return "the source's name doesn't end in its format's (and compression's) extension"
        if self.format == "parquet":
            return None
        if self.compression not in ("none", "gzip", "bzip2"):
            return f"a {self.compression} source"
        c = self.csv
        if c.quote != '"' or c.escape is not None:
            return "the source's quote or escape is not RFC 4180's"
        if not (c.delimiter == "\t" or (c.delimiter.isascii() and c.delimiter.isprintable() and not c.delimiter.isalnum() and c.delimiter not in " .+-_'\\")):
            return f"the source's delimiter {c.delimiter!r}"
        if c.null_value is not None:
            return "the source names its null value"
        if not c.utf8:
            return f"the source's encoding is {c.encoding}"
        if c.locale:
            return "the source names a locale"
        return None

    @staticmethod
    def parse(body: dict[str, Any], uri: str) -> "ReadOptions":
        """From a write request's source: what it declares, the rest from the uri."""
        declared_format = body.get("format")
        declared_compression = body.get("compression")
        if declared_format is not None and declared_format not in FORMATS:
            raise BadRequest(f"field source.format must be one of {', '.join(FORMATS)}, got {declared_format!r}")
        if declared_compression is not None and declared_compression not in COMPRESSIONS:
            raise BadRequest(f"field source.compression must be one of {', '.join(COMPRESSIONS)}, got {declared_compression!r}")
        fmt, compression = detect(uri)
        fmt = declared_format or fmt
        compression = declared_compression or compression
        if fmt == "parquet" and compression != "none":
            raise BadRequest(f"a Parquet source is compressed inside; {compression} around it is not read")
        csv = CsvOptions.parse(body.get("csv"), fmt)
        return ReadOptions(format=fmt, compression=compression, csv=csv)


def detect(name: str) -> tuple[str, str]:
    """(format, compression) of a file name by its extensions: `x.tsv.gz` is (tsv, gzip); unknown is csv."""
    base = name.rsplit("/", 1)[-1].lower()
    compression = "none"
    for ext, c in COMPRESSION_EXTENSIONS.items():
        if base.endswith(ext):
            compression, base = c, base[: -len(ext)]
            break
    dot = base.rfind(".")
    fmt = FORMAT_EXTENSIONS.get(base[dot:], "csv") if dot >= 0 else "csv"
    return fmt, compression


def decompress_head(head: bytes, compression: str, whole_file: bool, limit: int) -> tuple[bytes, bool]:
    """The first `limit` bytes of a compressed file's content from the first bytes of the file,
    and whether they are all of it. zstd lands decompressed (lake/sourceFormat.ts), so a landed
    zstd object is never read here."""
    if compression == "none":
        return head, whole_file
    if compression == "gzip":
        import zlib

        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(head, limit)
        return out, whole_file and d.eof and not d.unconsumed_tail
    if compression == "bzip2":
        import bz2

        b = bz2.BZ2Decompressor()
        out = b.decompress(head, max_length=limit)
        return out, whole_file and b.eof
    raise BadRequest(f"a {compression} source is decompressed as it lands; this one was not")
