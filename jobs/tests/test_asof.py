import pytest

from conftest import fixture
from lakeform_jobs.asof import parse_as_of
from lakeform_jobs.errors import JobFailure

CASES = fixture("as-of.json")


@pytest.mark.parametrize("case", CASES["valid"], ids=lambda c: c["input"])
def test_valid_as_of(case):
    a = parse_as_of(case["input"])
    assert a.kind == case["kind"]
    if case["kind"] == "timestamp":
        assert a.hudi_instant == case["hudiInstant"]
    else:
        assert a.hudi_instant == case["input"]


@pytest.mark.parametrize("raw", CASES["invalid"])
def test_invalid_as_of_is_bad_as_of(raw):
    with pytest.raises(JobFailure) as e:
        parse_as_of(raw)
    assert e.value.code == "BAD_AS_OF"
    assert e.value.http_status == 400
