"""Which observations take Spark and which the metadata answers (observed.py, Jobs.observe):
the metastore, the object store and Spark are stand-ins; the formats' metadata readers are real."""

import contextlib
from contextlib import contextmanager

from lakeform_jobs.formats.iceberg import commits_from_metadata, millis_iso, oldest_has_parent, rows_from_metadata
from lakeform_jobs.observed import COLUMNS, DATA_FILES, ROWS, Known, KnownTables, decide
from lakeform_jobs.operations import Jobs
from lakeform_jobs.types import Table
from lakeform_jobs.requests import TableRequest
from lakeform_jobs.replies import Commit

TABLE = Table(name="leads", database="default", format="iceberg", location="s3a://w/default/leads", primary_key=["id"])
COLS = [{"name": "id", "type": "bigint"}]
FILES = {"count": 1, "small": 1, "bytes": 10, "targetBytes": 128}


def none():
    return None


# ------------------------------------------------------------------ the decision


def test_a_table_whose_head_is_unchanged_asks_spark_nothing():
    known = Known("m2.json", {ROWS: 5, COLUMNS: COLS, DATA_FILES: FILES})
    d = decide(known, "m2.json", want_rows=True, has_data_files=True, metadata_rows=none)
    assert d.ask_spark == frozenset()
    assert d.known == {ROWS: 5, COLUMNS: COLS, DATA_FILES: FILES}


def test_a_table_whose_head_moved_asks_spark_again_for_everything_it_wants():
    known = Known("m2.json", {ROWS: 5, COLUMNS: COLS, DATA_FILES: FILES})
    d = decide(known, "m3.json", want_rows=True, has_data_files=True, metadata_rows=none)
    assert d.ask_spark == {ROWS, COLUMNS, DATA_FILES} and d.known == {}


def test_a_table_never_seen_asks_spark_and_a_format_without_data_files_is_not_asked_for_them():
    d = decide(None, "20261203101010000", want_rows=True, has_data_files=False, metadata_rows=none)
    assert d.ask_spark == {ROWS, COLUMNS}


def test_a_row_count_the_metadata_tells_exactly_is_not_counted_by_spark():
    d = decide(None, "m1.json", want_rows=True, has_data_files=True, metadata_rows=lambda: 7)
    assert d.ask_spark == {COLUMNS, DATA_FILES} and d.known == {ROWS: 7}


def test_a_write_check_wants_no_rows_so_it_never_counts_and_an_unchanged_table_asks_nothing():
    asked = []
    d = decide(None, "m1.json", want_rows=False, has_data_files=True, metadata_rows=lambda: asked.append(1))
    assert d.ask_spark == {COLUMNS} and asked == []
    d = decide(Known("m1.json", {COLUMNS: COLS}), "m1.json", want_rows=False, has_data_files=True, metadata_rows=none)
    assert d.ask_spark == frozenset() and d.known == {COLUMNS: COLS}


def test_a_format_that_cannot_tell_its_head_keeps_nothing():
    d = decide(Known("x", {ROWS: 1, COLUMNS: COLS}), None, want_rows=True, has_data_files=False, metadata_rows=none)
    assert d.ask_spark == {ROWS, COLUMNS}


def test_facts_told_at_one_head_add_up_and_a_new_head_starts_afresh():
    k = KnownTables()
    k.told(("t",), "h1", {COLUMNS: COLS})
    k.told(("t",), "h1", {ROWS: 3})
    assert k.get(("t",)) == Known("h1", {COLUMNS: COLS, ROWS: 3})
    k.told(("t",), "h2", {COLUMNS: COLS})
    assert k.get(("t",)) == Known("h2", {COLUMNS: COLS})
    k.told(("t",), None, {ROWS: 9})
    assert k.get(("t",)) == Known("h2", {COLUMNS: COLS})


def test_the_known_tables_are_bounded():
    k = KnownTables(limit=2)
    for i in range(3):
        k.told((str(i),), "h", {ROWS: i})
    assert k.get(("0",)) is None and k.get(("2",)) == Known("h", {ROWS: 2})


# ------------------------------------------------------------------ Iceberg's metadata file


def snapshot(sid, ms, summary, parent=None):
    s = {"snapshot-id": sid, "timestamp-ms": ms, "summary": summary, "manifest-list": f"s3a://w/snap-{sid}.avro"}
    if parent is not None:
        s["parent-snapshot-id"] = parent
    return s


META = {
    "current-snapshot-id": 22,
    "snapshots": [
        snapshot(22, 1764756600123, {"operation": "overwrite", "lakeform.source_hash": "hb", "lakeform.generation": "g2", "lakeform.rows_inserted": "5", "lakeform.rows_updated": "10", "lakeform.rows_deleted": "0", "total-records": "115", "total-position-deletes": "10", "total-equality-deletes": "0"}, parent=11),
        snapshot(11, 1764756500000, {"operation": "append", "lakeform.source_hash": "ha", "lakeform.generation": "g1", "added-records": "100", "total-records": "100", "total-position-deletes": "0", "total-equality-deletes": "0"}),
    ],
}


def test_commits_come_from_the_metadata_file_oldest_first_with_lakeforms_summary_keys():
    commits = commits_from_metadata(META)
    assert [(c.commit, c.operation, c.source_hash, c.generation) for c in commits] == [("11", "append", "ha", "g1"), ("22", "overwrite", "hb", "g2")]
    assert commits[0].time == "2025-12-03T10:08:20.000Z" and commits[1].time == "2025-12-03T10:10:00.123Z"
    assert (commits[1].rows_inserted, commits[1].rows_updated) == (5, 10)
    assert commits[0].rows_inserted == 100  # a commit without Lakeform's counts: the summary's added records


