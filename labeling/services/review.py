"""Reviewers' actions on jobs and annotators. Each is one transaction with its audit entry.

The automatic verdict (state, label, votes) is never rewritten by a reviewer: an override
sits beside it, so the dashboard can always show both.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from labeling.models import AnnotatorPause, Campaign, Job, ReviewAction, Utterance
from labeling.multilabel_verdicts import emotion_votes, in_label_order
from labeling.services import tallies
from labeling.services.assignment import AnnotationError, record_verdict
from labeling.services.pauses import record_pause
from labeling.verdicts import State


class ReviewRefused(AnnotationError):
    status, code = 400, "review_refused"


def job_snapshot(job: Job) -> dict:
    snapshot = {
        "state": job.state,
        "label": job.label,
        "votes": job.votes_count,
        "extra_votes": job.extra_votes,
        "override_label": job.override_label,
        "excluded": job.excluded,
    }
    if job.campaign.is_multi_label:
        snapshot |= {
            "label_set": job.label_set,
            "undecided_labels": job.undecided_labels,
            "override_label_set": job.override_label_set,
        }
    return snapshot


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused("Write a reason: every review action is recorded with one.")
    return reason


def _log(job: Job, kind: str, actor, before: dict, reason: str) -> ReviewAction:
    """The audit entry of an action on a job, written in the action's transaction."""
    return ReviewAction.objects.create(
        campaign_id=job.campaign_id,
        job=job,
        kind=kind,
        actor=actor,
        before=before,
        after=job_snapshot(job),
        reason=reason,
    )


def _locked_job(job_id: int) -> Job:
    return Job.objects.select_for_update().select_related("campaign").get(pk=job_id)


def reopen_refusal(job: Job) -> str:
    """Why re-opening `job` would do nothing ("" when it may be re-opened).

    Re-opening means: a discarded job takes enough further votes that its leading label can
    still reach the campaign's agreement. A decided job has its label already, and a job with
    a reviewer's label uses that label whatever more votes say, so neither is re-opened.
    """
    if job.excluded:
        return "This utterance is excluded; it takes no more votes."
    if job.state in (State.OPEN, State.NEEDS_VOTE):
        return "This job is still collecting votes; there is nothing to re-open."
    if job.state == State.DECIDED:
        return (
            "This job is decided; re-opening only gives discarded jobs more votes. To use "
            "another label, set a label (the automatic verdict stays beside it)."
        )
    if job.override_text:
        return (
            f"This job has a reviewer's label ({job.override_text}), which the dataset uses "
            "whatever more votes say; re-opening it would change nothing."
        )
    return ""


def reopen_job(actor, job_id: int, reason: str) -> Job:
    """Allow a discarded job enough further votes that it can still be decided under the
    same agreement (`reopen_refusal` says when that is refused)."""
    reason = _require_reason(reason)
    with transaction.atomic():
        job = _locked_job(job_id)
        refusal = reopen_refusal(job)
        if refusal:
            raise ReviewRefused(refusal)
        before = job_snapshot(job)
        job.extra_votes += max(1, _votes_lacking(job) - job.rule.max_votes)
        job.save(update_fields=["extra_votes", "updated_at"])
        record_verdict(job)
        _log(job, ReviewAction.Kind.REOPEN, actor, before, reason)
    return job


def _votes_lacking(job: Job) -> int:
    """How many votes the job would need in all for its leading label to reach the
    agreement; on a multi-label job, for every emotion's leading side (present or absent)."""
    campaign = job.campaign
    if campaign.is_multi_label:
        sets = [frozenset(s) for s in job.votes.values_list("label_set", flat=True)]
        questions = [emotion_votes(sets, label) for label in campaign.label_names]
    else:
        questions = [list(job.votes.values_list("label", flat=True))]
    lacking = 0
    for labels in questions:
        top = max((labels.count(label) for label in set(labels)), default=0)
        lacking = max(lacking, len(labels) + campaign.agreement - top)
    return lacking


