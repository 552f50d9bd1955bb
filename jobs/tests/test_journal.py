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


def test_a_record_written_after_the_fact_sorts_at_its_commits_time_not_after_later_writes():
    # A commit whose record failed is journaled on the write's retry, after an API write landed
    # meanwhile: named by its commit's time, the replay still has it first.
    j = Journal(MemoryStorage())
    e = SHARED["entry"]
    j.append(table(), commit="api-later", source="api", source_hash="h2", uri=e["uri"], generation="1", at=2_000_000_000.5)
    late = j.append(table(), commit="declared-earlier", source=e["source"], source_hash="h1", uri=e["uri"], generation="1", at=2_000_000_000.25)
    assert late.time == stamp(2_000_000_000.25)
    assert [r["commit"] for r in j.read(table())] == ["declared-earlier", "api-later"]


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


class FlakyStorage(MemoryStorage):
    """Refuses the first `failures` writes, as a store that is briefly away does."""

    def __init__(self, failures):
        super().__init__()
        self.failures = failures
        self.tries = 0

    def write_text(self, uri, text):
        self.tries += 1
        if self.tries <= self.failures:
            raise OSError("connection reset")
        super().write_text(uri, text)


def test_a_journal_write_that_fails_is_retried_until_it_is_written():
    from lakeform_jobs import journal

    storage = FlakyStorage(journal.ATTEMPTS - 1)
    waits: list[float] = []
    e = SHARED["entry"]
    entry = Journal(storage).append(table(), commit="7", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="1", sleep=waits.append)
    assert storage.tries == journal.ATTEMPTS
    assert waits == [journal.RETRY_WAIT_S * 2**i for i in range(journal.ATTEMPTS - 1)]
    assert [r["commit"] for r in Journal(storage).read(table())] == [entry.commit]
    assert Journal(storage).has(table(), "7") and not Journal(storage).has(table(), "8")


def test_a_journal_write_that_keeps_failing_fails_the_write_loudly_as_retryable():
    from lakeform_jobs import journal

    storage = FlakyStorage(journal.ATTEMPTS)
    e = SHARED["entry"]
    with pytest.raises(JobFailure) as err:
        Journal(storage).append(table(), commit="7", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="1", sleep=lambda s: None)
    assert err.value.code == "OBJECT_STORE_ERROR"
    assert "commit 7" in err.value.message and "journal record" in err.value.message
    assert storage.files == {}


def test_a_replay_says_so_and_a_source_is_journaled_unless_it_says_otherwise():
    from lakeform_jobs.types import Source

    assert Source.parse({"uri": "s3a://w/_lakeform/landing/a.csv", "hash": "a"}).journal is True
    assert Source.parse({"uri": "s3a://w/_lakeform/landing/a.csv", "hash": "a", "journal": False}).journal is False
    with pytest.raises(Exception, match="source.journal must be bool"):
        Source.parse({"uri": "s3a://w/_lakeform/landing/a.csv", "hash": "a", "journal": "no"})


def test_a_replay_names_its_entry_and_the_rebuilds_last_in_its_commit_and_nothing_else_does():
    from lakeform_jobs.types import Source

    uri = "s3a://w/_lakeform/landing/a.csv"
    replay = Source.parse({"uri": uri, "hash": "a", "journal": False, "replay": {"of": "20261203140000123", "last": "20261203140500456"}})
    assert replay.replay_meta() == {"replay_of": "20261203140000123", "replay_last": "20261203140500456"}
    assert Source.parse({"uri": uri, "hash": "a"}).replay_meta() == {}
    with pytest.raises(Exception, match="missing field source.replay.last"):
        Source.parse({"uri": uri, "hash": "a", "replay": {"of": "1"}})
