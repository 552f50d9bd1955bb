"""Readers: what the write path calls to read any source. It opens a source by its ReadOptions
(CSV and TSV through csv_source.CsvSource, Parquet and JSON Lines through frames.FrameSource) and
answers CsvSource's methods for whatever it opened, so the write path never asks which format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..csv_source import CsvSource
from .detect import ReadOptions
from .frames import FrameRead, FrameSource

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType

    from ..catalog import Storage
    from ..errors import JobFailure


@dataclass(frozen=True)
class Discarded:
    """Rows left out under schemaPolicy discardRows: how many, and the first one's place and reason."""

    rows: int
    first: str


class Readers:
    def __init__(self, spark: "SparkSession", storage: "Storage"):
        self.spark = spark
        self.csv = CsvSource(spark, storage)
        self.frames = FrameSource(spark, storage)

    def open(self, uri: str, table_types: dict[str, "DataType"] | None = None, read: ReadOptions | None = None, declared: dict[str, str] | None = None, label: str = "") -> Any:
        read = read or ReadOptions.parse({}, uri)
        if read.text:
            return self.csv.open(uri, table_types, read.csv, declared, read.compression, label)
        return self.frames.open(uri, read.format, table_types, declared, label, read.compression)

    def _of(self, r: Any) -> Any:
        return self.frames if isinstance(r, FrameRead) else self.csv

    def rows(self, r: Any, keys: list[str], multiline: bool, position: bool = False, discard: bool = False, flag: bool = False) -> "DataFrame":
        """The typed rows (guarded; with discard the bad ones left out; with flag the bad ones
        flagged, bad_rows.py), without the columns schemaPolicy discardColumns leaves out."""
        df = self._of(r).rows(r, keys, multiline, position=position, discard=discard, flag=flag)
        return df.drop(*r.dropped) if r.dropped else df

    def bad_text(self, r: Any, names: list[str]) -> list["Column"]:
        """A flagged bad row's values as text, as the source had them (rows(flag=True))."""
        return self._of(r).bad_text(r, names)

    def key_counts(self, r: Any, keys: list[str], multiline: bool, discard: bool = False) -> "DataFrame":
        """Per key, how many records carry it; with discard, over the records kept."""
        if discard:
            df = self.rows(r, keys, multiline, discard=True)
            return df.select(*[df[f"`{k}`"] for k in keys]).groupBy(*keys).count()
        return self._of(r).key_counts(r, keys, multiline)

    def needs_multiline(self, r: Any) -> bool:
        return self._of(r).needs_multiline(r)

    def diagnose(self, r: Any, keys: list[str], multiline: bool) -> "JobFailure | None":
        return self._of(r).diagnose(r, keys, multiline)

    def discarded(self, r: Any, keys: list[str], multiline: bool) -> Discarded | None:
        """What discard would leave out: the count and the first bad record, named; None when nothing."""
        n = self._of(r).bad_count(r, keys, multiline)
        if n == 0:
            return None
        first = self.diagnose(r, keys, multiline)
        return Discarded(rows=n, first=first.message if first is not None else "")
