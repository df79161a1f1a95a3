"""Handing out jobs and recording votes. Design note: assignment.md beside this file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import Campaign, ClipScreening, Job, Lease, Vote
from labeling.multilabel_verdicts import in_label_order, multilabel_verdict
from labeling.services import tallies
from labeling.services.assignment_sql import (
    Answers,
    any_job_left,
    cast_vote,
    claim_job,
    job_answers,
    lock_annotator,
    lock_job_lease,
    membership,
    read_context,
    touch_job,
    write_verdict,
)
from labeling.services.gold import (
    Feedback,
    record_gold_answer,
    revise_gold_answer,
    serve_gold_check,
    wants_gold_check,
)
from labeling.services.job_order import defer_lost_utterance
from labeling.services.suspects import after_verdict
from labeling.verdicts import State, verdict

# One label (single-label campaigns) or a set of them (multi-label: a list, set or tuple).
Answer = str | Iterable[str]

# The page counts whole seconds and asks for the next task at zero: a lease with less than
# this left is closed rather than handed back, or the page would get it at "0:00" and ask
# again and again until it ran out.
LAST_SECOND = timezone.timedelta(seconds=1)
NOT_SHOWN = (
    "This task was fetched ahead and is not shown yet; ask for your next task to show it "
    "before answering."
)


def worth_handing_out(lease: Lease, now) -> bool:
    return lease.expires_at - now >= LAST_SECOND


class AnnotationError(Exception):
    """A request the rules refuse. `status` is the HTTP status; str(self) says what to do."""

    status = 400
    code = "invalid"


class NotInPool(AnnotationError):
    status, code = 403, "not_in_pool"


class CampaignClosed(AnnotationError):
    status, code = 409, "campaign_closed"


class Paused(AnnotationError):
    status, code = 403, "paused"


class NotQualified(AnnotationError):
    status, code = 403, "not_qualified"


class LeaseNotFound(AnnotationError):
    status, code = 404, "lease_not_found"


class LeaseExpired(AnnotationError):
    status, code = 409, "lease_expired"


class LeaseClosed(AnnotationError):
    status, code = 409, "lease_closed"


class InvalidLabel(AnnotationError):
    status, code = 400, "invalid_label"


class JobClosed(AnnotationError):
    status, code = 409, "job_closed"


@dataclass(frozen=True)
class Submission:
    lease: Lease
    label: str  # "" on a multi-label campaign
    repeated: bool  # True when this lease had already been submitted with this answer
    vote: Vote | None = None  # jobs only: gold answers are never votes
    feedback: Feedback | None = None  # training and exam questions only
    label_set: list[str] | None = None  # multi-label: the chosen emotions in label order


CLOSED = "This campaign is closed; choose another one from your list."
NOT_IN_POOL = "You are not an annotator of this campaign; ask its admin to add you."


def paused_message(reason: str) -> str:
    return f"Your work in this campaign is paused: {reason} Ask a reviewer when you can continue."


def check_member(annotator, campaign: Campaign) -> None:
    """Refuse a closed campaign, a non-member or a paused one (one statement)."""
    if not campaign.is_active:
        raise CampaignClosed(CLOSED)
    refuse_unless_member(*membership(annotator, campaign))


def refuse_unless_member(member: bool, pause: str | None) -> None:
    if not member:
        raise NotInPool(NOT_IN_POOL)
    if pause is not None:
        raise Paused(paused_message(pause))


def next_task(annotator, campaign: Campaign, ahead_of: int | None = None) -> Lease | None:
    """The annotator's live task here, or a new one; None when none is left.

    Only jobs in modalities the annotator is qualified for; now and then (the campaign's
    gold share) a hidden gold check instead, served exactly like a job.

    Prefetch (`ahead_of`: the id of the task the annotator is shown now): the task to show
    after it, fetched *ahead* (`Lease.ahead`) so the page can load its media meanwhile. At
    most two live leases per annotator and campaign: the shown one and the one ahead. The
    lease ahead is shown by the next call without `ahead_of` once the current task is
    answered, skipped or gone: its time (shown_at, a fresh expiry) starts then.

    Common path (no live task, no gold check): three statements, see assignment.md.
    """
    if not campaign.is_active:
        raise CampaignClosed(CLOSED)
    with transaction.atomic():
        lock_annotator(annotator)
        context = read_context(annotator, campaign)
        refuse_unless_member(context.member, context.pause)
        allowed = "".join(m for m in campaign.modalities if m not in context.locked)
        if not context.live and ahead_of is None:
            return _claim(annotator, campaign, allowed, ahead=False)
        current, upcoming = _live_leases(annotator, campaign)
        if ahead_of is None:
            if current is not None:
                return current
            if upcoming is not None and (shown := _show(upcoming, campaign)) is not None:
                return shown
            return _claim(annotator, campaign, allowed, ahead=False)
        _check_shown(annotator, campaign, ahead_of, current)
        if upcoming is not None:
            return upcoming
        return _claim(annotator, campaign, allowed, ahead=True)


def _check_shown(annotator, campaign: Campaign, lease_id: int, current: Lease | None) -> None:
    """Refuse fetching ahead of anything but the annotator's live, shown task here."""
    if current is not None and current.pk == lease_id:
        return
    lease = Lease.objects.filter(pk=lease_id, annotator=annotator, campaign=campaign).first()
    if lease is None:
        raise LeaseNotFound(
            "No such task of yours in this campaign; fetch ahead only of the task you are shown."
        )
    if lease.status == Lease.Status.ACTIVE and lease.ahead:
        raise LeaseClosed(
            "That task was fetched ahead and is not shown yet; fetch ahead of the task you "
            "are shown."
        )
    if lease.kind not in (Lease.Kind.JOB, Lease.Kind.CHECK):
        raise LeaseClosed(f"A {lease.get_kind_display()} has no task fetched ahead of it.")
    state = (
        "ran out"
        if lease.status in (Lease.Status.ACTIVE, Lease.Status.EXPIRED)
        else (f"was {lease.status}")
    )
    raise LeaseClosed(
        f"That task {state}, so there is nothing to fetch ahead of; press next for a new one."
    )


