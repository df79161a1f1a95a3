"""Reads for screening: what a screener is shown, their progress, and summaries for admins."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from labeling.models import Campaign, ClipScreening
from labeling.screening import Thresholds, face_share, voiced_share

Status = ClipScreening.Status
REASON_KEYS = {
    ClipScreening.Reason.SEVERAL_SPEAKERS: "1",
    ClipScreening.Reason.FACE_NOT_CLEAR: "2",
    ClipScreening.Reason.BAD_AUDIO: "3",
    ClipScreening.Reason.WRONG_LANGUAGE: "4",
    ClipScreening.Reason.OTHER: "O",
}


def reasons() -> list[dict]:
    """The rejection reasons in display order, each with its keyboard key."""
    return [
        {"value": value, "label": label, "key": REASON_KEYS[value]}
        for value, label in ClipScreening.Reason.choices
    ]


def clip_payload(screening: ClipScreening) -> dict:
    """What the screening page shows: the full original video with sound, and the transcript."""
    utterance = screening.utterance
    rendition = utterance.renditions.get(modality="m")
    return {
        "screening": screening.pk,
        "campaign": screening.campaign_id,
        "transcript": utterance.transcript,
        "duration_seconds": utterance.duration_seconds,
        "media_url": reverse("rendition-file", args=[rendition.pk]),
        "expires_at": screening.lease_expires_at.isoformat(),
        "seconds_left": max(0, int((screening.lease_expires_at - timezone.now()).total_seconds())),
    }


def screener_progress(screener, campaign: Campaign) -> dict:
    """How many clips this screener decided here, and how many still wait for anyone."""
    counts = ClipScreening.objects.filter(campaign=campaign).aggregate(
        accepted=Count("pk", filter=Q(screener=screener, status=Status.ACCEPTED)),
        rejected=Count("pk", filter=Q(screener=screener, status=Status.REJECTED)),
        waiting=Count("pk", filter=Q(status=Status.AWAITING_HUMAN)),
    )
    return {"campaign": campaign.pk, "decided": counts["accepted"] + counts["rejected"], **counts}


def screening_campaigns(user) -> list[dict]:
    """The active campaigns the user screens, with the clips still waiting in each."""
    if not user.is_authenticated:
        return []
    campaigns = (
        Campaign.objects.filter(screeners=user, is_active=True, human_screening=True)
        .select_related("corpus")
        .annotate(waiting=Count("screenings", filter=Q(screenings__status=Status.AWAITING_HUMAN)))
        .order_by("name")
    )
    return [
        {"id": c.pk, "name": c.name, "corpus": c.corpus.name, "waiting": c.waiting}
        for c in campaigns
    ]


def status_counts(campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's clips are in each screening status."""
    rows = (
        ClipScreening.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(Status.values, 0)
    counts.update(dict(rows))
    return counts


def status_table(campaign: Campaign) -> list[tuple[str, int]]:
    """(status as people read it, clips) for a campaign that screens; empty otherwise."""
    if not (campaign.automatic_screening or campaign.human_screening):
        return []
    return [(Status(status).label, n) for status, n in status_counts(campaign).items()]


def measures_summary(utterance, campaign: Campaign | None = None) -> list[tuple[str, str]]:
    """The utterance's screening measures as (name, value) lines for people to read; the
    voiced share is taken at the campaign's silence level when a campaign is given."""
    if utterance.screening_status != "measured":
        return [("status", utterance.get_screening_status_display())] + (
            [("error", utterance.screening_error)] if utterance.screening_error else []
        )
    m = utterance.screening
    level = Thresholds.of(campaign).min_loudness_db if campaign else Thresholds().min_loudness_db
    lines = [("duration", f"{m['duration_seconds']:.2f} s")]
    if m["has_audio"]:
        lines.append(("loudness", f"{m['loudness_db']:.1f} dBFS"))
        lines.append((f"windows at or above {level:g} dBFS", f"{voiced_share(m, level):.0%}"))
    else:
        lines.append(("audio", "none"))
    share = face_share(m)
    if share is not None:
        lines.append(("frames with exactly one face", f"{share:.0%}"))
        lines.append(("faces per sampled frame", " ".join(str(n) for n in m["faces"])))
    else:
        lines.append(("video", "none"))
    return lines
