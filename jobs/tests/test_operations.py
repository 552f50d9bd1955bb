"""Jobs' bookkeeping around a write that fails, with stand-ins for the format and the journal (no Spark)."""

import contextlib
import time

import pytest

from lakeform_jobs.errors import JobFailure
from lakeform_jobs.operations import Jobs
from lakeform_jobs.write import Writes
from lakeform_jobs.types import Source, Table
from lakeform_jobs.requests import WriteRequest
from lakeform_jobs.replies import Commit

TABLE = Table(name="leads", database="default", format="hudi", location="s3a://w/default/leads", primary_key=["id"])


class Fmt:
    def __init__(self, commits):
        self._commits = commits

    def commits(self, t, in_catalog, files):
        return self._commits


class Journal:
    def __init__(self):
        self.entries = []

    def append(self, t, **entry):
        self.entries.append(entry)


def writes():
    j = Writes.__new__(Writes)  # no Spark: only the journal is used
    j.journal = Journal()
    return j


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


REQ = WriteRequest(TABLE, Source(uri="s3a://w/_lakeform/landing/b.csv", hash="hb", name="b.csv"), "g1")


def test_a_write_whose_commit_completed_before_it_failed_is_journaled():
    # Hudi's hive sync runs after the commit: the metastore killed between the two fails the
    # write with its rows in the table.
    started = time.time()
    j = writes()
    fmt = Fmt([Commit(commit="1", time=iso(started - 60), source_hash="ha"), Commit(commit="2", time=iso(started + 5), source_hash="hb")])
    assert j._journal_if_committed(TABLE, fmt, REQ, started) is True
    # Named by the commit's time, so it sorts where the commit is in the journal's order.
    assert j.journal.entries == [{"commit": "2", "source": "b.csv", "source_hash": "hb", "uri": REQ.source.uri, "generation": "g1", "read": REQ.source.read, "at": pytest.approx(started + 5, abs=0.001)}]


def test_a_write_that_failed_before_its_commit_is_not_journaled():
    started = time.time()
    j = writes()
    # The same content committed by an earlier write is not this write's commit.
    fmt = Fmt([Commit(commit="1", time=iso(started - 60), source_hash="hb")])
    assert j._journal_if_committed(TABLE, fmt, REQ, started) is False
    assert j.journal.entries == []


def test_when_the_timeline_cant_be_read_the_failure_is_left_as_it_was():
    class Broken:
        def commits(self, *a):
            raise OSError("object store down")

    j = writes()
    assert j._journal_if_committed(TABLE, Broken(), REQ, time.time()) is False
    assert j.journal.entries == []


# ------------------------------------------------------------------ repair first, undo only its own


class Storage:
    """A location's files as a set of paths; records what is deleted and cleared."""

    def __init__(self, files=()):
        self.files = set(files)
        self.deleted = []
        self.cleared = []

    def file_paths(self, uri):
        return {f for f in self.files if f.startswith(uri + "/")}

    def delete(self, uri, recursive):
        self.deleted.append(uri)
        gone = {f for f in self.files if f == uri or (recursive and f.startswith(uri + "/"))}
        self.files -= gone
        return bool(gone)

    def clear_leftovers(self, location):
        self.cleared.append(location)
        return location


class Catalog:
    def __init__(self, has):
        self._has = has
        self.forgotten = 0

    def has(self, t):
        return self._has

    def observing(self, t):
        return contextlib.nullcontext()

    def forget(self, t):
        self.forgotten += 1
        self._has = False
        return True


class Files:
    def __init__(self, exist):
        self.exist = exist

    def files_exist(self, t):
        return self.exist


def jobs_over(storage, catalog):
    from types import SimpleNamespace

    j = Jobs.__new__(Jobs)
    j.ctx = SimpleNamespace(storage=storage, catalog=catalog)
    return j


def writes_over(storage, catalog):
    from types import SimpleNamespace

    w = Writes.__new__(Writes)
    w.ctx = SimpleNamespace(storage=storage, catalog=catalog)
    return w


LOC = TABLE.location
OLD = {f"{LOC}/.hoodie/hoodie.properties", f"{LOC}/.hoodie/20261201.commit", f"{LOC}/p/old-1.parquet"}