def _show(lease: Lease, campaign: Campaign) -> Lease | None:
    """Show the lease fetched ahead: its time starts now. None (and the lease closed as
    expired) when it no longer holds its slot.

    Under the job's row lock, with the clock read after it, as a vote: a lease is extended
    only while it is still live, so no other annotator can have been given its slot
    meanwhile; the lock is an update of the job's row, so a claim that read the lease as
    expiring re-checks the job (assignment_sql.claim_job)."""
    if lease.job_id is not None:
        touch_job(lease.job_id)
    now = timezone.now()
    if not worth_handing_out(lease, now):
        Lease.objects.filter(pk=lease.pk).update(status=Lease.Status.EXPIRED, closed_at=now)
        return None
    lease.ahead, lease.shown_at = False, now
    lease.expires_at = now + timezone.timedelta(seconds=campaign.lease_seconds)
    lease.save(update_fields=["ahead", "shown_at", "expires_at"])
    return lease


def _claim(annotator, campaign: Campaign, allowed: str, ahead: bool) -> Lease | None:
    """A new lease on the first job this annotator may take, or now and then a hidden gold
    check; None when none is left."""
    if not allowed:
        raise NotQualified(
            "Pass the exam of at least one modality before you get real tasks; "
            "the qualification page lists them."
        )
    now = timezone.now()
    if wants_gold_check(campaign) and any_job_left(annotator, campaign, allowed, now):
        _, seen_utterances = _seen(annotator, campaign)
        check = serve_gold_check(annotator, campaign, allowed, seen_utterances, ahead=ahead)
        if check is not None:
            return check
    claimed = claim_job(annotator, campaign, allowed, ahead, now)
    if claimed is None:
        return None
    lease_id, job_id = claimed
    lease = Lease(  # as stored by the claim; its job is read when the page needs it
        pk=lease_id,
        campaign=campaign,
        kind=Lease.Kind.JOB,
        job_id=job_id,
        annotator=annotator,
        status=Lease.Status.ACTIVE,
        created_at=now,
        shown_at=now,
        ahead=ahead,
        expires_at=now + timezone.timedelta(seconds=campaign.lease_seconds),
    )
    lease._state.adding, lease._state.db = False, "default"
    return lease


