"""Annotator quality, grouped in the database, equals the per-vote recount it replaced, on
PostgreSQL and SQLite, single- and multi-label, and follows the data."""

import re

import pytest
from django.contrib.auth.models import User
from django.template.defaultfilters import floatformat
from django.test import Client
from django.urls import reverse

from labeling.selectors.dashboard_cache import cached_vote_quality
from labeling.selectors.statistics import annotator_quality, vote_quality
from labeling.services import review
from labeling.services.assignment import next_task, skip_task
from tests.sqlite import report_on_sqlite
from tests.statistics.quality_check import MULTI, SINGLE, build, mismatches, recounted


@pytest.mark.django_db
@pytest.mark.parametrize("mode", [SINGLE, MULTI])
def test_annotator_quality_equals_a_recount_vote_by_vote(mode):
    campaign = build(mode)
    expected = recounted(campaign)
    # The script reaches what the grouping must get right: votes on jobs without a final
    # label (discarded, excluded), partial agreement, even counts (median of two), skips.
    assert len(expected) == 5
    assert any(row["judged"] < row["votes"] for row in expected.values())
    assert any(0 < (row["agreement"] or 0) < 1 for row in expected.values())
    assert any(row["votes"] % 2 == 0 for row in expected.values())
    assert any(row["skip_rate"] > 0 for row in expected.values())
    assert mismatches(campaign) == []


@pytest.mark.django_db
def test_annotator_quality_on_the_dashboard_follows_a_reviewer_label():
    campaign = build(SINGLE)
    reviewer = User.objects.create_superuser("quality-boss", password="x")
    client = Client()
    client.force_login(reviewer)
    url = reverse("review-dashboard", args=[campaign.pk])
    before = {row["username"]: row for row in annotator_quality(campaign)}
    page_before = client.get(url).content.decode()
    # A decided job gets a reviewer's label none of its voters chose: those who agreed with
    # the verdict now disagree.
    job = campaign.jobs.filter(excluded=False, override_label="", state="decided").first()
    voted = dict(job.votes.values_list("annotator__username", "label"))
    agreed = {name for name, label in voted.items() if label == job.label}
    other = next(label for label in campaign.label_names if label not in voted.values())
    review.set_label(reviewer, job.pk, other, "the voice says otherwise")
    after = {row["username"]: row for row in annotator_quality(campaign)}
    assert agreed and mismatches(campaign) == []
    for name in agreed:
        assert after[name]["agreement"] < before[name]["agreement"]
    page_after = client.get(url).content.decode()
    name = sorted(agreed)[0]
    shown = re.compile(rf"<td>{name}</td><td>\d+</td>\s*<td>([0-9.]+) \(")
    assert shown.search(page_before)[1] == floatformat(before[name]["agreement"], 2)
    assert shown.search(page_after)[1] == floatformat(after[name]["agreement"], 2)


@pytest.mark.django_db
def test_cached_vote_quality_follows_the_votes_and_skips_show_at_once():
    campaign = build(SINGLE)
    reviewer = User.objects.create_user("quality-cache-reviewer")
    before = cached_vote_quality(campaign)
    assert before == vote_quality(campaign)
    decided = campaign.jobs.filter(excluded=False, override_label="", state="decided").first()
    other = next(label for label in campaign.label_names if label != decided.label)
    review.set_label(reviewer, decided.pk, other, "the text says otherwise")
    overridden = cached_vote_quality(campaign)
    assert overridden != before and overridden == vote_quality(campaign)
    # A skip changes no vote or verdict: the cached part stands, the skip rate is read now.
    discarded = campaign.jobs.get(state="discarded", excluded=False)
    review.reopen_job(reviewer, discarded.pk, "one more opinion")
    team = User.objects.filter(username__startswith="quality single-").exclude(pk=reviewer.pk)
    who, lease = next((who, lease) for who in team if (lease := next_task(who, campaign)))
    rate = {row["username"]: row["skip_rate"] for row in annotator_quality(campaign)}
    skip_task(who, lease.pk, "cannot hear it")
    shown = annotator_quality(campaign, cached_vote_quality(campaign))
    assert {row["username"]: row["skip_rate"] for row in shown} == {
        name: row["skip_rate"] for name, row in recounted(campaign).items()
    }
    assert (
        next(row for row in shown if row["annotator"] == who.pk)["skip_rate"] > rate[who.username]
    )


def test_annotator_quality_equals_a_recount_on_sqlite(tmp_path):
    report = report_on_sqlite(tmp_path, "tests.statistics.quality_check")
    for mode in (SINGLE, MULTI):
        assert report[mode]["annotators"] == 5
        assert report[mode]["mismatches"] == []
