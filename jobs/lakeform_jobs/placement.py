"""Where a table's files are, when they are not at its home location.

A table lives at s3a://<bucket>/<db>/<name> (lake/jobClient.ts tableLocation) until a rebuild
(rebuild.py) swaps in a table written at a new location. From then on a small record says where
it is and in which format: s3a://<bucket>/_lakeform/tables/<db>/<name>.json, {"location",
"format"}, and, while a rebuild is under way, "rebuild" (its stage, the shadow table's location):
the rebuild's own journal. A trashed table's record (the table a rebuild replaced, kept under its
trash name) says where its files are, so undrop and purge find them.

Every request's table is resolved through it (server.py) before its operation runs: callers keep
naming the home location. While a rebuild is swapping, the metastore's entry is the truth (the
swap is one alter_table): the record names both places and the entry says which one is live.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from .types import RESERVED, Table

if TYPE_CHECKING:
    from .catalog import Storage

PREFIX = f"{RESERVED}/tables"


def home(t: Table) -> str:
    """The table's home location, s3a://<bucket>/<db>/<name>."""
    return f"{bucket_of(t)}/{t.database}/{t.name}"


def bucket_of(t: Table) -> str:
    m = re.match(r"^(s3a://[^/]+)/", t.location + "/")
    assert m, t.location
    return m.group(1)


def record_uri(t: Table) -> str:
    return f"{bucket_of(t)}/{PREFIX}/{t.database}/{t.name}.json"


def live(record: dict[str, Any] | None, entry_location: Callable[[], str | None]) -> tuple[str, str] | None:
    """(location, format) a record says the table is at; None without a record. During a swap
    (stage "swapping") the metastore entry's location tells whether the swap happened. Pure."""
    if not record:
        return None
    where = (record["location"], record["format"])
    rb = record.get("rebuild") or {}
    if rb.get("stage") == "swapping" and entry_location() == rb.get("shadow"):
        return rb["shadow"], rb["format"]
    return where


class Placements:
    """The records, read once per table by this process (only this job server writes them)."""

    def __init__(self, storage: "Storage", entry_location: Callable[[Table], str | None]):
        self.storage = storage
        self.entry_location = entry_location
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._guard = threading.Lock()

    def read(self, t: Table) -> dict[str, Any] | None:
        uri = record_uri(t)
        with self._guard:
            if uri in self._cache:
                return self._cache[uri]
        rec = json.loads(self.storage.read_text(uri)) if self.storage.exists(uri) else None
        with self._guard:
            self._cache[uri] = rec
        return rec

    def write(self, t: Table, record: dict[str, Any]) -> None:
        uri = record_uri(t)
        self.storage.write_text(uri, json.dumps(record))
        with self._guard:
            self._cache[uri] = record

    def remove(self, t: Table) -> None:
        uri = record_uri(t)
        self.storage.delete(uri, recursive=False)
        with self._guard:
            self._cache[uri] = None

    def resolve(self, t: Table) -> Table:
        """The table where it lives: its home location unless a record says otherwise. A table
        named by another location than its home (a rebuild's shadow) is left as it is."""
        if t.location != home(t):
            return t
        where = live(self.read(t), lambda: self.entry_location(t))
        if where is None:
            return t
        return replace(t, location=where[0], format=where[1])  # type: ignore[arg-type]
