"""The job server's lease check (lease.py) with a fake S3 reader: a request commits only while its
sender holds the table's lease, the generation it was sent with, unexpired."""

import json
import threading
import time
from types import SimpleNamespace

import pytest

from lakeform_jobs.errors import BadRequest, JobFailure
from lakeform_jobs.lease import Fence, LeaseGuard, lease_key
from lakeform_jobs.operations import Jobs
from lakeform_jobs.types import Table
from lakeform_jobs.requests import LocationRequest, TableRequest, WriteRequest

KEY = "_lakeform/leases/default/leads.json"
NOW = 1_800_000_000.0


class Leases:
    """The warehouse bucket's lease objects, as a fake S3 reader; counts reads."""

    def __init__(self, **records):
        self.objects = {f"s3a://w/{k}": v for k, v in records.items()}
        self.reads = 0

    def put(self, record):
        self.objects[f"s3a://w/{KEY}"] = json.dumps(record) if isinstance(record, dict) else record

    def read(self, uri):
        self.reads += 1
        return self.objects.get(uri)


def record(generation=3, expires_in_s=20.0, holder="reconciler@h:1"):
    return {"holder": holder, "purpose": "reconciler: 1 source(s) not applied yet", "acquiredAt": "", "expiresAt": int((NOW + expires_in_s) * 1000), "generation": generation}


def guard(leases, generation=3):
    return LeaseGuard(Fence(KEY, generation), "w", "default.leads", leases.read, clock=lambda: NOW)


def lost(g):
    with pytest.raises(JobFailure) as e:
        g.check()
    assert e.value.code == "LEASE_LOST" and e.value.http_status == 409
    return e.value.message


def test_the_lease_key_is_the_typescript_sides():
    assert lease_key("default", "leads") == KEY


def test_the_holder_of_the_current_generation_may_commit():
    leases = Leases()
    leases.put(record(generation=3))
    guard(leases).check()
    assert leases.reads == 1


def test_a_lease_that_changed_hands_is_lost_naming_the_new_holder():
    leases = Leases()
    leases.put(record(generation=4, holder="api@h:2"))
    message = lost(guard(leases, generation=3))
    assert "generation 4" in message and "api@h:2" in message and "default.leads" in message


def test_an_expired_a_released_a_missing_and_an_unreadable_lease_are_lost():
    leases = Leases()
    leases.put(record(expires_in_s=-0.001))
    assert "expired" in lost(guard(leases))
    leases.put({**record(), "expiresAt": 0})
    assert "released" in lost(guard(leases))
    leases.put("{not json")
    assert "unreadable" in lost(guard(leases))
    leases.objects.clear()
    assert "gone" in lost(guard(leases))


def test_a_record_from_before_generations_is_generation_0():
    leases = Leases()
    rec = record()
    del rec["generation"]
    leases.put(rec)
    guard(leases, generation=0).check()
    lost(guard(leases, generation=1))


def test_a_request_without_a_lease_is_not_checked():
    leases = Leases()
    LeaseGuard(None, "w", "default.leads", leases.read).check()
    assert leases.reads == 0


def test_the_watchdog_cancels_the_write_once_the_lease_changes_hands():
    leases = Leases()
    leases.put(record(generation=3))
    g = guard(leases)
    cancelled = threading.Event()
    with g.watch(cancelled.set, every_s=0.01):
        time.sleep(0.05)
        assert not cancelled.is_set() and g.lost is None
        leases.put(record(generation=4))
        assert cancelled.wait(2)
    assert "generation 4" in (g.lost or "")
    # Once lost it stays lost, even if the object reads well again (a check after the action says so).
    leases.put(record(generation=3))
    assert "generation 4" in lost(g)


def test_the_watchdog_keeps_watching_when_the_object_store_fails_a_read():
    leases = Leases()
    leases.put(record(generation=3))
    fails = {"n": 2}

    def flaky(uri):
        if fails["n"]:
            fails["n"] -= 1
            raise OSError("object store down")
        return leases.read(uri)

    g = LeaseGuard(Fence(KEY, 3), "w", "default.leads", flaky, clock=lambda: NOW)
    cancelled = threading.Event()
    with g.watch(cancelled.set, every_s=0.01):
        time.sleep(0.1)
        assert not cancelled.is_set()
        leases.put(record(generation=5))
        assert cancelled.wait(2)


# ------------------------------------------------------------------ requests


TABLE = {"name": "leads", "database": "default", "format": "hudi", "location": "s3a://w/default/leads", "primaryKey": ["id"]}


def test_requests_carry_the_lease_and_its_key_must_be_the_tables():
    body = {"table": TABLE, "source": {"uri": "s3a://w/_lakeform/landing/a.csv", "hash": "h"}, "generation": "g1", "lease": {"key": KEY, "generation": 7}}
    assert WriteRequest.parse(body).lease == Fence(KEY, 7)
    assert TableRequest.parse({"table": TABLE, "lease": {"key": KEY, "generation": 7}}).lease == Fence(KEY, 7)
    assert LocationRequest.parse({"table": TABLE, "purge": True, "lease": {"key": KEY, "generation": 7}}).lease == Fence(KEY, 7)
    assert WriteRequest.parse({k: v for k, v in body.items() if k != "lease"}).lease is None
    with pytest.raises(BadRequest, match="lease.key"):
        TableRequest.parse({"table": TABLE, "lease": {"key": "_lakeform/leases/default/other.json", "generation": 7}})
    for gen in ["7", -1, True, None]:
        with pytest.raises(BadRequest, match="lease.generation"):
            TableRequest.parse({"table": TABLE, "lease": {"key": KEY, "generation": gen}})


class NoSpark:
    """Any use of Spark (a drop statement, a maintenance) fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"Spark was used ({name}) by a request whose lease was lost")


def jobs_with(leases):
    j = Jobs.__new__(Jobs)
    j.spark = NoSpark()
    j._locks, j._locks_guard = {}, threading.Lock()
    storage = SimpleNamespace(exists=lambda uri: uri in leases.objects, read_head=lambda uri, n: leases.objects[uri].encode()[:n])
    catalog = SimpleNamespace(has=lambda t: True)
    j.ctx = SimpleNamespace(spark=j.spark, storage=storage, catalog=catalog)
    return j


def test_a_drop_or_a_maintenance_under_a_lost_lease_does_nothing():
    leases = Leases()
    leases.put({**record(generation=4), "expiresAt": int(time.time() * 1000) + 20_000})
    j = jobs_with(leases)
    t = Table.parse(TABLE)
    for run in (lambda: j.drop(LocationRequest(t, purge=True, lease=Fence(KEY, 3))), lambda: j.resync(TableRequest(t, lease=Fence(KEY, 3)))):
        with pytest.raises(JobFailure) as e:
            run()
        assert e.value.code == "LEASE_LOST"
