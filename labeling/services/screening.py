"""Screening clips before they become jobs. Design note: screening.md beside this file.

Measuring (`measure_utterance`) writes what a clip holds on the utterance; judging
(`judge_clips`, `judge_campaign`) turns those measures and a campaign's settings into the
clip's ClipScreening status; screeners (`next_clip_to_screen`, `screen_clip`) decide the
clips that wait for a human. Accepted clips get their jobs in the same transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models import (
    Campaign,
    ClipScreening,
    Job,
    Rendition,
    ScreeningStatus,
    Utterance,
)
from labeling.screening import ClipUnreadable, Thresholds, judge, measure_clip
from labeling.services.assignment import LAST_SECOND, AnnotationError, lock_annotator
from labeling.services.campaigns import add_missing_jobs
from labeling.storage import media_path

logger = logging.getLogger(__name__)
Status = ClipScreening.Status
CHUNK = 500
# What a decision (a screener's or the automatic checks') writes on a ClipScreening.
DECISION_FIELDS = [
    "status",
    "screener",
    "reason",
    "note",
    "decided_at",
    "leased_to",
    "lease_expires_at",
]
CANDIDATES = 16


class ScreeningError(AnnotationError):
    """A screening request the rules refuse; `status` is the HTTP status."""


class NotScreener(ScreeningError):
    status, code = 403, "not_a_screener"


class NoHumanScreening(ScreeningError):
    status, code = 409, "no_human_screening"


class ClipNotLeased(ScreeningError):
    status, code = 404, "clip_not_yours"


class ScreeningLeaseExpired(ScreeningError):
    status, code = 409, "lease_expired"


class AlreadyDecided(ScreeningError):
    status, code = 409, "already_decided"


class ReasonRequired(ScreeningError):
    status, code = 400, "reason_required"


@dataclass(frozen=True)
class Decision:
    screening: ClipScreening
    repeated: bool  # True when this screener had already sent exactly this decision


def screens(campaign: Campaign) -> bool:
    return campaign.automatic_screening or campaign.human_screening


# --------------------------------------------------------------------------------------------
# Measuring


@cache
def _detector():
    from training.features.haar import HaarFaceDetector

    return HaarFaceDetector()


def measure_utterance(utterance_id: int) -> Utterance | None:
    """Measure the utterance's stored clip, record it, and judge it in every screening campaign.

    A clip that cannot be decoded is recorded as FAILED with the reason (and rejected by
    campaigns that screen automatically); None when the utterance no longer exists.
    """
    utterance = Utterance.objects.filter(pk=utterance_id).first()
    if utterance is None:
        return None
    if not utterance.source_file:
        fields = {"status": ScreeningStatus.FAILED, "measures": {}, "error": "no media to measure"}
    else:
        try:
            measures = measure_clip(media_path(utterance.source_file), _detector())
        except ClipUnreadable as exc:
            fields = {"status": ScreeningStatus.FAILED, "measures": {}, "error": str(exc)}
        else:
            fields = {"status": ScreeningStatus.MEASURED, "measures": measures, "error": ""}
    utterance.screening_status = fields["status"]
    utterance.screening = fields["measures"]
    utterance.screening_error = fields["error"]
    with transaction.atomic():  # nobody sees a clip measured but not yet judged
        utterance.save(update_fields=["screening_status", "screening", "screening_error"])
        for campaign in Campaign.objects.filter(corpus_id=utterance.corpus_id):
            if screens(campaign):
                judge_clips(campaign, [utterance.pk])
    return utterance


def measure_corpus(corpus_id: int, again: str = "", progress=None) -> dict[str, int]:
    """Measure, in this process, the corpus's clips not measured yet (`again`: also "failed"
    ones, or "all"); each is judged as it is measured. Returns how many ended in each status.
    """
    clips = Utterance.objects.filter(corpus_id=corpus_id).exclude(source_file="")
    if again == "failed":
        clips = clips.filter(screening_status__in=[ScreeningStatus.PENDING, ScreeningStatus.FAILED])
    elif again != "all":
        clips = clips.filter(screening_status=ScreeningStatus.PENDING)
    ids = list(clips.order_by("pk").values_list("pk", flat=True))
    counts: Counter = Counter()
    for index, utterance_id in enumerate(ids, start=1):
        utterance = measure_utterance(utterance_id)
        counts[utterance.screening_status if utterance else "missing"] += 1
        if progress:
            progress(index, len(ids))
    return dict(counts)


def enqueue_measurements(utterance_ids: list[int]) -> None:
    """Queue measuring; call on commit so workers see the rows."""
    from labeling.tasks import screen_utterance_task  # tasks import this module

    for utterance_id in utterance_ids:
        screen_utterance_task.delay(utterance_id)


# --------------------------------------------------------------------------------------------
# Judging


def target_status(campaign: Campaign, thresholds: Thresholds, utterance) -> tuple[str, list[str]]:
    """Where the campaign's automatic checks put this clip, and why it fails them."""
    if campaign.automatic_screening:
        if utterance.screening_status == ScreeningStatus.PENDING:
            return Status.PENDING, []
        if utterance.screening_status == ScreeningStatus.FAILED:
            return Status.REJECTED_AUTO, [f"could not be measured: {utterance.screening_error}"]
        passed, reasons = judge(utterance.screening, thresholds)
        if not passed:
            return Status.REJECTED_AUTO, reasons
    return (Status.AWAITING_HUMAN if campaign.human_screening else Status.ACCEPTED), []


