"""One interface for a table format. The operations (operations.py) never ask which format a
table has: they ask its Format, which the factory (formats/__init__.py) picks once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ..asof import AsOf
    from ..catalog import Catalog, Storage
    from ..types import Commit, Table

META_PREFIX = "lakeform."


@dataclass
class WritePlan:
    """What a write does, decided by the operation before the format is asked to do it."""

    keys: list[str]
    meta: dict[str, str]  # recorded in the commit under lakeform.<key>
    exists: bool  # the table is in the catalog with its files
    existing_cols: list[str]
    new_cols: list[str]


@dataclass
class Context:
    spark: "SparkSession"
    storage: "Storage"
    catalog: "Catalog"


class Format(ABC):
    name: str = ""

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

    def user_columns(self, df: "DataFrame") -> list[str]:
        """The table's own columns, without the format's bookkeeping columns."""
        return list(df.columns)

    def drop_statement(self, t: "Table", purge: bool) -> str:
        return f"DROP TABLE IF EXISTS {self.qualified(t)}"
