"""Deletes, updates and changes: the parts of the CRUD pipeline that aren't an upsert of a CSV.

- A source row matching the table's `deleteWhen` deletes its key, in the same commit as the
  batch's upserts (delete_flag below marks such rows; each Format applies the flag its own way).
- A change made by hand (DELETE /tables/{t}/rows, LakeShell delete/update) arrives as a small
  JSON document landed beside the CSVs (`….change.json`) and goes through the same write as an
  ingest: serialised per table, recorded in the commit with Lakeform's metadata, journaled, and
  so replayed in order when a table is rebuilt.
- Changes between two commits: each commit in the range compared with the one before it, so
  every change is named with the commit that made it and deletes are seen on both formats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadRequest, JobFailure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from .formats.base import Format
    from .types import Table

CHANGE_SUFFIX = ".change.json"
DELETE_FLAG = "__lakeform_delete"


def is_change_document(uri: str) -> bool:
    return uri.endswith(CHANGE_SUFFIX)


@dataclass(frozen=True)
class ChangeDocument:
    """lake/jobServerContract.ts: ChangeDocumentSchema (checked against the contract, then read)."""

    op: str  # "delete" | "update"
    keys: str | None = None  # delete: s3a:// URI of a CSV of keys
    # delete or update: the row filter as a tree (filter.py), or, in documents journaled before
    # trees, its text in the API's grammar (parsed by filter_text.parse_text, never handed to Spark)
    filter: dict[str, Any] | None = None
    where: str | None = None
    set: dict[str, str | None] | None = None  # update: column -> new value as text (None: NULL)

    @staticmethod
    def parse(text: str) -> "ChangeDocument":
        try:
            body = json.loads(text)
        except ValueError as e:
            raise BadRequest(f"the change document is not JSON: {e}") from e
        if not isinstance(body, dict) or body.get("lakeformChange") != 1:
            raise BadRequest("not a Lakeform change document (lakeformChange: 1)")
        parsed = ChangeDocument._read(body)
        # Then the contract's change document (lake/jobServerContract.ts): nothing it doesn't name.
        from .contract import check_change_document

        check_change_document(body)
        return parsed

    @staticmethod
    def _read(body: dict[str, Any]) -> "ChangeDocument":
        op = body.get("op")
        tree, where = body.get("filter"), body.get("where")
        if tree is not None and not isinstance(tree, dict):
            raise BadRequest("a change document's filter is a filter tree (an object)")
        if where is not None and not isinstance(where, str):
            raise BadRequest("a change document's where is the filter's text")
        has_filter = tree is not None or bool(where)
        if op == "delete":
            keys = body.get("keys")
            if (keys is None) == (not has_filter) or (keys is not None and not isinstance(keys, str)):
                raise BadRequest("a delete names either keys (a CSV's URI) or a filter")
            return ChangeDocument("delete", keys=keys, filter=tree, where=where)
        if op == "update":
            sets = body.get("set")
            if not has_filter or not isinstance(sets, dict) or not sets:
                raise BadRequest("an update needs set (column -> value) and a filter")
            if not all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in sets.items()):
                raise BadRequest("an update's set maps column names to text values or null")
            return ChangeDocument("update", filter=tree, where=where, set=dict(sets))
        raise BadRequest(f"unknown change {op!r}: delete or update")


def delete_flag(df: "DataFrame", t: "Table") -> tuple["DataFrame", bool]:
    """Adds the boolean column DELETE_FLAG (true where the row's deleteWhen marker matches) and
    drops the marker column itself. Returns (rows, whether any row is flagged). A CSV without
    the marker column flags nothing."""
    from pyspark.sql import functions as F

    dw = t.delete_when
    if dw is None or dw.column not in df.columns:
        return df, False
    marker = F.lower(F.trim(F.col(f"`{dw.column}`").cast("string")))
    flagged = df.withColumn(DELETE_FLAG, F.coalesce(marker.isin(*dw.equals), F.lit(False))).drop(dw.column)
    return flagged, flagged.where(F.col(DELETE_FLAG)).limit(1).count() > 0


def count_changes(current: "DataFrame | None", df: "DataFrame", keys: list[str], flag: str | None) -> dict[str, int]:
    """What a batch does to the table: rows inserted (new keys), updated (existing keys) and
    deleted (flagged rows whose key exists). `df` holds one row per key."""
    from pyspark.sql import functions as F

    upserts = df.where(~F.col(flag)) if flag else df
    if current is None:
        return {"rows_inserted": upserts.count(), "rows_updated": 0, "rows_deleted": 0}
    existing = current.select(*[F.col(f"`{k}`") for k in keys]).distinct()
    total = upserts.count()
    inserted = upserts.join(existing, keys, "left_anti").count()
    deleted = df.where(F.col(flag)).join(existing, keys, "left_semi").count() if flag else 0
    return {"rows_inserted": inserted, "rows_updated": total - inserted, "rows_deleted": deleted}


def rows_to_delete(spark, fmt: "Format", t: "Table", current: "DataFrame", doc: ChangeDocument, keys: list[str]) -> "DataFrame":
    """The table's rows a delete removes (full rows: Hudi needs each row's partition too)."""
    from pyspark.sql import functions as F

    from . import csv_source

    from . import filter as filters

    names = fmt.user_columns(current)
    user = current.select(*[F.col(f"`{c}`") for c in names])
    tree = filters.from_request(doc.filter, doc.where, filters.kinds_of(current.schema, names))
    if tree is not None:
        return user.where(filters.to_column(tree, filters.kinds_of(user.schema)))
    assert doc.keys is not None
    given, _ = csv_source.read_csv(spark, doc.keys)
    missing = [k for k in keys if k not in given.columns]
    if missing:
        raise JobFailure("BAD_CSV", f"the CSV of keys has no column(s) {', '.join(missing)} (it has {', '.join(given.columns)})")
    types = {f.name: f.dataType for f in user.schema.fields}
    wanted = given.select(*[F.col(f"`{k}`").cast(types[k]).alias(k) for k in keys]).distinct()
    return user.join(wanted, keys, "left_semi")


def updated_rows(fmt: "Format", current: "DataFrame", doc: ChangeDocument) -> "DataFrame":
    """The rows an update changes, with their new values cast to the columns' types. A value
    that doesn't fit its column's type is refused, not turned into NULL."""
    from pyspark.sql import functions as F

    from . import filter as filters

    assert doc.set is not None
    cols = fmt.user_columns(current)
    types = {f.name: f.dataType for f in current.schema.fields}
    for c, v in doc.set.items():
        if c not in types or c not in cols:
            raise JobFailure("BAD_VALUES", f"{c!r} is not a column of the table (columns: {', '.join(cols)})")
        if v is not None and spark_cast_is_null(current, v, types[c]):
            raise JobFailure("BAD_VALUES", f"{c} = {v!r}: the value doesn't fit the column's type {types[c].simpleString()}")
    kinds = filters.kinds_of(current.schema, cols)
    tree = filters.from_request(doc.filter, doc.where, kinds)
    if tree is None:
        raise BadRequest("an update needs a filter")
    matched = current.where(filters.to_column(tree, kinds))
    return matched.select(
        *[(F.lit(doc.set[c]).cast(types[c]) if c in doc.set else F.col(f"`{c}`")).alias(c) for c in cols]
    )


def spark_cast_is_null(df: "DataFrame", value: str, data_type: Any) -> bool:
    from pyspark.sql import functions as F

    return df.sparkSession.range(1).select(F.lit(value).cast(data_type).isNull().alias("n")).first()["n"]


# ------------------------------------------------------------------------------------ changes


def changes_between(fmt: "Format", t: "Table", commits: list[str], since: str | None, until: str | None, keys: list[str], limit: int) -> dict[str, Any]:
    """Changes after commit `since` (None: from the first) up to and including `until` (None: the
    newest): each commit compared with the one before it. Rows: _commit, _change, then the
    table's columns (a delete carries its key, the other columns null)."""
    from pyspark.sql import functions as F

    from .asof import AsOf

    if since is not None and since not in commits:
        raise JobFailure("UNKNOWN_COMMIT", f"{t.name} has no commit {since}")
    if until is not None and until not in commits:
        raise JobFailure("UNKNOWN_COMMIT", f"{t.name} has no commit {until}")
    start = commits.index(since) + 1 if since is not None else 0
    end = commits.index(until) if until is not None else len(commits) - 1

    def at(commit: str) -> "DataFrame":
        df = fmt.read_as_of(t, AsOf("commit", commit))
        return df.select(*[F.col(f"`{c}`") for c in fmt.user_columns(df)])

    prev = at(commits[start - 1]) if start > 0 else None
    columns: list[dict[str, str]] | None = None
    out: list[list[Any]] = []
    truncated = False
    for commit in commits[start : end + 1]:
        cur = at(commit)
        if columns is None:
            columns = [{"name": f.name, "type": f.dataType.simpleString()} for f in cur.schema.fields]
        names = [c["name"] for c in columns]
        changed = fmt.rows_written(t, prev_commit=commits[commits.index(commit) - 1] if commits.index(commit) > 0 else None, commit=commit, before=prev, after=cur)
        if prev is None:
            parts = [("insert", changed)]
        else:
            prev_keys = prev.select(*[F.col(f"`{k}`") for k in keys])
            cur_keys = cur.select(*[F.col(f"`{k}`") for k in keys])
            parts = [
                ("insert", changed.join(prev_keys, keys, "left_anti")),
                ("update", changed.join(prev_keys, keys, "left_semi")),
                ("delete", prev_keys.join(cur_keys, keys, "left_anti")),
            ]
        for kind, df in parts:
            room = limit - len(out)
            if room <= 0:
                truncated = True
                break
            got = df.limit(room + 1).collect()
            if len(got) > room:
                truncated, got = True, got[:room]
            for r in got:
                d = r.asDict()
                out.append([commit, kind, *[jsonable(d.get(n)) for n in names]])
        if truncated:
            break
        prev = cur
    head = [{"name": "_commit", "type": "string"}, {"name": "_change", "type": "string"}]
    return {"columns": head + (columns or []), "rows": out, "truncated": truncated}


def jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
