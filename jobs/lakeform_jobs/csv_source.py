"""Reading a CSV source (a landed s3a:// file) with Spark's own parser, once, RFC 4180 throughout:
quoted separators, doubled quotes (escape is the quote itself, not Spark's default backslash),
line breaks inside quotes, a UTF-8 byte-order mark, CRLF or LF line ends.

How a file is read:
- A sample (the first SAMPLE_BYTES, the whole file when it is smaller) is cut into records in
  Python (a line break ends a record when an even number of quote characters precede it): the
  header comes from its first record, the column types from Spark's inference over the rest.
  The types are then enforced on the full read; a value that doesn't fit is refused with its
  line and column (see diagnose()).
- The full read is splittable: Spark's text source (which ends lines at LF, CRLF or CR) with each
  line parsed by `from_csv`, the CSV data source's own parser, so both cores parse. A line with an
  odd number of quote characters belongs to a record that spans lines: such a file (known from
  the sample, or found by the guard during the write) is read by the CSV data source with
  `multiLine=true` instead, which is one task per file.
- Nothing passes over the rows in Python and nothing is collected to the driver: bad records
  (ragged, a value of the wrong type, an empty key, a record that spans lines on the splittable
  path) make the write's own tasks fail through a guard (raise_error), and only then are they
  looked for, to name the first one's line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import BadCsv, JobFailure, SchemaRefused
from .names import sanitize_column
from .readers.detect import CsvOptions, decompress_head

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

    from .catalog import Storage

SAMPLE_BYTES = 8 << 20
BOM = "\ufeff"
CORRUPT = "__lf_corrupt"
LINE_ID = "__lf_id"
POSITION = "__lf_pos"
INVALID = "LAKEFORM_INVALID_RECORD"
# rows(flag=True): whether a record is bad, why, and its text (the latter two null on good rows).
BAD_FLAG, BAD_WHY, BAD_RAW = "__lf_bad", "__lf_why", "__lf_raw"
# Spark's CSV options for RFC 4180: a doubled quote inside a quoted field is one quote.
RFC4180 = {"sep": ",", "quote": '"', "escape": '"', "mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
ID_BITS = 33  # monotonically_increasing_id: partition index above bit 33, row within it below


# ------------------------------------------------------------------------------- the sample (pure)


def split_records(text: str, complete: bool, quote: str = '"') -> tuple[list[str], bool]:
    """CSV text cut into records at line breaks outside quotes. Returns the records (line ends
    and empty lines left out) and whether any record spans lines. When the text is a prefix of
    a file (complete=False), what follows its last line break is dropped, and so is a record
    still open at the end."""
    if not complete:
        text = text[: text.rfind("\n") + 1] if "\n" in text else ""
    records: list[str] = []
    spans = False
    pending: list[str] = []
    quotes = 0
    for line in text.split("\n"):
        pending.append(line)
        quotes += line.count(quote)
        if quotes % 2:
            continue
        record = "\n".join(pending)
        spans = spans or len(pending) > 1
        pending, quotes = [], 0
        if record.endswith("\r"):
            record = record[:-1]
        if record:
            records.append(record)
    if pending and complete and "\n".join(pending):
        records.append("\n".join(pending))  # an unclosed quote at the very end: the parser refuses it
    return records, spans


def csv_dialect(opts: CsvOptions) -> dict[str, Any]:
    """Python's csv module's dialect for a source's CSV options."""
    dialect: dict[str, Any] = {"delimiter": opts.delimiter, "quotechar": opts.quote}
    if not opts.rfc4180_quotes:
        dialect.update(escapechar=opts.escape_char, doublequote=False)
    return dialect


def parse_record(record: str, opts: CsvOptions = CsvOptions()) -> list[str]:
    """One CSV record's fields, RFC 4180 by default (for the header and for naming a bad record's field)."""
    return next(csv.reader(io.StringIO(record), strict=False, **csv_dialect(opts)), [])


def first_null_for_extras(records: list[str], opts: CsvOptions) -> list[str]:
    """Sample records with each field whose text is a null text after the first (nullValues)
    written as the first: what Spark's inference, which knows one null text, reads as null."""
    extra = set(opts.extra_nulls)
    dialect = csv_dialect(opts)
    out = []
    for rec in records:
        fields = [opts.null_value if f in extra else f for f in parse_record(rec, opts)]
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="", **dialect).writerow(fields)
        out.append(buf.getvalue())
    return out