def judge_campaign(campaign: Campaign, progress=None) -> dict[str, int]:
    """Judge every clip of the campaign's corpus again; returns how many end in each status."""
    ids = list(campaign.corpus.utterances.order_by("pk").values_list("pk", flat=True))
    counts: Counter = Counter()
    for start in range(0, len(ids), CHUNK):
        counts.update(judge_clips(campaign, ids[start : start + CHUNK]))
        if progress:
            progress(min(start + CHUNK, len(ids)), len(ids))
    return dict(counts)


def judge_clips(campaign: Campaign, utterance_ids: Iterable[int]) -> dict[str, int]:
    """Create or update the campaign's screening of these clips, in one transaction.

    Human decisions stand, and so does an acceptance once the clip's jobs hold any work
    (a lease, a vote, an imported label): see screening.md. Accepted clips get their jobs;
    clips leaving ACCEPTED lose their (untouched) jobs.
    """
    if not screens(campaign):
        return {}
    thresholds = Thresholds.of(campaign)
    ids = list(utterance_ids)
    with transaction.atomic():
        ClipScreening.objects.bulk_create(
            [ClipScreening(campaign=campaign, utterance_id=pk) for pk in ids],
            ignore_conflicts=True,
        )
        rows = list(
            ClipScreening.objects.select_for_update(of=("self",))
            .select_related("utterance")
            .filter(campaign=campaign, utterance_id__in=ids)
            .order_by("pk")
        )
        worked = _utterances_with_work(campaign, [r.utterance_id for r in rows if _accepted(r)])
        accepted, unaccepted, changed = [], [], []
        for row in rows:
            status, reasons = target_status(campaign, thresholds, row.utterance)
            new = _next_status(row, status, frozen=row.utterance_id in worked)
            if new != row.status or reasons != row.automatic_reasons:
                if new != row.status:
                    row.leased_to, row.lease_expires_at = None, None
                    if new in (Status.PENDING, Status.REJECTED_AUTO, Status.AWAITING_HUMAN):
                        row.screener, row.reason, row.note, row.decided_at = None, "", "", None
                    if row.status == Status.ACCEPTED:
                        unaccepted.append(row.utterance_id)
                row.status, row.automatic_reasons = new, reasons
                changed.append(row)
            if new == Status.ACCEPTED:
                accepted.append(row.utterance_id)
        ClipScreening.objects.bulk_update(changed, ["automatic_reasons", *DECISION_FIELDS])
        Job.objects.filter(campaign=campaign, utterance_id__in=unaccepted).delete()
        if accepted:
            add_missing_jobs(campaign, utterance_ids=accepted)
    return dict(Counter(row.status for row in rows))


def _accepted(row: ClipScreening) -> bool:
    return row.status == Status.ACCEPTED


def _next_status(row: ClipScreening, target: str, *, frozen: bool) -> str:
    if row.status == Status.REJECTED:
        return row.status  # a screener rejected it: it never becomes jobs
    if row.status == Status.ACCEPTED:
        if frozen:
            return row.status  # annotators already work on it
        if row.screener_id is not None and target == Status.AWAITING_HUMAN:
            return row.status  # a screener accepted it and the automatic checks agree
    if row.status == Status.AWAITING_HUMAN and target == Status.AWAITING_HUMAN:
        return row.status  # keeps any screener's lease
    return target


def _utterances_with_work(campaign: Campaign, utterance_ids: list[int]) -> set[int]:
    """Accepted clips whose jobs hold work; locks their jobs so no lease sneaks in meanwhile."""
    if not utterance_ids:
        return set()
    jobs = Job.objects.filter(campaign=campaign, utterance_id__in=utterance_ids)
    list(jobs.select_for_update().values_list("pk", flat=True))  # the row locks (assignment.md)
    return set(
        jobs.filter(
            Q(leases__isnull=False)
            | Q(votes_count__gt=0)
            | Q(source="imported")
            | Q(imported_votes__isnull=False)
        ).values_list("utterance_id", flat=True)
    )


