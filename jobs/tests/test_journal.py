import json

import pytest

from conftest import fixture
from lakeform_jobs.errors import JobFailure
from lakeform_jobs.journal import FIELDS, Journal, JournalEntry, journal_dir, stamp
from lakeform_jobs.types import Table

SHARED = fixture("journal-entry.json")


def table(location="s3a://lakeform-warehouse/default/leads"):
    return Table(name=SHARED["table"], database=SHARED["database"], format="hudi", location=location, primary_key=["index"])


class MemoryStorage:
    """The slice of catalog.Storage the journal uses, over a dict."""

    def __init__(self):
        self.files: dict[str, str] = {}

    def write_text(self, uri, text):
        self.files[uri] = text

    def read_text(self, uri):
        return self.files[uri]

    def list_names(self, uri):
        return [k[len(uri) + 1 :] for k in self.files if k.startswith(uri + "/")]

    def delete(self, uri, recursive):
        for k in [k for k in self.files if k.startswith(uri + "/")]:
            del self.files[k]


def test_the_shared_record_reads_and_writes_back_the_same():
    entry = JournalEntry.from_json(SHARED["entry"])
    assert entry.to_json() == SHARED["entry"]
    assert set(SHARED["entry"]) == set(FIELDS)


def test_the_record_lives_where_the_light_path_puts_it():
    entry = JournalEntry.from_json(SHARED["entry"])
    bucket = "s3a://lakeform-warehouse"
    assert f"{journal_dir(table())}/{entry.file_name()}" == f"{bucket}/{SHARED['key']}"


def test_append_then_read_gives_the_records_oldest_first():
    storage = MemoryStorage()
    j = Journal(storage)
    e = SHARED["entry"]
    first = j.append(table(), commit="1", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="1")
    second = j.append(table(), commit="2", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="2")
    assert first.time <= second.time
    records = j.read(table())
    assert [r["commit"] for r in records] == ["1", "2"]
    assert set(records[0]) == set(FIELDS)
    stored = json.loads(storage.files[f"{journal_dir(table())}/{first.file_name()}"])
    assert stored == first.to_json()
    j.remove(table())
    assert j.read(table()) == []


def test_stamp_is_utc_milliseconds_from_one_reading():
    assert stamp(0.999) == "19700101000000999"
    assert stamp(1795549261.791) == "20261124194101791"


def test_a_location_outside_a_bucket_has_no_journal():
    with pytest.raises(JobFailure) as e:
        journal_dir(table("file:/tmp/leads"))
    assert e.value.code == "BAD_REQUEST"


def test_a_record_missing_a_field_is_refused():
    body = dict(SHARED["entry"])
    del body["uri"]
    with pytest.raises(ValueError):
        JournalEntry.from_json(body)
