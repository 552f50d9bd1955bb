"""The filter tree's checks and the grammar's text form, against the vectors TypeScript is
checked against too (tests/fixtures/filters.json)."""

import json
import pathlib

import pytest

from lakeform_jobs import filter as filters
from lakeform_jobs.filter_text import parse_text
from lakeform_jobs.errors import JobFailure

VECTORS = json.loads((pathlib.Path(__file__).parents[2] / "tests" / "fixtures" / "filters.json").read_text(encoding="utf-8"))
KINDS = {c["name"]: filters.column_kind(c["type"]) for c in VECTORS["columns"]}


@pytest.mark.parametrize("v", VECTORS["valid"], ids=lambda v: v["where"])
def test_the_text_of_a_valid_filter_parses_into_the_same_tree_as_typescripts(v):
    assert parse_text(v["where"], KINDS) == v["tree"]


@pytest.mark.parametrize("v", VECTORS["valid"], ids=lambda v: v["where"])
def test_typescripts_tree_passes_the_job_servers_check(v):
    assert filters.check(v["tree"], KINDS) == v["tree"]


@pytest.mark.parametrize("v", VECTORS["invalid"], ids=lambda v: repr(v["where"]))
def test_a_filter_typescript_refuses_is_refused_here_too(v):
    with pytest.raises(JobFailure) as e:
        parse_text(v["where"], KINDS)
    assert e.value.code == "BAD_WHERE"


@pytest.mark.parametrize(
    "tree",
    [
        {"op": "cmp", "cmp": "=", "left": {"col": "nope"}, "right": {"num": "1"}},
        {"op": "cmp", "cmp": "= 1 OR 1", "left": {"col": "id"}, "right": {"num": "1"}},
        {"op": "cmp", "cmp": "=", "left": {"col": "id"}, "right": {"num": "1 OR 1=1"}},
        {"op": "cmp", "cmp": "=", "left": {"col": "id"}, "right": {"sql": "1"}},
        {"op": "cmp", "cmp": "=", "left": {"col": "id"}, "right": {"str": "x"}},
        {"op": "cmp", "cmp": "=", "left": {"col": "name"}, "right": {"str": "x", "col": "id"}},
        {"op": "like", "negated": False, "value": {"col": "id"}, "pattern": "1%"},
        {"op": "and", "args": [{"op": "bool", "value": {"col": "flag"}}]},
        {"op": "not", "arg": "id = 1"},
        {"op": "expr", "sql": "java_method('java.lang.Thread', 'sleep', 3000L) IS NULL"},
        {"op": "in", "negated": False, "value": {"col": "id"}, "list": []},
        {"op": "isNull", "negated": "yes", "value": {"col": "id"}},
        {"op": "bool", "value": {"col": "name"}},
        {"op": "cmp", "cmp": "=", "left": {"col": "day"}, "right": {"str": "2026-13-01"}},
        # Matched whole: a final newline is not part of a number or a date.
        {"op": "cmp", "cmp": "=", "left": {"col": "id"}, "right": {"num": "1\n"}},
        {"op": "cmp", "cmp": "=", "left": {"col": "day"}, "right": {"str": "2026-01-01\n"}},
        "id = 1",
    ],
)
def test_a_tree_outside_the_shape_or_the_types_is_refused(tree):
    with pytest.raises(JobFailure) as e:
        filters.check(tree, KINDS)
    assert e.value.code == "BAD_WHERE"


def test_a_tree_nested_past_the_limit_is_refused_not_recursed_into():
    tree = {"op": "bool", "value": {"col": "flag"}}
    for _ in range(200):
        tree = {"op": "not", "arg": tree}
    with pytest.raises(JobFailure, match="deeper"):
        filters.check(tree, KINDS)


def test_an_old_change_document_without_a_tree_is_read_by_the_grammar_never_passed_on():
    tree = filters.from_request(None, "name = '\\' AND name = ' OR 1=1 --'", KINDS)
    assert tree == {
        "op": "and",
        "args": [
            {"op": "cmp", "cmp": "=", "left": {"col": "name"}, "right": {"str": "\\"}},
            {"op": "cmp", "cmp": "=", "left": {"col": "name"}, "right": {"str": " OR 1=1 --"}},
        ],
    }
    assert filters.from_request(None, None, KINDS) is None
