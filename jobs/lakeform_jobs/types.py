"""The table every operation acts on and the source a write reads, parsed from a request's JSON
(requests.py parses the rest, replies.py answers), with the rules their fields follow: identifiers,
column names, s3a:// URIs, the spec's constants from the contract. A missing or mistyped field is a
BAD_REQUEST naming it."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .contract import CONSTANTS
from .errors import BadRequest, JobFailure
from .partitioning import PartitionField, parse_field, parse_fields
from .expectations import Expectation, parse_all as parse_expectations
from .readers import CsvOptions, DeclaredColumns, ReadOptions

# Matched with fullmatch: `$` alone would let a trailing newline through ("t\n").
IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
# A column named in a table's layout (key, ordering, partitions, delete marker): lake/spec.ts's
# identifier rule (the reconciler sends them sanitised; the job server sanitises them again).
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FORMATS = ("hudi", "iceberg")
SCHEMA_POLICIES = ("addColumns", "strict", "discardColumns", "discardRows")
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


def field_of(body: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
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


def str_list(body: dict[str, Any], name: str, where: str, default: Any = ...) -> list[str]:
    value = field_of(body, name, (list, str), where, default)
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
        marker = column(field_of(body, "column", str, "table.deleteWhen"), "table.deleteWhen.column")
        equals = str_list(body, "equals", "table.deleteWhen")
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
        commits = field_of(body, "commits", int, "table.retain", None)
        days = field_of(body, "days", (int, float), "table.retain", None)
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
    # Declared column types (tables.yaml columns:), fixed instead of inferred (readers/declared.py).
    columns: DeclaredColumns = field(default_factory=DeclaredColumns)
    # Expectations (tables.yaml expect:), checked inside every write (expectations.py).
    expect: tuple[Expectation, ...] = ()

    @property
    def partition_fields(self) -> list[PartitionField]:
        """partitionBy parsed: each a column or an Iceberg transform of one (partitioning.py)."""
        return [parse_field(p, "table.partitionBy") for p in self.partition_by]

    @property
    def partition_columns(self) -> list[str]:
        """The source columns the partitioning reads, each once, in order: every source must hold them."""
        return list(dict.fromkeys(f.column for f in self.partition_fields))

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
        fmt = field_of(body, "format", str, w)
        if fmt not in FORMATS:
            raise BadRequest(f"field table.format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        location = field_of(body, "location", str, w)
        s3a_uri(location, "table.location")
        size = field_of(body, "targetFileSizeMB", int, w, None)
        if size is not None and not 1 <= size <= MAX_TARGET_FILE_SIZE_MB:
            raise BadRequest(f"field table.targetFileSizeMB must be from 1 to {MAX_TARGET_FILE_SIZE_MB}, got {size}")
        ordering = field_of(body, "orderingField", str, w, None)
        policy = field_of(body, "schemaPolicy", str, w, "addColumns")
        if policy not in SCHEMA_POLICIES:
            raise BadRequest(f"field table.schemaPolicy must be one of {', '.join(SCHEMA_POLICIES)}, got {policy!r}")
        return Table(
            name=ident(field_of(body, "name", str, w), "table"),
            database=ident(field_of(body, "database", str, w, "default"), "database"),
            format=fmt,
            location=location.rstrip("/"),
            primary_key=[column(c, "table.primaryKey") for c in (str_list(body, "primaryKey", w) if layout else str_list(body, "primaryKey", w, []))],
            ordering_field=column(ordering, "table.orderingField") if ordering is not None else None,
            partition_by=[f.text for f in parse_fields(str_list(body, "partitionBy", w, []), fmt, "table.partitionBy")],
            schema_policy=policy,
            delete_when=DeleteWhen.parse(body.get("deleteWhen")) if isinstance(body, dict) else None,
            retain=Retain.parse(body.get("retain")) if isinstance(body, dict) else None,
            target_file_size_mb=size,
            columns=DeclaredColumns.parse(body.get("columns")) if isinstance(body, dict) else DeclaredColumns(),
            expect=parse_expectations(body.get("expect")) if isinstance(body, dict) else (),
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
    # A rebuild's replay: {"of": the entry's commit, "last": the journal's last entry's commit
    # when the rebuild began}, kept in the commit (lakeform.replay_of, lakeform.replay_last) so a
    # rebuild that stops partway is resumed after the last entry it replayed.
    replay: dict[str, str] | None = None
    # How it is read (readers/detect.py): declared by the request, else from the uri's extension.
    format: str = "csv"
    compression: str = "none"
    csv: CsvOptions = field(default_factory=CsvOptions)

    @property
    def read(self) -> ReadOptions:
        return ReadOptions(format=self.format, compression=self.compression, csv=self.csv)

    @staticmethod
    def parse(body: Any) -> "Source":
        w = "source"
        replay = field_of(body, "replay", dict, w, None)
        if replay is not None:
            replay = {k: field_of(replay, k, str, f"{w}.replay") for k in ("of", "last")}
        uri = field_of(body, "uri", str, w)
        read = ReadOptions.parse(body, uri)
        src = Source(
            uri=uri,
            hash=field_of(body, "hash", str, w),
            name=field_of(body, "name", str, w, ""),
            once=bool(field_of(body, "once", bool, w, False)),
            journal=bool(field_of(body, "journal", bool, w, True)),
            replay=replay,
            format=read.format,
            compression=read.compression,
            csv=read.csv,
        )
        # Any bucket (a table's declared s3:// sources are read where they are), never a local file.
        s3a_uri(src.uri, "source.uri")
        return src

    def replay_meta(self) -> dict[str, str]:
        """A rebuild's replay recorded in its commit (lakeform.replay_of, lakeform.replay_last); none otherwise."""
        return {"replay_of": self.replay["of"], "replay_last": self.replay["last"]} if self.replay else {}

def snake(name: str) -> str:
    """primaryKey -> primary_key: a JSON field's attribute."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
