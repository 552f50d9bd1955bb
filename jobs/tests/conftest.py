"""pytest for the job server's parts that need no Spark: run from the repository root
(`python3 -m pytest -q jobs`). The package is imported from jobs/ as the job server imports it."""

import json
import os
import sys

import pytest

JOBS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(JOBS)
sys.path.insert(0, JOBS)


def fixture(name: str):
    with open(os.path.join(ROOT, "tests", "fixtures", name), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def load_fixture():
    return fixture
