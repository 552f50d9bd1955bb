"""Jobs' bookkeeping around a write that fails, with stand-ins for the format and the journal (no Spark)."""

import time

from lakeform_jobs.operations import Jobs
from lakeform_jobs.types import Commit, Source, Table, WriteRequest

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


def jobs():
    j = Jobs.__new__(Jobs)  # no Spark: only the journal is used
    j.journal = Journal()
    return j


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


REQ = WriteRequest(TABLE, Source(uri="s3a://w/_lakeform/landing/b.csv", hash="hb", name="b.csv"), "g1")


def test_a_write_whose_commit_completed_before_it_failed_is_journaled():
    # Hudi's hive sync runs after the commit: the metastore killed between the two fails the
    # write with its rows in the table.
    started = time.time()
    j = jobs()
    fmt = Fmt([Commit(commit="1", time=iso(started - 60), source_hash="ha"), Commit(commit="2", time=iso(started + 5), source_hash="hb")])
    assert j._journal_if_committed(TABLE, fmt, REQ, started) is True
    assert j.journal.entries == [{"commit": "2", "source": "b.csv", "source_hash": "hb", "uri": REQ.source.uri, "generation": "g1"}]


def test_a_write_that_failed_before_its_commit_is_not_journaled():
    started = time.time()
    j = jobs()
    # The same content committed by an earlier write is not this write's commit.
    fmt = Fmt([Commit(commit="1", time=iso(started - 60), source_hash="hb")])
    assert j._journal_if_committed(TABLE, fmt, REQ, started) is False
    assert j.journal.entries == []


def test_when_the_timeline_cant_be_read_the_failure_is_left_as_it_was():
    class Broken:
        def commits(self, *a):
            raise OSError("object store down")

    j = jobs()
    assert j._journal_if_committed(TABLE, Broken(), REQ, time.time()) is False
    assert j.journal.entries == []
