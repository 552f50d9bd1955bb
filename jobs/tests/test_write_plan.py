"""plan_write, the pure half of a write (write_plan.py): which path, dedupe, deleteWhen and the
commit's counts, from what the write found (no Spark)."""

from lakeform_jobs.crud import DELETE_FLAG
from lakeform_jobs.types import DeleteWhen, Source, Table
from lakeform_jobs.write_plan import Batch, Target, describe, plan_write

TABLE = Table(name="leads", database="default", format="iceberg", location="s3a://w/default/leads", primary_key=["id"], delete_when=DeleteWhen(column="op", equals=["d"]))
SOURCE = Source(uri="s3a://w/_lakeform/landing/b.csv", hash="hb", name="b.csv")
NEW, THERE = Target(exists=False, current=None, visible=[]), Target(exists=True, current=object(), visible=["id", "v"])


def batch(marker=None, new_cols=()):
    return Batch(r=None, keys=["id"], marker=marker, new_cols=list(new_cols))


def stats(rows=10, keys=10, overlap=0, max_per_key=1):
    return {"rows": rows, "nulls": 0, "maxPerKey": max_per_key, "overlap": overlap, "keys": keys}


def plan(target, b=None, s=None, checks_new_keys=True, exact=False, marked=False):
    return plan_write(TABLE, SOURCE, "g1", target, b or batch(), s or stats(), checks_new_keys=checks_new_keys, exact_commit_counts=exact, marked=marked)


def test_a_new_table_is_written_by_the_bulk_path_with_no_counts():
    p = plan(NEW)
    assert (p.bulk, p.exists, p.deduped, p.delete_flag, p.counts) == (True, False, False, None, None)
    assert p.meta == {"source_hash": "hb", "source": "b.csv", "generation": "g1", "spec": TABLE.spec_json()}
    assert describe(p, False) == "bulk"


def test_new_keys_take_the_bulk_path_only_where_the_format_checks_them():
    assert plan(THERE, s=stats(overlap=0)).bulk is True
    assert plan(THERE, s=stats(overlap=0), checks_new_keys=False).bulk is False
    assert plan(THERE, s=stats(overlap=3)).bulk is False


def test_duplicate_keys_deduplicate_and_say_so():
    p = plan(NEW, s=stats(rows=12, keys=10, max_per_key=3))
    assert p.deduped and describe(p, True) == "bulk, deduplicated, multi-line"


def test_counts_come_from_the_key_statistics_when_the_format_cant_tell_them_and_nothing_is_deleted():
    p = plan(THERE, s=stats(keys=10, overlap=4))
    assert p.counts == {"rows_inserted": 6, "rows_updated": 4, "rows_deleted": 0}
    assert (p.meta["rows_inserted"], p.meta["rows_updated"], p.meta["rows_deleted"]) == ("6", "4", "0")
    assert plan(THERE, s=stats(keys=10, overlap=4), exact=True).counts is None


def test_marked_rows_delete_only_in_an_upsert_into_a_table_that_is_there():
    upsert = stats(overlap=2)
    kept = plan(THERE, b=batch(marker="op"), s=upsert, marked=True)
    assert kept.delete_flag == DELETE_FLAG and kept.counts is None  # counted from the rows then
    # No table yet, none marked, a bulk write (none of the keys is in the table).
    assert plan(NEW, b=batch(marker="op"), marked=True).delete_flag is None
    assert plan(THERE, b=batch(marker="op"), s=upsert, marked=False).delete_flag is None
    assert plan(THERE, b=batch(marker="op"), s=stats(overlap=0), marked=True).delete_flag is None
