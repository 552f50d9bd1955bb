"""Change documents, deleteWhen and retain as the job server parses them (no Spark)."""

import json

import pytest

from lakeform_jobs.crud import ChangeDocument, is_change_document
from lakeform_jobs.errors import JobFailure
from lakeform_jobs.types import DeleteWhen, Retain, Table
from lakeform_jobs.requests import ChangesRequest

TABLE = {"name": "leads", "database": "default", "format": "hudi", "primaryKey": ["id"], "location": "s3a://w/default/leads"}


def doc(**kw):
    return json.dumps({"lakeformChange": 1, "requestedAt": "2026-11-25T09:00:00Z", **kw})


def test_change_documents_are_told_from_csvs_by_name():
    assert is_change_document("s3a://w/_lakeform/landing/ab/abcd.change.json")
    assert not is_change_document("s3a://w/_lakeform/landing/ab/abcd.csv")


def test_a_delete_by_keys_or_by_filter_and_an_update_parse():
    assert ChangeDocument.parse(doc(op="delete", keys="s3a://w/k.csv")) == ChangeDocument("delete", keys="s3a://w/k.csv")
    assert ChangeDocument.parse(doc(op="delete", where="id > 3")) == ChangeDocument("delete", where="id > 3")
    assert ChangeDocument.parse(doc(op="update", set={"name": "x", "score": None}, where="id = 1")) == ChangeDocument("update", where="id = 1", set={"name": "x", "score": None})


@pytest.mark.parametrize(
    "text,message",
    [
        ("not json", "not JSON"),
        (json.dumps({"op": "delete", "where": "x"}), "not a Lakeform change document"),
        (doc(op="delete"), "either keys"),
        (doc(op="delete", keys="s3a://k.csv", where="id = 1"), "either keys"),
        (doc(op="update", set={}, where="id = 1"), "needs set"),
        (doc(op="update", set={"a": 1}, where="id = 1"), "text values or null"),
        (doc(op="truncate"), "unknown change"),
    ],
)
def test_malformed_change_documents_are_bad_requests(text, message):
    with pytest.raises(JobFailure, match=message) as e:
        ChangeDocument.parse(text)
    assert e.value.code == "BAD_REQUEST"


def test_the_table_carries_delete_when_retain_and_target_size():
    t = Table.parse({**TABLE, "deleteWhen": {"column": "deleted", "equals": ["TRUE", " d "]}, "retain": {"commits": 3}, "targetFileSizeMB": 64})
    assert t.delete_when == DeleteWhen("deleted", ("true", "d"))
    assert t.retain == Retain(commits=3)
    assert t.target_file_size_mb == 64
    plain = Table.parse(TABLE)
    assert (plain.delete_when, plain.retain, plain.target_file_size_mb) == (None, None, None)


@pytest.mark.parametrize("retain", [{"commits": 3, "days": 1}, {}, {"commits": 0}, {"days": -1}])
def test_a_retain_that_is_not_one_of_the_two_shapes_is_refused(retain):
    with pytest.raises(JobFailure, match="retain"):
        Table.parse({**TABLE, "retain": retain})


def test_a_changes_request_takes_since_until_and_limit():
    r = ChangesRequest.parse({"table": TABLE, "since": "20261124194100791", "until": None, "limit": 5})
    assert (r.since, r.until, r.limit) == ("20261124194100791", None, 5)
    assert ChangesRequest.parse({"table": TABLE}).since is None
    with pytest.raises(JobFailure, match="limit"):
        ChangesRequest.parse({"table": TABLE, "limit": 0})


def commits(*instants):
    from lakeform_jobs.replies import Commit

    return [Commit(commit=i, time="") for i in instants]


def test_hudi_lists_only_the_commits_its_retention_keeps():
    from lakeform_jobs.formats.hudi import instant_millis, retained_window

    cs = commits("20261125100000000", "20261125110000000", "20261125120000000", "20261125130000000")
    by_commits = Table.parse({**TABLE, "retain": {"commits": 2}})
    assert [c.commit for c in retained_window(by_commits, cs, 0)] == ["20261125120000000", "20261125130000000"]
    by_days = Table.parse({**TABLE, "retain": {"days": 0.1}})  # 2.4 hours
    now = instant_millis("20261125133000000")
    assert [c.commit for c in retained_window(by_days, cs, now)] == ["20261125120000000", "20261125130000000"]
    # The newest commit is kept however old.
    assert [c.commit for c in retained_window(by_days, cs, now + 10 * 86_400_000)] == ["20261125130000000"]
    assert retained_window(by_days, [], now) == []


def test_hudi_cleaner_archival_and_file_sizes_follow_the_spec():
    from lakeform_jobs.formats.hudi import retention_options

    o = retention_options(Table.parse({**TABLE, "retain": {"commits": 3}, "targetFileSizeMB": 64}))
    assert o["hoodie.cleaner.policy"] == "KEEP_LATEST_COMMITS"
    assert (o["hoodie.cleaner.commits.retained"], o["hoodie.keep.min.commits"], o["hoodie.keep.max.commits"]) == ("3", "4", "5")
    assert o["hoodie.parquet.max.file.size"] == str(64 * 1024 * 1024)
    d = retention_options(Table.parse(TABLE))  # the default: 7 days, 128 MB
    assert (d["hoodie.cleaner.policy"], d["hoodie.cleaner.hours.retained"]) == ("KEEP_LATEST_BY_HOURS", "168")
    assert d["hoodie.parquet.max.file.size"] == str(128 * 1024 * 1024)