@pytest.mark.parametrize("must_exist", [False, True])
def test_a_table_whose_files_are_there_without_its_catalog_entry_is_never_written_as_a_new_table(must_exist):
    storage, catalog = Storage(OLD), Catalog(has=False)
    with pytest.raises(JobFailure) as e:
        jobs_over(storage, catalog)._repair_before_write(TABLE, Files(True), must_exist)
    assert e.value.code == "REPAIR_PENDING" and "re-registered" in e.value.message
    # Nothing moved aside, nothing forgotten: the files are the table's history.
    assert (storage.files, storage.cleared, storage.deleted, catalog.forgotten) == (OLD, [], [], 0)


def test_a_write_that_must_find_the_table_is_refused_when_its_files_are_gone_and_its_catalog_entry_is_kept():
    storage, catalog = Storage(), Catalog(has=True)
    with pytest.raises(JobFailure) as e:
        jobs_over(storage, catalog)._repair_before_write(TABLE, Files(False), True)
    assert e.value.code == "REPAIR_PENDING" and "rebuilt from its write journal" in e.value.message
    assert (storage.cleared, catalog.forgotten) == ([], 0)


def test_a_delete_or_update_of_a_table_that_is_not_there_is_table_missing_and_makes_no_room_for_a_new_one():
    storage, catalog = Storage(), Catalog(has=True)
    with pytest.raises(JobFailure) as e:
        jobs_over(storage, catalog)._repair_before_write(TABLE, Files(False), False, change=True)
    assert e.value.code == "TABLE_MISSING"
    assert (storage.cleared, catalog.forgotten) == ([], 0)


def test_a_first_write_where_no_table_is_still_makes_room_for_it():
    storage, catalog = Storage(), Catalog(has=True)
    jobs_over(storage, catalog)._repair_before_write(TABLE, Files(False), False)
    assert (storage.cleared, catalog.forgotten) == ([LOC], 1)


def test_a_table_that_is_there_is_written_without_any_repair():
    storage, catalog = Storage(OLD), Catalog(has=True)
    jobs_over(storage, catalog)._repair_before_write(TABLE, Files(True), True)
    assert (storage.files, storage.cleared, catalog.forgotten) == (OLD, [], 0)


def test_a_failed_first_write_into_an_empty_location_removes_the_location_and_the_entry_it_made():
    storage, catalog = Storage(), Catalog(has=False)
    j = writes_over(storage, catalog)
    before = j._before_new_table(TABLE)
    storage.files |= {f"{LOC}/.hoodie/hoodie.properties", f"{LOC}/p/new.parquet"}
    catalog._has = True
    j._undo_new_table(TABLE, before)
    assert (storage.files, storage.deleted, catalog.forgotten) == (set(), [LOC], 1)


def test_a_failed_first_write_never_deletes_files_that_were_at_the_location_before_it():
    storage, catalog = Storage(OLD), Catalog(has=True)
    j = writes_over(storage, catalog)
    before = j._before_new_table(TABLE)
    storage.files |= {f"{LOC}/p/new-1.parquet", f"{LOC}/p/new-2.parquet"}
    j._undo_new_table(TABLE, before)
    assert storage.files == OLD
    assert LOC not in storage.deleted and sorted(storage.deleted) == [f"{LOC}/p/new-1.parquet", f"{LOC}/p/new-2.parquet"]
    # The entry was there before the write: not its to forget.
    assert catalog.forgotten == 0


def test_a_failed_first_write_removes_nothing_when_what_was_there_before_it_is_not_known():
    storage, catalog = Storage(OLD | {f"{LOC}/p/new.parquet"}), Catalog(has=True)
    writes_over(storage, catalog)._undo_new_table(TABLE, None)
    assert (storage.deleted, catalog.forgotten) == ([], 0)


def test_a_write_request_says_whether_the_table_must_exist():
    body = {"table": {"name": "leads", "database": "default", "format": "hudi", "location": LOC, "primaryKey": ["id"]}, "source": {"uri": "s3a://w/_lakeform/landing/b.csv", "hash": "hb"}, "generation": "g1"}
    assert WriteRequest.parse(body).must_exist is False
    assert WriteRequest.parse({**body, "mustExist": True}).must_exist is True
    with pytest.raises(JobFailure):
        WriteRequest.parse({**body, "mustExist": "yes"})
