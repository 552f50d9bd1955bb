"""The pure half of csv_source: cutting a sample into records, the header, line numbers."""

import pytest

from lakeform_jobs.csv_source import ID_BITS, line_of, odd_quotes, parse_record, split_records, take_sample
from lakeform_jobs.errors import JobFailure

RFC = '\ufeffId,Name,Note\r\n1,"Smith, John","said ""hi"""\r\n2,Ann,"line one\nline two"\r\n\r\n3,Bob,\r\n'


def test_records_end_at_line_breaks_outside_quotes():
    records, spans = split_records(RFC[1:], complete=True)
    assert records == ["Id,Name,Note", '1,"Smith, John","said ""hi"""', '2,Ann,"line one\nline two"', "3,Bob,"]
    assert spans is True
    assert parse_record(records[1]) == ["1", "Smith, John", 'said "hi"']
    assert parse_record(records[2]) == ["2", "Ann", "line one\nline two"]


def test_a_prefix_drops_its_unfinished_tail():
    text = 'a,b\n1,x\n2,"open\nstill open'
    records, spans = split_records(text, complete=False)
    assert records == ["a,b", "1,x"]
    assert spans is False
    # Cut in the middle of a line: the partial line is not a record.
    assert split_records("a,b\n1,x\n2,y", complete=False)[0] == ["a,b", "1,x"]


def test_the_sample_strips_the_byte_order_mark_and_reads_the_header():
    s = take_sample(RFC.encode("utf-8"), whole_file=True)
    assert s.header == ["Id", "Name", "Note"]
    assert len(s.records) == 3 and s.multiline


def test_an_empty_file_is_a_bad_csv():
    with pytest.raises(JobFailure) as e:
        take_sample(b"\r\n", whole_file=True)
    assert e.value.code == "BAD_CSV"


def test_line_numbers_from_spark_row_ids():
    # Partition 0 holds lines 1-10, partition 1 lines 11-14, partition 2 the rest.
    counts = {0: 10, 1: 4, 2: 7}
    assert line_of(0, counts) == 1
    assert line_of(9, counts) == 10
    assert line_of((1 << ID_BITS) + 0, counts) == 11
    assert line_of((2 << ID_BITS) + 2, counts) == 17


def test_odd_quotes_mark_a_record_that_spans_lines():
    assert odd_quotes('2,Ann,"line one')
    assert not odd_quotes('1,"say ""hi""",x')
