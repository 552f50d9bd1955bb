"""The error codes the job server answers with: lake/errorCodes.json's (the TypeScript side), with
their HTTP statuses, read from the generated contract (contract/constants.json).

A failure is classified by what it is (a JobFailure raised here on purpose, a missing request
field, or a JVM exception's class in its cause chain), not by matching words in its message.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from .contract import CONSTANTS

# code -> HTTP status, generated from lake/errorCodes.json (contract/constants.json; the exit code,
# reason and retryability live on the TypeScript side, which is where they are used).
CODES: dict[str, int] = dict(CONSTANTS["errorCodes"])

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
