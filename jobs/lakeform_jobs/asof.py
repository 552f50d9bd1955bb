"""The asOf grammar, the same as the TypeScript side's (both checked against
tests/fixtures/as-of.json): a commit id (digits: a Hudi instant or an Iceberg snapshot id) or an
ISO-8601 timestamp (`2026-11-24T10:00:00Z`; no zone means UTC)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

COMMIT_ID = re.compile(r"[0-9]{8,20}", re.ASCII)
TIMESTAMP = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?))?(Z|[+-][0-9]{2}:?[0-9]{2})?", re.ASCII)


@dataclass(frozen=True)
class AsOf:
    kind: str  # "commit" | "timestamp"
    input: str
    millis: int | None = None  # timestamps: milliseconds since the epoch, UTC

    @property
    def hudi_instant(self) -> str:
        """The Hudi instant to read as of: the commit itself, or the timestamp in UTC as
        yyyyMMddHHmmssSSS (Hudi's timeline is kept in UTC: hoodie.table.timeline.timezone)."""
        if self.kind == "commit":
            return self.input
        assert self.millis is not None
        t = datetime.fromtimestamp(self.millis / 1000, tz=timezone.utc)
        return t.strftime("%Y%m%d%H%M%S") + f"{self.millis % 1000:03d}"


def parse_as_of(raw: str) -> AsOf:
    from .errors import JobFailure

    # Whole-string matches only, no stripping: the same strings as lake/asOf.ts accepts.
    text = str(raw)
    if COMMIT_ID.fullmatch(text):
        return AsOf("commit", text)
    m = TIMESTAMP.fullmatch(text)
    if not m:
        raise JobFailure("BAD_AS_OF", f"asOf {raw!r} is neither a commit id (digits) nor a timestamp like 2026-11-24T10:00:00Z")
    date, clock, zone = m.group(1), m.group(2) or "00:00", m.group(3)
    hms, _, frac = clock.partition(".")
    if hms.count(":") == 1:
        hms += ":00"
    try:
        t = datetime.strptime(f"{date} {hms}", "%Y-%m-%d %H:%M:%S")
    except ValueError as e:
        raise JobFailure("BAD_AS_OF", f"asOf {raw!r} is not a valid time: {e}") from e
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        if int(digits[:2]) > 23 or int(digits[2:]) > 59:
            raise JobFailure("BAD_AS_OF", f"asOf {raw!r} has a zone offset out of range")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    t = t.replace(tzinfo=timezone(offset))
    millis = int(t.timestamp()) * 1000 + int((frac + "000")[:3])
    return AsOf("timestamp", text, millis)
