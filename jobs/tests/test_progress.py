"""A write's profile: its stages' wall times and the Spark jobs each ran (no Spark: jobs given)."""

from lakeform_jobs.progress import profile_line, stage_profile


def test_jobs_fall_in_the_stage_they_were_submitted_in_summed_by_what_they_did():
    stages = [("sampling", 100.0), ("checking keys", 101.0), ("writing", 103.5)]
    jobs = [
        ("t: sampling", 100.2, 300),
        ("t: checking keys", 101.1, 2000),
        ("Doing partition and writing data", 104.0, 4000),
        ("Tagging", 103.6, 200),
        ("Doing partition and writing data", 108.0, 1500),
        ("before the write", 99.0, 50_000),
    ]
    prof = stage_profile(stages, jobs, now=110.0)
    assert [(s["stage"], s["ms"]) for s in prof] == [("sampling", 1000), ("checking keys", 2500), ("writing", 6500)]
    assert prof[0]["sparkJobs"] == [{"what": "t: sampling", "ms": 300}]
    assert prof[2]["sparkJobs"] == [{"what": "Doing partition and writing data", "ms": 5500}, {"what": "Tagging", "ms": 200}]


def test_a_stage_without_jobs_is_all_driver_time_and_the_line_says_so_plainly():
    prof = stage_profile([("journaling", 5.0)], [], now=5.25)
    assert prof == [{"stage": "journaling", "ms": 250, "sparkJobs": []}]
    assert profile_line(prof) == "journaling 0.2 s"
    line = profile_line(stage_profile([("writing", 0.0)], [("Doing partition and writing data: leads", 1.0, 6500)], now=9.0))
    assert line == "writing 9.0 s (Doing partition and writing data: leads 6.5 s)"
