"""Reviewing multi-label jobs: pages show sets, re-open and a reviewer's set of emotions."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from labeling.models import ReviewAction
from labeling.services import review
from labeling.services.assignment import next_task
from tests.factories import annotators
from tests.multilabel.test_multilabel_votes import multi_campaign, vote_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    user = User.objects.create_user("rita", password="pw")
    user.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    return user


def test_reopening_a_two_two_split_lets_one_more_vote_decide_every_emotion(reviewer):
    team = annotators(5)
    campaign = multi_campaign(team)
    vote_in(campaign, team, [["happy", "sad"], ["happy", "sad"], ["happy"], ["happy"]])
    job = campaign.jobs.get()
    assert job.state == "discarded"
    review.reopen_job(reviewer, job.pk, "the voice is clearly sad too")
    job.refresh_from_db()
    assert (job.state, job.extra_votes) == ("needs_vote", 1)
    vote_in(campaign, team[4:], [["happy", "sad"]])
    job.refresh_from_db()
    assert (job.state, job.label_set, job.votes_count) == ("decided", ["happy", "sad"], 5)
    action = ReviewAction.objects.get(kind="reopen")
    assert action.before["label_set"] is None and action.after["state"] == "needs_vote"


def test_a_reviewers_set_of_emotions_sits_beside_the_automatic_verdict(reviewer):
    team = annotators(4)
    campaign = multi_campaign(team)
    vote_in(campaign, team, [["anger"], ["anger"], ["anger", "disgust"], ["anger", "disgust"]])
    job = campaign.jobs.get()
    with pytest.raises(review.ReviewRefused, match="multi-label: set the set of emotions"):
        review.set_label(reviewer, job.pk, "anger", "one label")
    with pytest.raises(review.ReviewRefused, match="'joy' not among"):
        review.set_label_set(reviewer, job.pk, ["joy"], "why not")
    review.set_label_set(reviewer, job.pk, ["disgust", "anger"], "the face shows disgust")
    job.refresh_from_db()
    assert (job.state, job.label_set, job.override_label_set) == (
        "discarded",
        None,
        ["anger", "disgust"],
    )
    assert job.final_label_set == ["anger", "disgust"] and job.final_text == "anger, disgust"
    log = ReviewAction.objects.get()
    assert (log.before["override_label_set"], log.after["override_label_set"]) == (
        None,
        ["anger", "disgust"],
    )
    with pytest.raises(review.ReviewRefused, match="reviewer's label \\(anger, disgust\\)"):
        review.reopen_job(reviewer, job.pk, "more votes")


def test_the_job_page_shows_sets_and_sets_emotions_by_checkbox(reviewer):
    team = annotators(4)
    campaign = multi_campaign(team, undecided_policy="mark", allow_none=True)
    vote_in(campaign, team, [["happy", "sad"], ["happy", "sad"], ["happy"], ["happy"]])
    job = campaign.jobs.get()
    client = Client()
    client.force_login(reviewer)
    url = reverse("review-job", args=[job.pk])
    page = client.get(url).content.decode()
    assert "decided: happy (undecided: sad)" in page
    assert "<td>happy, sad</td>" in page and "<td>happy</td>" in page  # the votes
    assert 'type="checkbox" name="labels" value="happy" checked' in page
    action = reverse("review-job-action", args=[job.pk])
    client.post(action, {"action": "set_label", "labels": [], "reason": "nothing shows"})
    job.refresh_from_db()
    assert job.override_label_set == [] and job.final_text == "none of these"
    client.post(action, {"action": "set_label", "labels": ["sad"], "reason": "sad after all"})
    job.refresh_from_db()
    assert job.final_label_set == ["sad"]
    queue = client.get(reverse("review-queue", args=[campaign.pk])).content.decode()
    assert "happy (undecided: sad)" in queue and "<td>sad</td>" in queue


def test_the_admin_job_page_lists_the_sets(reviewer):
    team = annotators(3)
    campaign = multi_campaign(team)
    vote_in(campaign, team, [["fear"], ["fear"], ["fear"]])
    client = Client()
    client.force_login(User.objects.create_superuser("boss", password="x"))
    listing = client.get(reverse("admin:labeling_job_changelist")).content.decode()
    assert "fear" in listing
    job = campaign.jobs.get()
    page = client.get(reverse("admin:labeling_job_change", args=[job.pk])).content.decode()
    assert page.count(">fear<") >= 3  # each vote's answer
    assert next_task(team[0], campaign) is None
