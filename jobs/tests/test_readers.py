"""Source formats, compression, CSV options and declared column types, without Spark: detection
from the landed key (the contract's extension tables, lake/sourceFormat.ts's), the request's read
options, a compressed file's sample, a CSV sample in another dialect, declared types refused or
normalised. test_readers_spark.py reads real files with a local Spark."""

import bz2
import gzip

import pytest

from lakeform_jobs.csv_source import odd_quotes, parse_record, split_records, take_sample
from lakeform_jobs.errors import BadCsv, BadRequest
from lakeform_jobs.readers import CsvOptions, DeclaredColumns, ReadOptions, detect
from lakeform_jobs.readers.detect import decompress_head


@pytest.mark.parametrize(
    "uri,want",
    [
        ("s3a://w/_lakeform/landing/ab/h.csv", ("csv", "none")),
        ("s3a://w/_lakeform/landing/ab/h.tsv.gz", ("tsv", "gzip")),
        ("s3a://w/_lakeform/landing/ab/h.JSONL.BZ2", ("jsonl", "bzip2")),
        ("s3a://w/_lakeform/landing/ab/h.parquet", ("parquet", "none")),
        ("s3a://w/x/data.ndjson", ("jsonl", "none")),
        ("s3a://w/x/export.txt", ("csv", "none")),
        ("s3a://w/x/noext", ("csv", "none")),
    ],
)
def test_a_source_is_detected_by_its_extensions_and_anything_else_is_csv(uri, want):
    assert detect(uri) == want


def test_the_request_declares_over_the_extension_and_a_tsv_is_tab_separated():
    r = ReadOptions.parse({"format": "tsv"}, "s3a://w/x/h.csv.gz")
    assert (r.format, r.compression, r.csv.delimiter) == ("tsv", "gzip", "\t")
    r = ReadOptions.parse({}, "s3a://w/x/h.csv")
    assert r.csv == CsvOptions() and r.csv.spark() == {"sep": ",", "quote": '"', "escape": '"'}


def test_csv_options_become_sparks():
    r = ReadOptions.parse({"csv": {"delimiter": ";", "nullValues": ["NA"], "encoding": "ISO-8859-1", "locale": "de-DE", "header": False}}, "s3a://w/x/h.csv")
    assert r.csv.spark() == {"sep": ";", "quote": '"', "escape": '"', "nullValue": "NA", "encoding": "ISO-8859-1", "locale": "de-DE"}
    assert r.csv.header is False and not r.csv.utf8 and r.csv.rfc4180_quotes
    back = ReadOptions.parse({"csv": {"escape": "\\"}}, "s3a://w/x/h.csv").csv
    assert back.spark()["escape"] == "\\" and not back.rfc4180_quotes


@pytest.mark.parametrize(
    "body,message",
    [
        ({"format": "xml"}, "source.format"),
        ({"compression": "lz4"}, "source.compression"),
        ({"csv": {"delimiter": ";;"}}, "one character"),
        ({"csv": {"delimiter": '"'}}, "differ from the quote"),
        ({"csv": {"nullValues": [str(i) for i in range(21)]}}, "list of 1 to 20 strings"),
        ({"csv": {"nullValues": []}}, "list of 1 to 20 strings"),
        ({"csv": {"header": "no"}}, "source.csv.header"),
    ],
)
def test_read_options_that_cant_be_are_refused_naming_the_field(body, message):
    with pytest.raises(BadRequest, match=message):
        ReadOptions.parse(body, "s3a://w/x/h.csv")


def test_a_parquet_file_wrapped_in_gzip_is_refused():
    with pytest.raises(BadRequest, match="compressed inside"):
        ReadOptions.parse({}, "s3a://w/x/h.parquet.gz")


