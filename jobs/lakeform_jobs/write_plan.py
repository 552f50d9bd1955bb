"""How a batch is written, decided before anything is: the pure half of a write (write.py runs
it), as the reconciler's plan() is of a pass. From what the write found (the table as it is, the
batch's header and its keys' statistics, whether any row is marked for deletion) and what the
table's format can do, plan_write says which path (bulk or upsert), whether to deduplicate,
whether deleteWhen's rows delete in this commit, and the commit's metadata. No Spark here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .crud import DELETE_FLAG
from .formats.base import WritePlan
from .types import Source, Table

# A batch's key statistics (write.py's one aggregation over its keys): records, records with an
# empty key, the most records one key has, distinct keys, and how many of them the table holds.
STATS = ("rows", "nulls", "maxPerKey", "overlap", "keys")


@dataclass(frozen=True)
class Target:
    """The table a write goes into, as it is before the write."""

    exists: bool  # in the catalog with its files
    current: Any  # its rows (a DataFrame) when it exists
    visible: list[str]  # its user columns


@dataclass(frozen=True)
class Batch:
    """A CSV source opened for a write, its header checked against the spec."""

    r: Any  # the csv_source reader
    keys: list[str]  # the primary key's column names as the table has them
    marker: str | None  # deleteWhen's column when the CSV has it (not written)
    new_cols: list[str]  # columns the table doesn't have yet


def needs_dedupe(stats: dict[str, int]) -> bool:
    """Whether a key has more than one record in the batch (the rows are then read with their position)."""
    return stats["maxPerKey"] > 1


def plan_write(
    t: Table, source: Source, generation: str, target: Target, batch: Batch, stats: dict[str, int],
    *, checks_new_keys: bool, exact_commit_counts: bool, marked: bool,
) -> WritePlan:
    """The bulk path for a new table or a batch of new keys (formats that check them: `checks_new_keys`),
    deduplicated when a key has more than one record (the ordering field choosing), deleteWhen's
    rows deleting in this commit only when the table exists, some row is `marked` (the batch has
    deleteWhen's column and a row matches it) and the write is an upsert (otherwise marked rows are
    only left out), and the rows inserted and updated counted
    from the key statistics when the format can't tell them itself and nothing is deleted (with
    deletes, write.py counts them from the rows: with_counts)."""
    exists = target.exists
    bulk = not exists or (checks_new_keys and stats["overlap"] == 0)
    flag = DELETE_FLAG if marked and exists and not bulk else None
    meta = {"source_hash": source.hash, "source": source.name, "generation": generation, "spec": t.spec_json(), **source.replay_meta()}
    plan = WritePlan(
        keys=batch.keys, meta=meta, exists=exists, existing_cols=target.visible, new_cols=batch.new_cols,
        delete_flag=flag, bulk=bulk, deduped=needs_dedupe(stats),
    )
    if exists and flag is None and not exact_commit_counts:
        # From the key count when nothing is deleted: no pass over the rows.
        return with_counts(plan, {"rows_inserted": stats["keys"] - stats["overlap"], "rows_updated": stats["overlap"], "rows_deleted": 0})
    return plan


def with_counts(plan: WritePlan, counts: dict[str, int]) -> WritePlan:
    """The plan with its rows inserted, updated and deleted, recorded in the commit's metadata too."""
    return replace(plan, counts=counts, meta={**plan.meta, **{k: str(v) for k, v in counts.items()}})


def describe(plan: WritePlan, multiline: bool) -> str:
    """How it was written, as WriteResult.operation says it: bulk or upsert, deduplicated, multi-line."""
    return ("bulk" if plan.bulk else "upsert") + (", deduplicated" if plan.deduped else "") + (", multi-line" if multiline else "")