# --------------------------------------------------------------------------------------------
# Human screening


def check_screener(screener, campaign: Campaign) -> None:
    if not campaign.is_active:
        raise NotScreener("This campaign is closed; choose another one from your list.")
    if not campaign.human_screening:
        raise NoHumanScreening("This campaign does not ask screeners to check its clips.")
    if not campaign.screeners.filter(pk=screener.pk).exists():
        raise NotScreener("You are not a screener of this campaign; ask its admin to add you.")


def next_clip_to_screen(screener, campaign: Campaign) -> ClipScreening | None:
    """The screener's live clip here, or a newly leased one; None when none is left."""
    check_screener(screener, campaign)
    with transaction.atomic():
        # Serialise this screener's own requests: one live clip per screener.
        lock_annotator(screener)
        now = timezone.now()
        current = (
            ClipScreening.objects.filter(
                campaign=campaign,
                status=Status.AWAITING_HUMAN,
                leased_to=screener,
                lease_expires_at__gt=now,
            )
            .select_related("utterance")
            .first()
        )
        if current is not None and current.lease_expires_at - now >= LAST_SECOND:
            return current
        if current is not None:  # about to run out: back to the queue, not shown at 0:00
            ClipScreening.objects.filter(pk=current.pk).update(lease_expires_at=now)
        for screening_id in _candidate_ids(campaign, now):
            row = (
                ClipScreening.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("utterance")
                .filter(pk=screening_id, status=Status.AWAITING_HUMAN)
                .first()
            )
            if row is None:
                continue  # another screener is taking it right now, or it was decided
            now = timezone.now()  # read under the row lock: see assignment.md (1)
            if row.leased_to_id is not None and row.lease_expires_at > now:
                continue
            row.leased_to = screener
            row.lease_expires_at = now + timezone.timedelta(seconds=campaign.lease_seconds)
            row.save(update_fields=["leased_to", "lease_expires_at"])
            return row
    return None


def _candidate_ids(campaign: Campaign, now) -> list[int]:
    """Clips waiting for a screener, free or with an expired lease, whose video is ready."""
    ready = Rendition.objects.filter(modality="m", status=Rendition.Status.DONE)
    return list(
        ClipScreening.objects.filter(
            Q(leased_to__isnull=True) | Q(lease_expires_at__lte=now),
            campaign=campaign,
            status=Status.AWAITING_HUMAN,
            utterance_id__in=ready.values("utterance_id"),
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:CANDIDATES]
    )


def screen_clip(
    screener, screening_id: int, accept: bool, reason: str = "", note: str = ""
) -> Decision:
    """Record the lease holder's decision; an accepted clip gets its jobs, in one transaction."""
    reason, note = (reason or "").strip(), (note or "").strip()[:500]
    if accept:
        reason = ""
    elif reason not in ClipScreening.Reason.values:
        choices = ", ".join(ClipScreening.Reason.values)
        raise ReasonRequired(f"Say why you reject the clip: one of {choices}.")
    elif reason == ClipScreening.Reason.OTHER and not note:
        raise ReasonRequired("Write a short note when the reason is “other”.")
    with transaction.atomic():
        row = (
            ClipScreening.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=screening_id)
            .first()
        )
        if row is None:
            raise ClipNotLeased("No such clip to screen; press next for another one.")
        check_screener(screener, row.campaign)
        wanted = Status.ACCEPTED if accept else Status.REJECTED
        if row.status in (Status.ACCEPTED, Status.REJECTED) and row.screener_id == screener.pk:
            if row.status == wanted and row.reason == reason:
                return Decision(row, repeated=True)
            raise AlreadyDecided(
                f"You already {'accepted' if row.status == Status.ACCEPTED else 'rejected'} "
                "this clip; ask a reviewer if that was a mistake."
            )
        if row.status != Status.AWAITING_HUMAN or row.leased_to_id != screener.pk:
            raise ClipNotLeased("This clip is not yours to screen; press next for another one.")
        now = timezone.now()  # read under the row lock
        if row.lease_expires_at is None or row.lease_expires_at <= now:
            raise ScreeningLeaseExpired(
                "Your time on this clip ran out and it went back to the queue; "
                "press next for another one."
            )
        row.status, row.screener, row.reason, row.note = wanted, screener, reason, note
        row.decided_at, row.leased_to, row.lease_expires_at = now, None, None
        row.save(update_fields=DECISION_FIELDS)
        if accept:
            add_missing_jobs(row.campaign, utterance_ids=[row.utterance_id])
    return Decision(row, repeated=False)
