"""An annotator may revise their last answer while its job is open; skips carry a reason."""

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import GoldAnswer, Lease, Vote
from labeling.services.assignment import (
    JobClosed,
    LeaseClosed,
    NotInPool,
    next_task,
    revise_answer,
    skip_task,
    submit_vote,
)
from labeling.services.campaigns import create_campaign
from labeling.services.qualification import add_gold_item
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return annotators(4)


def one_job(team, **options):
    return create_campaign(
        name="r", corpus=rendered_corpus(1), annotators=team, modalities="t", **options
    )


def test_revising_the_last_answer_changes_the_vote_and_recomputes_the_verdict(team):
    campaign = one_job(team)
    leases = {}
    for annotator, label in zip(team[:3], ["anger", "anger", "fear"], strict=True):
        leases[annotator] = next_task(annotator, campaign)
        submit_vote(annotator, leases[annotator].pk, label)
    job = campaign.jobs.get()
    assert job.state == "needs_vote"  # 2:1 asks a fourth
    revised = revise_answer(team[2], leases[team[2]].pk, "anger")
    assert revised.label == "anger" and revised.vote.label == "anger"
    job.refresh_from_db()
    assert (job.state, job.label, job.votes_count) == ("decided", "anger", 3)
    assert Vote.objects.get(annotator=team[2]).revised_at is not None


def test_an_answer_cannot_be_revised_once_its_job_is_decided(team):
    campaign = one_job(team)
    leases = [next_task(a, campaign) for a in team[:3]]
    for annotator, lease in zip(team[:3], leases, strict=True):
        submit_vote(annotator, lease.pk, "anger")
    with pytest.raises(JobClosed, match="decided"):
        revise_answer(team[0], leases[0].pk, "fear")
    assert set(Vote.objects.values_list("label", flat=True)) == {"anger"}


def test_only_the_last_answer_may_be_revised(team):
    campaign = create_campaign(
        name="two", corpus=rendered_corpus(2), annotators=team, modalities="t"
    )
    first = next_task(team[0], campaign)
    submit_vote(team[0], first.pk, "anger")
    second = next_task(team[0], campaign)
    submit_vote(team[0], second.pk, "fear")
    with pytest.raises(LeaseClosed, match="only your last answer"):
        revise_answer(team[0], first.pk, "fear")
    assert revise_answer(team[0], second.pk, "sadness").label == "sadness"


def test_revising_is_refused_for_others_unanswered_or_unknown_labels_and_outsiders(team):
    campaign = one_job(team)
    lease = next_task(team[0], campaign)
    with pytest.raises(LeaseClosed, match="not answered"):
        revise_answer(team[0], lease.pk, "fear")
    submit_vote(team[0], lease.pk, "anger")
    from labeling.services.assignment import InvalidLabel, LeaseNotFound

    with pytest.raises(LeaseNotFound):
        revise_answer(team[1], lease.pk, "fear")
    with pytest.raises(InvalidLabel):
        revise_answer(team[0], lease.pk, "joy")
    campaign.annotators.remove(team[0])
    with pytest.raises(NotInPool):
        revise_answer(team[0], lease.pk, "fear")
    assert Vote.objects.get().label == "anger"


def test_a_hidden_check_is_revised_like_a_job(team):
    corpus = rendered_corpus(3)
    campaign = create_campaign(name="c", corpus=corpus, annotators=team, modalities="t")
    add_gold_item(
        campaign, utterance=corpus.utterances.first(), modality="t", purpose="check", label="fear"
    )
    campaign.gold_share = 1.0
    campaign.save()
    check = next_task(team[0], campaign)
    assert check.kind == "check"
    submit_vote(team[0], check.pk, "anger")
    revise_answer(team[0], check.pk, "fear")
    answer = GoldAnswer.objects.get()
    assert (answer.label, answer.correct) == ("fear", True)
    assert not Vote.objects.exists()


def test_the_api_revises_and_says_why_it_cannot(team):
    campaign = one_job(team, rule=VotingRule(2, 2, 3))
    client = Client()
    client.force_login(team[0])
    task = client.post(reverse("api-next-task", args=[campaign.pk])).json()["task"]
    url = reverse("api-submit", args=[task["lease"]])
    client.post(url, {"label": "anger"}, content_type="application/json")
    revise = reverse("api-revise", args=[task["lease"]])
    changed = client.post(revise, {"label": "fear"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["label"] == "fear"
    other = next_task(team[1], campaign)
    submit_vote(team[1], other.pk, "fear")  # 2 of 2: decided
    refused = client.post(revise, {"label": "anger"}, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"] == "job_closed"
    assert "decided" in refused.json()["detail"]


def test_a_skip_keeps_its_reason(team):
    campaign = one_job(team)
    lease = next_task(team[0], campaign)
    skip_task(team[0], lease.pk, "The media does not play")
    assert Lease.objects.get(pk=lease.pk).skip_reason == "The media does not play"
