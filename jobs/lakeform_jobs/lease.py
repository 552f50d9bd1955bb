"""Fenced writes: the job server commits only for the current holder of the table's lease.

Every committing request Lakeform sends (write, maintain, drop, register, resync, forget_catalog,
clear_leftovers) carries the key of the table's lease object (_lakeform/leases/<db>/<table>.json
in the warehouse bucket, lake/lease.ts) and the generation its sender holds: a fencing token, one
more each time the lease changes hands. Before the operation acts, and again right before a
write's Spark write action, the job server reads the lease object and refuses (LEASE_LOST,
retryable, nothing written) when its generation differs or it has expired. While a write's Spark
write action runs, a watchdog reads the lease every POLL_S and, once it is lost, cancels the
write's Spark jobs (its job group), so the action fails before it commits.

What the formats leave open: Hudi's datasource and Iceberg's Spark actions (create, append,
MERGE) run their Spark jobs and commit in one call, with no hook between the two that Lakeform can
use from here (Hudi's pre-commit validators don't run for the row-writer bulk_insert). A lease
lost after the watchdog's last read (at most POLL_S) and after the action's last Spark job
finished, in the driver-only moment that writes the commit (Hudi's .commit file, Iceberg's
metadata swap), still commits. Such a commit is reported (logged loudly by the check after the
action) and journaled like any other; it is one write, whole, made while the new holder's own
request waits for this table's write lock on this job server, so the two never interleave.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .errors import BadRequest, JobFailure

log = logging.getLogger("lakeform.jobs")

# How often a running write's watchdog reads the lease (lake/lease.ts renews every ttl/3, 10 s).
POLL_S = 0.5


def lease_key(database: str, name: str) -> str:
    """lake/lease.ts's leaseKey."""
    return f"_lakeform/leases/{database}/{name}.json"


@dataclass(frozen=True)
class Fence:
    """The lease a request was sent under: its object's key and the generation its sender holds."""

    key: str
    generation: int

    @staticmethod
    def parse(body: Any, database: str, name: str) -> "Fence | None":
        """The request's `lease`, if it has one; its key must be the table's own lease object."""
        if not isinstance(body, dict) or body.get("lease") is None:
            return None
        lease = body["lease"]
        if not isinstance(lease, dict):
            raise BadRequest(f"field request.lease must be object, got {type(lease).__name__}")
        key, gen = lease.get("key"), lease.get("generation")
        expected = lease_key(database, name)
        if key != expected:
            raise BadRequest(f"field lease.key must be the table's lease, {expected!r}, got {key!r}")
        if not isinstance(gen, int) or isinstance(gen, bool) or gen < 0:
            raise BadRequest(f"field lease.generation must be a non-negative integer, got {gen!r}")
        return Fence(key=key, generation=gen)


def why_lost(record: dict[str, Any] | None, fence: Fence, now_ms: int) -> str | None:
    """Why a request holding `fence` may not commit given the lease object as read (None: it may)."""
    if record is None:
        return "the lease object is gone or unreadable"
    gen = record.get("generation", 0)
    if gen != fence.generation:
        return f"it changed hands: generation {gen} now, held by {record.get('holder', '?')} ({record.get('purpose', '?')}); the request holds generation {fence.generation}"
    expires = record.get("expiresAt", 0)
    if not isinstance(expires, (int, float)) or expires <= now_ms:
        return "it expired" if expires else "it was released"
    return None


class LeaseGuard:
    """Checks one request's fence against the lease object. `read(uri)` returns the object's text,
    or None when there is none (Storage.read_text in the job server; a fake in tests)."""

    def __init__(self, fence: Fence | None, bucket: str, table_key: str, read: Callable[[str], str | None], clock: Callable[[], float] = time.time):
        self.fence = fence
        self.uri = f"s3a://{bucket}/{fence.key}" if fence else ""
        self.table_key = table_key
        self.read = read
        self.clock = clock
        # Set by the watchdog once it found the lease lost.
        self.lost: str | None = None

    def why_lost(self) -> str | None:
        if self.fence is None:
            return None
        try:
            text = self.read(self.uri)
            record = json.loads(text) if text is not None else None
        except ValueError:
            record = None
        if record is not None and not isinstance(record, dict):
            record = None
        return why_lost(record, self.fence, int(self.clock() * 1000))

    def failure(self, why: str, what: str) -> JobFailure:
        return JobFailure("LEASE_LOST", f"the lease of table {self.table_key} was lost ({why}): {what}")

    def check(self, what: str = "nothing was written") -> None:
        """LEASE_LOST unless the request's sender still holds the lease (no fence: nothing to check)."""
        why = self.lost or self.why_lost()
        if why:
            raise self.failure(why, what)

    @contextmanager
    def watch(self, cancel: Callable[[], None], every_s: float = POLL_S) -> Iterator["LeaseGuard"]:
        """While the block runs, reads the lease every `every_s`; once it is lost, records why
        (`lost`) and calls `cancel` (the write's Spark jobs), and again at each read after."""
        if self.fence is None:
            yield self
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every_s):
                try:
                    why = self.why_lost()
                except Exception:  # the object store didn't answer: the next read decides
                    log.warning("table=%s: could not read its lease", self.table_key, exc_info=True)
                    continue
                if why:
                    if self.lost is None:
                        log.warning("table=%s: lease lost while writing (%s): cancelling the write", self.table_key, why)
                    self.lost = why
                    try:
                        cancel()
                    except Exception:
                        log.exception("table=%s: could not cancel the write's Spark jobs", self.table_key)

        thread = threading.Thread(target=run, name=f"lease-{self.table_key}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


def raise_if_lost(guard: LeaseGuard, err: Exception, what: str) -> None:
    """A write that failed without committing: LEASE_LOST when its lease was lost (the watchdog
    cancelled it, or the lease is gone now), else the failure is what it was."""
    why = guard.lost
    if why is None:
        try:
            why = guard.why_lost()
        except Exception:
            why = None
    if why:
        raise guard.failure(why, what) from err


def warn_if_committed_after_loss(guard: LeaseGuard, commit: str) -> None:
    """The window lease.py describes: the lease was lost after the last check, while the format
    committed. The commit is whole and is journaled like any; it is said loudly."""
    try:
        why = guard.lost or guard.why_lost()
    except Exception:
        return
    if why:
        log.error("table=%s: commit %s landed after the writer's lease was lost (%s): kept and journaled", guard.table_key, commit, why)
