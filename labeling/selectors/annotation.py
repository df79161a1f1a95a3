"""Reads for annotators: what they may see, and their progress. Never other people's votes."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from labeling.models import Campaign, Job, Lease, Rendition
from labeling.roles import is_reviewer

MEDIA_KIND = {"a": "audio", "v": "video", "m": "video"}


def can_view_rendition(user, rendition: Rendition) -> bool:
    """Reviewers and admins always; an annotator only through a live lease on that very
    utterance and modality."""
    if is_reviewer(user):
        return True
    return Lease.objects.filter(
        annotator=user,
        status=Lease.Status.ACTIVE,
        expires_at__gt=timezone.now(),
        job__utterance_id=rendition.utterance_id,
        job__modality=rendition.modality,
    ).exists()


def task_payload(lease: Lease) -> dict:
    """What the task page shows for a lease: only its modality, no verdicts, no other votes."""
    job = lease.job
    utterance = job.utterance
    rendition = utterance.renditions.get(modality=job.modality)
    payload = {
        "lease": lease.pk,
        "campaign": job.campaign_id,
        "modality": job.modality,
        "modality_name": job.get_modality_display(),
        "expires_at": lease.expires_at.isoformat(),
        "seconds_left": max(0, int((lease.expires_at - timezone.now()).total_seconds())),
        "labels": job.campaign.labels,
        "media_kind": MEDIA_KIND.get(job.modality),
        "media_url": None,
        "subtitles_url": None,
        "transcript": None,
    }
    if job.modality == "t":
        payload["transcript"] = utterance.transcript
    else:
        payload["media_url"] = reverse("rendition-file", args=[rendition.pk])
    if job.modality == "m":
        payload["subtitles_url"] = reverse("rendition-subtitles", args=[rendition.pk])
    return payload


def annotator_campaigns(user) -> list[dict]:
    """The active campaigns the user annotates, with their own progress (one query each)."""
    campaigns = Campaign.objects.filter(annotators=user, is_active=True).select_related("corpus")
    mine = dict(
        Lease.objects.filter(annotator=user, status=Lease.Status.SUBMITTED)
        .values_list("job__campaign_id")
        .annotate(n=Count("pk"))
    )
    totals = dict(
        Job.objects.filter(campaign__in=campaigns)
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
    )
    return [
        {
            "id": c.pk,
            "name": c.name,
            "corpus": c.corpus.name,
            "modalities": c.modalities,
            "my_votes": mine.get(c.pk, 0),
            "jobs": totals.get(c.pk, 0),
        }
        for c in campaigns.order_by("name")
    ]


def my_progress(user, campaign: Campaign) -> dict:
    counts = Lease.objects.filter(annotator=user, job__campaign=campaign).aggregate(
        submitted=Count("pk", filter=Q(status=Lease.Status.SUBMITTED)),
        skipped=Count("pk", filter=Q(status=Lease.Status.SKIPPED)),
        expired=Count("pk", filter=Q(status=Lease.Status.EXPIRED)),
    )
    return {"campaign": campaign.pk, **counts}


def find_campaign(key: str) -> Campaign | None:
    """A campaign by id (digits) or by name, as commands take it on the command line."""
    key = key.strip()
    lookup = {"pk": int(key)} if key.isdigit() else {"name": key}
    return Campaign.objects.filter(**lookup).first()
