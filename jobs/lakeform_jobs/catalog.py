"""The metastore and the object store, as the job server sees them through Spark's JVM.

Storage: the Hadoop FileSystem the tables and the journal live on (s3a://).
Catalog: the Hive Metastore entry of a table, asked of the metastore itself (Hudi's and
Iceberg's catalogs would load the table, which fails when its files are gone), and Iceberg's
per-thread commit properties, which need private reflection: kept here, in one place.
"""

from __future__ import annotations

import json
import logging
import re
import threading
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


class JvmNames:
    """JVM classes and static methods by full name, each resolved once. py4j resolves
    jvm.scala.collection.JavaConverters.mapAsJavaMap one step at a time, each step a round trip
    to the JVM: on an observe that was more time than the calls themselves (a profile of the no-op
    pass: 29% of an observe's wait). A resolved class or static method is reused from any thread."""

    def __init__(self, jvm: Any):
        self.jvm = jvm
        self._known: dict[str, Any] = {}

    def __getitem__(self, dotted: str) -> Any:
        found = self._known.get(dotted)
        if found is None:
            found = self.jvm
            for part in dotted.split("."):
                found = getattr(found, part)
            self._known[dotted] = found
        return found


# What Hadoop's globber reads as a pattern in a path.
_GLOB_CHARS = re.compile(r"[*?\[\]{}\\]")


def _authority(uri: str) -> str:
    """scheme://authority of a URI (the FileSystem that serves it), or the URI itself."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if sep else uri


class Storage:
    def __init__(self, spark: "SparkSession"):
        self.spark = spark
        self.jvm = spark._jvm
        # Every py4j call is a round trip to the JVM, and so is each step of a name like
        # jvm.org.apache.hadoop.fs.Path: an observe makes dozens, so what doesn't change is kept.
        self._filesystems: dict[str, Any] = {}
        self.names = JvmNames(self.jvm)

    def path(self, uri: str):
        """A Hadoop Path for a URI, with the FileSystem that serves it (Hadoop keeps one per
        scheme and authority; so does this, without asking again)."""
        path = self.names["org.apache.hadoop.fs.Path"](uri)
        key = _authority(uri)
        fs = self._filesystems.get(key)
        if fs is None:
            fs = path.getFileSystem(self.spark._jsc.hadoopConfiguration())
            if "://" in uri:
                self._filesystems[key] = fs
        return path, fs

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
            return self.names["org.apache.commons.io.IOUtils.toString"](stream, "UTF-8")
        finally:
            stream.close()

    def read_head(self, uri: str, n: int) -> bytes:
        """The first n bytes of a file (all of it when it is smaller)."""
        path, fs = self.path(uri)
        size = int(fs.getFileStatus(path).getLen())
        stream = fs.open(path)
        try:
            return bytes(self.names["org.apache.commons.io.IOUtils.toByteArray"](stream, min(n, size)))
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
        """Names of the entries of a directory; none when it doesn't exist. The JVM joins the
        names into one text: a few calls whatever the number of entries (a Hudi timeline has a
        few files per commit, each one call per step otherwise)."""
        listed = self._entries(uri)
        if listed is None:
            return []
        try:
            return self._joined_names(listed)
        except Exception as e:  # a py4j that matches the calls otherwise: one call per entry
            log.debug("listing %s name by name: %s", uri, e)
            return [str(st.getPath().getName()) for st in listed]

    def _entries(self, uri: str) -> Any:
        """FileStatus[] of a directory's entries (empty, or None, when it doesn't exist).

        Asked as the glob <dir>/* when the URI has no glob character of its own: Hadoop's globber
        lists the directory and takes a missing one as empty without raising. A listStatus of a
        missing directory raises FileNotFoundException, and PySpark converts every Java exception
        that crosses py4j by asking the JVM, class by class, what it is: in a profile of the no-op
        pass that conversion (the Hudi archive folder, which is usually missing) was 39% of an
        observe's time."""
        if not _GLOB_CHARS.search(uri):
            pattern, fs = self.path(uri.rstrip("/") + "/*")
            return fs.globStatus(pattern)
        path, fs = self.path(uri)
        try:
            return fs.listStatus(path)
        except Exception as e:
            if is_java_exception(e, "java.io.FileNotFoundException"):
                return None
            raise

    def _joined_names(self, listed: Any) -> list[str]:
        names = self.names
        n = int(names["java.lang.reflect.Array.getLength"](listed))
        if n == 0:
            return []
        # py4j matches an array parameter to an array of exactly its type (not S3AFileStatus[] to
        # FileStatus[]): copied into one of that type first; Scala's wrapper takes any array.
        statuses = self.spark.sparkContext._gateway.new_array(names["org.apache.hadoop.fs.FileStatus"], n)
        names["java.lang.System.arraycopy"](listed, 0, statuses, 0, n)
        paths = names["org.apache.hadoop.fs.FileUtil.stat2Paths"](statuses)
        uris = str(names["scala.Predef.genericWrapArray"](paths).mkString("\n")).split("\n")
        if len(uris) != n:
            # A name with a line break in it.
            return [str(p.getName()) for p in paths]
        return [u.rstrip("/").rsplit("/", 1)[-1] for u in uris]

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
            aside = self.names["org.apache.hadoop.fs.Path"](f"{location}.orphaned-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
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
        self._catalog: Any = None
        self._json: Any = None
        self.names = JvmNames(spark._jvm)
        # The entry an observe read, per thread (observing).
        self._seen = threading.local()

    def _external(self):
        # The session's external catalog is the same object for the session's life.
        if self._catalog is None:
            self._catalog = self.spark._jsparkSession.sharedState().externalCatalog()
        return self._catalog

    @contextmanager
    def observing(self, t: "Table") -> Iterator[None]:
        """One observe reads the table's entry once: has() and entry() of that table, in this
        thread, answer from what it read (nothing in an observe writes the metastore; each call
        was a metastore round trip, through Spark's Hive client, which serves one call at a time)."""
        self._seen.entry = (t.key, self._entry(t))
        try:
            yield
        finally:
            self._seen.entry = None

    def _pinned(self, t: "Table") -> tuple[str, tuple[dict[str, str], list[str]] | None] | None:
        pinned = getattr(self._seen, "entry", None)
        return pinned if pinned is not None and pinned[0] == t.key else None

    def has(self, t: "Table") -> bool:
        """Whether the metastore has an entry for the table."""
        pinned = self._pinned(t)
        if pinned is not None:
            return pinned[1] is not None
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
        pinned = self._pinned(t)
        if pinned is not None:
            return pinned[1]
        return self._entry(t)

    def _entry(self, t: "Table") -> tuple[dict[str, str], list[str]] | None:
        try:
            tbl = self._external().getTable(t.database, t.name)
        except Exception:
            # Asked again only when the entry couldn't be read: not there, or a real failure.
            if not self._external().tableExists(t.database, t.name):
                return None
            raise
        # The parameters as one JSON text and the columns from the schema's JSON: two calls, not
        # three per parameter.
        if self._json is None:
            self._json = self.names["com.fasterxml.jackson.databind.ObjectMapper"]()
        props = json.loads(str(self._json.writeValueAsString(self.names["scala.collection.JavaConverters.mapAsJavaMap"](tbl.properties()))))
        columns = [str(f["name"]) for f in json.loads(str(tbl.schema().json()))["fields"]]
        return {str(k): str(v) for k, v in props.items()}, columns

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
