"""What an observe asks Spark, and what it answers from the table's metadata alone.

A pass over a table that hasn't changed must cost what reading its metadata costs, not a Spark
job: the catalog entry, the files, the commits with their Lakeform metadata (Iceberg: the
metadata file the metastore points at; Hudi: the timeline) are read without Spark on every
observe. Only three facts take Spark: the row count (a scan), the columns (the table loaded), the
data files against the target size (Iceberg's files table). Each is kept from the last time Spark
told it, for as long as the table's head (Format.head: Iceberg's metadata file, Hudi's newest
completed instant) is the same: a commit by anyone (Lakeform, Trino, another Spark) moves it,
and then Spark is asked again. A row count the metadata tells exactly (Iceberg's total-records,
no delete files) is taken from there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

# Facts Spark told, by name: "rows" (int | None), "columns" (list), "data_files" (dict | None).
ROWS, COLUMNS, DATA_FILES = "rows", "columns", "data_files"


@dataclass(frozen=True)
class Known:
    """The facts Spark told about a table at one head."""

    head: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """For one observe: the facts taken as known, and those Spark must be asked for."""

    known: dict[str, Any]
    ask_spark: frozenset[str]


def decide(known: Known | None, head: str | None, *, want_rows: bool, has_data_files: bool, metadata_rows: Callable[[], int | None]) -> Decision:
    """What an observe of a table that exists asks Spark. `known` is what Spark last told at
    `known.head`; `head` the table's head now (None: the format can't tell, so nothing is kept).
    `want_rows`: the caller needs the row count and the data files (the reconciler's status and
    maintenance); a write's check needs neither. `metadata_rows`: the row count the metadata
    tells exactly, or None (asked only when the row count isn't known already)."""
    same = known is not None and head is not None and known.head == head
    have = dict(known.facts) if same and known is not None else {}
    wanted = {COLUMNS} | ({ROWS} | ({DATA_FILES} if has_data_files else set()) if want_rows else set())
    if ROWS in wanted and ROWS not in have:
        rows = metadata_rows()
        if rows is not None:
            have[ROWS] = rows
    return Decision(known={k: v for k, v in have.items() if k in wanted}, ask_spark=frozenset(wanted - have.keys()))


class KnownTables:
    """What Spark last told about each table, by table and head; bounded (the oldest entries go
    first). Shared by the job server's request threads."""

    def __init__(self, limit: int = 10_000):
        self.limit = limit
        self._by_table: dict[tuple[str, ...], Known] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Known | None:
        with self._guard:
            return self._by_table.get(key)

    def told(self, key: tuple[str, ...], head: str | None, facts: dict[str, Any]) -> None:
        """Spark told these facts at this head: kept with what was known at the same head."""
        if head is None:
            return
        with self._guard:
            prev = self._by_table.pop(key, None)
            merged = {**(prev.facts if prev is not None and prev.head == head else {}), **facts}
            self._by_table[key] = Known(head, merged)
            while len(self._by_table) > self.limit:
                self._by_table.pop(next(iter(self._by_table)))

    def forget(self, key: tuple[str, ...]) -> None:
        with self._guard:
            self._by_table.pop(key, None)
