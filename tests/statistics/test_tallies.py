"""Vote tallies kept with every vote equal a recount from the votes, on PostgreSQL and SQLite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.statistics.tally_check import mismatches, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_tallies_equal_a_recount_after_concurrent_annotators_on_postgresql():
    result = run(n_annotators=16, n_utterances=8)
    assert result["errors"] == []
    assert result["votes"] > 8 * 4 * 3 - 1
    assert result["tallies"] > 0
    assert result["mismatches"] == []


def test_tallies_equal_a_recount_after_concurrent_annotators_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ANNOTATOR_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.statistics.tally_check", "16", "8"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    assert report["tallies"] > 0
    assert report["mismatches"] == []


@pytest.mark.django_db
def test_revised_vote_moves_its_tally(django_user_model):
    from labeling.models import LabelTally
    from labeling.services.assignment import next_task, revise_answer, submit_vote
    from labeling.services.campaigns import create_campaign
    from tests.factories import annotators, rendered_corpus

    team = annotators(2, prefix="tally-")
    campaign = create_campaign(name="tally revise", corpus=rendered_corpus(1), annotators=team)
    first, second = campaign.label_names[:2]
    lease = next_task(team[0], campaign)
    submit_vote(team[0], lease.pk, first, 1.0)
    revise_answer(team[0], lease.pk, second)
    assert list(
        LabelTally.objects.filter(job_id=lease.job_id).values_list("label", "votes", "first_votes")
    ) == [(second, 1, 1)]
    assert mismatches(campaign) == []
