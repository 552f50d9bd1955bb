"""The job server's side of `lakeform doctor` (doctor.py) without Spark: bundle jars named as Maven
and --packages name them, the request's checks, a reach bounded in time, the reply's JSON."""

import time

import pytest

from lakeform_jobs.doctor import Bundle, DoctorRequest, DoctorResult, Reach, bounded, describe, parse_bundle_jar
from lakeform_jobs.errors import BadRequest


@pytest.mark.parametrize(
    "fmt,jar,want",
    [
        ("hudi", "file:/home/u/.ivy2/jars/org.apache.hudi_hudi-spark3.5-bundle_2.12-1.0.2.jar", ("1.0.2", "3.5", "2.12")),
        ("hudi", "file:/c/jars/hudi-spark3-bundle_2.12-0.15.0.jar", ("0.15.0", "3", "2.12")),
        ("iceberg", "file:/c/jars/iceberg-spark-runtime-3.5_2.12-1.10.0.jar", ("1.10.0", "3.5", "2.12")),
        ("iceberg", "file:/c/jars/org.apache.iceberg_iceberg-spark-runtime-3.4_2.13-1.9.2.jar", ("1.9.2", "3.4", "2.13")),
    ],
)
def test_a_bundles_version_spark_line_and_scala_come_from_its_jars_name(fmt, jar, want):
    b = parse_bundle_jar(fmt, jar)
    assert (b.version, b.spark_line, b.scala) == want
    assert b.jar == jar


def test_a_jar_named_otherwise_leaves_them_unknown():
    assert parse_bundle_jar("hudi", "file:/c/jars/shaded-lake.jar") == Bundle(format="hudi", jar="file:/c/jars/shaded-lake.jar", version=None, spark_line=None, scala=None)


def test_the_request_names_checks_of_the_list_or_none():
    assert DoctorRequest.parse({}).wants("s3")
    req = DoctorRequest.parse({"checks": ["versions"]})
    assert req.wants("versions") and not req.wants("metastore")
    with pytest.raises(BadRequest):
        DoctorRequest.parse({"checks": ["hdfs"]})


def test_a_reach_that_fails_or_hangs_is_reported_not_raised():
    assert bounded("x", lambda: "fine").ok
    failed = bounded("x", lambda: (_ for _ in ()).throw(OSError("Connection refused")))
    assert not failed.ok and "Connection refused" in failed.detail
    started = time.monotonic()
    hung = bounded("x", lambda: time.sleep(5) or "late", timeout_s=0.2)
    assert not hung.ok and hung.detail == "no answer within 0.2 s" and time.monotonic() - started < 2


class _Java:
    """A Java exception as py4j shows it: class, message, cause."""

    def __init__(self, cls: str, msg: str, cause: "_Java | None" = None):
        self.cls, self.msg, self.cause = cls, msg, cause

    def getClass(self):  # noqa: N802
        return type("C", (), {"getName": lambda _: self.cls})()

    def getMessage(self):  # noqa: N802
        return self.msg

    def getCause(self):  # noqa: N802
        return self.cause


def test_a_java_failure_is_described_down_to_its_root_cause_whichever_way_pyspark_raised_it():
    root = _Java("java.net.ConnectException", "Connection refused")
    chain = _Java(
        "org.apache.spark.sql.AnalysisException", "org.apache.hadoop.hive.ql.metadata.HiveException: java.lang.RuntimeException: Unable to instantiate SessionHiveMetaStoreClient",
        _Java("java.lang.RuntimeException", "Unable to instantiate SessionHiveMetaStoreClient", _Java("org.apache.thrift.transport.TTransportException", "java.net.ConnectException: Connection refused", root)),
    )

    class Converted(Exception):  # PySpark's AnalysisException: the Java exception is its _origin
        _origin = chain

    class Py4J(Exception):  # py4j's Py4JJavaError
        java_exception = chain

    for e in (Converted("Unable to instantiate"), Py4J("An error occurred")):
        d = describe(e)
        assert d.startswith("org.apache.spark.sql.AnalysisException: ") and d.endswith("java.net.ConnectException: Connection refused")
    assert describe(OSError("Connection refused")) == "OSError: Connection refused"


def test_the_reply_is_camel_cased_json():
    r = DoctorResult(spark="3.5.5", scala="2.12.18", bundles=[Bundle("hudi", "j", "1.0.2", "3.5", "2.12")], hudi_write_table_version="6", s3=Reach(True, "ok", 3), metastore=None)
    assert r.to_json() == {
        "spark": "3.5.5",
        "scala": "2.12.18",
        "bundles": [{"format": "hudi", "jar": "j", "version": "1.0.2", "sparkLine": "3.5", "scala": "2.12"}],
        "hudiWriteTableVersion": "6",
        "s3": {"ok": True, "detail": "ok", "ms": 3},
        "metastore": None,
    }
