"""Reviewers' actions: atomic, audited, and the automatic verdict stays visible."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from labeling.models import Job, ReviewAction
from labeling.services import review
from labeling.services.assignment import Paused, next_task, submit_vote
from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return annotators(5)


@pytest.fixture
def reviewer():
    return User.objects.create_user("rita", password="pw", is_staff=False)


def vote_job(campaign, team, labels):
    """The first job of the campaign, voted by the first annotators with `labels`."""
    for annotator, label in zip(team, labels, strict=False):
        submit_vote(annotator, next_task(annotator, campaign).pk, label)
    return campaign.jobs.order_by("-votes_count", "id").first()


def one_job_campaign(team, name="r"):
    return create_campaign(name=name, corpus=rendered_corpus(1), annotators=team, modalities="t")


def test_reopening_a_three_way_split_lets_more_votes_decide_it(team, reviewer):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "fear", "sadness"])
    assert job.state == "discarded"
    review.reopen_job(reviewer, job.pk, "the clip is clearer than the votes suggest")
    job.refresh_from_db()
    assert job.state == "needs_vote" and job.extra_votes == 1
    submit_vote(team[3], next_task(team[3], campaign).pk, "anger")
    job.refresh_from_db()
    assert job.state == "needs_vote"  # 2:1:1 with one more allowed: anger can still reach 3
    submit_vote(team[4], next_task(team[4], campaign).pk, "anger")
    job.refresh_from_db()
    assert (job.state, job.label, job.votes_count) == ("decided", "anger", 5)
    action = ReviewAction.objects.get(kind="reopen")
    assert action.before["state"] == "discarded" and action.after["state"] == "needs_vote"
    assert action.actor == reviewer and "clearer" in action.reason


def test_setting_a_label_keeps_the_automatic_verdict_beside_it(team, reviewer):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "anger", "fear", "fear"])
    assert job.state == "discarded"
    review.set_label(reviewer, job.pk, "fear", "the voice is clearly afraid")
    job.refresh_from_db()
    assert (job.state, job.label, job.override_label, job.final_label) == (
        "discarded",
        "",
        "fear",
        "fear",
    )
    log = ReviewAction.objects.get()
    assert (log.before["override_label"], log.after["override_label"]) == ("", "fear")


def test_excluding_an_utterance_closes_every_modality_and_is_logged_per_job(team, reviewer):
    campaign = create_campaign(name="x", corpus=rendered_corpus(1), annotators=team)
    utterance = campaign.corpus.utterances.get()
    lease = next_task(team[0], campaign)
    assert review.exclude_utterance(reviewer, campaign, utterance.pk, "two speakers") == 4
    assert set(Job.objects.values_list("excluded", flat=True)) == {True}
    assert next_task(team[1], campaign) is None
    with pytest.raises(Exception, match="no longer needs a vote"):
        submit_vote(team[0], lease.pk, "anger")
    assert ReviewAction.objects.filter(kind="exclude").count() == 4


@pytest.mark.parametrize("reason", ["", "   "])
def test_every_action_needs_a_written_reason(team, reviewer, reason):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "fear", "sadness"])
    with pytest.raises(review.ReviewRefused, match="reason"):
        review.set_label(reviewer, job.pk, "anger", reason)
    assert not ReviewAction.objects.exists()


def test_a_label_outside_the_campaign_is_refused(team, reviewer):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "fear", "sadness"])
    with pytest.raises(review.ReviewRefused, match="use one of"):
        review.set_label(reviewer, job.pk, "joy", "why not")
    job.refresh_from_db()
    assert job.override_label == ""


def test_a_failed_log_write_rolls_the_action_back(team, reviewer, monkeypatch):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "fear", "sadness"])

    def broken(**kwargs):
        raise RuntimeError("log unavailable")

    monkeypatch.setattr(ReviewAction.objects, "create", broken)
    with pytest.raises(RuntimeError):
        review.reopen_job(reviewer, job.pk, "more votes")
    job.refresh_from_db()
    assert (job.state, job.extra_votes) == ("discarded", 0)


def test_open_jobs_cannot_be_reopened(team, reviewer):
    campaign = one_job_campaign(team)
    job = campaign.jobs.get()
    with pytest.raises(review.ReviewRefused, match="still collecting"):
        review.reopen_job(reviewer, job.pk, "more")


def test_a_paused_annotator_gets_no_tasks_until_resumed(team, reviewer):
    campaign = one_job_campaign(team)
    review.pause_annotator(reviewer, campaign, team[0].pk, "votes at random")
    with pytest.raises(Paused, match="votes at random"):
        next_task(team[0], campaign)
    review.resume_annotator(reviewer, campaign, team[0].pk, "retrained")
    assert next_task(team[0], campaign) is not None
    assert list(ReviewAction.objects.order_by("pk").values_list("kind", flat=True)) == [
        "pause",
        "resume",
    ]


def test_decided_jobs_cannot_be_reopened_and_nothing_is_logged_or_cleared(team, reviewer):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "anger", "anger"])
    review.set_label(reviewer, job.pk, "fear", "the face says fear")
    with pytest.raises(review.ReviewRefused, match="decided"):
        review.reopen_job(reviewer, job.pk, "more votes")
    job.refresh_from_db()
    assert (job.state, job.extra_votes, job.override_label) == ("decided", 0, "fear")
    assert not ReviewAction.objects.filter(kind="reopen").exists()


def test_a_job_with_a_reviewers_label_cannot_be_reopened(team, reviewer):
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "fear", "sadness"])
    review.set_label(reviewer, job.pk, "fear", "the voice is afraid")
    with pytest.raises(review.ReviewRefused, match="reviewer's label"):
        review.reopen_job(reviewer, job.pk, "more votes")
    job.refresh_from_db()
    assert (job.state, job.extra_votes, job.override_label) == ("discarded", 0, "fear")


def test_the_job_page_offers_reopen_only_where_it_does_something(team, reviewer):
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    client = Client()
    client.force_login(reviewer)
    campaign = one_job_campaign(team)
    job = vote_job(campaign, team, ["anger", "anger", "anger"])
    page = client.get(reverse("review-job", args=[job.pk])).content.decode()
    assert 'value="reopen"' not in page
    response = client.post(
        reverse("review-job-action", args=[job.pk]), {"action": "reopen", "reason": "more"}
    )
    assert response.status_code == 302
    assert not ReviewAction.objects.exists()
    discarded = vote_job(one_job_campaign(team, "s"), team, ["anger", "fear", "sadness"])
    page = client.get(reverse("review-job", args=[discarded.pk])).content.decode()
    assert 'value="reopen"' in page
