"""The Arrow path reports a failed write in the job server's codes (arrow.path.failure), never as
an UnboundLocalError: a local of the same name in ArrowPath.write (the expectations' refusal) made
every `failure(e)` in it a local lookup, so a write that failed without expectations raised
'cannot access local variable failure' and hid the real error."""
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("pyiceberg")

from lakeform_jobs.arrow import path  # noqa: E402
from lakeform_jobs.errors import JobFailure  # noqa: E402


def test_write_calls_the_module_failure_not_a_local():
    code = path.ArrowPath.write.__code__
    assert "failure" not in code.co_varnames
    assert "failure" in code.co_names


def test_failure_keeps_the_cause_as_a_job_failure():
    got = path.failure(OSError("connection refused"))
    assert isinstance(got, JobFailure)
    assert "connection refused" in str(got)
