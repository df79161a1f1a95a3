"""next_task / submit_vote / skip_task: the rules one annotator at a time."""

import pytest
from django.utils import timezone

from labeling.models import Job, Lease, Vote
from labeling.services.assignment import (
    InvalidLabel,
    JobClosed,
    LeaseClosed,
    LeaseExpired,
    LeaseNotFound,
    NotInPool,
    next_task,
    skip_task,
    submit_vote,
)
from labeling.services.campaigns import CampaignInvalid, create_campaign
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return annotators(6)


def campaign_for(team, n_utterances=2, **options):
    return create_campaign(
        name="c", corpus=rendered_corpus(n_utterances), annotators=team, **options
    )


def test_campaign_has_a_job_per_utterance_and_modality(team):
    campaign = campaign_for(team, 3, modalities="tav")
    assert campaign.jobs.count() == 9
    assert set(campaign.jobs.values_list("modality", flat=True)) == {"t", "a", "v"}
    assert campaign.label_names[0] == "happiness" and campaign.labels[0]["key"] == "1"


def test_campaign_settings_that_contradict_each_other_are_refused(team):
    with pytest.raises(CampaignInvalid, match="unique"):
        campaign_for(team, labels=[{"name": "a", "key": "1"}, {"name": "a", "key": "2"}])
    with pytest.raises(CampaignInvalid, match="key"):
        campaign_for(team, labels=[{"name": "a", "key": "1"}, {"name": "b", "key": "1"}])
    with pytest.raises(CampaignInvalid, match="modality"):
        campaign_for(team, modalities="xyz")


def test_next_task_returns_the_same_live_lease_until_it_is_answered(team):
    campaign = campaign_for(team)
    first = next_task(team[0], campaign)
    assert next_task(team[0], campaign) == first
    submit_vote(team[0], first.pk, "anger")
    assert next_task(team[0], campaign) != first


def test_jobs_closest_to_a_verdict_come_first(team):
    campaign = campaign_for(team, 5, modalities="t")
    lease = next_task(team[0], campaign)
    submit_vote(team[0], lease.pk, "anger")
    # The next annotator is sent to the job that already has a vote, not a fresh one.
    assert next_task(team[1], campaign).job_id == lease.job_id


def test_split_job_asks_for_exactly_one_more_vote_and_is_preferred(team):
    campaign = campaign_for(team, 3, modalities="t", independence_guard=False)
    job = campaign.jobs.order_by("turn", "id").first()  # the first handed out
    for annotator, label in zip(team[:3], ["anger", "anger", "fear"], strict=True):
        lease = next_task(annotator, campaign)
        assert lease.job_id == job.pk
        submit_vote(annotator, lease.pk, label)
    job.refresh_from_db()
    assert (job.state, job.votes_count) == ("needs_vote", 3)
    fourth = next_task(team[3], campaign)
    assert fourth.job_id == job.pk
    assert next_task(team[4], campaign).job_id != job.pk  # one slot only while the 4th votes
    submit_vote(team[3], fourth.pk, "anger")
    job.refresh_from_db()
    assert (job.state, job.label, job.votes_count) == ("decided", "anger", 4)


def test_independence_guard_keeps_other_modalities_of_a_seen_utterance_away(team):
    campaign = campaign_for(team, 2)
    seen = set()
    for _ in range(2):
        lease = next_task(team[0], campaign)
        assert lease.job.utterance_id not in seen
        seen.add(lease.job.utterance_id)
        submit_vote(team[0], lease.pk, "anger")
    assert next_task(team[0], campaign) is None  # 8 jobs left, all on utterances already seen


def test_without_the_guard_an_annotator_may_label_every_modality(team):
    campaign = campaign_for(team, 1, independence_guard=False)
    modalities = []
    while (lease := next_task(team[0], campaign)) is not None:
        modalities.append(lease.job.modality)
        submit_vote(team[0], lease.pk, "anger")
    assert sorted(modalities) == ["a", "m", "t", "v"]


def test_a_job_is_never_leased_beyond_its_open_slots(team):
    campaign = campaign_for(team, 1, modalities="t")
    leases = [next_task(a, campaign) for a in team[:4]]
    assert [lease is not None for lease in leases] == [True, True, True, False]


def test_expired_leases_go_back_to_the_pool_and_cannot_submit(team):
    campaign = campaign_for(team, 1, modalities="t")
    stale = [next_task(a, campaign) for a in team[:3]]
    Lease.objects.filter(pk=stale[0].pk).update(expires_at=timezone.now())
    replacement = next_task(team[3], campaign)
    assert replacement is not None and replacement.job_id == stale[0].job_id
    with pytest.raises(LeaseExpired, match="ran out"):
        submit_vote(team[0], stale[0].pk, "anger")
    assert not Vote.objects.exists()


def test_a_repeated_submission_is_stored_once_and_answered_the_same(team):
    campaign = campaign_for(team)
    lease = next_task(team[0], campaign)
    first = submit_vote(team[0], lease.pk, "fear")
    again = submit_vote(team[0], lease.pk, "fear")
    assert (again.vote.pk, again.repeated, first.repeated) == (first.vote.pk, True, False)
    assert Vote.objects.count() == 1
    with pytest.raises(LeaseClosed, match="already answered"):
        submit_vote(team[0], lease.pk, "anger")


