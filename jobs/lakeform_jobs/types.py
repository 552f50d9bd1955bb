"""The request and response of every operation, and the table they act on. Requests are parsed
once at the edge (server.py) from JSON into these; a missing or mistyped field is a BAD_REQUEST
naming it. Responses turn back into the JSON the TypeScript client reads (lake/jobClient.ts)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal

from .contract import CONSTANTS
from .errors import BadRequest, JobFailure
from .lease import Fence

# Matched with fullmatch: `$` alone would let a trailing newline through ("t\n").
IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# A column named in a table's layout (key, ordering, partitions, delete marker): lake/spec.ts's
# identifier rule (the reconciler sends them sanitised; the job server sanitises them again).
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FORMATS = ("hudi", "iceberg")
SCHEMA_POLICIES = ("addColumns", "strict")
# s3a://<bucket>/<key>: a bucket name as S3 spells one, then path segments of plain characters.
# No empty, "." or ".." segment, no "%" (Hadoop's Path would resolve or decode them), no other
# scheme: a request names objects in the object store, never a local file (file:, hdfs:, /…).
S3A = re.compile(r"^s3a://([a-z0-9][a-z0-9.-]*)/(.+)$")
SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=+,@-]*$")
# The warehouse's prefix of Lakeform's own files (landed sources, the write journal): no table's.
RESERVED = "_lakeform"
# lake/spec.ts: targetFileSizeMB from 1 to 4096.
MAX_TARGET_FILE_SIZE_MB = 4096


def ident(name: Any, what: str) -> str:
    if not isinstance(name, str) or not IDENT.fullmatch(name):
        raise JobFailure("BAD_TABLE_NAME" if what == "table" else "BAD_REQUEST", f"{what} {name!r} is not a valid identifier")
    return name


def column(name: str, where: str) -> str:
    if not COLUMN.fullmatch(name):
        raise BadRequest(f"field {where} {name!r} is not a valid column name (letters, digits, _; not starting with a digit)")
    return name


def s3a_uri(uri: str, where: str) -> tuple[str, str]:
    """(bucket, key) of an s3a:// URI whose every path segment is plain; BAD_REQUEST naming the field otherwise."""
    m = S3A.fullmatch(uri)
    if not m:
        raise BadRequest(f"field {where} {uri!r} is not s3a://bucket/...")
    key = m.group(2).rstrip("/")
    if not key or not all(SEGMENT.fullmatch(seg) for seg in key.split("/")):
        raise BadRequest(f"field {where} {uri!r} has an empty, '.', '..' or unusual path segment")
    return m.group(1), key


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if not isinstance(body, dict):
        raise BadRequest(f"{where} must be a JSON object")
    if name not in body or body[name] is None:
        if default is ...:
            raise BadRequest(f"missing field {where}.{name}")
        return default
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadRequest(f"field {where}.{name} must be {names}, got {type(value).__name__}")
    return value


def _str_list(body: dict[str, Any], name: str, where: str, default: Any = ...) -> list[str]:
    value = _field(body, name, (list, str), where, default)
    items = [value] if isinstance(value, str) else value
    if not all(isinstance(v, str) for v in items):
        raise BadRequest(f"field {where}.{name} must be a list of strings")
    return list(items)


@dataclass(frozen=True)
class DeleteWhen:
    """A source row whose `column` holds one of `equals` (lower-cased text) deletes its key."""

    column: str
    equals: tuple[str, ...]

    @staticmethod
    def parse(body: Any) -> "DeleteWhen | None":
        if body is None:
            return None
        marker = column(_field(body, "column", str, "table.deleteWhen"), "table.deleteWhen.column")
        equals = _str_list(body, "equals", "table.deleteWhen")
        if not equals:
            raise BadRequest("field table.deleteWhen.equals must name at least one value")
        return DeleteWhen(column=marker, equals=tuple(v.strip().lower() for v in equals))