def _live_leases(annotator, campaign: Campaign) -> tuple[Lease | None, Lease | None]:
    """The live job or gold check lease shown to the annotator, and the one fetched ahead;
    stale ones (expired or about to, job settled, a surplus) are closed."""
    now = timezone.now()
    live: dict[bool, Lease] = {}
    for lease in Lease.objects.filter(
        annotator=annotator,
        campaign=campaign,
        status=Lease.Status.ACTIVE,
        kind__in=(Lease.Kind.JOB, Lease.Kind.CHECK),
    ).select_related("job"):
        wanted = lease.kind == Lease.Kind.CHECK or lease.job.state in (
            State.OPEN,
            State.NEEDS_VOTE,
        )
        if lease.ahead not in live and wanted and worth_handing_out(lease, now):
            lease.campaign = campaign  # the page's payload reads it
            live[lease.ahead] = lease
        else:
            Lease.objects.filter(pk=lease.pk).update(status=Lease.Status.EXPIRED, closed_at=now)
    return live.get(False), live.get(True)


def _seen(annotator, campaign: Campaign) -> tuple[set[int], set[int]]:
    """Jobs the annotator has had, and the utterances the independence guard keeps from
    them: any they were shown, as a job, a gold item, or a clip to screen."""
    shown = list(
        Lease.objects.filter(annotator=annotator).values_list(
            "job_id", Coalesce("job__utterance_id", "gold_item__utterance_id")
        )
    )
    jobs = {job_id for job_id, _ in shown if job_id is not None}
    if not campaign.independence_guard:
        return jobs, set()
    screened = ClipScreening.objects.filter(
        Q(screener=annotator) | Q(leased_to=annotator)
    ).values_list("utterance_id", flat=True)
    return jobs, {utterance_id for _, utterance_id in shown} | set(screened)


def submit_vote(
    annotator, lease_id: int, label: Answer, seconds_spent: float | None = None
) -> Submission:
    """Record the lease holder's answer, in one transaction: on a job, the vote and the
    job's new verdict; on a gold item, a GoldAnswer (never a vote) and what follows it.

    `label` is one label name on a single-label campaign, and a collection of label names
    (a list, set or tuple; empty for "none of these") on a multi-label one."""
    with transaction.atomic():
        # A job's lease: one statement locks it and its job and reads the rest it needs.
        held = lock_job_lease(annotator, lease_id)
        lease = held.lease if held is not None else _own_lease(annotator, lease_id)
        campaign = lease.campaign
        label, label_set = read_answer(campaign, label)
        if lease.kind != Lease.Kind.JOB and label_set is not None:
            raise InvalidLabel(
                "Gold questions are single-label; a multi-label campaign has none. "
                "Press next for a task."
            )
        if lease.status == Lease.Status.SUBMITTED:
            if lease.kind == Lease.Kind.JOB:
                answered, given = lease.vote.answer, Vote(label=label, label_set=label_set).answer
            else:
                answered, given = lease.gold_answer.label, label
            if answered != given:
                raise LeaseClosed(f"You already answered this task with {answered!r}.")
            vote = lease.vote if lease.kind == Lease.Kind.JOB else None
            return Submission(lease, label, repeated=True, vote=vote, label_set=label_set)
        if lease.status != Lease.Status.ACTIVE:
            raise LeaseClosed(f"This task was {lease.status}; press next for a new one.")
        if lease.ahead:
            raise LeaseClosed(NOT_SHOWN)
        # The lease was handed out earlier: the holder may since have been removed from the
        # pool or paused, or the campaign closed. Checked again before anything is written.
        if held is None:
            check_member(annotator, campaign)
        else:
            if not campaign.is_active:
                raise CampaignClosed(CLOSED)
            refuse_unless_member(held.member, held.pause)
        job = held.job if held is not None else None
        now = timezone.now()  # read under the job lock: see assignment.md (1)
        if lease.expires_at <= now:
            raise LeaseExpired(
                "Your time on this task ran out and it went back to the pool; "
                "press next for a new one."
            )
        elapsed = (now - lease.shown_at).total_seconds()
        spent = elapsed if seconds_spent is None else min(max(float(seconds_spent), 0.0), elapsed)
        feedback = vote = None
        if job is None:
            feedback = record_gold_answer(lease, label, spent)
            lease.status, lease.closed_at = Lease.Status.SUBMITTED, now
            lease.save(update_fields=["status", "closed_at"])
        else:
            if job.excluded or State(job.state) not in (State.OPEN, State.NEEDS_VOTE):
                raise JobClosed("This task no longer needs a vote; press next for a new one.")
            vote = Vote(
                job=job,
                campaign=campaign,
                annotator=annotator,
                lease=lease,
                label=label,
                label_set=label_set,
                seconds_spent=spent,
                created_at=now,
            )
            answers = cast_vote(vote)
            lease.status, lease.closed_at = Lease.Status.SUBMITTED, now
            record_verdict(job, answers, closing=lease)
    return Submission(lease, label, False, vote=vote, feedback=feedback, label_set=label_set)