def record_transcript_edit(actor, utterance: Utterance, before: str) -> list[Job]:
    """Audit a transcript edit on each job that already has votes or labels given on the old
    text (t shows the transcript, m as subtitle); returns those jobs. The caller saved the
    edit in the same transaction."""
    jobs = list(
        Job.objects.filter(utterance=utterance, modality__in=("t", "m"))
        .filter(
            Q(votes_count__gt=0)
            | Q(source="imported")
            | Q(imported_votes__isnull=False)
            | ~Q(override_label="")
            | Q(override_label_set__isnull=False)
        )
        .distinct()
        .select_related("campaign")
        .order_by("pk")
    )
    for job in jobs:
        ReviewAction.objects.create(
            campaign_id=job.campaign_id,
            job=job,
            kind=ReviewAction.Kind.TRANSCRIPT,
            actor=actor,
            before={"transcript": before},
            after={"transcript": utterance.transcript},
            reason="The transcript was edited after votes or labels were given on the old text.",
        )
    return jobs


def set_label(actor, job_id: int, label: str, reason: str) -> Job:
    """Decide the job's label by hand; the automatic verdict stays visible beside it."""
    reason = _require_reason(reason)
    with transaction.atomic():
        job = _locked_job(job_id)
        if job.campaign.is_multi_label:
            raise ReviewRefused(
                "This campaign is multi-label: set the set of emotions present instead of "
                "one label."
            )
        if label not in job.campaign.label_names:
            names = ", ".join(job.campaign.label_names)
            raise ReviewRefused(f"{label!r} is not a label of this campaign; use one of {names}.")
        before = job_snapshot(job)
        job.override_label = label
        job.save(update_fields=["override_label", "updated_at"])
        tallies.recount(job)  # its votes' agreement follows the final label
        _log(job, ReviewAction.Kind.SET_LABEL, actor, before, reason)
    return job


def set_label_set(actor, job_id: int, labels, reason: str) -> Job:
    """Multi-label: decide the job's emotions by hand (an empty set: none of them is
    present); the automatic verdict stays visible beside it."""
    reason = _require_reason(reason)
    with transaction.atomic():
        job = _locked_job(job_id)
        campaign = job.campaign
        if not campaign.is_multi_label:
            raise ReviewRefused("This campaign is single-label: set one label instead of a set.")
        unknown = sorted(set(labels) - set(campaign.label_names))
        if unknown:
            raise ReviewRefused(
                f"{', '.join(map(repr, unknown))} not among this campaign's labels; use any of "
                f"{', '.join(campaign.label_names)}."
            )
        before = job_snapshot(job)
        job.override_label_set = in_label_order(labels, campaign.label_names)
        job.save(update_fields=["override_label_set", "updated_at"])
        tallies.recount(job)  # its votes' agreement follows the final label
        _log(job, ReviewAction.Kind.SET_LABEL, actor, before, reason)
    return job


def exclude_utterance(actor, campaign: Campaign, utterance_id: int, reason: str) -> int:
    """Take the utterance out of the campaign in every modality; returns how many jobs."""
    reason = _require_reason(reason)
    with transaction.atomic():
        jobs = list(
            Job.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(campaign=campaign, utterance_id=utterance_id, excluded=False)
            .order_by("pk")
        )
        for job in jobs:
            before = job_snapshot(job)
            job.excluded, job.priority = True, Job.Priority.FINAL
            job.save(update_fields=["excluded", "priority", "updated_at"])
            tallies.recount(job)  # its votes' agreement follows the final label
            _log(job, ReviewAction.Kind.EXCLUDE, actor, before, reason)
    return len(jobs)


def pause_annotator(actor, campaign: Campaign, annotator_id: int, reason: str) -> AnnotatorPause:
    reason = _require_reason(reason)
    annotator = get_user_model().objects.get(pk=annotator_id)
    with transaction.atomic():
        return record_pause(
            campaign, annotator, actor=actor, reason=reason, kind=ReviewAction.Kind.PAUSE
        )


def resume_annotator(actor, campaign: Campaign, annotator_id: int, reason: str) -> None:
    reason = _require_reason(reason)
    with transaction.atomic():
        deleted, _ = AnnotatorPause.objects.filter(
            campaign=campaign, annotator_id=annotator_id
        ).delete()
        if deleted:
            ReviewAction.objects.create(
                campaign=campaign,
                subject_id=annotator_id,
                kind=ReviewAction.Kind.RESUME,
                actor=actor,
                before={"paused": True},
                after={"paused": False},
                reason=reason,
            )
