"""The pure half of a rebuild (rebuild_core.py, placement.py, the request): names and places,
refusals, the fingerprint's comparison, the trash's record, and where a table is while a swap is
under way. No Spark."""

import pytest

from lakeform_jobs import rebuild_core as core
from lakeform_jobs.errors import BadRequest
from lakeform_jobs.placement import home, live, record_uri
from lakeform_jobs.rebuild import RebuildRequest
from lakeform_jobs.types import IDENT, Table

T = Table(name="orders", database="sales", format="iceberg", location="s3a://w/sales/orders", primary_key=["id", "region"])


def test_a_rebuilds_names_are_beside_the_tables_and_no_other_tables_home():
    n = core.Names.of("orders", home(T), now=1_764_876_000)
    assert n.shadow_location == f"s3a://w/sales/orders-r{n.stamp}" and not n.shadow_location.startswith("s3a://w/sales/orders/")
    # The shadow's directory has a "-": no identifier's, so no table's home; the names are identifiers.
    assert IDENT.fullmatch(n.shadow_name) and IDENT.fullmatch(n.trash_name) and n.trash_name.startswith("orders__before_")
    assert record_uri(T) == "s3a://w/_lakeform/tables/sales/orders.json"


def test_the_layout_of_a_commit_and_what_changes():
    before = core.layout('{"format": "hudi", "primaryKey": ["id"], "partitionBy": []}')
    after = core.layout(T.spec_json())
    assert core.describe_change(before, after) == "format hudi → iceberg; primaryKey [id] → [id, region]"
    assert core.describe_change(after, after) == "nothing"
    assert core.layout(None) is None and core.layout("not json") is None


def test_a_key_that_would_collapse_rows_is_refused_naming_the_count_and_sample_keys():
    e = core.refuse_collapse("sales.orders", ["region"], 2, [["eu"], ["us"]])
    assert e.code == "INCOMPATIBLE_SPEC_CHANGE"
    assert "2 key(s) are shared by more than one row (e.g. 'eu', 'us')" in e.message and "unchanged" in e.message
    e = core.refuse_collapse("sales.orders", ["id", "region"], 7, [[1, "eu"]] * 9)
    assert "(1, 'eu')" in e.message and e.message.count("(1, 'eu')") == core.SAMPLE_KEYS


def test_a_fingerprint_mismatch_names_what_differs():
    a = core.Fingerprint(rows=3, keys=3, key_sum="10", row_sum="20")
    assert a.mismatch(a) is None and a.checksum == "10:20"
    assert a.mismatch(core.Fingerprint(rows=2, keys=3, key_sum="10", row_sum="21")) == "rows 3 ≠ 2; row_sum 20 ≠ 21"


def test_the_replaced_tables_tombstone_is_the_trashs():
    t = core.tombstone("sales", "orders__before_x", "hudi", "s3a://w/sales/orders", {"format": "hudi"}, {"id": "1", "time": "t"}, 5, 7, now=0)
    assert t["table"] == "sales.orders__before_x" and t["droppedAt"] == "1970-01-01T00:00:00.000Z" and t["purgeAfter"] == "1970-01-08T00:00:00.000Z"
    assert {"table", "database", "name", "format", "location", "droppedAt", "purgeAfter", "trashDays"} <= set(t) and "declaredIn" not in t
    # Named by its tables.yaml, whose reconciler purges it when its period ends.
    assert core.tombstone("sales", "x", "hudi", "l", {}, None, 0, 1, declared_in="/d/tables.yaml")["declaredIn"] == "/d/tables.yaml"


def test_where_a_table_is_while_its_swap_is_under_way():
    rec = {"location": "s3a://w/sales/orders", "format": "hudi", "rebuild": {"stage": "swapping", "shadow": "s3a://w/sales/orders-r1", "format": "iceberg"}}
    # Before the swap the entry still names the old table; after it, the shadow.
    assert live(rec, lambda: "s3a://w/sales/orders") == ("s3a://w/sales/orders", "hudi")
    assert live(rec, lambda: "s3a://w/sales/orders-r1") == ("s3a://w/sales/orders-r1", "iceberg")
    writing = {**rec, "rebuild": {**rec["rebuild"], "stage": "writing"}}
    assert live(writing, lambda: "s3a://w/sales/orders-r1") == ("s3a://w/sales/orders", "hudi")
    assert live(None, lambda: None) is None


