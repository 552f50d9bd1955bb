"""The job server's side of `lakeform doctor` (POST /v1/doctor): what this Spark driver runs (its
version, Scala's, the Hudi and Iceberg bundles on its classpath, the Hudi table version it writes)
and whether it reaches the object store and the metastore the way its writes do (S3A through
Hadoop's FileSystem, Spark's own Hive client). Read-only but for the S3 canary, a small object
under Lakeform's own prefix (_lakeform/canary/), written, read back and deleted.

Each reach is bounded in time: a metastore or an S3 server that doesn't answer is reported as
such, not waited for (the thread asking it is left to finish on its own)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .errors import BadRequest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CHECKS = ("s3", "metastore", "versions")
CANARY_PREFIX = "_lakeform/canary"
# How long one reach may take before it is reported as not answering.
REACH_TIMEOUT_S = 40.0

# What a bundle's jar is named (Maven: artifact-version.jar; --packages: group_artifact-version.jar).
BUNDLE_JARS = {
    "hudi": (re.compile(r"hudi-spark(?P<line>\d+(?:\.\d+)?)-bundle_(?P<scala>\d+\.\d+)-(?P<version>[0-9][^/]*?)\.jar$"), "org.apache.hudi.DefaultSource"),
    "iceberg": (re.compile(r"iceberg-spark-runtime-(?P<line>\d+\.\d+)_(?P<scala>\d+\.\d+)-(?P<version>[0-9][^/]*?)\.jar$"), "org.apache.iceberg.spark.SparkCatalog"),
}


@dataclass(frozen=True)
class DoctorRequest:
    """Which of the checks to run (all when left out)."""

    checks: list[str] | None = None

    @staticmethod
    def parse(body: dict[str, Any]) -> "DoctorRequest":
        checks = body.get("checks")
        if checks is not None:
            if not isinstance(checks, list) or any(c not in CHECKS for c in checks):
                raise BadRequest(f"field checks: a list of {', '.join(CHECKS)}")
        return DoctorRequest(checks=checks)

    def wants(self, check: str) -> bool:
        return self.checks is None or check in self.checks


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _json(v: Any) -> Any:
    if hasattr(v, "__dataclass_fields__"):
        return {_camel(k): _json(getattr(v, k)) for k in v.__dataclass_fields__}
    if isinstance(v, list):
        return [_json(x) for x in v]
    return v


@dataclass
class Bundle:
    """A table format's Spark bundle as found on the driver's classpath."""

    format: str
    jar: str | None
    version: str | None
    spark_line: str | None
    scala: str | None


@dataclass
class Reach:
    """Whether Spark reached a service, what it saw, how long it took."""

    ok: bool
    detail: str
    ms: int


@dataclass
class DoctorResult:
    spark: str
    scala: str | None
    bundles: list[Bundle] = field(default_factory=list)
    hudi_write_table_version: str | None = None
    s3: Reach | None = None
    metastore: Reach | None = None

    def to_json(self) -> dict[str, Any]:
        return _json(self)


def parse_bundle_jar(fmt: str, location: str | None) -> Bundle:
    """The bundle's version, the Spark line and Scala version it was built for, from its jar's name."""
    pattern, _ = BUNDLE_JARS[fmt]
    m = pattern.search(location or "")
    if not m:
        return Bundle(format=fmt, jar=location, version=None, spark_line=None, scala=None)
    return Bundle(format=fmt, jar=location, version=m.group("version"), spark_line=m.group("line"), scala=m.group("scala"))


def bounded(what: str, fn: Callable[[], str], timeout_s: float = REACH_TIMEOUT_S) -> Reach:
    """fn() in a thread of its own, at most timeout_s: ok with its detail, or what failed."""
    out: dict[str, Any] = {}
    started = time.monotonic()

    def run() -> None:
        try:
            out["detail"] = fn()
        except Exception as e:  # reported, not raised: the doctor says what's wrong
            out["error"] = e

    t = threading.Thread(target=run, name=f"doctor-{what}", daemon=True)
    t.start()
    t.join(timeout_s)
    ms = int((time.monotonic() - started) * 1000)
    if t.is_alive():
        return Reach(ok=False, detail=f"no answer within {timeout_s:g} s", ms=ms)
    if "error" in out:
        return Reach(ok=False, detail=describe(out["error"]), ms=ms)
    return Reach(ok=True, detail=out["detail"], ms=ms)


def describe(e: BaseException) -> str:
    """A Java exception's class and message with its root cause's (what failed underneath: a
    refused connection under the Hive client's wrappers), else Python's."""
    # Py4JJavaError carries java_exception; PySpark's converted ones (AnalysisException) keep it as _origin.
    jexc = getattr(e, "java_exception", None) or getattr(e, "_origin", None)
    if jexc is None:
        return f"{type(e).__name__}: {e}"
    chain: list[str] = []
    while jexc is not None and len(chain) < 20:
        msg = str(jexc.getMessage() or "").strip().splitlines()
        chain.append(f"{jexc.getClass().getName()}: {msg[0] if msg else ''}".strip())
        jexc = jexc.getCause()
    shown = chain if len(chain) <= 3 else [chain[0], chain[1], "…", chain[-1]]
    return " <- ".join(shown)[:2000]


class Doctor:
    def __init__(self, spark: "SparkSession", bucket: str):
        self.spark = spark
        self.bucket = bucket

    def run(self, req: DoctorRequest) -> DoctorResult:
        result = DoctorResult(spark=str(self.spark.version), scala=None)
        if req.wants("versions"):
            result.scala = self.scala_version()
            result.bundles = [self.bundle(fmt) for fmt in BUNDLE_JARS]
            result.hudi_write_table_version = self.hudi_write_table_version()
        if req.wants("s3"):
            result.s3 = bounded("s3", self.s3_canary)
        if req.wants("metastore"):
            result.metastore = bounded("metastore", self.metastore)
        return result

    def scala_version(self) -> str | None:
        try:
            return str(self.spark._jvm.scala.util.Properties.versionNumberString())
        except Exception:
            return None

    def bundle(self, fmt: str) -> Bundle:
        _, cls_name = BUNDLE_JARS[fmt]
        jvm = self.spark._jvm
        try:
            loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
            cls = jvm.java.lang.Class.forName(cls_name, False, loader)
            source = cls.getProtectionDomain().getCodeSource()
            location = str(source.getLocation().toString()) if source is not None else None
        except Exception as e:
            return Bundle(format=fmt, jar=f"not on the classpath: {describe(e)}", version=None, spark_line=None, scala=None)
        b = parse_bundle_jar(fmt, location)
        if b.version is None:
            # A jar named otherwise (a shaded or renamed one): its manifest may still say.
            try:
                v = cls.getPackage().getImplementationVersion()
                b.version = str(v) if v else None
            except Exception:
                pass
        return b

    def hudi_write_table_version(self) -> str | None:
        v = self.spark._jsc.hadoopConfiguration().get("hoodie.write.table.version")
        if v is None:
            v = self.spark.conf.get("spark.hadoop.hoodie.write.table.version", None)
        return str(v) if v is not None else None

    def s3_canary(self) -> str:
        """A canary object written, read back and deleted through S3A, as a write's files are."""
        from .catalog import Storage

        storage = Storage(self.spark)
        uri = f"s3a://{self.bucket}/{CANARY_PREFIX}/spark-{uuid.uuid4().hex}"
        token = f"lakeform canary {uuid.uuid4().hex}\n"
        storage.write_text(uri, token)
        try:
            back = storage.read_text(uri)
            if back != token:
                raise RuntimeError(f"the canary {uri} read back other bytes than were written")
        finally:
            storage.delete(uri, False)
        return f"canary {uri} written, read back and deleted"

    def metastore(self) -> str:
        """Spark's Hive client: the databases (get_all_databases) and a table lookup (get_table,
        which Hive 4.0.1 removed and Spark 3.5, Iceberg's HiveCatalog and Hudi's sync still call)."""
        catalog = self.spark._jsparkSession.sharedState().externalCatalog()
        dbs = catalog.listDatabases()
        names = [str(dbs.apply(i)) for i in range(dbs.size())]
        if "default" not in names:
            raise RuntimeError(f"the metastore has no database default (it has: {', '.join(names) or 'none'})")
        catalog.tableExists("default", f"lakeform_doctor_{uuid.uuid4().hex[:8]}")
        uris = self.spark.conf.get("spark.hadoop.hive.metastore.uris", None) or "?"
        return f"{uris}: {len(names)} database(s), a table lookup answered"
