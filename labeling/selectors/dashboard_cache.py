"""The dashboard's statistics, figures and annotators' vote quality, computed once per
change of the campaign's data.

The cache key is the campaign's data version: when its jobs last changed (every vote,
revision, verdict and review action saves the job's `updated_at`; index
`job_changed_by_campaign`), how many jobs it has (jobs added or removed), its last review
action (transcript edits after votes, pauses) and its settings (with the assistant run and
its confidence τ, which suspect votes follow). One cheap query, no campaign-wide
counter row for voters to fight over. Utterance metadata edited outside a review action
(durations, speakers) shows once the entry expires (TIMEOUT).
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max

from labeling.models import Campaign, Job, ReviewAction
from labeling.report import figure_from_statistics
from labeling.selectors.statistics import campaign_statistics, vote_quality

TIMEOUT = 600  # seconds


def data_version(campaign: Campaign) -> str:
    """A text that changes whenever the data behind the campaign's statistics does."""
    jobs = Job.objects.filter(campaign=campaign).aggregate(last=Max("updated_at"), n=Count("pk"))
    action = ReviewAction.objects.filter(campaign=campaign).aggregate(last=Max("pk"))["last"]
    settings = [
        campaign.name,
        campaign.labels,
        campaign.modalities,
        campaign.label_mode,
        campaign.assistant_run_id,
        campaign.suspect_confidence,
    ]
    text = json.dumps([str(jobs["last"]), jobs["n"], action, settings], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_statistics(campaign: Campaign, version: str | None = None) -> dict[str, Any]:
    version = version or data_version(campaign)
    return cache.get_or_set(
        f"stats:{campaign.pk}:{version}", lambda: campaign_statistics(campaign), TIMEOUT
    )


def cached_vote_quality(campaign: Campaign, version: str | None = None) -> dict[int, dict]:
    """`vote_quality` (what annotator quality reads from the votes), once per data version."""
    version = version or data_version(campaign)
    return cache.get_or_set(
        f"quality:{campaign.pk}:{version}", lambda: vote_quality(campaign), TIMEOUT
    )


def cached_figure_svg(campaign: Campaign, name: str, stats: dict | None = None) -> str:
    """The figure as SVG text, rendered once per data version."""
    version = data_version(campaign)

    def render() -> str:
        figure = figure_from_statistics(stats or cached_statistics(campaign, version), name)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight")
        return buffer.getvalue()

    return cache.get_or_set(f"figure:{campaign.pk}:{version}:{name}", render, TIMEOUT)
