"""Expectations' pure half (expectations.py): a rule parsed from a request (a bad one refused
naming table.expect[i] and its field), patterns that backtrack catastrophically refused, and what a
check found as the write reply, the commit's metadata and a fail rule's EXPECTATION_FAILED."""

import json

import pytest

from lakeform_jobs.errors import JobFailure
from lakeform_jobs.expectations import Expectation, Outcome, counts_from_meta, parse_all, pattern_problem
from lakeform_jobs.types import Table


def test_rules_parse_from_the_table_of_a_request():
    t = Table.parse({
        "name": "orders", "format": "iceberg", "location": "s3a://w/default/orders", "primaryKey": ["id"],
        "expect": [
            {"name": "has_amount", "rule": "not_null", "action": "fail", "column": "amount"},
            {"name": "region", "rule": "in", "action": "drop", "column": "region", "values": ["EU", "US"]},
            {"name": "amount", "rule": "range", "action": "quarantine", "column": "amount", "min": "0"},
            {"name": "zip", "rule": "matches", "action": "warn", "column": "zip", "pattern": "[0-9]{5}"},
            {"name": "live", "rule": "filter", "action": "drop", "filter": "status <> 'void'"},
        ],
    })
    assert [(e.name, e.rule, e.action) for e in t.expect] == [
        ("has_amount", "not_null", "fail"), ("region", "in", "drop"), ("amount", "range", "quarantine"), ("zip", "matches", "warn"), ("live", "filter", "drop"),
    ]
    assert t.expect[1].values == ("EU", "US")
    assert Table.parse({"name": "a", "format": "hudi", "location": "s3a://w/default/a", "primaryKey": ["id"]}).expect == ()


@pytest.mark.parametrize("rule, field", [
    ({"name": "r", "rule": "nope", "column": "a"}, "table.expect[0].rule"),
    ({"name": "r", "rule": "not_null"}, "table.expect[0].column"),
    ({"name": "r", "rule": "in", "column": "a", "values": []}, "table.expect[0].values"),
    ({"name": "r", "rule": "range", "column": "a"}, "table.expect[0] range"),
    ({"name": "r", "rule": "matches", "column": "a", "pattern": "(a+)+$"}, "table.expect[0].pattern"),
    ({"name": "r", "rule": "not_null", "column": "a", "action": "explode"}, "table.expect[0].action"),
    ({"name": "bad name", "rule": "not_null", "column": "a"}, "table.expect[0].name"),
    ({"name": "r", "rule": "filter"}, "table.expect[0].filter"),
])
def test_a_bad_rule_is_refused_naming_its_field(rule, field):
    with pytest.raises(JobFailure) as e:
        parse_all([rule])
    assert e.value.code == "BAD_REQUEST" and field in e.value.message


def test_duplicate_names_are_refused():
    with pytest.raises(JobFailure, match="duplicate expectation r"):
        parse_all([{"name": "r", "rule": "not_null", "column": "a"}, {"name": "R", "rule": "unique", "column": "b"}])


@pytest.mark.parametrize("pattern, ok", [
    (r"[A-Z]{2}\d+", True), (r"(\d{3}-){2}\d{4}", True), (r"[a-z]+@[a-z]+\.[a-z]{2,}", True),
    ("(a+)+", False), ("(x+x+)+y", False), ("(a*)*", False), (r"(a)\1", False), ("(?=a)b", False), ("(?<!a)b", False), ("((", False), ("x" * 201, False),
])
def test_patterns_that_backtrack_catastrophically_are_refused(pattern, ok):
    assert (pattern_problem(pattern) is None) is ok


def test_an_outcome_is_the_reply_the_commit_and_a_fail():
    rules = parse_all([
        {"name": "amount", "rule": "range", "action": "drop", "column": "amount", "min": "0"},
        {"name": "has_id", "rule": "not_null", "action": "fail", "column": "ref"},
    ])
    o = Outcome(rules=rules, failed={"amount": 2, "has_id": 0}, samples={"amount": ["a.csv, line 3: amount=-1"]})
    assert o.results() == [{"name": "amount", "action": "drop", "failed": 2, "samples": ["a.csv, line 3: amount=-1"]}, {"name": "has_id", "action": "fail", "failed": 0}]
    meta = o.meta()
    assert json.loads(meta["expectations"]) == {"amount": {"action": "drop", "failed": 2}, "has_id": {"action": "fail", "failed": 0}}
    assert counts_from_meta({"lakeform." + k: v for k, v in meta.items()}, "lakeform.") == {"amount": {"action": "drop", "failed": 2}, "has_id": {"action": "fail", "failed": 0}}
    assert counts_from_meta({}, "lakeform.") is None
    assert o.failure() is None
    o.failed["has_id"] = 4
    o.samples["has_id"] = ["a.csv, line 5: ref=None"]
    f = o.failure()
    assert f is not None and f.code == "EXPECTATION_FAILED"
    assert "expectation has_id (ref is not null, action fail): 4 row(s)" in f.message and "line 5" in f.message and "left as it was" in f.message


def test_describe_says_the_rule():
    e = Expectation(name="r", rule="range", action="warn", column="amount", min="0", max="10")
    assert e.describe() == "amount >= 0 and amount <= 10"
