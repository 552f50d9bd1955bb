"""The reply of every operation: dataclasses that turn into the JSON the TypeScript client reads
(lake/jobClient.ts), in camelCase."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .types import camel


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



@dataclass
class WriteResult(Response):
    commit: str
    rows_written: int
    renamed: dict[str, str]
    columns: list[str]
    added_columns: list[str]
    duration_ms: int
    operation: str = ""  # how it was written: bulk or upsert, deduplicated, multi-line (or "already applied")
    OMIT_NONE = ("rows_inserted", "rows_updated", "rows_deleted", "profile", "rows_discarded", "discarded", "discarded_columns", "expectations")
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_deleted: int | None = None
    # Where the time went: per stage its wall time and Spark jobs (progress.Tracker.profile).
    profile: list[dict[str, Any]] | None = None
    # What schemaPolicy left out: rows that didn't fit (discardRows; the first one named), columns (discardColumns).
    rows_discarded: int | None = None
    discarded: str | None = None
    discarded_columns: list[str] | None = None
    # What tables.yaml's expectations found: per rule its action, the rows that broke it, a few of them.
    expectations: list[dict[str, Any]] | None = None


@dataclass
class Commit(Response):
    OMIT_NONE = ("replay_of", "replay_last", "expectations", "path")
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
    # A rebuild's replay of the journal entry of this commit, and that rebuild's last entry.
    replay_of: str | None = None
    replay_last: str | None = None
    # The expectations' counts recorded in the commit (lakeform.expectations): name -> {action, failed}.
    expectations: dict[str, Any] | None = None
    # Which write path made it (formats/base.py write_path): "arrow", "spark", or None (not Lakeform).
    path: str | None = None


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
    # The format the table's files have (rebuild.py: it may differ from the request's until a
    # rebuild swaps the new one in), and a rebuild under way ({"stage", "shadow", "change"}), if any.
    format: str | None = None
    rebuild: dict[str, str] | None = None
    # Iceberg: the table's current partition spec, canonical (partitioning.py); None for Hudi.
    partition_spec: list[str] | None = None
    # Where the table's files are (placement.py): its home location unless a rebuild moved it.
    location: str | None = None
    # Whether the metastore swaps a rebuild of a partitioned Hudi table in one call (rebuild.py
    # Metastore.replaces_whole: Lakeform's own does); told for a table that exists.
    replaces_whole: bool | None = None
    OMIT_NONE = ("format", "rebuild", "partition_spec", "location", "replaces_whole")


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
class EvolveResult(Response):
    """Partition evolution: whether the spec changed, the spec before and after, the fields dropped and added."""

    evolved: bool
    before: list[str]
    after: list[str]
    dropped: list[str]
    added: list[str]


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
