"""Prefetch at the service level: a task fetched ahead of the shown one, shown later or
given back unused (next_task(ahead_of=…), release_task)."""

import pytest
from django.utils import timezone

from labeling.models import Lease
from labeling.services.assignment import (
    LeaseClosed,
    LeaseNotFound,
    next_task,
    release_task,
    skip_task,
    submit_vote,
)
from labeling.services.campaigns import create_campaign
from tests.annotation.test_assignment import campaign_for
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return annotators(6)


def live(annotator, campaign):
    return list(
        Lease.objects.filter(
            annotator=annotator,
            campaign=campaign,
            status=Lease.Status.ACTIVE,
            expires_at__gt=timezone.now(),
        ).order_by("pk")
    )


def test_an_annotator_holds_at_most_the_current_and_the_next_task(team):
    campaign = campaign_for(team, 4)
    current = next_task(team[0], campaign)
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    assert upcoming.ahead and not current.ahead and upcoming.job_id != current.job_id
    # Asking again (a reload, a second tab) gives the same two, never a third.
    assert next_task(team[0], campaign, ahead_of=current.pk) == upcoming
    assert next_task(team[0], campaign) == current
    assert [lease.pk for lease in live(team[0], campaign)] == [current.pk, upcoming.pk]


def test_the_task_ahead_respects_the_independence_guard(team):
    campaign = campaign_for(team, 4)
    current = next_task(team[0], campaign)
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    assert upcoming.job.utterance_id != current.job.utterance_id


def test_the_task_ahead_is_shown_next_with_a_fresh_expiry(team):
    campaign = campaign_for(team, 4, lease_seconds=600)
    current = next_task(team[0], campaign)
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    fetched = timezone.now() - timezone.timedelta(seconds=300)
    Lease.objects.filter(pk=upcoming.pk).update(
        created_at=fetched, shown_at=fetched, expires_at=fetched + timezone.timedelta(seconds=600)
    )
    submit_vote(team[0], current.pk, "anger")
    before = timezone.now()
    shown = next_task(team[0], campaign)
    assert shown.pk == upcoming.pk and not shown.ahead
    stored = Lease.objects.get(pk=upcoming.pk)
    assert not stored.ahead and stored.shown_at >= before
    assert stored.expires_at >= before + timezone.timedelta(seconds=599)
    # Seconds spent count from when it was shown, not from when it was fetched.
    vote = submit_vote(team[0], shown.pk, "anger").vote
    assert vote.seconds_spent < 60


def test_a_task_ahead_whose_time_ran_out_is_closed_and_a_new_one_given(team):
    campaign = campaign_for(team, 4)
    current = next_task(team[0], campaign)
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    Lease.objects.filter(pk=upcoming.pk).update(expires_at=timezone.now())
    submit_vote(team[0], current.pk, "anger")
    shown = next_task(team[0], campaign)
    assert shown is not None and shown.pk != upcoming.pk and not shown.ahead
    assert Lease.objects.get(pk=upcoming.pk).status == Lease.Status.EXPIRED


def test_a_task_ahead_cannot_be_answered_or_skipped_before_it_is_shown(team):
    campaign = campaign_for(team, 4)
    current = next_task(team[0], campaign)
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    with pytest.raises(LeaseClosed, match="not shown yet"):
        submit_vote(team[0], upcoming.pk, "anger")
    with pytest.raises(LeaseClosed, match="release it"):
        skip_task(team[0], upcoming.pk)
    assert Lease.objects.get(pk=upcoming.pk).status == Lease.Status.ACTIVE


