import pytest

from conftest import fixture
from lakeform_jobs.errors import (
    CODES,
    JAVA_CLASSES,
    BadCsv,
    JobFailure,
    SchemaRefused,
    classify,
    code_for_java_classes,
    spark_error_line,
)

SHARED = fixture("../../lake/errorCodes.json")["codes"]


def test_codes_are_the_shared_list_with_the_same_http_statuses():
    assert list(CODES) == list(SHARED)
    assert {c: s["http"] for c, s in SHARED.items()} == CODES


def test_classes_map_only_to_known_codes():
    assert all(code in CODES for _, code in JAVA_CLASSES)


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError):
        JobFailure("NO_SUCH_CODE", "x")


def test_the_reply_carries_code_message_and_detail_only():
    reply = BadCsv("line 3 has a different number of fields than the header (4)", "detail").reply()
    assert reply == {
        "ok": False,
        "error": {"code": "BAD_CSV", "message": "line 3 has a different number of fields than the header (4)", "detail": "detail"},
    }
    assert BadCsv("x").http_status == 400
    assert SchemaRefused("x").http_status == 422


class FakeJavaException:
    """The part of a py4j JavaObject for a Throwable that classification reads."""

    def __init__(self, name, cause=None):
        self.name, self.cause = name, cause

    def getClass(self):
        return self

    def getName(self):
        return self.name

    def getCause(self):
        return self.cause

    def equals(self, other):
        return other is self


class FakePy4JError(Exception):
    def __init__(self, chain, text):
        super().__init__(text)
        cause = None
        for name in reversed(chain):
            cause = FakeJavaException(name, cause)
        self.java_exception = cause


@pytest.mark.parametrize(
    "chain,code",
    [
        (["org.apache.spark.SparkException", "org.apache.spark.sql.catalyst.util.BadRecordException"], "BAD_CSV"),
        (["org.apache.hudi.exception.HoodieUpsertException", "org.apache.hudi.exception.SchemaCompatibilityException"], "SCHEMA_REFUSED"),
        (["org.apache.iceberg.exceptions.ValidationException"], "SCHEMA_REFUSED"),
        (["org.apache.spark.SparkException", "java.lang.OutOfMemoryError"], "SPARK_ERROR"),
        # Words in a message don't decide: a metastore outage mentioning a schema stays a Spark error.
        (["org.apache.hadoop.hive.metastore.api.MetaException"], "SPARK_ERROR"),
    ],
)
def test_classification_by_exception_class(chain, code):
    err = FakePy4JError(chain, "org.apache.hadoop.hive.metastore.api.MetaException: Incompatible schema: cast failed")
    failure = classify(err, "trace")
    assert failure.code == code
    assert failure.detail == "trace"
    assert code_for_java_classes(chain) == (None if code == "SPARK_ERROR" else code)


def test_a_job_failure_is_kept_and_python_request_errors_are_bad_requests():
    f = BadCsv("x")
    assert classify(f) is f
    assert classify(KeyError("table")).code == "BAD_REQUEST"


def test_spark_error_line_is_the_innermost_message():
    text = (
        "An error occurred while calling o123.save.\n"
        ": org.apache.spark.SparkException: Job aborted: org.apache.hudi.exception.HoodieException: the key is missing\n"
        "\tat org.apache.spark.Foo.bar(Foo.scala:1)\n"
    )
    assert spark_error_line(Exception(text)) == "the key is missing"
