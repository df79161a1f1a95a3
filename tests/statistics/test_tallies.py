"""Vote tallies kept with every vote equal a recount from the votes, on PostgreSQL and SQLite."""

import pytest

from tests.sqlite import report_on_sqlite
from tests.statistics.tally_check import mismatches, run


@pytest.mark.django_db(transaction=True)
def test_tallies_equal_a_recount_after_concurrent_annotators_on_postgresql():
    result = run(n_annotators=16, n_utterances=8)
    assert result["errors"] == []
    assert result["votes"] > 8 * 4 * 3 - 1
    assert result["tallies"] > 0
    assert result["mismatches"] == []


def test_tallies_equal_a_recount_after_concurrent_annotators_on_sqlite(tmp_path):
    report = report_on_sqlite(tmp_path, "tests.statistics.tally_check", "16", "8")
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
        LabelTally.objects.filter(job_id=lease.job_id).values_list(
            "label", "votes", "first_votes", "job_votes"
        )
    ) == [(second, 1, 1, 1)]
    assert mismatches(campaign) == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_existing_tally_its_jobs_votes():
    """Campaigns voted before `job_votes` existed: migration 0023 fills it in from the rows."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from labeling.models import LabelTally
    from labeling.services.assignment import next_task, submit_vote
    from labeling.services.campaigns import create_campaign
    from tests.factories import annotators, rendered_corpus

    team = annotators(3, prefix="backfill-")
    campaign = create_campaign(
        name="backfill", corpus=rendered_corpus(2), annotators=team, independence_guard=False
    )
    labels = campaign.label_names
    for i, annotator in enumerate(team * 3):  # split votes, so jobs have several rows
        lease = next_task(annotator, campaign)
        if lease is not None:
            submit_vote(annotator, lease.pk, labels[i % 2])
    before = "0022_utterances_order_without_a_model"
    MigrationExecutor(connection).migrate([("labeling", before)])  # drops the column
    MigrationExecutor(connection).migrate([("labeling", "0023_tally_job_votes")])
    assert mismatches(campaign) == []
    assert LabelTally.objects.filter(job__campaign=campaign, job_votes__gt=1).exists()