def type_owner(name: str, declared: dict[str, Any], existing: dict[str, Any]) -> str:
    """Whose type a value doesn't fit, as a bad row's reason says it."""
    return "the declared type" if name in declared else "the table's type" if name in existing else "the column's type"


def misfit_reason(name: str, text: "Column", owner: str, dtype: str) -> "Column":
    """A bad row's reason for a value that doesn't fit its column: "column c: value 'v' doesn't fit ..."."""
    from pyspark.sql import functions as F

    return F.concat(F.lit(f"column {name}: value '"), F.substring(text, 1, 100), F.lit(f"' doesn't fit {owner} {dtype}"))


def first_reason(cases: list[tuple["Column", "Column"]], keys: list[str], otherwise: str) -> "Column":
    """The first case's reason that holds, then an empty key's, else `otherwise` (readers' why_bad)."""
    from pyspark.sql import functions as F

    cases = cases + [(F.col(f"`{k}`").isNull(), F.lit(f"an empty primary key ({k})")) for k in keys]
    why = F.lit(otherwise)
    for cond, text in reversed(cases):
        why = F.when(cond, text).otherwise(why)
    return why


@dataclass
class Sample:
    header: list[str]  # as written in the file (byte-order mark removed)
    records: list[str]  # complete records after the header, within the sample
    whole_file: bool
    multiline: bool  # a record in the sample holds a line break inside quotes


def take_sample(head: bytes, whole_file: bool, opts: CsvOptions = CsvOptions()) -> Sample:
    """The sample's header and records. Without a header line (header: false) the columns are
    named _c0, _c1, … (sanitised: c0, c1, …) and every record is data."""
    import codecs

    try:
        codecs.lookup(opts.encoding)
    except LookupError:
        raise BadCsv(f"the CSV's encoding {opts.encoding!r} is not a known character set") from None
    text = head.decode(opts.encoding, errors="replace")
    if text.startswith(BOM):
        text = text[1:]
    records, spans = split_records(text, whole_file, opts.quote)
    if not records or not records[0].strip():
        raise BadCsv("the CSV is empty or has no header line" if opts.header else "the CSV is empty")
    if not opts.header:
        return Sample(header=[f"_c{i}" for i in range(len(parse_record(records[0], opts)))], records=records, whole_file=whole_file, multiline=spans)
    return Sample(header=parse_record(records[0], opts), records=records[1:], whole_file=whole_file, multiline=spans)


def column_names(raw: list[str]) -> tuple[list[str], dict[str, str]]:
    """The table's column names for a CSV header, unique, with what was renamed."""
    renamed: dict[str, str] = {}
    names: list[str] = []
    for c in raw:
        new = sanitize_column(c)
        base, n = new, 2
        while new in names:
            new = f"{base}_{n}"
            n += 1
        names.append(new)
        if new != c:
            renamed[c] = new
    return names, renamed


def line_of(line_id: int, lines_before_partition: dict[int, int]) -> int:
    """The 1-based line number of a text-source row from its monotonically_increasing_id."""
    part, pos = line_id >> ID_BITS, line_id & ((1 << ID_BITS) - 1)
    return sum(n for p, n in lines_before_partition.items() if p < part) + pos + 1


def odd_quotes(record: str, quote: str = '"') -> bool:
    return record.count(quote) % 2 == 1


def odd_quotes_in(line: "Column", quote: str = '"') -> "Column":
    """odd_quotes as a Spark column: the line's quote characters counted by a plain replace (a
    regular expression costs about twice as much per line)."""
    from pyspark.sql import functions as F

    return (F.length(line) - F.length(F.call_function("replace", line, F.lit(quote), F.lit("")))) % 2 == 1


# ------------------------------------------------------------------------------- the read


