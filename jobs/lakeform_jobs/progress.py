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
    started: float = field(default_factory=time.time)
    group: str = ""
    rows_total: int | None = None  # known once the keys were counted
    path: str = "spark"  # which write path writes it: spark, or arrow (arrow/path.py)
    stages: list[tuple[str, float]] = field(default_factory=list)  # (name, started) in order

    @property
    def stage(self) -> str:
        return self.stages[-1][0] if self.stages else "starting"

    @property
    def stage_started(self) -> float:
        return self.stages[-1][1] if self.stages else self.started

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
            "path": self.path,
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
        self.p.stages.append((name, time.time()))
        if bytes_total is not None:
            self.p.bytes_total = bytes_total
        self.p.group = f"lakeform-{self.p.table}-{next(_ids)}"
        self.spark.sparkContext.setJobGroup(self.p.group, f"{self.p.table}: {name}", interruptOnCancel=False)

    def rows(self, n: int) -> None:
        self.p.rows_total = n

    def profile(self) -> list[dict[str, Any]]:
        """Where the write's time went so far: per stage of ours its wall time, and the Spark jobs
        submitted during it (from Spark's status store), summed by what they were doing (Hudi and
        Iceberg describe theirs: "Doing partition and writing data", "Tagging", ...). A stage's
        time not spent in a Spark job is the driver's: planning, listing, committing, hive sync.
        Jobs are matched by time: a write to another table at the same moment would show too."""
        return stage_profile(self.p.stages, spark_jobs(self.spark, self.p.started), time.time())


def stage_profile(stages: list[tuple[str, float]], jobs: list[tuple[str, float, int]], now: float) -> list[dict[str, Any]]:
    """Stages (name, started) in order and Spark jobs (what, submitted, ms): per stage its wall
    time up to the next one's start (the last one's up to now) and the jobs submitted in it,
    summed by what they did, the longest first."""
    windows = [(name, start, stages[i + 1][1] if i + 1 < len(stages) else now) for i, (name, start) in enumerate(stages)]
    out = []
    for name, start, end in windows:
        mine: dict[str, int] = {}
        for desc, submitted, ms in jobs:
            if start <= submitted < end:
                mine[desc] = mine.get(desc, 0) + ms
        out.append({"stage": name, "ms": int((end - start) * 1000), "sparkJobs": [{"what": k, "ms": v} for k, v in sorted(mine.items(), key=lambda kv: -kv[1])]})
    return out


def spark_jobs(spark: "SparkSession", since: float) -> list[tuple[str, float, int]]:
    """(what, submitted, milliseconds) of each Spark job submitted since a time: its description,
    else its call site. Best effort: an empty list when the status store can't be read."""
    out = []
    try:
        it = spark.sparkContext._jsc.sc().statusStore().jobsList(None).iterator()
        while it.hasNext():
            j = it.next()
            sub, done = j.submissionTime(), j.completionTime()
            if not sub.isDefined():
                continue
            submitted = sub.get().getTime() / 1000
            if submitted < since:
                break  # the store lists the newest job first
            ended = done.get().getTime() / 1000 if done.isDefined() else time.time()
            what = str(j.description().get()) if j.description().isDefined() else str(j.name())
            out.append((what, submitted, int((ended - submitted) * 1000)))
    except Exception:
        return []
    return out


def profile_line(profile: list[dict[str, Any]]) -> str:
    """A profile on one line for the log: `sampling 0.4 s, writing 9.1 s (Doing partition and writing data 6.0 s, …)`."""
    parts = []
    for s in profile:
        jobs = ", ".join(f"{j['what'][:60]} {j['ms'] / 1000:.1f} s" for j in s["sparkJobs"][:4])
        parts.append(f"{s['stage']} {s['ms'] / 1000:.1f} s" + (f" ({jobs})" if jobs else ""))
    return "; ".join(parts)
