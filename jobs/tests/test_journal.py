import json

import pytest

from conftest import fixture
from lakeform_jobs.errors import JobFailure
from lakeform_jobs import contract
from lakeform_jobs.journal import FIELDS, OPTIONAL_FIELDS, Journal, JournalEntry, journal_dir, read_request, stamp
from lakeform_jobs.readers.detect import ReadOptions
from lakeform_jobs.types import Source, Table

SHARED = fixture("journal-entry.json")
# How the shared record's write read its source (a semicolon CSV, NA for no value, Latin-1).
READ = ReadOptions.parse(SHARED["entry"]["read"], SHARED["entry"]["uri"])


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


def journal_item_refusal(record):
    """Why a record is not the contract's journal record (the observe reply's journal items), or None."""
    import jsonschema

    schema = contract.SCHEMA["replies"]["observe"]["properties"]["journal"]["items"]
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(record))
    return None if error is None else error.message


def test_the_shared_record_reads_and_writes_back_the_same():
    entry = JournalEntry.from_json(SHARED["entry"])
    assert entry.to_json() == SHARED["entry"]
    assert set(SHARED["entry"]) == set(FIELDS) | set(OPTIONAL_FIELDS)
    assert OPTIONAL_FIELDS == ("read",)
    assert journal_item_refusal(SHARED["entry"]) is None


def test_a_record_from_before_reads_kept_has_no_read_and_writes_back_without_one():
    before = {f: SHARED["entry"][f] for f in FIELDS}
    entry = JournalEntry.from_json(before)
    assert entry.read is None
    assert entry.to_json() == before
    assert journal_item_refusal(before) is None


def test_a_record_whose_read_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="read is not an object"):
        JournalEntry.from_json({**SHARED["entry"], "read": "csv"})


def test_the_record_lives_where_the_light_path_puts_it():
    entry = JournalEntry.from_json(SHARED["entry"])
    bucket = "s3a://lakeform-warehouse"
    assert f"{journal_dir(table())}/{entry.file_name()}" == f"{bucket}/{SHARED['key']}"


def test_append_then_read_gives_the_records_oldest_first():
    storage = MemoryStorage()
    j = Journal(storage)
    e = SHARED["entry"]
    first = j.append(table(), commit="1", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="1", read=READ)
    second = j.append(table(), commit="2", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="2", read=READ)
    assert first.time <= second.time
    records = j.read(table())
    assert [r["commit"] for r in records] == ["1", "2"]
    assert set(records[0]) == set(FIELDS) | set(OPTIONAL_FIELDS)
    # The read as the shared record has it: the write request's options, every one said.
    assert records[0]["read"] == e["read"]
    assert journal_item_refusal(records[0]) is None
    stored = json.loads(storage.files[f"{journal_dir(table())}/{first.file_name()}"])
    assert stored == first.to_json()
    j.remove(table())
    assert j.read(table()) == []


def test_a_record_written_after_the_fact_sorts_at_its_commits_time_not_after_later_writes():
    # A commit whose record failed is journaled on the write's retry, after an API write landed
    # meanwhile: named by its commit's time, the replay still has it first.
    j = Journal(MemoryStorage())
    e = SHARED["entry"]
    j.append(table(), commit="api-later", source="api", source_hash="h2", uri=e["uri"], generation="1", read=READ, at=2_000_000_000.5)
    late = j.append(table(), commit="declared-earlier", source=e["source"], source_hash="h1", uri=e["uri"], generation="1", read=READ, at=2_000_000_000.25)
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
    entry = Journal(storage).append(table(), commit="7", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="1", read=READ, sleep=waits.append)
    assert storage.tries == journal.ATTEMPTS
    assert waits == [journal.RETRY_WAIT_S * 2**i for i in range(journal.ATTEMPTS - 1)]
    assert [r["commit"] for r in Journal(storage).read(table())] == [entry.commit]
    assert Journal(storage).has(table(), "7") and not Journal(storage).has(table(), "8")


def test_a_journal_write_that_keeps_failing_fails_the_write_loudly_as_retryable():
    from lakeform_jobs import journal

    storage = FlakyStorage(journal.ATTEMPTS)
    e = SHARED["entry"]
    with pytest.raises(JobFailure) as err:
        Journal(storage).append(table(), commit="7", source=e["source"], source_hash=e["sourceHash"], uri=e["uri"], generation="1", read=READ, sleep=lambda s: None)
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


LANDING = "s3a://w/_lakeform/landing/ab/h"
# Write requests' sources as the reconciler and the API send them: (the source's read fields, the
# uri it is read at). A replay reads the landed copy at the same uri.
WRITES = {
    "a semicolon CSV with its own null value and encoding": ({"format": "csv", "compression": "none", "csv": {"delimiter": ";", "nullValues": ["NA"], "encoding": "iso-8859-1", "header": True}}, f"{LANDING}.csv"),
    "a .txt declared TSV (landed as .tsv)": ({"format": "tsv", "compression": "none"}, f"{LANDING}.tsv"),
    "a TSV declared with a pipe, no header, a backslash escape and a locale": ({"format": "tsv", "compression": "none", "csv": {"delimiter": "|", "header": False, "escape": "\\", "locale": "de-DE"}}, f"{LANDING}.tsv"),
    "gzip declared": ({"format": "csv", "compression": "gzip", "csv": {"quote": "'"}}, f"{LANDING}.csv.gz"),
    "an API upload (nothing declared: plain CSV by the extension)": ({}, f"{LANDING}.csv"),
    "a change document": ({}, f"{LANDING}.change.json"),
    "Parquet": ({"format": "parquet", "compression": "none"}, f"{LANDING}.parquet"),
    "zstd'd JSON Lines (landed decompressed)": ({"format": "jsonl", "compression": "none"}, f"{LANDING}.jsonl"),
}


@pytest.mark.parametrize("what", sorted(WRITES))
def test_a_records_read_sent_back_reads_the_source_exactly_as_its_write_did(what):
    body, uri = WRITES[what]
    original = Source.parse({"uri": uri, "hash": "h", "name": "x", **body})
    j = Journal(MemoryStorage())
    j.append(table(), commit="1", source="x", source_hash="h", uri=uri, generation="1", read=original.read)
    [record] = j.read(table())
    assert journal_item_refusal(record) is None
    # The replay's write request (lake/sourceFormat.ts sourceRead sends the record's read as it is): in the contract, read the same.
    replay = {"uri": record["uri"], "hash": record["sourceHash"], "name": record["source"], "once": False, "journal": False, "replay": {"of": "1", "last": "1"}, **record["read"]}
    contract.check("write", {"table": {"name": "leads", "database": "default", "format": "hudi", "location": "s3a://w/default/leads", "primaryKey": ["id"]}, "source": replay, "generation": "1"})
    assert Source.parse(replay).read == original.read
    # Every option is said, so the read holds whatever the uri's extension would say.
    assert ReadOptions.parse(record["read"], f"{LANDING}.unknown") == original.read


def test_a_semicolon_sources_record_keeps_its_options_where_the_extension_alone_would_lose_them():
    body, uri = WRITES["a semicolon CSV with its own null value and encoding"]
    read = Source.parse({"uri": uri, "hash": "h", **body}).read
    assert read_request(read) == {"format": "csv", "compression": "none", "csv": {"delimiter": ";", "quote": '"', "header": True, "encoding": "iso-8859-1", "nullValues": ["NA"]}}
    assert ReadOptions.parse({}, uri) != read