@pytest.mark.parametrize("compress,name", [(gzip.compress, "gzip"), (lambda b: bz2.compress(b, 1), "bzip2")])
def test_a_compressed_files_sample_is_its_content_and_says_whether_it_is_all_of_it(compress, name):
    # bzip2 level 1: 100 kB blocks, so half the file holds whole blocks (the sample is 8 MiB of it).
    text = b"id,v\n" + b"".join(b"%d,%d\n" % (i, i * 7919 % 10007) for i in range(100000))
    data = compress(text)
    assert decompress_head(data, name, True, 8 << 20) == (text, True)
    head, whole = decompress_head(data, name, True, 1000)
    assert head == text[:1000] and not whole
    head, whole = decompress_head(data[: len(data) // 2], name, False, 8 << 20)
    assert text.startswith(head) and 0 < len(head) < len(text) and not whole


def test_a_semicolon_csv_with_another_quote_and_no_header_is_sampled_in_its_dialect():
    opts = CsvOptions(delimiter=";", quote="'", header=False)
    s = take_sample("1;'a;b'\r\n2;'it''s'\n3;'two\nlines'\n".encode(), True, opts)
    assert s.header == ["_c0", "_c1"]
    assert [parse_record(r, opts) for r in s.records] == [["1", "a;b"], ["2", "it's"], ["3", "two\nlines"]]
    assert s.multiline


def test_a_latin1_sample_is_decoded_as_declared():
    s = take_sample("name;city\nJosé;Zürich\n".encode("latin-1"), True, CsvOptions(delimiter=";", encoding="latin-1"))
    assert parse_record(s.records[0], CsvOptions(delimiter=";")) == ["José", "Zürich"]
    with pytest.raises(BadCsv, match="not a known character set"):
        take_sample(b"a\n1\n", True, CsvOptions(encoding="no-such-charset"))


def test_rfc4180_stays_the_default_bom_crlf_and_quotes():
    s = take_sample('\ufeffa,"b ""q"""\r\n1,"x,\r\ny"\r\n'.encode(), True)
    assert s.header == ["a", 'b "q"'] and s.multiline
    assert split_records('a\n"x\ny"\n', True) == (["a", '"x\ny"'], True)
    assert odd_quotes('1,"x') and not odd_quotes("1,'x") and odd_quotes("1,'x", "'")


def test_declared_columns_are_sanitised_and_checked():
    d = DeclaredColumns.parse({"Amount": "decimal(12,2)", "Created At": "timestamp", "zip": "string"})
    assert d.types == {"amount": "decimal(12,2)", "created_at": "timestamp", "zip": "string"}
    with pytest.raises(BadRequest, match="not a column type"):
        DeclaredColumns.parse({"a": "money"})
    with pytest.raises(BadRequest, match="p <= 38"):
        DeclaredColumns.parse({"a": "decimal(40,2)"})
    assert not DeclaredColumns.parse(None)


def test_a_write_requests_source_and_table_carry_how_it_is_read_and_the_declared_types():
    from lakeform_jobs.types import Source, Table

    s = Source.parse({"uri": "s3a://w/_lakeform/landing/ab/h.tsv.gz", "hash": "h", "csv": {"nullValues": ["NA"]}})
    assert (s.read.format, s.read.compression, s.read.csv.delimiter, s.read.csv.null_value) == ("tsv", "gzip", "\t", "NA")
    plain = Source.parse({"uri": "s3a://w/_lakeform/landing/ab/h.csv", "hash": "h"})
    # Plain RFC 4180 CSV is what a reader that knows only that (the Arrow path's) may take: `if source.read` is false.
    assert plain.read.plain_csv and not plain.read and s.read
    t = Table.parse({"name": "t", "format": "iceberg", "location": "s3a://w/default/t", "primaryKey": ["id"], "schemaPolicy": "discardRows", "columns": {"amount": "decimal(12,2)"}})
    assert t.schema_policy == "discardRows" and t.columns.types == {"amount": "decimal(12,2)"}
    with pytest.raises(BadRequest, match="schemaPolicy"):
        Table.parse({"name": "t", "format": "iceberg", "location": "s3a://w/default/t", "primaryKey": ["id"], "schemaPolicy": "evolve"})