@dataclass
class CsvRead:
    """One CSV source, ready to be read: its columns with their types, and how to read it."""

    uri: str
    names: list[str]
    renamed: dict[str, str]
    raw_header: list[str]
    schema: "StructType"
    multiline: bool
    bytes_total: int
    existing_types: dict[str, "DataType"] = field(default_factory=dict)  # columns the table already has
    opts: CsvOptions = field(default_factory=CsvOptions)
    declared: dict[str, str] = field(default_factory=dict)  # declared column types (tables.yaml columns:) it has
    label: str = ""  # the source's name, for errors
    dropped: list[str] = field(default_factory=list)  # columns schemaPolicy discardColumns leaves out

    def spark_opts(self, corrupt: bool = False) -> dict[str, str]:
        """Spark's CSV options for this source (RFC 4180 by default), PERMISSIVE with the corrupt
        record column when asked."""
        base = self.opts.spark()
        return {**base, "mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT} if corrupt else base

    @property
    def splittable(self) -> bool:
        """Whether it can be read line by line: RFC 4180 quotes (a line's quote count tells a
        record that spans lines) and UTF-8 (Spark's text source reads only that)."""
        return self.opts.rfc4180_quotes and self.opts.utf8

    def ddl(self, with_corrupt: bool) -> str:
        cols = [f"`{f.name}` {f.dataType.simpleString()}" for f in self.schema.fields]
        return ", ".join(cols + ([f"`{CORRUPT}` STRING"] if with_corrupt else []))


class CsvSource:
    def __init__(self, spark: "SparkSession", storage: "Storage"):
        self.spark = spark
        self.storage = storage

    def open(
        self, uri: str, table_types: dict[str, "DataType"] | None = None, opts: CsvOptions | None = None,
        declared: dict[str, str] | None = None, compression: str = "none", label: str = "",
    ) -> CsvRead:
        """Samples the file: header, column names, types (the table's own for columns it has, then
        the declared ones, then Spark's inference over the sample)."""
        from pyspark.sql.types import StringType, StructField, StructType, _parse_datatype_string

        opts = opts or CsvOptions()
        if not self.storage.exists(uri):
            raise JobFailure("SOURCE_UNREADABLE", f"the source is not at {uri}")
        size = self.storage.size(uri)
        raw = self.storage.read_head(uri, SAMPLE_BYTES)
        head, whole = decompress_head(raw, compression, len(raw) >= size, SAMPLE_BYTES)
        sample = take_sample(head, whole_file=whole, opts=opts)
        names, renamed = column_names(sample.header)
        inferred: list[Any] = []
        if sample.records:
            # Spark's text-RDD CSV reader decodes UTF-8: the sample is already text. The null
            # texts after the first are the first for the inference (Spark's reader knows one).
            records = first_null_for_extras(sample.records, opts) if opts.extra_nulls else sample.records
            rdd = self.spark.sparkContext.parallelize(records, 1)
            spark_opts = {k: v for k, v in opts.spark().items() if k != "encoding"}
            inferred = [f.dataType for f in self.spark.read.options(**spark_opts).option("inferSchema", "true").csv(rdd).schema.fields]
        table_types = table_types or {}
        declared = {n: t for n, t in (declared or {}).items() if n in names}
        fields = []
        for i, n in enumerate(names):
            t = table_types.get(n) or (_parse_datatype_string(declared[n]) if n in declared else None) or (inferred[i] if i < len(inferred) else StringType())
            fields.append(StructField(n, t, True))
        return CsvRead(
            uri=uri,
            names=names,
            renamed=renamed,
            raw_header=sample.header,
            schema=StructType(fields),
            # Read as one multi-line CSV when it can't be read line by line (CsvRead.splittable).
            multiline=sample.multiline or not (opts.rfc4180_quotes and opts.utf8),
            bytes_total=size,
            existing_types={n: t for n, t in table_types.items() if n in names},
            opts=opts,
            declared=declared,
            label=label,
        )

    # --------------------------------------------------------------------------- frames

    def lines(self, r: CsvRead) -> "DataFrame":
        """Every physical line with its id (see line_of)."""
        from pyspark.sql import functions as F

        return self.spark.read.text(r.uri).select(F.monotonically_increasing_id().alias(LINE_ID), F.col("value"))

    def parsed(self, r: CsvRead, multiline: bool) -> "DataFrame":
        """The records, typed, with the corrupt-record column (the raw record when it is ragged or
        a value doesn't fit its type) and, on the splittable path, the line id and raw line."""
        from pyspark.sql import functions as F

        if multiline:
            from pyspark.sql.types import StringType, StructField, StructType

            schema = StructType(list(r.schema.fields) + [StructField(CORRUPT, StringType(), True)])
            df = self.spark.read.schema(schema).options(**r.spark_opts(corrupt=True)).option("header", str(r.opts.header).lower()).option("enforceSchema", "true") \
                .option("multiLine", "true").csv(r.uri)
            return self._extra_nulls(r, df, multiline)
        first = 0 if r.opts.header else -1  # line id 0 is the header line
        body = self.lines(r).where((F.col(LINE_ID) > first) & (F.length(F.trim("value")) > 0))
        rec = F.from_csv(F.col("value"), r.ddl(with_corrupt=True), r.spark_opts(corrupt=True)).alias("__lf_r")
        return self._extra_nulls(r, body.select(F.col(LINE_ID), F.col("value"), rec).select(LINE_ID, "value", "__lf_r.*"), multiline)

    def _extra_nulls(self, r: CsvRead, df: "DataFrame", multiline: bool) -> "DataFrame":
        """The null texts after the first (nullValues: [NA, "n/a", "-"]; Spark's reader takes one)
        made nulls: a field whose text is one of them is null in every column, and a record bad
        only because of them (a "-" in an int column) is not bad. The record's text is parsed a
        second time, as strings, only when there are such texts."""
        from pyspark.sql import functions as F

        extra = list(r.opts.extra_nulls)
        if not extra:
            return df
        raw = F.col(CORRUPT) if multiline else F.col("value")
        strings = self._strings(r, raw)
        cols, misfit = [], F.lit(False)
        for f in r.schema.fields:
            typed = F.col(f"`{f.name}`")
            # Multi-line: a record's text is kept only when it is bad; a good one's typed value says it.
            text = F.coalesce(strings.getField(f.name), typed.cast("string")) if multiline else strings.getField(f.name)
            token = F.coalesce(text.isin(*extra), F.lit(False))
            cols.append(F.when(token, F.lit(None).cast(f.dataType)).otherwise(typed).alias(f.name))
            misfit = misfit | (text.isNotNull() & (text != F.lit("")) & typed.isNull() & ~token)
        ragged = raw.isNotNull() & strings.getField(CORRUPT).isNotNull()
        corrupt = F.when(F.col(CORRUPT).isNotNull() & (ragged | misfit), F.col(CORRUPT)).alias(CORRUPT)
        keep = [F.col(LINE_ID), F.col("value")] if not multiline else []
        return df.select(*keep, *cols, corrupt)

    def bad_row(self, multiline: bool, keys: list[str], quote: str = '"') -> "Column":
        """What makes a record unfit: unparseable for its types, an empty key, or (splittable
        path) a line with an odd number of quotes, i.e. part of a record that spans lines."""
        from pyspark.sql import functions as F

        cond = F.col(CORRUPT).isNotNull()
        for k in keys:
            cond = cond | F.col(f"`{k}`").isNull()
        if not multiline:
            cond = cond | odd_quotes_in(F.col("value"), quote)
        return cond

    def rows(self, r: CsvRead, keys: list[str], multiline: bool, position: bool = False, discard: bool = False, flag: bool = False) -> "DataFrame":
        """The typed rows, guarded: a write of them fails in its own tasks at the first bad record
        (diagnose() then names it). No extra pass: the guard is part of the same read. With
        position, a column POSITION orders the rows as in the file (for dedupe). With discard
        (schemaPolicy discardRows), bad records are left out instead (discarded() counts them;
        the caller reads a file whose records span lines as multi-line first). With flag (bad
        rows quarantined: bad_rows.py), every record is kept with BAD_FLAG, and a bad one with
        BAD_WHY (why, as a person reads it) and BAD_RAW (the record's text); null on good rows."""
        from pyspark.sql import functions as F

        df = self.parsed(r, multiline)
        if flag:
            bad = self.bad_row(multiline, keys, r.opts.quote)
            raw = F.col(CORRUPT) if multiline else F.col("value")
            cols = [F.col(f"`{n}`") for n in r.names]
            if position:
                cols.append((F.col(LINE_ID) if not multiline else F.monotonically_increasing_id()).alias(POSITION))
            cols += [bad.alias(BAD_FLAG), F.when(bad, self.why_bad(r, multiline, keys)).alias(BAD_WHY), F.when(bad, raw).alias(BAD_RAW)]
            return df.select(*cols)
        if discard:
            df = df.where(~self.bad_row(multiline, keys, r.opts.quote))
            cols = [F.col(f"`{n}`") for n in r.names]
            if position:
                cols.append((F.col(LINE_ID) if not multiline else F.monotonically_increasing_id()).alias(POSITION))
            return df.select(*cols)
        # The guard is the first key column's value: every row written computes its key. As a
        # filter instead, Spark would push it below the parse and parse each line twice (the
        # filter's from_csv and the projection's); a projection keeps one parse per line.
        guard = keys[0]
        cols = [
            F.when(self.bad_row(multiline, keys, r.opts.quote), F.raise_error(F.lit(INVALID))).otherwise(F.col(f"`{n}`")).alias(n) if n == guard else F.col(f"`{n}`")
            for n in r.names
        ]
        if position:
            # The text path's line ids are in file order; the multi-line read is one task.
            cols.append((F.col(LINE_ID) if not multiline else F.monotonically_increasing_id()).alias(POSITION))
        return df.select(*cols)

    def _strings(self, r: CsvRead, raw: "Column") -> "Column":
        """A record's text parsed with every column a string (and the corrupt-record column, set
        when its number of fields is not the header's)."""
        from pyspark.sql import functions as F

        ddl = ", ".join([f"`{n}` STRING" for n in r.names] + [f"`{CORRUPT}` STRING"])
        return F.from_csv(raw, ddl, {k: v for k, v in r.spark_opts(corrupt=True).items() if k != "encoding"})

    def why_bad(self, r: CsvRead, multiline: bool, keys: list[str]) -> "Column":
        """Why a bad record (bad_row) is bad, as diagnose() says it: a quote left open, a number of
        fields other than the header's, the first value that doesn't fit its column's type, an
        empty key. Evaluated on bad records only (rows(flag=True))."""
        from pyspark.sql import functions as F

        raw = F.col(CORRUPT) if multiline else F.col("value")
        strings = self._strings(r, raw)
        cases: list[tuple["Column", "Column"]] = []
        if not multiline:
            cases.append((odd_quotes_in(F.col("value"), r.opts.quote), F.lit("an unbalanced quote")))
        cases.append((raw.isNotNull() & strings.getField(CORRUPT).isNotNull(), F.lit(f"a different number of fields than the header ({len(r.names)})")))
        for f in r.schema.fields:
            text = strings.getField(f.name)
            misfit = F.col(CORRUPT).isNotNull() & text.isNotNull() & (text != F.lit("")) & F.col(f"`{f.name}`").isNull()
            if r.opts.extra_nulls:
                misfit = misfit & ~F.coalesce(text.isin(*r.opts.extra_nulls), F.lit(False))
            cases.append((misfit, misfit_reason(f.name, text, type_owner(f.name, r.declared, r.existing_types), f.dataType.simpleString())))
        return first_reason(cases, keys, "can't be parsed")

    def bad_text(self, r: CsvRead, names: list[str]) -> list["Column"]:
        """A flagged bad record's values as text, as written in the file (the typed value's text
        when the record's own isn't kept: an empty key on a multi-line read), one per name."""
        from pyspark.sql import functions as F

        strings = self._strings(r, F.col(BAD_RAW))
        return [F.coalesce(strings.getField(n), F.col(f"`{n}`").cast("string")).alias(n) for n in names]

    def key_counts(self, r: CsvRead, keys: list[str], multiline: bool) -> "DataFrame":
        """Per key, how many records carry it. Read by the CSV data source, which parses only the
        columns a query uses: cheaper than the read that writes. Bad records are the guard's."""
        df = self.spark.read.schema(r.schema).options(**r.spark_opts()).option("header", str(r.opts.header).lower()).option("multiLine", str(multiline).lower()).csv(r.uri)
        return df.select(*[df[f"`{k}`"] for k in keys]).groupBy(*keys).count()

    def bad_count(self, r: CsvRead, keys: list[str], multiline: bool) -> int:
        """How many records are bad (what discard leaves out)."""
        return int(self.parsed(r, multiline).where(self.bad_row(multiline, keys, r.opts.quote)).count())

    def needs_multiline(self, r: CsvRead) -> bool:
        """Whether some line has an odd number of quotes (a record spans lines): asked only after
        a splittable read failed, or never when the sample already showed it."""
        from pyspark.sql import functions as F

        if not r.splittable:
            return False  # read multi-line from the start
        return bool(self.lines(r).where(odd_quotes_in(F.col("value"), r.opts.quote)).limit(1).count())

    # --------------------------------------------------------------------------- diagnosis

    def diagnose(self, r: CsvRead, keys: list[str], multiline: bool) -> JobFailure | None:
        """After a failed write: the first bad record, as a failure naming its line (and column).
        None when every record is fine (the write failed for another reason)."""
        from pyspark.sql import functions as F

        df = self.parsed(r, multiline)
        bad = df.where(self.bad_row(multiline, keys, r.opts.quote))
        if multiline:
            found = bad.limit(1).collect()
            if not found:
                return None
            row = found[0].asDict()
            raw = row[CORRUPT]
            line = self.find_line(r, raw.split("\n")[0].rstrip("\r")) if raw else None
        else:
            found = bad.orderBy(LINE_ID).limit(1).collect()
            if not found:
                return None
            row = found[0].asDict()
            raw = row["value"]
            counts = {int(x["p"]): int(x["n"]) for x in self.lines(r).groupBy(F.shiftright(F.col(LINE_ID), ID_BITS).alias("p")).agg(F.count("*").alias("n")).collect()}
            line = line_of(int(row[LINE_ID]), counts)
        where = (f"{r.label}, " if r.label else "") + (f"line {line}" if line else "a record")
        if raw is None:  # parsed, but a key is empty
            empty = [k for k in keys if row.get(k) is None]
            return BadCsv(f"{where} has an empty primary key ({', '.join(empty)})")
        if not multiline and odd_quotes(raw, r.opts.quote):
            return BadCsv(f"{where} has an unbalanced quote: {raw[:200]!r}")
        fields = parse_record(raw, r.opts)
        if len(fields) != len(r.names):
            return BadCsv(f"{where} has a different number of fields than the header ({len(r.names)}): {raw[:200]!r}")
        misfit = self.misfit(r, fields)
        if misfit:
            name, value, dtype = misfit
            if name in r.declared:  # the table's type too, when it has the column (DeclaredColumns.check_against)
                return SchemaRefused(f"{where}, column {name}: value {value!r} doesn't fit the declared type {dtype} (tables.yaml columns:); the table was left as it was")
            if name in r.existing_types:
                return SchemaRefused(f"{where}, column {name}: value {value!r} doesn't fit the table's type {dtype}; the table was left as it was")
            return BadCsv(f"{where}, column {name}: value {value!r} doesn't fit the column's type {dtype} (inferred from the file's first rows)")
        empty = [k for k in keys if fields[r.names.index(k)] == ""]
        if empty:
            return BadCsv(f"{where} has an empty primary key ({', '.join(empty)})")
        return BadCsv(f"{where} can't be parsed: {raw[:200]!r}")

    def misfit(self, r: CsvRead, fields: list[str]) -> tuple[str, str, str] | None:
        """The first field of a record whose value Spark's parser won't take for its column's type."""
        from pyspark.sql import functions as F

        checks = []
        for i, f in enumerate(r.schema.fields):
            q = r.opts.quote
            quoted = q + fields[i].replace(q, r.opts.escape_char + q) + q
            opts = {k: v for k, v in r.spark_opts().items() if k != "encoding"}
            checks.append(F.from_csv(F.lit(quoted), f"v {f.dataType.simpleString()}", opts).getField("v").isNull().alias(str(i)))
        got = self.spark.range(1).select(*checks).first()
        for i, f in enumerate(r.schema.fields):
            if fields[i] != "" and fields[i] not in r.opts.null_values and got[str(i)]:
                return f.name, fields[i], f.dataType.simpleString()
        return None

    def find_line(self, r: CsvRead, first_line: str) -> int | None:
        """The line number of the first physical line equal to the given one."""
        from pyspark.sql import functions as F

        hit = self.lines(r).where(F.col("value") == first_line).orderBy(LINE_ID).limit(1).collect()
        if not hit:
            return None
        counts = {int(x["p"]): int(x["n"]) for x in self.lines(r).groupBy(F.shiftright(F.col(LINE_ID), ID_BITS).alias("p")).agg(F.count("*").alias("n")).collect()}
        return line_of(int(hit[0][LINE_ID]), counts)


def read_csv(spark: "SparkSession", uri: str) -> tuple["DataFrame", dict[str, str]]:
    """A small CSV (a list of keys to delete) read whole, types inferred, RFC 4180, FAILFAST:
    not the write path, which reads a source once through CsvSource."""
    opts = {k: v for k, v in RFC4180.items() if k in ("sep", "quote", "escape")}
    raw = spark.read.options(**opts).option("header", "true").option("mode", "FAILFAST").option("inferSchema", "true") \
        .option("multiLine", "true").csv(uri)
    names, renamed = column_names(raw.columns)
    return raw.toDF(*names), renamed
