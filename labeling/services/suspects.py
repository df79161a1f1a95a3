"""Pausing annotators whose votes are too often suspect (labeling/suspects.py), like the
gold checks pause on low accuracy (services/gold.py): an AnnotatorPause with a reason a
reviewer reads and an automatic-pause audit entry; a resume gives a fresh start.

Evaluated after a job's verdict is decided (`after_verdict`, one line in record_verdict: it
only registers an on-commit callback, so the vote's transaction stays as cheap as before)
and after predictions arrive (`pause_suspect_annotators`, for the predict task to call).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.models import Campaign, Job, Modality, ReviewAction, Vote
from labeling.selectors.predictions import suspect_rates
from labeling.services.pauses import record_pause
from labeling.suspects import SuspectRate, should_pause
from labeling.verdicts import State


def pausing_on(campaign: Campaign) -> bool:
    return campaign.suspect_pause_above > 0 and campaign.assistant_run_id is not None


def after_verdict(job: Job) -> None:
    """Called by record_verdict under the job's lock: when the job is now decided and the
    campaign pauses on suspect votes, check its voters once the transaction commits. No
    query here (the campaign is loaded with the job)."""
    campaign = job.campaign
    if job.state != State.DECIDED.value or not pausing_on(campaign):
        return
    campaign_id, job_id, modality = campaign.pk, job.pk, job.modality
    transaction.on_commit(lambda: check_voters(campaign_id, job_id, modality))


def check_voters(campaign_id: int, job_id: int, modality: str) -> list[int]:
    """Pause the job's voters whose suspect rate in its modality is too high; their ids."""
    campaign = Campaign.objects.get(pk=campaign_id)
    voters = Vote.objects.filter(job_id=job_id).values_list("annotator_id", flat=True)
    return [
        who for who in sorted(set(voters)) if pause_if_suspect_rate_high(who, campaign, modality)
    ]


def _last_resume(campaign: Campaign, annotator_id: int) -> datetime | None:
    return (
        ReviewAction.objects.filter(
            campaign=campaign, subject_id=annotator_id, kind=ReviewAction.Kind.RESUME
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def pause_if_suspect_rate_high(annotator_id: int, campaign: Campaign, modality: str) -> bool:
    """Pause the annotator when, in this modality, they have at least suspect_min_votes
    decided votes and more than suspect_pause_above of them are suspect. Votes cast before
    a reviewer last resumed them do not count again."""
    if not pausing_on(campaign) or campaign.pauses.filter(annotator_id=annotator_id).exists():
        return False
    since = _last_resume(campaign, annotator_id)
    rate = suspect_rates(campaign, annotator_id=annotator_id, modality=modality, since=since)
    rate = rate.get(annotator_id, {}).get(modality, SuspectRate(0, 0))
    if not should_pause(
        rate, pause_above=campaign.suspect_pause_above, min_votes=campaign.suspect_min_votes
    ):
        return False
    _pause(campaign, annotator_id, modality, rate)
    return True


def _pause(campaign: Campaign, annotator_id: int, modality: str, rate: SuspectRate) -> None:
    reason = (
        f"Automatic: {rate.suspect} of {rate.decided} decided votes in "
        f"{Modality(modality).label} are suspect ({rate.rate:.0%}, above "
        f"{campaign.suspect_pause_above:.0%}): each disagrees with its job's final label and "
        f"with the model (run {campaign.assistant_run_id}) at confidence ≥ "
        f"{campaign.suspect_confidence:.2f}. Look at their votes on the job pages before "
        "resuming them."
    )
    with transaction.atomic():
        record_pause(
            campaign,
            get_user_model().objects.get(pk=annotator_id),
            actor=None,
            reason=reason,
            kind=ReviewAction.Kind.AUTO_PAUSE,
            details={
                "suspect_votes": rate.suspect,
                "decided_votes": rate.decided,
                "modality": modality,
                "run": campaign.assistant_run_id,
            },
        )


def pause_suspect_annotators(campaign_id: int) -> list[int]:
    """After new predictions (or a new assistant run): pause every pool member whose suspect
    rate is too high in some modality; their ids. For the predict task to call when done."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if not pausing_on(campaign):
        return []
    paused = set(campaign.pauses.values_list("annotator_id", flat=True))
    paused_now = []
    for who, per in sorted(suspect_rates(campaign).items()):
        if who in paused:
            continue
        for modality in per:
            if pause_if_suspect_rate_high(who, campaign, modality):
                paused_now.append(who)
                break
    return paused_now
