"""Reads for annotators: what they may see, and their progress. Never other people's votes."""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from labeling import rows
from labeling.models import (
    Campaign,
    ClipScreening,
    GoldItem,
    Job,
    Lease,
    Modality,
    Rendition,
    Utterance,
)
from labeling.roles import is_reviewer
from labeling.selectors.qualification import qualified_modalities

MEDIA_KIND = {"a": "audio", "v": "video", "m": "video"}
REAL_TASKS = (Lease.Kind.JOB, Lease.Kind.CHECK)  # what an annotator sees as "tasks"


def can_view_rendition(user, rendition: Rendition) -> bool:
    """Reviewers and admins outside the annotator pools of the clip's corpus always; anyone
    in such a pool (whatever their role) only through a live lease on that very utterance
    and modality (a job or a gold item), a screener only through a live screening lease on
    the clip's full video."""
    if is_reviewer(user) and not annotates_utterance(user, rendition.utterance_id):
        return True
    now = timezone.now()
    on_this = Q(job__utterance_id=rendition.utterance_id, job__modality=rendition.modality) | Q(
        gold_item__utterance_id=rendition.utterance_id, gold_item__modality=rendition.modality
    )
    if Lease.objects.filter(
        on_this, annotator=user, status=Lease.Status.ACTIVE, expires_at__gt=now
    ).exists():
        return True
    return (
        rendition.modality == "m"
        and ClipScreening.objects.filter(
            utterance_id=rendition.utterance_id,
            status=ClipScreening.Status.AWAITING_HUMAN,
            leased_to=user,
            lease_expires_at__gt=now,
        ).exists()
    )


def annotates_utterance(user, utterance_id: int) -> bool:
    """Whether the user is in the annotator pool of a campaign (open or closed) over the
    utterance's corpus: then they are masked like every annotator, reviewer or not."""
    return Campaign.objects.filter(annotators=user, corpus__utterances=utterance_id).exists()


@cache
def _shown_sql() -> str:
    lease, job, gold = Lease._meta.db_table, Job._meta.db_table, GoldItem._meta.db_table
    utterance, rendition = Utterance._meta.db_table, Rendition._meta.db_table
    return f"""
        SELECT COALESCE(j.modality, g.modality), u.transcript, r.id
        FROM {lease} l LEFT JOIN {job} j ON j.id = l.job_id
          LEFT JOIN {gold} g ON g.id = l.gold_item_id
          JOIN {utterance} u ON u.id = COALESCE(j.utterance_id, g.utterance_id)
          LEFT JOIN {rendition} r ON r.utterance_id = u.id
            AND r.modality = COALESCE(j.modality, g.modality)
        WHERE l.id = %s"""


def task_payload(lease: Lease) -> dict:
    """What the task page shows for a lease: only its modality, no verdicts, no other votes.
    Its modality, transcript and rendition in one statement, whether a job or a gold item."""
    with connection.cursor() as cursor:
        cursor.execute(_shown_sql(), [lease.pk])
        modality, transcript, rendition_id = cursor.fetchone()
    campaign = lease.campaign
    payload = {
        "lease": lease.pk,
        # A hidden gold check is a "task" like a job: nothing may tell them apart.
        "mode": "task" if lease.kind in REAL_TASKS else lease.kind,
        "campaign": lease.campaign_id,
        "modality": modality,
        "modality_name": Modality(modality).label,
        "expires_at": lease.expires_at.isoformat(),
        "seconds_left": max(0, int((lease.expires_at - timezone.now()).total_seconds())),
        "labels": campaign.labels,
        "label_mode": campaign.label_mode,
        "allow_none": campaign.allow_none,
        "media_kind": MEDIA_KIND.get(modality),
        "media_url": None,
        "subtitles_url": None,
        "transcript": None,
    }
    if modality == "t":
        payload["transcript"] = transcript
    else:
        payload["media_url"] = reverse("rendition-file", args=[rendition_id])
    if modality == "m":
        payload["subtitles_url"] = reverse("rendition-subtitles", args=[rendition_id])
    return payload


def annotator_campaigns(user) -> list[dict]:
    """The active campaigns the user annotates, with their own progress (one query each)."""
    campaigns = Campaign.objects.filter(annotators=user, is_active=True).select_related("corpus")
    mine = dict(
        Lease.objects.filter(annotator=user, status=Lease.Status.SUBMITTED, kind__in=REAL_TASKS)
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
    )
    totals = dict(
        Job.objects.filter(campaign__in=campaigns)
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
    )
    rows = []
    for c in campaigns.order_by("name"):
        qualified = qualified_modalities(user, c)  # one query per campaign
        rows.append(
            {
                "id": c.pk,
                "name": c.name,
                "corpus": c.corpus.name,
                "modalities": c.modalities,
                "label_mode": c.label_mode,
                "my_votes": mine.get(c.pk, 0),
                "jobs": totals.get(c.pk, 0),
                "exams_to_pass": [Modality(m).label for m in c.modalities if m not in qualified],
            }
        )
    return rows


def my_progress(user, campaign: Campaign) -> dict:
    # Hidden gold checks count like jobs here: the annotator must not be able to tell them.
    counts = Lease.objects.filter(annotator=user, campaign=campaign, kind__in=REAL_TASKS).aggregate(
        submitted=Count("pk", filter=Q(status=Lease.Status.SUBMITTED)),
        skipped=Count("pk", filter=Q(status=Lease.Status.SKIPPED)),
        expired=Count("pk", filter=Q(status=Lease.Status.EXPIRED)),
    )
    return {"campaign": campaign.pk, **counts}


def campaign_by_id(campaign_id: int) -> Campaign | None:
    """The campaign an annotator's request names (the hot path's read: no query building)."""
    return rows.by_pk(Campaign, campaign_id)


def find_campaign(key: str) -> Campaign | None:
    """A campaign by id (digits) or by name, as commands take it on the command line."""
    key = key.strip()
    lookup = {"pk": int(key)} if key.isdigit() else {"name": key}
    return Campaign.objects.filter(**lookup).first()