def test_committed_at_is_printed_as_spark_prints_it():
    assert millis_iso(0) == "1970-01-01T00:00:00.000Z" and millis_iso(1764756600007) == "2025-12-03T10:10:00.007Z"


def test_the_row_count_is_taken_from_the_summary_only_when_no_delete_file_hides_rows():
    assert rows_from_metadata(META) is None  # position deletes: Spark counts
    assert rows_from_metadata({**META, "current-snapshot-id": 11}) == 100
    assert rows_from_metadata({"current-snapshot-id": -1, "snapshots": []}) == 0
    no_totals = {"current-snapshot-id": 1, "snapshots": [snapshot(1, 1, {"operation": "append", "total-records": "3"})]}
    assert rows_from_metadata(no_totals) is None


def test_expired_history_is_the_oldest_snapshot_having_a_parent():
    assert oldest_has_parent(META, "11") is False
    assert oldest_has_parent(META, "22") is True


# ------------------------------------------------------------------ Jobs.observe with stand-ins at the edge


class Frame:
    def __init__(self, spark):
        self.spark = spark
        self.columns = ["id"]
        self.schema = type("S", (), {"fields": [type("F", (), {"name": "id", "dataType": type("T", (), {"simpleString": lambda self: "bigint"})()})()]})()

    def count(self):
        self.spark.jobs.append("count")
        return self.spark.rows


class Spark:
    """Stands in for the SparkSession: records every Spark job (a count, the data files query)."""

    def __init__(self):
        self.jobs = []
        self.loads = 0
        self.rows = 100

    def table(self, name):
        self.loads += 1
        return Frame(self)


class Fmt:
    """The format, reading a timeline that tests change behind the server's back."""

    name = "hudi"
    has_data_files = True

    def __init__(self, spark):
        self.spark = spark
        self.timeline = [Commit(commit="20261203100000000", time="t", source_hash="ha")]
        self.metadata_rows = None

    @contextmanager
    def observing(self, t):
        yield

    def qualified(self, t):
        return "spark_catalog.default.leads"

    def files_exist(self, t):
        return True

    def partition_spec(self, t):
        return None

    def commits(self, t, in_catalog, files):
        return list(self.timeline)

    def retained(self, t, commits):
        return commits

    def head(self, t, commits):
        return commits[-1].commit

    def rows_from_metadata(self, t):
        return self.metadata_rows

    def user_columns(self, df):
        return df.columns

    def data_files(self, t):
        self.spark.jobs.append("files")
        return FILES

    def history_expired(self, t, commits):
        return False

    def catalog_drift(self, t, commits):
        return []


class Catalog:
    def has(self, t):
        return True

    def observing(self, t):
        return contextlib.nullcontext()


def server():
    j = Jobs.__new__(Jobs)
    j.spark = Spark()
    fmt = Fmt(j.spark)
    j.ctx = type("Ctx", (), {"catalog": Catalog()})()
    j.known = KnownTables()
    j.format = lambda t: fmt
    j.journal = None
    return j, fmt


def test_the_first_observe_asks_spark_and_the_next_of_the_unchanged_table_runs_no_spark_job():
    j, _ = server()
    first = j.observe(TableRequest(TABLE))
    assert j.spark.jobs == ["count", "files"] and first.spark_asked == [COLUMNS, DATA_FILES, ROWS]
    again = j.observe(TableRequest(TABLE))
    assert j.spark.jobs == ["count", "files"] and j.spark.loads == 1 and again.spark_asked == []
    assert (again.row_count, again.columns, again.data_files) == (100, COLS, FILES)
    assert again.commits == first.commits


def test_a_commit_made_behind_the_servers_back_is_seen_in_the_commits_and_counted_again():
    j, fmt = server()
    j.observe(TableRequest(TABLE))
    fmt.timeline.append(Commit(commit="20261203101500000", time="t2"))  # Trino's INSERT, say
    j.spark.rows = 101
    seen = j.observe(TableRequest(TABLE))
    assert [c["commit"] for c in seen.commits][-1] == "20261203101500000"
    assert seen.row_count == 101 and j.spark.jobs == ["count", "files", "count", "files"]


def test_a_write_check_runs_no_count_and_a_later_full_observe_counts_once():
    j, fmt = server()
    check = j.observe(TableRequest(TABLE, rows=False))
    assert j.spark.jobs == [] and check.row_count is None and check.columns == COLS
    full = j.observe(TableRequest(TABLE))
    assert full.row_count == 100 and j.spark.jobs == ["count", "files"] and j.spark.loads == 2
    assert j.observe(TableRequest(TABLE, rows=False)).spark_asked == []


def test_a_row_count_from_the_metadata_needs_no_count():
    j, fmt = server()
    fmt.metadata_rows = 100
    seen = j.observe(TableRequest(TABLE))
    assert seen.row_count == 100 and j.spark.jobs == ["files"]


def test_the_request_says_whether_rows_are_wanted():
    body = {"table": {"name": "leads", "database": "default", "format": "iceberg", "location": "s3a://w/default/leads", "primaryKey": ["id"]}}
    assert TableRequest.parse(body).rows is True
    assert TableRequest.parse({**body, "rows": False}).rows is False


def test_the_observation_says_where_the_table_s_files_are_and_its_reply_carries_it():
    j, _ = server()
    seen = j.observe(TableRequest(TABLE))
    assert seen.location == TABLE.location
    assert seen.to_json()["location"] == TABLE.location