@dataclass(frozen=True)
class Retain:
    """How much history a table keeps: the newest `commits`, or the commits of the last `days`
    (the newest commit is always kept). Without one, a table keeps DEFAULT (README: defaults)."""

    commits: int | None = None
    days: float | None = None

    @staticmethod
    def parse(body: Any) -> "Retain | None":
        if body is None:
            return None
        commits = _field(body, "commits", int, "table.retain", None)
        days = _field(body, "days", (int, float), "table.retain", None)
        if (commits is None) == (days is None):
            raise BadRequest("field table.retain must be {commits: N} or {days: D}")
        # lake/spec.ts's RetainSchema: a whole number of commits from 1, a positive number of days.
        if (commits is not None and commits < 1) or (days is not None and not (math.isfinite(days) and days > 0)):
            raise BadRequest("field table.retain must keep at least one commit")
        return Retain(commits=commits, days=float(days) if days is not None else None)


# lake/spec.ts's defaults, from the contract (contract/constants.json).
DEFAULT_RETAIN = Retain(commits=CONSTANTS["defaultRetain"].get("commits"), days=float(CONSTANTS["defaultRetain"]["days"]) if "days" in CONSTANTS["defaultRetain"] else None)
DEFAULT_TARGET_FILE_SIZE_MB: int = CONSTANTS["defaultTargetFileSizeMB"]
# The spec fields a table can't change (lake/spec.ts IMMUTABLE_FIELDS), recorded in every commit.
IMMUTABLE_FIELDS: tuple[str, ...] = tuple(CONSTANTS["immutableFields"])


