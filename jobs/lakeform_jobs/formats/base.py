"""One interface for a table format. The operations (operations.py, write.py) never ask which
format a table has: they ask its Format, which the factory (formats/__init__.py) picks once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ..asof import AsOf
    from ..catalog import Catalog, Storage
    from ..types import Table
    from ..replies import Commit

META_PREFIX = "lakeform."


@dataclass
class WritePlan:
    """What a write does, decided by the operation before the format is asked to do it."""

    keys: list[str]
    meta: dict[str, str]  # recorded in the commit under lakeform.<key>
    exists: bool  # the table is in the catalog with its files
    existing_cols: list[str]
    new_cols: list[str]
    # A boolean column of the rows marking keys to delete in this same commit (deleteWhen), or None.
    delete_flag: str | None = None
    bulk: bool = False  # a new table, or (checks_new_keys) no key of the batch is in it: no index lookup, no merge
    deduped: bool = False  # the batch had duplicate keys and was reduced to one row per key
    # Rows inserted, updated and deleted (also in meta) when the operation counted them; None
    # when the format's own commit tells them (exact_commit_counts).
    counts: dict[str, int] | None = None


@dataclass
class Context:
    spark: "SparkSession"
    storage: "Storage"
    catalog: "Catalog"


def counts_from_meta(meta: dict[str, str]) -> dict[str, int] | None:
    """Rows inserted/updated/deleted as Lakeform recorded them in a commit (lakeform.rows_*)."""
    try:
        return {k: int(meta[META_PREFIX + k]) for k in ("rows_inserted", "rows_updated", "rows_deleted")}
    except (KeyError, TypeError, ValueError):
        return None


def write_path(meta: dict[str, str]) -> str | None:
    """Which of Lakeform's write paths made a commit: "arrow" when it says so (lakeform.path, the
    Arrow path's), "spark" for another Lakeform write (one that recorded its source hash), None
    for a commit Lakeform didn't make (Trino's, maintenance's)."""
    said = meta.get(META_PREFIX + "path")
    if said:
        return str(said)
    return "spark" if meta.get(META_PREFIX + "source_hash") else None


class Format(ABC):
    name: str = ""
    # Whether the format's own commit statistics count rows inserted/updated/deleted exactly
    # (Hudi's write stats do; Iceberg's summary counts rewritten files' rows).
    exact_commit_counts: bool = False
    # Whether a batch of keys the table doesn't hold is worth finding out before the write: it
    # takes a join of the batch's keys with the table's. Iceberg's append skips a MERGE over the
    # whole table; Hudi's upsert finds new keys through its index about as cheaply as the join
    # would (bench/ingest.ts profile: the join took 1.8 s, the BLOOM lookup under 1 s).
    checks_new_keys: bool = True
    # Whether data_files tells the table's files against the target size (Iceberg's files table).
    has_data_files: bool = False

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.spark = ctx.spark

    @abstractmethod
    def qualified(self, t: "Table") -> str:
        """The table's name in Spark: which catalog serves it."""

    @abstractmethod
    def files_exist(self, t: "Table") -> bool:
        """Whether the table's own files are there (not just its directory: S3 servers with a
        filer keep empty directories after every object under them was deleted)."""

    @abstractmethod
    def commits(self, t: "Table", in_catalog: bool, files: bool) -> list["Commit"]:
        """Every completed commit, oldest first, with the Lakeform metadata recorded in it."""

    @abstractmethod
    def write(self, t: "Table", df: "DataFrame", plan: WritePlan) -> str:
        """Writes the rows (an upsert by key) and returns the new commit's id."""

    @abstractmethod
    def register(self, t: "Table") -> dict[str, Any]:
        """Puts a table whose files are intact back into the metastore, history and all."""

    @abstractmethod
    def read_as_of(self, t: "Table", as_of: "AsOf") -> "DataFrame":
        """The table's rows as of a commit or a time."""

    @abstractmethod
    def delete(self, t: "Table", rows: "DataFrame", plan: WritePlan) -> str:
        """Deletes these rows (the table's own rows, full width) by key in one commit; returns it."""

    @abstractmethod
    def history_expired(self, t: "Table", commits: list["Commit"]) -> bool:
        """Whether commits older than the oldest listed existed and were expired."""

    def retained(self, t: "Table", commits: list["Commit"]) -> list["Commit"]:
        """The commits the table's retention keeps, oldest first (time travel and changes reach
        these). By default every commit the format lists: expiry removes the others itself."""
        return commits

    def catalog_drift(self, t: "Table", commits: list["Commit"]) -> list[str]:
        """How the metastore's entry lags the table's own latest state (each item says what),
        for a table that is in the catalog and has files. Empty: the catalog agrees."""
        return []

    def resync(self, t: "Table") -> None:
        """Brings a metastore entry that lags the table (catalog_drift) up to its latest state.
        By default what register does, on an entry that exists."""
        self.register(t)

    @contextmanager
    def observing(self, t: "Table") -> Iterator[None]:
        """One observe: a format may read what every step of it needs (Iceberg: where the
        metastore says the metadata file is) once, instead of once per step."""
        yield

    def head(self, t: "Table", commits: list["Commit"]) -> str | None:
        """What changes whenever the table's rows or columns do, read without a Spark job: by
        default its newest commit. What Spark last told of the table (rows, columns, data
        files) is kept while its head stays the same (observed.py)."""
        return commits[-1].commit if commits else None

    def rows_from_metadata(self, t: "Table") -> int | None:
        """The table's row count as its own metadata tells it exactly, without a Spark job; None
        when it can't (Spark counts)."""
        return None

    def data_files(self, t: "Table") -> dict[str, int] | None:
        """The table's data files against its target size, when the format can tell cheaply."""
        return None

    def partition_spec(self, t: "Table") -> list[str] | None:
        """The table's current partition spec in partitionBy's canonical form, when the format
        evolves one (Iceberg, from its metadata file); None otherwise."""
        return None

    def evolve_partitions(self, t: "Table") -> tuple[list[str], list[str]]:
        """Partition evolution to the table's partitionBy, without rewriting data files: (dropped, added)."""
        from ..errors import BadRequest

        raise BadRequest(f"a {self.name} table's partitioning can't evolve: changing it rewrites the table")

    @abstractmethod
    def maintain(self, t: "Table") -> list[str]:
        """Expires history beyond the table's retention, removes files nothing references, and
        compacts small files towards the target size. Returns what was done, for the report.
        Called with the table's write lock held: never concurrently with a write to it."""

    def rows_written(self, t: "Table", prev_commit: str | None, commit: str, before: "DataFrame | None", after: "DataFrame") -> "DataFrame":
        """Rows a commit inserted or updated (full rows, table columns): by default the rows of
        `after` (the table as of the commit) not in `before` (as of the commit before)."""
        return after if before is None else after.exceptAll(before)

    def user_columns(self, df: "DataFrame") -> list[str]:
        """The table's own columns, without the format's bookkeeping columns."""
        return list(df.columns)

    def drop_statement(self, t: "Table", purge: bool) -> str:
        return f"DROP TABLE IF EXISTS {self.qualified(t)}"
