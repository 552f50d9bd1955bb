"""The metastore and the object store, as the job server sees them through Spark's JVM.

Storage: the Hadoop FileSystem the tables and the journal live on (s3a://).
Catalog: the Hive Metastore entry of a table, asked of the metastore itself (Hudi's and
Iceberg's catalogs would load the table, which fails when its files are gone), and Iceberg's
per-thread commit properties, which need private reflection: kept here, in one place.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from .types import Table

log = logging.getLogger("lakeform.jobs")


def is_java_exception(err: BaseException, class_name: str) -> bool:
    jexc = getattr(err, "java_exception", None)
    try:
        return jexc is not None and jexc.getClass().getName() == class_name
    except Exception:
        return False


class Storage:
    def __init__(self, spark: "SparkSession"):
        self.spark = spark
        self.jvm = spark._jvm

    def path(self, uri: str):
        """A Hadoop Path for a URI, with the FileSystem that serves it."""
        path = self.jvm.org.apache.hadoop.fs.Path(uri)
        return path, path.getFileSystem(self.spark._jsc.hadoopConfiguration())

    def exists(self, uri: str) -> bool:
        path, fs = self.path(uri)
        return bool(fs.exists(path))

    def size(self, uri: str) -> int:
        path, fs = self.path(uri)
        return int(fs.getFileStatus(path).getLen())

    def read_text(self, uri: str) -> str:
        path, fs = self.path(uri)
        stream = fs.open(path)
        try:
            return self.jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()

    def read_head(self, uri: str, n: int) -> bytes:
        """The first n bytes of a file (all of it when it is smaller)."""
        path, fs = self.path(uri)
        size = int(fs.getFileStatus(path).getLen())
        stream = fs.open(path)
        try:
            return bytes(self.jvm.org.apache.commons.io.IOUtils.toByteArray(stream, min(n, size)))
        finally:
            stream.close()

    def write_text(self, uri: str, text: str) -> None:
        path, fs = self.path(uri)
        out = fs.create(path, True)
        try:
            out.write(bytearray(text.encode()))
        finally:
            out.close()

    def list_names(self, uri: str) -> list[str]:
        """Names of the entries of a directory; none when it doesn't exist."""
        path, fs = self.path(uri)
        try:
            return [str(st.getPath().getName()) for st in fs.listStatus(path)]
        except Exception as e:
            if is_java_exception(e, "java.io.FileNotFoundException"):
                return []
            raise

    def iter_files(self, uri: str) -> Iterator[Any]:
        """FileStatus of each entry of a directory as the listing pages in (callers that need
        one can stop early); none when it doesn't exist."""
        path, fs = self.path(uri)
        try:
            it = fs.listStatusIterator(path)
            while it.hasNext():
                yield it.next()
        except Exception as e:
            if not is_java_exception(e, "java.io.FileNotFoundException"):
                raise

    def file_paths(self, uri: str) -> set[str]:
        """Every file under a directory, recursively, as full paths; none when it doesn't exist."""
        path, fs = self.path(uri)
        if not fs.exists(path):
            return set()
        out: set[str] = set()
        it = fs.listFiles(path, True)
        while it.hasNext():
            out.add(str(it.next().getPath().toString()))
        return out

    def delete(self, uri: str, recursive: bool) -> bool:
        path, fs = self.path(uri)
        return bool(fs.exists(path)) and bool(fs.delete(path, recursive))

    def clear_leftovers(self, location: str) -> str | None:
        """Makes room for a new table at a location that holds no table. Files someone left
        there are moved aside to <location>.orphaned-<time>, not deleted. Empty directories are
        removed deepest first: S3 servers with a filer (SeaweedFS) keep a folder after its last
        object is deleted, refuse to delete a folder that has sub-folders, and Hudi takes an
        empty .hoodie/ for a table whose properties it can't read. Returns where files went."""
        path, fs = self.path(location)
        if not fs.exists(path):
            return None
        moved = None
        if fs.listFiles(path, True).hasNext():
            aside = self.jvm.org.apache.hadoop.fs.Path(f"{location}.orphaned-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
            fs.rename(path, aside)
            moved = aside.toString()
            log.warning("moved files left at %s (no table there) aside to %s", location, moved)

        def dirs_deepest_first(p):
            try:
                children = [st.getPath() for st in fs.listStatus(p) if st.isDirectory()]
            except Exception:  # FileNotFoundException: already gone
                return []
            return [d for c in children for d in dirs_deepest_first(c)] + [p]

        for d in dirs_deepest_first(path):
            try:
                fs.delete(d, False)
            except Exception as e:  # not empty after all: leave it, and say so
                log.warning("could not remove leftover directory %s: %s", d.toString(), e)
        return moved or location


class Catalog:
    def __init__(self, spark: "SparkSession"):
        self.spark = spark

    def _external(self):
        return self.spark._jsparkSession.sharedState().externalCatalog()

    def has(self, t: "Table") -> bool:
        """Whether the metastore has an entry for the table."""
        return bool(self._external().tableExists(t.database, t.name))

    def forget(self, t: "Table") -> bool:
        """Removes a table's metastore entry only, through Spark's Hive client: neither Hudi's nor
        Iceberg's catalog is asked to load a table whose files are gone. Idempotent."""
        if not self.has(t):
            return False
        self._external().dropTable(t.database, t.name, True, False)
        # Spark still caches the old relation (and its file listing) for the name.
        self.spark._jsparkSession.sessionState().catalog().invalidateAllCachedTables()
        return True

    def entry(self, t: "Table") -> tuple[dict[str, str], list[str]] | None:
        """The table's metastore entry as the metastore has it: its parameters and column names
        (not what a format's catalog makes of them), or None when there is no entry."""
        if not self.has(t):
            return None
        tbl = self._external().getTable(t.database, t.name)
        props: dict[str, str] = {}
        it = tbl.properties().iterator()
        while it.hasNext():
            kv = it.next()
            props[str(kv._1())] = str(kv._2())
        return props, [str(n) for n in tbl.schema().fieldNames()]

    def ensure_database(self, database: str) -> None:
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS spark_catalog.{database}")

    def metastore_uris(self) -> str:
        return self.spark.conf.get("spark.hadoop.hive.metastore.uris")

    @contextmanager
    def iceberg_commit_properties(self, props: dict[str, str]):
        """Sets Iceberg's per-thread commit properties (what CommitMetadata.withCommitProperties
        does, without needing a JVM callback into Python): every snapshot this thread commits
        inside the block carries them. Private reflection on CommitMetadata.COMMIT_PROPERTIES:
        the one place the job server reaches into Iceberg's internals."""
        jvm = self.spark._jvm
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        field = jvm.java.lang.Class.forName("org.apache.iceberg.spark.CommitMetadata", True, loader).getDeclaredField("COMMIT_PROPERTIES")
        field.setAccessible(True)
        local = field.get(None)
        jmap = jvm.java.util.HashMap()
        for k, v in props.items():
            jmap.put(k, v)
        local.set(jmap)
        try:
            yield
        finally:
            local.set(jvm.java.util.HashMap())