def test_a_rebuild_request_names_the_layout_it_has():
    body = {"table": {"name": "orders", "database": "sales", "format": "iceberg", "primaryKey": ["id", "region"], "location": "s3a://w/sales/orders"},
            "previous": {"format": "hudi", "primaryKey": ["id"]}, "generation": "g", "trashDays": 2, "declaredIn": "/d/tables.yaml"}
    r = RebuildRequest.parse(body)
    assert r.previous == {"format": "hudi", "primaryKey": ["id"], "partitionBy": []} and r.trash_days == 2.0 and r.declared_in == "/d/tables.yaml"
    with pytest.raises(BadRequest, match="request.previous.format"):
        RebuildRequest.parse({**body, "previous": {"format": "delta", "primaryKey": ["id"]}})
    with pytest.raises(BadRequest, match="trashDays"):
        RebuildRequest.parse({**body, "trashDays": 0})


# ---------------------------------------------------------------- a rebuild killed, settled by the next one


class FakeStorage:
    def __init__(self):
        self.files: dict[str, str] = {}
        self.deleted: list[str] = []

    def exists(self, uri):
        return uri in self.files

    def read_text(self, uri):
        return self.files[uri]

    def write_text(self, uri, text):
        self.files[uri] = text

    def delete(self, uri, recursive):
        self.deleted.append(uri)
        return self.files.pop(uri, None) is not None


class FakeMetastore:
    def __init__(self, locations):
        self.locations = dict(locations)
        self.dropped: list[str] = []

    def location(self, database, name):
        return self.locations.get(name)

    def drop(self, database, name):
        self.dropped.append(name)
        self.locations.pop(name, None)

    def rename(self, database, name, to):
        assert to not in self.locations
        self.locations[to] = self.locations.pop(name)


def settle_with(entry_location):
    """A Rebuilds over fakes, with a rebuild of sales.orders (Hudi → Iceberg) stopped at its swap."""
    import json

    from lakeform_jobs.placement import Placements
    from lakeform_jobs.rebuild import Rebuilds

    storage = FakeStorage()
    rb = {"stage": "swapping", "format": "iceberg", "shadow": "s3a://w/sales/orders-r1", "shadowName": "orders__rebuild_1", "trashName": "orders__before_1",
          "from": {"location": "s3a://w/sales/orders", "format": "hudi"}, "change": "format hudi → iceberg", "tombstone": {"table": "sales.orders__before_1"}}
    storage.files["s3a://w/_lakeform/tables/sales/orders.json"] = json.dumps({"location": "s3a://w/sales/orders", "format": "hudi", "rebuild": rb})
    jobs = type("J", (), {})()
    jobs.ctx = type("C", (), {"storage": storage})()
    r = Rebuilds.__new__(Rebuilds)
    r.jobs, r.metastore = jobs, FakeMetastore({"orders": entry_location, "orders__rebuild_1": "s3a://w/sales/orders-r1"})
    r._refresh = lambda *t: None
    jobs.placements = Placements(storage, lambda t: r.metastore.location(t.database, t.name))
    return r, storage, jobs.placements


def test_a_rebuild_killed_before_its_swap_is_cleaned_and_the_old_table_keeps_serving():
    r, storage, places = settle_with("s3a://w/sales/orders")
    assert places.resolve(T).location == "s3a://w/sales/orders"
    assert r.settle(T) == "cleaned"
    assert "s3a://w/sales/orders-r1" in storage.deleted and r.metastore.dropped == ["orders__rebuild_1"]
    # Nothing in the trash; the table is where it was (its home: no record left).
    assert not any("_lakeform/trash" in k for k in storage.files) and places.read(T) is None
    assert r.settle(T) is None


def test_a_whole_replace_stopped_between_its_renames_gets_the_table_its_entry_back_then_is_cleaned():
    # The metastore killed between its two renames (MetastoreServer.java 3.): the table's entry is
    # under the trash name, the shadow's still under its own, no entry of the table's name.
    r, storage, places = settle_with("s3a://w/sales/orders")
    r.metastore.locations["orders__before_1"] = r.metastore.locations.pop("orders")
    assert r.settle(T) == "cleaned"
    assert r.metastore.locations == {"orders": "s3a://w/sales/orders"}
    assert r.metastore.dropped == ["orders__rebuild_1"] and "s3a://w/sales/orders-r1" in storage.deleted
    assert places.read(T) is None


