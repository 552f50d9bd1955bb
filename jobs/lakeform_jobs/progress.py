"""Progress of the writes in flight, for GET /progress: per write its stage (ours: sampling,
checking keys, writing, committing), and for the Spark work of that stage the tasks, input bytes
and records done so far, read from Spark's own status store (live metrics arrive with task ends
and executor heartbeats). Each stage runs its Spark jobs in a job group of its own."""

from __future__ import annotations

import itertools
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_ids = itertools.count(1)


@dataclass
class WriteProgress:
    table: str
    source: str
    bytes_total: int = 0
    stage: str = "starting"
    started: float = field(default_factory=time.time)
    stage_started: float = field(default_factory=time.time)
    group: str = ""
    rows_total: int | None = None  # known once the keys were counted

    def to_json(self, spark_stats: dict[str, int]) -> dict[str, Any]:
        now = time.time()
        out: dict[str, Any] = {
            "table": self.table,
            "source": self.source,
            "stage": self.stage,
            "elapsedMs": int((now - self.started) * 1000),
            "stageElapsedMs": int((now - self.stage_started) * 1000),
            "bytesTotal": self.bytes_total,
            "rowsTotal": self.rows_total,
            **spark_stats,
        }
        if self.bytes_total and "bytesRead" in spark_stats:
            out["percent"] = min(100, int(100 * spark_stats["bytesRead"] / self.bytes_total))
        return out


class Progress:
    def __init__(self, spark: "SparkSession"):
        self.spark = spark
        self._writes: dict[str, WriteProgress] = {}
        self._guard = threading.Lock()

    @contextmanager
    def track(self, table: str, source: str, bytes_total: int = 0) -> Iterator["Tracker"]:
        p = WriteProgress(table=table, source=source, bytes_total=bytes_total)
        with self._guard:
            self._writes[table] = p
        try:
            yield Tracker(self.spark, p)
        finally:
            with self._guard:
                self._writes.pop(table, None)
            self.spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]

    def snapshot(self, table: str | None = None) -> list[dict[str, Any]]:
        with self._guard:
            writes = [w for k, w in self._writes.items() if table is None or k == table]
        return [w.to_json(self.spark_stats(w.group)) for w in writes]

    def spark_stats(self, group: str) -> dict[str, int]:
        """Tasks, input bytes and records, output records of the group's Spark stages so far."""
        if not group:
            return {}
        sc = self.spark.sparkContext
        tracker = sc.statusTracker()
        store = sc._jsc.sc().statusStore()
        totals = {"tasksDone": 0, "tasks": 0, "bytesRead": 0, "rowsRead": 0, "rowsOut": 0}
        try:
            for job_id in tracker.getJobIdsForGroup(group):
                job = tracker.getJobInfo(job_id)
                for sid in job.stageIds if job else []:
                    try:
                        sd = store.lastStageAttempt(int(sid))
                    except Exception:  # not submitted yet (skipped stages never are)
                        continue
                    totals["tasksDone"] += int(sd.numCompleteTasks())
                    totals["tasks"] += int(sd.numTasks())
                    totals["bytesRead"] += int(sd.inputBytes())
                    totals["rowsRead"] += int(sd.inputRecords())
                    totals["rowsOut"] += int(sd.outputRecords())
        except Exception:  # the status store is best effort: a write never fails for it
            return {}
        return totals


class Tracker:
    def __init__(self, spark: "SparkSession", p: WriteProgress):
        self.spark = spark
        self.p = p

    def stage(self, name: str, bytes_total: int | None = None) -> None:
        """Enters a stage: its Spark jobs run in a job group of their own (this thread's)."""
        self.p.stage = name
        self.p.stage_started = time.time()
        if bytes_total is not None:
            self.p.bytes_total = bytes_total
        self.p.group = f"lakeform-{self.p.table}-{next(_ids)}"
        self.spark.sparkContext.setJobGroup(self.p.group, f"{self.p.table}: {name}", interruptOnCancel=False)

    def rows(self, n: int) -> None:
        self.p.rows_total = n
