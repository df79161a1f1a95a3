"""Vote tallies and votes' agreement, kept with every vote and verdict, equal a recount from
the votes and final labels, on PostgreSQL and SQLite."""

import pytest

from tests.schema import remigrate
from tests.sqlite import report_on_sqlite
from tests.statistics.tally_check import mismatches, run


@pytest.mark.postgresql
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


def voted_campaign(name: str, **options):
    """Two utterances voted through by three annotators: the third departs on every other
    job, so some jobs are decided 3:0 and some wait at 2:1 for a fourth vote."""
    from labeling.services.assignment import next_task, submit_vote
    from labeling.services.campaigns import create_campaign
    from tests.factories import annotators, rendered_corpus

    team = annotators(3, prefix=f"{name}-")
    campaign = create_campaign(
        name=name, corpus=rendered_corpus(2), annotators=team, independence_guard=False, **options
    )
    labels = campaign.label_names
    while leases := [(i, who, next_task(who, campaign)) for i, who in enumerate(team)]:
        if all(lease is None for _, _, lease in leases):
            return campaign
        for i, who, lease in leases:
            if lease is not None:
                label = labels[i == 2 and lease.job_id % 2 == 0]
                submit_vote(who, lease.pk, [label] if campaign.is_multi_label else label)
    return campaign


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_existing_tally_its_jobs_votes(back_to_the_latest_schema):
    """Campaigns voted before `job_votes` existed: migration 0023 fills it in from the rows."""
    from labeling.models import LabelTally

    campaign = voted_campaign("backfill")
    remigrate("0022_utterances_order_without_a_model", "0023_tally_job_votes")
    back_to = "0025_vote_campaign_and_agreement"
    remigrate("0023_tally_job_votes", back_to)  # the columns 0024 and 0025 add, filled again
    assert mismatches(campaign) == []
    assert LabelTally.objects.filter(job__campaign=campaign, job_votes__gt=1).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_existing_vote_its_campaign_and_agreement(
    back_to_the_latest_schema,
):
    """Votes cast before `Vote.agrees` existed (single- and multi-label, a reviewer's label,
    an exclusion): migration 0025 fills in their campaign and agreement as the services
    keep them."""
    from django.contrib.auth.models import User

    from labeling.models import Campaign, Vote
    from labeling.services import review

    single = voted_campaign("agree-single")
    multi = voted_campaign(
        "agree-multi",
        labels=[{"name": "happy", "key": "1"}, {"name": "sad", "key": "2"}],
        label_mode=Campaign.LabelMode.MULTI,
        allow_none=True,
    )
    reviewer = User.objects.create_user("agree-reviewer")
    job = single.jobs.filter(state="decided").first()
    other = next(label for label in single.label_names if label != job.label)
    review.set_label(reviewer, job.pk, other, "the face says otherwise")
    decided = multi.jobs.filter(state="decided").first()
    review.set_label_set(reviewer, decided.pk, [], "neither is visible")  # its voters disagree
    utterance = single.jobs.exclude(utterance=job.utterance).first().utterance_id
    review.exclude_utterance(reviewer, single, utterance, "noisy clip")
    remigrate("0024_utterance_words", "0025_vote_campaign_and_agreement")
    assert mismatches(single) == [] and mismatches(multi) == []
    for campaign in (single, multi):
        agreement = set(Vote.objects.filter(campaign=campaign).values_list("agrees", flat=True))
        assert {True, False} <= agreement, campaign.name  # both kinds are there to get right
    assert Vote.objects.filter(campaign=single, agrees__isnull=True).exists()  # excluded


@pytest.mark.django_db
def test_a_reviewers_label_and_an_exclusion_move_the_votes_agreement():
    from django.contrib.auth.models import User

    from labeling.models import Vote
    from labeling.services import review

    campaign = voted_campaign("agree-review")
    job = campaign.jobs.filter(state="decided").first()
    votes = Vote.objects.filter(job=job)
    assert set(votes.values_list("agrees", flat=True)) != {None}
    reviewer = User.objects.create_user("agree-boss")
    other = next(label for label in campaign.label_names if label not in {job.label})
    review.set_label(reviewer, job.pk, other, "the voice says otherwise")
    assert set(votes.values_list("label", "agrees")) == {
        (label, label == other) for label in votes.values_list("label", flat=True)
    }
    review.exclude_utterance(reviewer, campaign, job.utterance_id, "noisy clip")
    assert set(votes.values_list("agrees", flat=True)) == {None}
    assert mismatches(campaign) == []