def test_a_rebuild_killed_after_its_swap_is_finished_the_old_table_in_the_trash():
    import json

    r, storage, places = settle_with("s3a://w/sales/orders-r1")
    # The entry names the shadow: readers (and every request) see the new table already.
    assert (places.resolve(T).location, places.resolve(T).format) == ("s3a://w/sales/orders-r1", "iceberg")
    assert r.settle(T) == "finished"
    assert json.loads(storage.files["s3a://w/_lakeform/tables/sales/orders.json"]) == {"location": "s3a://w/sales/orders-r1", "format": "iceberg"}
    assert json.loads(storage.files["s3a://w/_lakeform/trash/sales/orders__before_1.json"]) == {"table": "sales.orders__before_1"}
    # The replaced table's files are found under its trash name (undrop, purge).
    trashed = Table(name="orders__before_1", database="sales", format="iceberg", location="s3a://w/sales/orders__before_1")
    assert (places.resolve(trashed).location, places.resolve(trashed).format) == ("s3a://w/sales/orders", "hudi")
    assert "s3a://w/sales/orders-r1" not in storage.deleted
    # A whole replace kept the replaced entry under the trash name: it goes (undrop registers it again).
    assert r.metastore.dropped == ["orders__rebuild_1", "orders__before_1"]


def test_a_rebuild_away_from_a_partitioned_hudi_table_is_refused_everywhere_and_into_one_on_a_stock_metastore():
    hudi = lambda *p, key=("id",): {"format": "hudi", "primaryKey": list(key), "partitionBy": list(p)}  # noqa: E731
    ice = lambda *p: {"format": "iceberg", "primaryKey": ["id"], "partitionBy": list(p)}  # noqa: E731
    stock, ours = (lambda: False), (lambda: True)
    asked: list[bool] = []

    def counted() -> bool:
        asked.append(True)
        return False

    # One metastore step: neither entry has partition keys (an Iceberg table's partitioning is in its metadata); the metastore isn't asked.
    for before, after in [(hudi(), hudi(key=("id", "region"))), (hudi(), ice("region")), (ice("region"), hudi()), (ice(), ice("region"))]:
        assert core.refuse_partitioned_hudi_swap("sales.orders", before, after, counted) is None
    assert asked == []
    # Into a partitioned Hudi table: Lakeform's metastore replaces the entry whole; a stock one can't change its partition keys.
    for before in (hudi(), ice("region"), ice()):
        assert core.refuse_partitioned_hudi_swap("sales.orders", before, hudi("region"), ours) is None
    e = core.refuse_partitioned_hudi_swap("sales.orders", hudi(), hudi("region"), stock)
    assert e.code == "INCOMPATIBLE_SPEC_CHANGE" and "partitionBy [] → [region]" in e.message
    assert "partition keys would change from [] to [region]" in e.message and "the table is unchanged" in e.message
    assert "To go on: keep partitionBy [] on this Hudi table, or rebuild it as format: iceberg with partitionBy [region]" in e.message
    # Word for word what the plan says (lake/rebuildRefusals.json filled by both; tests/unit/rebuildPlan.test.ts asserts the same text).
    e = core.refuse_partitioned_hudi_swap("default.orders", hudi(), hudi("region"), stock)
    assert e.message == (
        "table default.orders can't be rebuilt (partitionBy [] → [region]): its metastore entry's partition keys would change from [] to [region] "
        "(a partitioned Hudi table's partition columns are its entry's partition keys), which Hive's alter_table refuses, and this stack's metastore isn't "
        "Lakeform's own (which replaces an entry whole, partitions and all, in one call): the swap would be a drop and a create, and readers would find no "
        "table in between; the table is unchanged. To go on: keep partitionBy [] on this Hudi table, or rebuild it as format: iceberg with partitionBy [region] "
        "(an Iceberg table's partitioning is in its own metadata: it is swapped in one step, and changed later without a rewrite)"
    )
    e = core.refuse_partitioned_hudi_swap("sales.orders", ice("region"), hudi("region"), stock)
    assert "from [] to [region]" in e.message and "To go on: keep format: iceberg" in e.message
    # Away from a partitioned Hudi table, on every metastore: a query straddling the swap would list the new table's partitions.
    for replaces_whole in (stock, ours):
        for after in (hudi(), hudi("day"), ice("region"), ice()):
            e = core.refuse_partitioned_hudi_swap("sales.orders", hudi("region"), after, replaces_whole)
            assert "lists its partitions in two calls" in e.message and "keep format: hudi and partitionBy [region] on this table" in e.message
        # The same keys (a key change of a partitioned Hudi table).
        e = core.refuse_partitioned_hudi_swap("sales.orders", hudi("region"), hudi("region", key=("id", "day")), replaces_whole)
        assert "would list the new table's partitions (or none)" in e.message and "keep primaryKey [id] on this partitioned Hudi table" in e.message