@dataclass(frozen=True)
class Table:
    """What the job server needs to know of a table (lake/jobClient.ts: JobTable)."""

    name: str
    database: str
    format: Literal["hudi", "iceberg"]
    location: str
    primary_key: list[str] = field(default_factory=list)
    ordering_field: str | None = None
    partition_by: list[str] = field(default_factory=list)
    schema_policy: str = "addColumns"
    delete_when: DeleteWhen | None = None
    retain: Retain | None = None
    target_file_size_mb: int | None = None

    @property
    def retention(self) -> "Retain":
        return self.retain or DEFAULT_RETAIN

    @property
    def target_bytes(self) -> int:
        return (self.target_file_size_mb or DEFAULT_TARGET_FILE_SIZE_MB) * 1024 * 1024

    @property
    def key(self) -> str:
        """The name writes to the table are serialised on."""
        return f"{self.database}.{self.name}"

    @staticmethod
    def parse(body: Any, *, layout: bool = True) -> "Table":
        """A table from its JSON. `layout=False` for operations that need only where it is
        (drop, forget_catalog, clear_leftovers): the key may be absent."""
        w = "table"
        fmt = _field(body, "format", str, w)
        if fmt not in FORMATS:
            raise BadRequest(f"field table.format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        location = _field(body, "location", str, w)
        s3a_uri(location, "table.location")
        size = _field(body, "targetFileSizeMB", int, w, None)
        if size is not None and not 1 <= size <= MAX_TARGET_FILE_SIZE_MB:
            raise BadRequest(f"field table.targetFileSizeMB must be from 1 to {MAX_TARGET_FILE_SIZE_MB}, got {size}")
        ordering = _field(body, "orderingField", str, w, None)
        policy = _field(body, "schemaPolicy", str, w, "addColumns")
        if policy not in SCHEMA_POLICIES:
            raise BadRequest(f"field table.schemaPolicy must be one of {', '.join(SCHEMA_POLICIES)}, got {policy!r}")
        return Table(
            name=ident(_field(body, "name", str, w), "table"),
            database=ident(_field(body, "database", str, w, "default"), "database"),
            format=fmt,
            location=location.rstrip("/"),
            primary_key=[column(c, "table.primaryKey") for c in (_str_list(body, "primaryKey", w) if layout else _str_list(body, "primaryKey", w, []))],
            ordering_field=column(ordering, "table.orderingField") if ordering is not None else None,
            partition_by=[column(c, "table.partitionBy") for c in _str_list(body, "partitionBy", w, [])],
            schema_policy=policy,
            delete_when=DeleteWhen.parse(body.get("deleteWhen")) if isinstance(body, dict) else None,
            retain=Retain.parse(body.get("retain")) if isinstance(body, dict) else None,
            target_file_size_mb=size,
        )

    def spec_json(self) -> str:
        """The spec's immutable fields as recorded in every commit (lakeform.spec)."""
        return json.dumps({f: getattr(self, snake(f)) for f in IMMUTABLE_FIELDS})


@dataclass(frozen=True)
class Source:
    uri: str
    hash: str
    name: str = ""
    # Apply at most once: a source whose hash a commit of the table already carries is not
    # written again (the reconciler's writes; an API upload may repeat content on purpose).
    once: bool = False
    # False: a rebuild's replay of a journal entry, not journaled again (its entry is there).
    journal: bool = True

    @staticmethod
    def parse(body: Any) -> "Source":
        w = "source"
        src = Source(
            uri=_field(body, "uri", str, w),
            hash=_field(body, "hash", str, w),
            name=_field(body, "name", str, w, ""),
            once=bool(_field(body, "once", bool, w, False)),
            journal=bool(_field(body, "journal", bool, w, True)),
        )
        # Any bucket (a table's declared s3:// sources are read where they are), never a local file.
        s3a_uri(src.uri, "source.uri")
        return src


# -------------------------------------------------------------------------------- requests


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

    @staticmethod
    def parse(body: dict[str, Any]) -> "WriteRequest":
        gen = _field(body, "generation", (str, int), "request")
        t = Table.parse(_field(body, "table", dict, "request"))
        return WriteRequest(
            t, Source.parse(_field(body, "source", dict, "request")), str(gen),
            bool(_field(body, "mustExist", bool, "request", False)), Fence.parse(body, t.database, t.name),
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
        t = Table.parse(_field(body, "table", dict, "request"))
        return TableRequest(t, Fence.parse(body, t.database, t.name), bool(_field(body, "rows", bool, "request", True)))


@dataclass(frozen=True)
class LocationRequest:
    """drop, forget_catalog, clear_leftovers: where the table is; its key layout isn't needed."""

    table: Table
    purge: bool = False
    lease: Fence | None = None

    @staticmethod
    def parse(body: dict[str, Any]) -> "LocationRequest":
        t = Table.parse(_field(body, "table", dict, "request"), layout=False)
        return LocationRequest(t, bool(_field(body, "purge", bool, "request", False)), Fence.parse(body, t.database, t.name))


@dataclass(frozen=True)
class TravelRequest:
    table: Table
    as_of: str
    # A row filter as a tree (filter.py), checked against the table's columns when it is read.
    filter: dict[str, Any] | None = None
    limit: int = 1000

    @staticmethod
    def parse(body: dict[str, Any]) -> "TravelRequest":
        as_of = _field(body, "asOf", (str, int), "request")
        limit = _field(body, "limit", int, "request", 1000)
        if limit < 0:
            raise BadRequest("field request.limit must not be negative")
        if "where" in body:
            raise BadRequest("field request.where is not taken: send the filter as a tree (request.filter)")
        return TravelRequest(Table.parse(_field(body, "table", dict, "request")), str(as_of), _field(body, "filter", dict, "request", None), limit)


@dataclass(frozen=True)
class CountRequest:
    """How many of a table's current rows a filter matches: what a delete by that filter would remove."""

    table: Table
    filter: dict[str, Any]

    @staticmethod
    def parse(body: dict[str, Any]) -> "CountRequest":
        return CountRequest(Table.parse(_field(body, "table", dict, "request")), _field(body, "filter", dict, "request"))


@dataclass(frozen=True)
class ChangesRequest:
    """Changes after commit `since` (None: from the first commit) up to `until` (None: the newest)."""

    table: Table
    since: str | None = None
    until: str | None = None
    limit: int = 10_000

    @staticmethod
    def parse(body: dict[str, Any]) -> "ChangesRequest":
        limit = _field(body, "limit", int, "request", 10_000)
        if limit < 1:
            raise BadRequest("field request.limit must be at least 1")
        since = _field(body, "since", (str, int), "request", None)
        until = _field(body, "until", (str, int), "request", None)
        return ChangesRequest(
            Table.parse(_field(body, "table", dict, "request")),
            str(since) if since is not None else None,
            str(until) if until is not None else None,
            limit,
        )


# -------------------------------------------------------------------------------- responses


class Response:
    """A response's JSON: dataclass fields in camelCase, None-valued optional fields left out."""

    OMIT_NONE: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():  # type: ignore[call-overload]
            if v is None and k in self.OMIT_NONE:
                continue
            out[camel(k)] = v
        return out


def snake(name: str) -> str:
    """primaryKey -> primary_key: a JSON field's attribute."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@dataclass
class WriteResult(Response):
    commit: str
    rows_written: int
    renamed: dict[str, str]
    columns: list[str]
    added_columns: list[str]
    duration_ms: int
    operation: str = ""  # how it was written: bulk or upsert, deduplicated, multi-line (or "already applied")
    OMIT_NONE = ("rows_inserted", "rows_updated", "rows_deleted", "profile")
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_deleted: int | None = None
    # Where the time went: per stage its wall time and Spark jobs (progress.Tracker.profile).
    profile: list[dict[str, Any]] | None = None


@dataclass
class Commit(Response):
    commit: str
    time: str
    operation: str | None = None
    source_hash: str | None = None
    source: str | None = None
    generation: str | None = None
    spec: str | None = None
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0


@dataclass
class Observation(Response):
    exists: bool
    in_catalog: bool
    files_exist: bool
    commits: list[dict[str, Any]]
    row_count: int | None
    columns: list[dict[str, str]]
    journal: list[dict[str, Any]]
    history_expired: bool = False
    # Source hashes of writes whose commits retention expired (from the journal): still applied.
    expired_source_hashes: list[str] = field(default_factory=list)
    # Data files against the target size: {"count", "small", "bytes", "targetBytes"}, or None.
    data_files: dict[str, int] | None = None
    # How the metastore's entry lags the table's own latest state (Format.catalog_drift).
    catalog_drift: list[str] = field(default_factory=list)
    # What this observe asked Spark for ("columns", "data_files", "rows"): empty when the
    # metadata and what Spark told at the same head answered it all (observed.py).
    spark_asked: list[str] = field(default_factory=list)


@dataclass
class MaintainResult(Response):
    """What maintenance did: the actions taken, commits and data files before and after."""

    actions: list[str]
    commits_before: int
    commits_after: int
    data_files_before: int | None
    data_files_after: int | None
    oldest_commit: str | None
    duration_ms: int


@dataclass
class ChangesResult(Response):
    columns: list[dict[str, str]]
    rows: list[list[Any]]
    truncated: bool


@dataclass
class TravelResult(Response):
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]


@dataclass
class CountResult(Response):
    rows: int


@dataclass
class RegisterResult(Response):
    OMIT_NONE = ("metadata_file",)
    registered: bool
    metadata_file: str | None = None


@dataclass
class ResyncResult(Response):
    """resynced: whether the entry lagged and was synced again; drift: how it lagged."""

    resynced: bool
    drift: list[str]


@dataclass
class DropResult(Response):
    dropped: bool


@dataclass
class ForgetResult(Response):
    forgotten: bool


@dataclass
class ClearResult(Response):
    """cleared: whether anything was moved or removed; movedTo: where files were moved aside."""

    OMIT_NONE = ("moved_to",)
    cleared: bool
    moved_to: str | None = None


# -------------------------------------------------------------------------------- the table


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


@dataclass(frozen=True)
class Operation:
    """One entry of the operation table: how to parse its request, and what answers it."""

    name: str
    parse: Callable[[dict[str, Any]], Any]
    run: Callable[[Any], Response]
