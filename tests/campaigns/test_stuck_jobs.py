"""Stuck jobs: jobs that still need votes no remaining pool member may give, counted per
modality with the reason and the fix, for campaigns driven through the real services."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from labeling.models import Exam
from labeling.selectors.pool import stuck_jobs
from labeling.services.assignment import next_task, skip_task, submit_vote
from labeling.services.campaigns import create_campaign
from labeling.services.review import pause_annotator
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


def work_until_done(annotator, campaign, label: str = "anger") -> int:
    """The annotator answers every task they are given; returns how many."""
    answered = 0
    while (lease := next_task(annotator, campaign)) is not None:
        submit_vote(annotator, lease.pk, label)
        answered += 1
    return answered


def test_with_the_guard_a_job_is_stuck_once_every_member_saw_its_utterance():
    team = annotators(3)
    campaign = create_campaign(
        name="guarded",
        corpus=rendered_corpus(1),
        annotators=team,
        modalities="ta",
        rule=VotingRule(2, 2, 3),
    )
    work_until_done(team[0], campaign)
    work_until_done(team[1], campaign)  # one modality decided 2:0
    held = next_task(team[2], campaign)
    other = held.job.modality  # the one the first two did not decide (hand-out order is shuffled)
    assert stuck_jobs(campaign).total == 0  # someone holds it: not stuck yet
    submit_vote(team[2], held.pk, "anger")
    assert next_task(team[2], campaign) is None
    stuck = stuck_jobs(campaign)
    assert stuck.per_modality == {other: {"guard": 1}}
    assert stuck.add_annotators == 2  # it may still take 2 of its 3 votes
    assert stuck.fix == "Add 2 annotators to the pool, or turn the independence guard off."
    [row] = stuck.rows()
    assert row["modality"] == other and row["jobs"] == 1
    assert "already seen the utterance in another modality" in row["reasons"][0][0]
    # The fix works: one more member may vote on it.
    campaign.annotators.add(*annotators(1, prefix="extra"))
    assert stuck_jobs(campaign).total == 0


def test_without_the_guard_a_split_is_stuck_when_everyone_has_voted_on_it():
    team = annotators(2)
    campaign = create_campaign(
        name="free",
        corpus=rendered_corpus(2),
        annotators=team,
        modalities="t",
        rule=VotingRule(2, 2, 3),
        independence_guard=False,
    )
    assert work_until_done(team[0], campaign, "anger") == 2
    assert work_until_done(team[1], campaign, "fear") == 2  # both jobs split 1:1
    stuck = stuck_jobs(campaign)
    assert stuck.per_modality == {"t": {"had_it": 2}}
    assert stuck.add_annotators == 1
    assert stuck.fix == "Add 1 annotator to the pool."


def test_a_skip_counts_as_having_had_the_job():
    team = annotators(2)
    campaign = create_campaign(
        name="skipped",
        corpus=rendered_corpus(1),
        annotators=team,
        modalities="t",
        rule=VotingRule(2, 2, 2),
        independence_guard=False,
    )
    skip_task(team[0], next_task(team[0], campaign).pk)
    assert stuck_jobs(campaign).total == 0  # the other member may still take it
    work_until_done(team[1], campaign)
    assert stuck_jobs(campaign).per_modality == {"t": {"had_it": 1}}


def test_paused_members_and_unpassed_exams_leave_a_modality_with_nobody():
    team = annotators(1)
    campaign = create_campaign(
        name="exams",
        corpus=rendered_corpus(2),
        annotators=team,
        modalities="ta",
        rule=VotingRule(1, 1, 1),
        independence_guard=False,
    )
    Exam.objects.create(campaign=campaign, modality="a")
    stuck = stuck_jobs(campaign)
    assert stuck.per_modality == {"a": {"nobody": 2}}
    assert "resuming paused annotators or more passed exams help too" in stuck.fix
    boss = User.objects.create_superuser("boss", password="x")
    pause_annotator(boss, campaign, team[0].pk, "check their work")
    assert stuck_jobs(campaign).per_modality == {"t": {"nobody": 2}, "a": {"nobody": 2}}


def test_stuck_jobs_are_counted_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    team = annotators(3)
    campaign = create_campaign(
        name="big", corpus=rendered_corpus(30), annotators=team, rule=VotingRule(1, 1, 1)
    )
    with django_assert_max_num_queries(4):
        assert stuck_jobs(campaign).total == 0
    for annotator in team:
        assert work_until_done(annotator, campaign) == 30  # one modality of each utterance
    with django_assert_max_num_queries(4):
        stuck = stuck_jobs(campaign)
    # Three members, four modalities, one vote each: one modality of every utterance is left.
    assert stuck.total == 30 and stuck.add_annotators == 1
    assert set(stuck.per_modality) <= set("tavm")
    assert all(set(reasons) == {"guard"} for reasons in stuck.per_modality.values())


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_stuck_jobs_with_the_reason_and_the_fix():
    team = annotators(2)
    campaign = create_campaign(
        name="dash",
        corpus=rendered_corpus(1),
        annotators=team,
        modalities="ta",
        rule=VotingRule(2, 2, 2),
    )
    for annotator in team:
        work_until_done(annotator, campaign)
    # Both voted on the same modality (the first one handed out is shuffled); the other is stuck.
    (stuck_modality,) = stuck_jobs(campaign).per_modality
    reviewer = User.objects.create_user("rev", password="pw")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    page = client_for(reviewer).get(reverse("review-dashboard", args=[campaign.pk]))
    html = page.content.decode()
    assert 'id="stuck"' in html and f'data-modality="{stuck_modality}"' in html
    assert "already seen the utterance in another modality" in html
    assert "1 job still needs votes that nobody left in the pool may give." in html
    assert "Add 2 annotators to the pool, or turn the independence guard off." in html
    assert 'id="pool-warning"' in html and "every utterance needs 4 different annotators" in html


def test_an_annotator_with_nothing_left_is_told_when_the_campaign_is_stuck():
    team = annotators(2)
    campaign = create_campaign(
        name="told",
        corpus=rendered_corpus(1),
        annotators=team,
        modalities="ta",
        rule=VotingRule(1, 1, 1),
    )
    url = reverse("api-next-task", args=[campaign.pk])
    first, second = client_for(team[0]), client_for(team[1])
    task = first.post(url).json()
    assert task["task"] is not None and task["campaign_stuck"] is False
    first.post(reverse("api-submit", args=[task["task"]["lease"]]), {"label": "anger"})
    held = second.post(url).json()["task"]  # the other modality, held by the other member
    assert first.post(url).json() == {"task": None, "campaign_stuck": False}
    second.post(reverse("api-skip", args=[held["lease"]]), {"reason": ""})
    # Nobody may take the skipped modality now: the first saw the utterance.
    assert first.post(url).json() == {"task": None, "campaign_stuck": True}