def read_answer(campaign: Campaign, answer: Answer) -> tuple[str, list[str] | None]:
    """The answer as a vote stores it, (label, label_set), or InvalidLabel saying why not:
    (name, None) on a single-label campaign, ("", names in label order) on a multi-label one."""
    names = campaign.label_names
    if not campaign.is_multi_label:
        if not isinstance(answer, str):
            raise InvalidLabel(
                'This campaign is single-label: answer with one label ("label": "name"), '
                "not a set of labels."
            )
        _check_label(campaign, answer)
        return answer, None
    if isinstance(answer, str):
        raise InvalidLabel(
            "This campaign is multi-label: answer with the list of every label that applies "
            f'("labels": [...], from {", ".join(names)}), not a single label.'
        )
    chosen = set(answer)
    unknown = sorted(str(name) for name in chosen - set(names))
    if unknown:
        raise InvalidLabel(
            f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not "
            f"{'a label' if len(unknown) == 1 else 'labels'} of this campaign; "
            f"use any of {', '.join(names)}."
        )
    if not chosen and not campaign.allow_none:
        raise InvalidLabel(
            'This campaign has no "none of these" answer: choose at least one label that '
            "applies, or skip the task."
        )
    return "", in_label_order(chosen, names)


def _check_label(campaign: Campaign, label: str) -> None:
    if label not in campaign.label_names:
        names = ", ".join(campaign.label_names)
        raise InvalidLabel(f"{label!r} is not a label of this campaign; use one of {names}.")


