"""The request of every operation, parsed once at the edge (server.py) from JSON into these
(after the contract's schema has checked its shape): a missing or mistyped field is a BAD_REQUEST
naming it. And the warehouse a request's table must be in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import BadRequest
from .lease import Fence
from .types import RESERVED, S3A, Source, Table, field_of, s3a_uri, str_list


WRITE_PATHS = ("auto", "spark")
BAD_ROWS = ("refuse", "quarantine")


def bad_rows_mode(body: dict[str, Any]) -> str:
    mode = field_of(body, "badRows", str, "request", "refuse")
    if mode not in BAD_ROWS:
        raise BadRequest(f"field request.badRows must be one of {', '.join(BAD_ROWS)}, got {mode!r}")
    return mode


@dataclass(frozen=True)
class WriteRequest:
    table: Table
    source: Source
    generation: str
    # The caller saw the table (catalog entry and files): a write that finds it otherwise is
    # refused (REPAIR_PENDING), never made into a new table.
    must_exist: bool = False
    # The table's lease the request was sent under (lease.py): checked before anything commits.
    lease: Fence | None = None
    # Which write path: "auto" lets an Iceberg batch within the budget take the Arrow path
    # (arrow/path.py), "spark" keeps it on Spark.
    path: str = "auto"
    # A quarantine replay (lakeform quarantine replay): the _qkey of each replayed row, removed
    # from <table>__quarantine once the table's write committed.
    quarantine_keys: tuple[str, ...] = ()
    # What a bad row does (bad_rows.py): "refuse" the source (the default: a caller who can fix
    # and resend, the API) or "quarantine" it and write the good rows (the reconciler's sources).
    bad_rows: str = "refuse"

    @staticmethod
    def parse(body: dict[str, Any]) -> "WriteRequest":
        gen = field_of(body, "generation", (str, int), "request")
        t = Table.parse(field_of(body, "table", dict, "request"))
        path = field_of(body, "path", str, "request", "auto")
        if path not in WRITE_PATHS:
            raise BadRequest(f"field request.path must be one of {', '.join(WRITE_PATHS)}, got {path!r}")
        return WriteRequest(
            t, Source.parse(field_of(body, "source", dict, "request")), str(gen),
            bool(field_of(body, "mustExist", bool, "request", False)), Fence.parse(body, t.database, t.name), path,
            tuple(str_list(body, "quarantineKeys", "request", [])), bad_rows_mode(body),
        )


@dataclass(frozen=True)
class TableRequest:
    """observe, register, resync: the table alone."""

    table: Table
    lease: Fence | None = None
    # observe: whether the row count and data files are wanted (a write's check needs neither).
    rows: bool = True

    @staticmethod
    def parse(body: dict[str, Any]) -> "TableRequest":
        t = Table.parse(field_of(body, "table", dict, "request"))
        return TableRequest(t, Fence.parse(body, t.database, t.name), bool(field_of(body, "rows", bool, "request", True)))


@dataclass(frozen=True)
class LocationRequest:
    """drop, forget_catalog, clear_leftovers: where the table is; its key layout isn't needed."""

    table: Table
    purge: bool = False
    lease: Fence | None = None

    @staticmethod
    def parse(body: dict[str, Any]) -> "LocationRequest":
        t = Table.parse(field_of(body, "table", dict, "request"), layout=False)
        return LocationRequest(t, bool(field_of(body, "purge", bool, "request", False)), Fence.parse(body, t.database, t.name))


@dataclass(frozen=True)
class TravelRequest:
    table: Table
    as_of: str
    # A row filter as a tree (filter.py), checked against the table's columns when it is read.
    filter: dict[str, Any] | None = None
    limit: int = 1000

    @staticmethod
    def parse(body: dict[str, Any]) -> "TravelRequest":
        as_of = field_of(body, "asOf", (str, int), "request")
        limit = field_of(body, "limit", int, "request", 1000)
        if limit < 0:
            raise BadRequest("field request.limit must not be negative")
        if "where" in body:
            raise BadRequest("field request.where is not taken: send the filter as a tree (request.filter)")
        return TravelRequest(Table.parse(field_of(body, "table", dict, "request")), str(as_of), field_of(body, "filter", dict, "request", None), limit)


@dataclass(frozen=True)
class CountRequest:
    """How many of a table's current rows a filter matches: what a delete by that filter would remove."""

    table: Table
    filter: dict[str, Any]

    @staticmethod
    def parse(body: dict[str, Any]) -> "CountRequest":
        return CountRequest(Table.parse(field_of(body, "table", dict, "request")), field_of(body, "filter", dict, "request"))


@dataclass(frozen=True)
class ChangesRequest:
    """Changes after commit `since` (None: from the first commit) up to `until` (None: the newest)."""

    table: Table
    since: str | None = None
    until: str | None = None
    limit: int = 10_000

    @staticmethod
    def parse(body: dict[str, Any]) -> "ChangesRequest":
        limit = field_of(body, "limit", int, "request", 10_000)
        if limit < 1:
            raise BadRequest("field request.limit must be at least 1")
        since = field_of(body, "since", (str, int), "request", None)
        until = field_of(body, "until", (str, int), "request", None)
        return ChangesRequest(
            Table.parse(field_of(body, "table", dict, "request")),
            str(since) if since is not None else None,
            str(until) if until is not None else None,
            limit,
        )


@dataclass(frozen=True)
class Warehouse:
    """Where this job server's tables live: its warehouse bucket, from its configuration
    (LAKEFORM_WAREHOUSE_BUCKET, set by the Spark component's plan). Every request's table must be
    in it, and a purge removes nothing but one table's own directory, s3a://<bucket>/<db>/<name>:
    never a database's, the bucket's or Lakeform's own files (_lakeform/)."""

    bucket: str

    def __post_init__(self) -> None:
        if not S3A.fullmatch(f"s3a://{self.bucket}/x"):
            raise ValueError(f"the warehouse bucket {self.bucket!r} is not a bucket name")

    def admit(self, request: Any) -> Any:
        """The request, if every table it names is in the warehouse bucket; BAD_REQUEST naming the field otherwise."""
        table: Table | None = getattr(request, "table", None)
        if table is None:
            return request
        bucket, key = s3a_uri(table.location, "table.location")
        if bucket != self.bucket:
            raise BadRequest(f"field table.location {table.location!r} is outside the warehouse bucket s3a://{self.bucket}/")
        if key.split("/")[0] == RESERVED:
            raise BadRequest(f"field table.location {table.location!r} is in s3a://{self.bucket}/{RESERVED}/, Lakeform's own files (landing, journal), not a table's")
        if getattr(request, "purge", False) and key != f"{table.database}/{table.name}":
            raise BadRequest(
                f"field table.location {table.location!r}: a purge removes only a table's own location, s3a://{self.bucket}/{table.database}/{table.name}"
            )
        return request

    def parser(self, parse: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """A request parser that admits only requests within this warehouse."""
        return lambda body: self.admit(parse(body))