def test_only_the_lease_holder_can_submit(team):
    campaign = campaign_for(team)
    lease = next_task(team[0], campaign)
    with pytest.raises(LeaseNotFound):
        submit_vote(team[1], lease.pk, "fear")
    assert not Vote.objects.exists()


def test_unknown_labels_are_refused_and_change_nothing(team):
    campaign = campaign_for(team)
    lease = next_task(team[0], campaign)
    with pytest.raises(InvalidLabel, match="use one of happiness"):
        submit_vote(team[0], lease.pk, "joy")
    lease.refresh_from_db()
    assert lease.status == "active" and not Vote.objects.exists()


def test_submitting_to_a_job_closed_meanwhile_is_refused(team):
    campaign = campaign_for(team)
    lease = next_task(team[0], campaign)
    Job.objects.filter(pk=lease.job_id).update(state="decided", label="anger", priority=9)
    with pytest.raises(JobClosed):
        submit_vote(team[0], lease.pk, "fear")
    assert not Vote.objects.exists()


def test_skips_are_recorded_and_the_job_goes_to_someone_else(team):
    campaign = campaign_for(team, 1, modalities="t")
    leases = [next_task(a, campaign) for a in team[:3]]
    skipped = skip_task(team[0], leases[0].pk, reason="cannot hear")
    assert (skipped.status, skipped.skip_reason) == ("skipped", "cannot hear")
    assert next_task(team[0], campaign) is None  # never the same job again
    assert next_task(team[3], campaign).job_id == leases[0].job_id


def test_time_spent_is_recorded_and_clamped_to_the_time_since_shown(team):
    campaign = campaign_for(team)
    lease = next_task(team[0], campaign)
    Lease.objects.filter(pk=lease.pk).update(
        shown_at=timezone.now() - timezone.timedelta(seconds=9)
    )
    vote = submit_vote(team[0], lease.pk, "fear", seconds_spent=4.5).vote
    assert vote.seconds_spent == 4.5
    lease2 = next_task(team[0], campaign)
    assert submit_vote(team[0], lease2.pk, "fear", seconds_spent=1e6).vote.seconds_spent < 5


def test_annotators_outside_the_pool_get_nothing(team):
    campaign = campaign_for(team[:2])
    with pytest.raises(NotInPool):
        next_task(team[5], campaign)


def test_a_custom_rule_decides_with_its_own_numbers(team):
    campaign = campaign_for(team, 1, modalities="t", rule=VotingRule(2, 2, 3))
    for annotator in team[:2]:
        submit_vote(annotator, next_task(annotator, campaign).pk, "sadness")
    job = campaign.jobs.get()
    assert (job.state, job.label) == ("decided", "sadness")


def test_jobs_whose_rendition_is_not_ready_are_not_handed_out(team):
    campaign = campaign_for(team, 1, modalities="a")
    campaign.corpus.utterances.get().renditions.filter(modality="a").update(status="failed")
    assert next_task(team[0], campaign) is None


def _removed(campaign, annotator):
    campaign.annotators.remove(annotator)


def _paused(campaign, annotator):
    from labeling.models import ReviewAction
    from labeling.services.pauses import record_pause

    record_pause(campaign, annotator, actor=None, reason="Test.", kind=ReviewAction.Kind.PAUSE)


def _closed(campaign, annotator):
    campaign.is_active = False
    campaign.save()


@pytest.mark.parametrize(
    ("change", "refusal"),
    [(_removed, "NotInPool"), (_paused, "Paused"), (_closed, "CampaignClosed")],
)
def test_a_live_lease_cannot_be_submitted_once_its_holder_may_no_longer_annotate(
    team, change, refusal
):
    from labeling.services import assignment

    campaign = campaign_for(team, 1, modalities="t")
    lease = next_task(team[0], campaign)
    change(campaign, team[0])
    with pytest.raises(getattr(assignment, refusal)):
        submit_vote(team[0], lease.pk, "anger")
    assert not Vote.objects.exists()
    assert Lease.objects.get(pk=lease.pk).status == Lease.Status.ACTIVE


def test_a_lease_with_less_than_a_second_left_is_not_handed_out_again(team):
    campaign = campaign_for(team, 2, modalities="t")
    first = next_task(team[0], campaign)
    Lease.objects.filter(pk=first.pk).update(
        expires_at=timezone.now() + timezone.timedelta(milliseconds=600)
    )
    second = next_task(team[0], campaign)
    assert second is not None and second.pk != first.pk
    assert (second.expires_at - timezone.now()).total_seconds() > 1
    assert Lease.objects.get(pk=first.pk).status == Lease.Status.EXPIRED


def test_a_training_question_with_less_than_a_second_left_is_not_handed_out_again(db):
    from labeling.services.qualification import next_training_question
    from tests.qualification.conftest import build_campaign

    team = annotators(1, prefix="learner")
    campaign = build_campaign(team)
    first = next_training_question(team[0], campaign, "t")
    Lease.objects.filter(pk=first.pk).update(
        expires_at=timezone.now() + timezone.timedelta(milliseconds=600)
    )
    second = next_training_question(team[0], campaign, "t")
    assert second.pk != first.pk
    assert Lease.objects.get(pk=first.pk).status == Lease.Status.EXPIRED