def revise_answer(annotator, lease_id: int, label: Answer) -> Submission:
    """Change the annotator's last answer in its campaign while its job is still open: the
    vote and the job's verdict, recomputed, in one transaction under the job's lock. A
    hidden check's answer is changed the same way, so nothing tells it from a job. On a
    multi-label campaign `label` is the new set of labels."""
    with transaction.atomic():
        lease = _own_lease(annotator, lease_id)
        campaign = lease.campaign
        label, label_set = read_answer(campaign, label)
        check_member(annotator, campaign)
        if lease.kind not in (Lease.Kind.JOB, Lease.Kind.CHECK):
            raise LeaseClosed(f"A {lease.get_kind_display()}'s answer cannot be changed.")
        if lease.status != Lease.Status.SUBMITTED:
            raise LeaseClosed("This task was not answered; answer it instead of changing it.")
        last = (
            Lease.objects.filter(
                annotator=annotator,
                campaign=campaign,
                kind__in=(Lease.Kind.JOB, Lease.Kind.CHECK),
                status=Lease.Status.SUBMITTED,
            )
            .order_by("-closed_at", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if last != lease.pk:
            raise LeaseClosed("You can change only your last answer, and this is an older one.")
        if lease.kind == Lease.Kind.CHECK:
            revise_gold_answer(lease, label)
            return Submission(lease=lease, label=label, repeated=False)
        job = Job.objects.select_for_update().get(pk=lease.job_id)
        if job.excluded or State(job.state) not in (State.OPEN, State.NEEDS_VOTE):
            raise JobClosed("This task was decided meanwhile, so your answer can no longer change.")
        vote = lease.vote
        if (vote.label, vote.label_set) == (label, label_set):
            return Submission(lease, label, repeated=True, vote=vote, label_set=label_set)
        vote.label, vote.label_set, vote.revised_at = label, label_set, timezone.now()
        vote.save(update_fields=["label", "label_set", "revised_at"])
        job.campaign = campaign
        record_verdict(job)
    return Submission(lease, label, repeated=False, vote=vote, label_set=label_set)


def record_verdict(job: Job, answers: Answers | None = None, closing: Lease | None = None) -> None:
    """Recompute the job's verdict from its votes (the caller holds the job's lock): the
    single-label rule (labeling/verdicts.py), or per emotion on a multi-label campaign
    (labeling/multilabel_verdicts.py). `answers`: the job's votes as the caller has just
    read them (else read here); `closing`: the lease a vote was cast on, closed with it."""
    campaign = job.campaign
    if answers is None:
        answers = job_answers(job.pk)
    if campaign.is_multi_label:
        sets = [frozenset(s) for _, s in answers]
        names = campaign.label_names
        result = multilabel_verdict(sets, names, job.rule, campaign.undecided_policy)
        decided = result.state == State.DECIDED
        state, label, cast = result.state, "", len(sets)
        job.label_set = in_label_order(result.present, names) if decided else None
        job.undecided_labels = in_label_order(result.undecided, names)
    else:
        labels = [label for label, _ in answers]
        single = verdict(labels, job.rule)
        state, label, cast = single.state, single.label or "", len(labels)
    job.state = state.value
    job.label = label
    job.votes_count = cast
    job.priority = (
        Job.Priority.FINAL
        if job.excluded
        else {State.OPEN: Job.Priority.OPEN, State.NEEDS_VOTE: Job.Priority.NEEDS_VOTE}.get(
            state, Job.Priority.FINAL
        )
    )
    job.updated_at = timezone.now()
    write_verdict(job, closing)
    tallies.recount(job)  # the dashboard's counters, in the vote's transaction
    after_verdict(job)  # suspect-vote pauses, checked on commit (services/suspects.py)
    if state == State.DISCARDED:
        defer_lost_utterance(job)  # the utterances order: its other jobs go last


def skip_task(annotator, lease_id: int, reason: str = "") -> Lease:
    """Give the job back to the pool; the skip is recorded and this annotator won't get it again."""
    with transaction.atomic():
        lease = _own_lease(annotator, lease_id)
        if lease.status == Lease.Status.SKIPPED:
            return lease
        if lease.status != Lease.Status.ACTIVE:
            raise LeaseClosed(f"This task was already {lease.status}.")
        if lease.kind in (Lease.Kind.TRAINING, Lease.Kind.EXAM):
            raise LeaseClosed(f"A {lease.get_kind_display()} cannot be skipped; answer it.")
        if lease.ahead:
            raise LeaseClosed("This task was fetched ahead and not shown; release it instead.")
        lease.status, lease.closed_at, lease.skip_reason = (
            Lease.Status.SKIPPED,
            timezone.now(),
            reason[:200],
        )
        lease.save(update_fields=["status", "closed_at", "skip_reason"])
    return lease


def release_task(annotator, lease_id: int) -> Lease:
    """Give back a task fetched ahead and never shown (the annotator left the page): its
    job goes back to the pool for others. Idempotent. Not a skip: a shown task is skipped.
    The independence guard still counts its utterance as seen by this annotator, since the
    page may have loaded its media (and UNIQUE(job, annotator) keeps the job from them)."""
    with transaction.atomic():
        lease = _own_lease(annotator, lease_id)
        if lease.status == Lease.Status.RELEASED:
            return lease
        if lease.status != Lease.Status.ACTIVE:
            raise LeaseClosed(f"This task was already {lease.status}; nothing to give back.")
        if not lease.ahead:
            raise LeaseClosed(
                "This task was shown to you, so it cannot be given back unused; skip it instead."
            )
        lease.status, lease.closed_at = Lease.Status.RELEASED, timezone.now()
        lease.save(update_fields=["status", "closed_at"])
    return lease


def _own_lease(annotator, lease_id: int) -> Lease:
    lease = (
        Lease.objects.select_for_update(of=("self",))
        .select_related("campaign", "gold_item")
        .filter(pk=lease_id, annotator=annotator)
        .first()
    )
    if lease is None:
        raise LeaseNotFound("No such task of yours; press next for a new one.")
    return lease
