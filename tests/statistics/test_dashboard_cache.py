"""The dashboard's statistics and figures are cached per data version and follow the data."""

import pytest
from django.contrib.auth.models import User

from labeling.selectors.dashboard_cache import cached_figure_svg, cached_statistics, data_version
from labeling.selectors.statistics import campaign_statistics
from labeling.services import review
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


def test_cached_figures_change_after_a_vote_and_a_verdict_and_equal_fresh_statistics():
    team = annotators(3, prefix="cache-")
    campaign = create_campaign(
        name="cache", corpus=rendered_corpus(1), annotators=team, modalities="t"
    )
    before_version = data_version(campaign)
    before_stats = cached_statistics(campaign)
    before_svg = cached_figure_svg(campaign, "label_distribution")
    assert cached_figure_svg(campaign, "label_distribution") == before_svg  # served from cache
    assert data_version(campaign) == before_version
    for annotator in team:  # three votes: the job is decided
        submit_vote(annotator, next_task(annotator, campaign).pk, "anger")
    assert data_version(campaign) != before_version
    decided_stats = cached_statistics(campaign)
    assert decided_stats == campaign_statistics(campaign)
    assert decided_stats["label_distribution"] != before_stats["label_distribution"]
    decided_svg = cached_figure_svg(campaign, "label_distribution")
    assert decided_svg != before_svg
    reviewer = User.objects.create_user("cache-reviewer")
    job = campaign.jobs.get()
    review.set_label(reviewer, job.pk, "fear", "the voice is afraid")
    overridden = cached_statistics(campaign)
    assert overridden == campaign_statistics(campaign)
    assert overridden["label_distribution"] != decided_stats["label_distribution"]
    assert cached_figure_svg(campaign, "label_distribution") != decided_svg