def test_a_released_task_goes_back_to_the_pool_and_stays_seen(team):
    # Two utterances, text only: two jobs of three slots each.
    campaign = campaign_for(team, 2, modalities="t")
    first, second = campaign.jobs.order_by("turn", "id")
    current = next_task(team[0], campaign)
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    assert (current.job_id, upcoming.job_id) == (first.pk, second.pk)
    assert [next_task(a, campaign).job_id for a in team[1:5]] == [first.pk] * 2 + [second.pk] * 2
    assert next_task(team[5], campaign) is None  # every slot held, one of them ahead
    released = release_task(team[0], upcoming.pk)
    assert released.status == Lease.Status.RELEASED and released.closed_at is not None
    assert release_task(team[0], upcoming.pk).status == Lease.Status.RELEASED  # idempotent
    # The slot is back in the pool: someone else gets that job now.
    assert next_task(team[5], campaign).job_id == second.pk
    # Not the one who gave it back: their page may have loaded its media.
    submit_vote(team[0], current.pk, "anger")
    assert next_task(team[0], campaign) is None


def test_a_shown_task_cannot_be_released(team):
    campaign = campaign_for(team, 4)
    current = next_task(team[0], campaign)
    with pytest.raises(LeaseClosed, match="skip it instead"):
        release_task(team[0], current.pk)
    submit_vote(team[0], current.pk, "anger")
    with pytest.raises(LeaseClosed, match="already submitted"):
        release_task(team[0], current.pk)
    with pytest.raises(LeaseNotFound):
        release_task(team[1], current.pk)


def test_fetching_ahead_only_of_ones_own_shown_task(team):
    campaign = campaign_for(team, 4)
    mine = next_task(team[0], campaign)
    theirs = next_task(team[1], campaign)
    with pytest.raises(LeaseNotFound, match="fetch ahead only of the task you are shown"):
        next_task(team[0], campaign, ahead_of=theirs.pk)
    upcoming = next_task(team[0], campaign, ahead_of=mine.pk)
    with pytest.raises(LeaseClosed, match="not shown yet"):
        next_task(team[0], campaign, ahead_of=upcoming.pk)
    submit_vote(team[0], mine.pk, "anger")
    with pytest.raises(LeaseClosed, match="was submitted"):
        next_task(team[0], campaign, ahead_of=mine.pk)
    other = create_campaign(name="d", corpus=rendered_corpus(2), annotators=team)
    with pytest.raises(LeaseNotFound):
        next_task(team[0], other, ahead_of=upcoming.pk)
    assert len(live(team[0], campaign)) == 1


def test_leases_ahead_count_against_a_jobs_open_slots(team):
    campaign = campaign_for(team, 2, modalities="t", independence_guard=False)
    first, second = campaign.jobs.order_by("turn", "id")
    shown = [next_task(a, campaign) for a in team[:3]]
    assert {lease.job_id for lease in shown} == {first.pk}
    ahead = [
        next_task(a, campaign, ahead_of=lease.pk) for a, lease in zip(team[:3], shown, strict=True)
    ]
    assert {lease.job_id for lease in ahead} == {second.pk}
    # Both jobs' three slots are held, ahead or shown: nobody else gets either.
    assert next_task(team[3], campaign) is None


def test_hidden_gold_checks_may_be_fetched_ahead_like_jobs(team):
    from labeling.models import GoldAnswer, GoldItem, Vote

    campaign = campaign_for(team, 4, modalities="t")
    current = next_task(team[0], campaign)
    assert current.kind == Lease.Kind.JOB
    utterance = campaign.corpus.utterances.exclude(pk=current.job.utterance_id).first()
    GoldItem.objects.create(
        campaign=campaign, utterance=utterance, modality="t", purpose="check", label="anger"
    )
    campaign.gold_share = 1.0
    campaign.save()
    upcoming = next_task(team[0], campaign, ahead_of=current.pk)
    assert (upcoming.kind, upcoming.ahead) == (Lease.Kind.CHECK, True)
    submit_vote(team[0], current.pk, "fear")
    shown = next_task(team[0], campaign)
    assert (shown.pk, shown.ahead) == (upcoming.pk, False)
    submit_vote(team[0], shown.pk, "anger")
    assert GoldAnswer.objects.filter(lease=shown, correct=True).exists()
    assert not Vote.objects.filter(lease=shown).exists()
