"""32 annotators at once, on the real PostgreSQL and on the embedded SQLite."""

import pytest

from tests.annotation.simulation import run
from tests.sqlite import report_on_sqlite


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


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "job_order", ["shuffled", "id", "uncertainty", "disagreement", "utterances"]
)
def test_32_concurrent_annotators_on_postgresql_keep_every_invariant(job_order):
    report = run(n_annotators=32, n_utterances=12, job_order=job_order)
    assert_invariants(report)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_fetching_ahead_on_postgresql_keep_every_invariant():
    report = run(n_annotators=24, n_utterances=12, seed=1, prefetch=True)
    assert_invariants(report)
    assert report["over_held"] == 0 and report["released"] > 0


def test_concurrent_annotators_fetching_ahead_on_sqlite_keep_every_invariant(tmp_path):
    report = report_on_sqlite(tmp_path, "tests.annotation.simulation", "32", "12", "--prefetch")
    assert_invariants(report)
    assert report["over_held"] == 0 and report["released"] > 0


def test_32_concurrent_annotators_on_sqlite_keep_every_invariant(tmp_path):
    report = report_on_sqlite(tmp_path, "tests.annotation.simulation", "32", "12")
    assert_invariants(report)
