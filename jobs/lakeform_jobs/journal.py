"""The write journal. Every successful write leaves one small record beside the landed CSVs:
<bucket>/_lakeform/journal/<db>/<table>/<UTC yyyyMMddHHmmssSSS>-<commit>.json. The commits stay
the source of truth; the journal is read only when a table's files were deleted, to rebuild it
with every write it had, in order (API ingests included), not just its declared sources.

Each record keeps how its write read the source (`read`: its format, compression and CSV
options in the write request's own terms, every option said), so a rebuild's replay sends them
back and reads the landed copy exactly as the write did, whatever its landing key's extension or
the table's CSV options say now. A record from before carries no `read` (then a replay reads by
the extension, with the table's CSV options).

The Trino light path (lake/sources.ts, journal()) writes the same records; both sides are
checked against tests/fixtures/journal-entry.json.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .contract import CONSTANTS
from .errors import BadRequest, JobFailure

if TYPE_CHECKING:
    from .catalog import Storage
    from .readers.detect import ReadOptions
    from .types import Table

# The layout both sides write (lake/jobServerContract.ts JOURNAL, via contract/constants.json):
# the fields every record has, and those a record from before them lacks.
FIELDS: tuple[str, ...] = tuple(CONSTANTS["journal"]["fields"])
OPTIONAL_FIELDS: tuple[str, ...] = tuple(CONSTANTS["journal"]["optionalFields"])
PREFIX: str = CONSTANTS["journal"]["prefix"]
log = logging.getLogger(__name__)
# A record's write is tried this many times, waiting RETRY_WAIT_S, then twice that, between.
ATTEMPTS = 4
RETRY_WAIT_S = 0.5


@dataclass(frozen=True)
class JournalEntry:
    commit: str
    source: str
    sourceHash: str
    uri: str
    generation: str
    time: str  # UTC yyyyMMddHHmmssSSS: the record's file name starts with it
    # How the write read its source, as a write request says it (read_request); None in a record
    # from before records kept it.
    read: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        if self.read is None:
            del body["read"]
        return body

    @staticmethod
    def from_json(body: dict[str, Any]) -> "JournalEntry":
        missing = [f for f in FIELDS if f not in body]
        if missing:
            raise ValueError(f"journal record without {', '.join(missing)}")
        read = body.get("read")
        if read is not None and not isinstance(read, dict):
            raise ValueError(f"journal record's read is not an object: {read!r}")
        return JournalEntry(**{f: str(body[f]) for f in FIELDS}, read=read)

    def file_name(self) -> str:
        return f"{self.time}-{self.commit}.json"


def read_request(read: "ReadOptions") -> dict[str, Any]:
    """How a source was read, in a write request's terms (lake/jobServerContract.ts SourceSchema:
    format, compression, csv), every option said: sent back as a replay's, ReadOptions.parse reads
    these same options whatever the landed uri's extension (jobs/tests/test_journal.py)."""
    body: dict[str, Any] = {"format": read.format, "compression": read.compression}
    if read.text:
        c = read.csv
        csv: dict[str, Any] = {"delimiter": c.delimiter, "quote": c.quote, "header": c.header, "encoding": c.encoding}
        if c.escape is not None:
            csv["escape"] = c.escape
        if c.null_values:
            csv["nullValues"] = list(c.null_values)
        if c.locale:
            csv["locale"] = c.locale
        body["csv"] = csv
    return body


def stamp(now: float | None = None) -> str:
    """UTC yyyyMMddHHmmssSSS from one clock reading (the seconds and the milliseconds must agree)."""
    now = time.time() if now is None else now
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}"


def commit_time(iso: str) -> float:
    """A commit's time (its ISO-8601 `time`, as observe reports it) in epoch seconds: where a
    record written after the fact belongs in the journal's order."""
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def journal_dir(t: "Table") -> str:
    m = re.match(r"^(s3a://[^/]+)/", t.location)
    if not m:
        raise BadRequest(f"table location {t.location!r} is not s3a://bucket/...")
    return f"{m.group(1)}/{PREFIX}/{t.database}/{t.name}"


class Journal:
    def __init__(self, storage: "Storage"):
        self.storage = storage

    def append(self, t: "Table", *, commit: str, source: str, source_hash: str, uri: str, generation: str, read: "ReadOptions", at: float | None = None, sleep=time.sleep) -> JournalEntry:
        """Writes the commit's record, with how the source was read (`read`, the request's
        source.read), retried (ATTEMPTS times); still failing, the write fails
        loudly (OBJECT_STORE_ERROR, retryable): its commit is there, and the retry of a declared
        source finds it applied and journals it then (write.py, _already_applied). `at`: the
        commit's own time (epoch seconds) for a record written after the fact, so it sorts where
        the commit is, not after writes that landed since (the replay's order is the names')."""
        entry = JournalEntry(commit=commit, source=source, sourceHash=source_hash, uri=uri, generation=generation, time=stamp(at), read=read_request(read))
        where = f"{journal_dir(t)}/{entry.file_name()}"
        wait = RETRY_WAIT_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self.storage.write_text(where, json.dumps(entry.to_json()))
                return entry
            except Exception as e:  # noqa: BLE001 - the store's failure, whatever its type, is retried then reported
                if attempt == ATTEMPTS:
                    raise JobFailure(
                        "OBJECT_STORE_ERROR",
                        f"commit {commit} of {t.key} landed but its journal record could not be written at {where} ({ATTEMPTS} attempts): {e}",
                    ) from e
                log.warning("table=%s: journal record of commit %s not written (attempt %d of %d): %s", t.key, commit, attempt, ATTEMPTS, e)
                sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    def has(self, t: "Table", commit: str) -> bool:
        """Whether a record of this commit is there."""
        return any(n.endswith(f"-{commit}.json") for n in self.storage.list_names(journal_dir(t)))

    def read(self, t: "Table") -> list[dict[str, Any]]:
        """Every record, oldest first (file names start with the time)."""
        names = [n for n in self.storage.list_names(journal_dir(t)) if n.endswith(".json")]
        return [json.loads(self.storage.read_text(f"{journal_dir(t)}/{n}")) for n in sorted(names)]

    def remove(self, t: "Table") -> None:
        self.storage.delete(journal_dir(t), recursive=True)
