"""32 annotators at once, on the real PostgreSQL and on the embedded SQLite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.annotation.simulation import run

ROOT = Path(__file__).resolve().parents[2]


def assert_invariants(report: dict) -> None:
    assert report["errors"] == []
    assert report["over_voted_jobs"] == 0
    assert report["votes_after_final"] == 0
    assert report["double_votes"] == 0
    assert report["guard_breaches"] == 0
    assert report["lost_votes"] == 0
    assert report["wrong_verdicts"] == 0
    assert report["unfinished_jobs"] == 0
    assert report["accepted"] == report["votes"] > report["jobs"] * 3 - 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "job_order", ["shuffled", "id", "uncertainty", "disagreement", "utterances"]
)
def test_32_concurrent_annotators_on_postgresql_keep_every_invariant(job_order):
    report = run(n_annotators=32, n_utterances=12, job_order=job_order)
    assert_invariants(report)


@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_fetching_ahead_on_postgresql_keep_every_invariant():
    report = run(n_annotators=24, n_utterances=12, seed=1, prefetch=True)
    assert_invariants(report)
    assert report["over_held"] == 0 and report["released"] > 0


def run_on_sqlite(tmp_path, *args: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ANNOTATOR_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.annotation.simulation", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_concurrent_annotators_fetching_ahead_on_sqlite_keep_every_invariant(tmp_path):
    report = run_on_sqlite(tmp_path, "32", "12", "--prefetch")
    assert_invariants(report)
    assert report["over_held"] == 0 and report["released"] > 0


def test_32_concurrent_annotators_on_sqlite_keep_every_invariant(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ANNOTATOR_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.annotation.simulation", "32", "12"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert_invariants(report)
