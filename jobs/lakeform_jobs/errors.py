"""The error codes the job server answers with: the same list as lake/errorCodes.json (the
TypeScript side), with the same HTTP statuses. jobs/tests/test_errors.py checks both agree.

A failure is classified by what it is (a JobFailure raised here on purpose, a missing request
field, or a JVM exception's class in its cause chain), not by matching words in its message.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

# code -> HTTP status (lake/errorCodes.json; the exit code, reason and retryability live on the
# TypeScript side, which is where they are used).
CODES: dict[str, int] = {
    "BAD_REQUEST": 400,
    "BAD_TABLE_NAME": 400,
    "BAD_AS_OF": 400,
    "BAD_WHERE": 400,
    "BAD_VALUES": 400,
    "BAD_STATEMENT": 400,
    "UNKNOWN_STATEMENT": 400,
    "EMPTY_QUERY": 400,
    "MULTIPLE_STATEMENTS": 400,
    "NO_FILE": 400,
    "TOO_MANY_ROWS": 400,
    "TRINO_PATH_ICEBERG_ONLY": 400,
    "QUERY_REFUSED": 400,
    "QUERY_TIMEOUT": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "UNKNOWN_TABLE": 404,
    "NOT_FOUND": 404,
    "UNKNOWN_COMMIT": 404,
    "COMMIT_EXPIRED": 410,
    "METHOD_NOT_ALLOWED": 405,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "TOO_MANY_REQUESTS": 429,
    "REQUEST_HEAD_TOO_LARGE": 431,
    "TABLE_MISSING": 409,
    "TABLE_BUSY": 409,
    "LEASE_LOST": 409,
    "INCOMPATIBLE_SPEC_CHANGE": 409,
    "TRASH_CONFLICT": 409,
    "REPAIR_PENDING": 409,
    "BAD_CSV": 400,
    "SCHEMA_REFUSED": 422,
    "SOURCE_UNREADABLE": 422,
    "SPEC_INVALID": 503,
    "OBJECT_STORE_ERROR": 503,
    "SPARK_UNAVAILABLE": 503,
    "TRINO_UNAVAILABLE": 503,
    "SPARK_ERROR": 500,
    "ACTION_NOT_OBSERVED": 500,
    "TRINO_ERROR": 500,
    "INTERNAL": 500,
}

class JobFailure(Exception):
    """A failure with a stable code (one of CODES), a human message and an optional detail."""

    def __init__(self, code: str, message: str, detail: str | None = None):
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail

    @property
    def http_status(self) -> int:
        return CODES[self.code]

    def reply(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"ok": False, "error": error}


class BadRequest(JobFailure):
    def __init__(self, message: str, detail: str | None = None):
        super().__init__("BAD_REQUEST", message, detail)


class BadCsv(JobFailure):
    def __init__(self, message: str, detail: str | None = None):
        super().__init__("BAD_CSV", message, detail)


class SchemaRefused(JobFailure):
    def __init__(self, message: str, detail: str | None = None):
        super().__init__("SCHEMA_REFUSED", message, detail)


class SourceUnreadable(JobFailure):
    def __init__(self, message: str, detail: str | None = None):
        super().__init__("SOURCE_UNREADABLE", message, detail)


# JVM exception classes (anywhere in the cause chain) and what they mean for a write. The first
# match walking from the outermost exception inwards wins.
JAVA_CLASSES: list[tuple[str, str]] = [
    # Hudi refusing a schema change (type change, dropped column) on write or hive sync.
    ("org.apache.hudi.exception.SchemaCompatibilityException", "SCHEMA_REFUSED"),
    ("org.apache.hudi.exception.HoodieNullSchemaTypeException", "SCHEMA_REFUSED"),
    ("org.apache.hudi.internal.schema.HoodieSchemaException", "SCHEMA_REFUSED"),
    # Iceberg refusing an incompatible type (update schema, write compatibility check).
    ("org.apache.iceberg.exceptions.ValidationException", "SCHEMA_REFUSED"),
    # Spark's CSV parser in FAILFAST mode.
    ("org.apache.spark.sql.catalyst.util.BadRecordException", "BAD_CSV"),
    ("org.apache.spark.sql.catalyst.csv.MalformedCSVException", "BAD_CSV"),
    ("com.univocity.parsers.common.TextParsingException", "BAD_CSV"),
]


def code_for_java_classes(classes: Iterable[str]) -> str | None:
    """The code for a JVM exception whose cause chain (outermost first) has these classes."""
    chain = list(classes)
    for name in chain:
        for cls, code in JAVA_CLASSES:
            if name == cls:
                return code
    return None


def java_cause_chain(err: BaseException) -> list[str]:
    """Class names of a Py4JJavaError's Java exception and its causes, outermost first."""
    # Py4JJavaError carries java_exception; PySpark's converted exceptions keep it as _origin.
    jexc = getattr(err, "java_exception", None) or getattr(err, "_origin", None)
    out: list[str] = []
    seen = 0
    while jexc is not None and seen < 20:
        try:
            out.append(str(jexc.getClass().getName()))
            nxt = jexc.getCause()
        except Exception:  # the gateway is gone: what we have is what we know
            break
        if nxt is None or nxt.equals(jexc):
            break
        jexc, seen = nxt, seen + 1
    return out


def spark_error_line(err: BaseException) -> str:
    """The line of a Spark/JVM error that says what went wrong, not the stack trace:
    the innermost exception's message of the first exception line."""
    text = str(err)
    for line in text.splitlines():
        line = line.strip().lstrip(": ")
        if not line or line.startswith(("at ", "JVM stacktrace", "...", "An error occurred while calling")):
            continue
        parts = [p for p in re.split(r"(?:[\w$]+\.)+[\w$]*(?:Exception|Error)(?::\s*|$)", line) if p.strip()]
        return (parts[-1] if parts else line)[:500]
    return text[:500]


def classify(err: BaseException, trace: str | None = None) -> JobFailure:
    """Any exception raised by an operation as a JobFailure with a code."""
    if isinstance(err, JobFailure):
        return err
    if isinstance(err, (KeyError, TypeError, ValueError)) and not java_cause_chain(err):
        return BadRequest(f"bad request: {err}")
    code = code_for_java_classes(java_cause_chain(err)) or "SPARK_ERROR"
    message = spark_error_line(err)
    if code == "SCHEMA_REFUSED":
        message = f"incompatible schema change: {message}; the table was left as it was"
    elif code == "BAD_CSV":
        message = f"the CSV can't be parsed: {message}"
    return JobFailure(code, message, (trace or "")[-4000:] or None)
