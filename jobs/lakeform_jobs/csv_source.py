"""Reading a CSV source (a landed s3a:// file) into a DataFrame with sanitised column names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import BadCsv
from .names import sanitize_column

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def sanitized_names(raw: list[str]) -> tuple[list[str], dict[str, str]]:
    """The table's column names for a CSV header, unique, with what was renamed."""
    renamed: dict[str, str] = {}
    names: list[str] = []
    for c in raw:
        new = sanitize_column(c)
        base, n = new, 2
        while new in names:
            new = f"{base}_{n}"
            n += 1
        names.append(new)
        if new != c:
            renamed[c] = new
    return names, renamed


def read_csv(spark: "SparkSession", uri: str) -> tuple["DataFrame", dict[str, str]]:
    """Reads a CSV with its header; FAILFAST so a ragged row fails the write instead of becoming nulls."""
    raw = spark.read.option("header", "true").option("mode", "FAILFAST").option("inferSchema", "true") \
        .option("enforceSchema", "false").option("multiLine", "false").csv(uri)
    names, renamed = sanitized_names(raw.columns)
    return raw.toDF(*names), renamed


def validate_rows(spark: "SparkSession", uri: str) -> None:
    """Finds the first ragged line before Spark parses the file, so the error names it
    (Spark's FAILFAST message doesn't say which line)."""
    import csv

    lines = spark.sparkContext.textFile(uri).zipWithIndex()
    first = lines.take(1)
    if not first or not first[0][0].strip():
        raise BadCsv("the CSV is empty or has no header line")
    expected = len(next(csv.reader([first[0][0]])))

    def bad(pair: tuple[str, int]) -> bool:
        line, _ = pair
        if not line.strip():
            return False
        try:
            return len(next(csv.reader([line]))) != expected
        except Exception:
            return True

    found = lines.filter(bad).take(1)
    if found:
        line, idx = found[0]
        raise BadCsv(f"line {idx + 1} has a different number of fields than the header ({expected}): {line[:200]!r}")
