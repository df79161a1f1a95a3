"""Gold items at work: serving hidden checks and recording answers on gold items.

A gold answer is a GoldAnswer, never a Vote, so it can reach no verdict and no export.
Callers serving a check hold the annotator's row lock; callers recording an answer hold
the lease's lock, and an exam answer also locks its attempt. See qualification.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.utils import timezone

from labeling.models import (
    Campaign,
    ExamAttempt,
    GoldAnswer,
    GoldItem,
    Lease,
    Modality,
    ReviewAction,
)
from labeling.selectors.qualification import gold_accuracy, ready_gold_items
from labeling.services.pauses import record_pause

rng = random.SystemRandom()  # which task is a gold check must not be predictable


@dataclass(frozen=True)
class Feedback:
    """What the annotator learns after answering a training or exam question."""

    kind: str
    correct: bool | None = None
    expected: str = ""
    explanation: str = ""
    answered: int = 0
    questions: int = 0

    def as_dict(self) -> dict:
        if self.kind == Lease.Kind.TRAINING:
            return {
                "kind": self.kind,
                "correct": self.correct,
                "expected": self.expected,
                "explanation": self.explanation,
            }
        return {"kind": self.kind, "answered": self.answered, "questions": self.questions}


def wants_gold_check(campaign: Campaign) -> bool:
    return campaign.gold_share > 0 and rng.random() < campaign.gold_share


def serve_gold_check(
    annotator, campaign: Campaign, allowed: str, seen_utterances: set[int], ahead: bool = False
):
    """A new lease on a check item the annotator has not had, in a modality they may
    annotate; None when none is left. The caller holds the annotator's row lock. `ahead`:
    fetched ahead of the shown task, exactly as a job would be (nothing tells them apart)."""
    had = Lease.objects.filter(annotator=annotator, kind=Lease.Kind.CHECK).values("gold_item_id")
    item = (
        ready_gold_items(campaign, GoldItem.Purpose.CHECK)
        .filter(modality__in=list(allowed))
        .exclude(pk__in=had)
        .exclude(utterance_id__in=seen_utterances)
        .order_by("?")
        .first()
    )
    if item is None:
        return None
    return lease_gold_item(annotator, campaign, Lease.Kind.CHECK, item, ahead=ahead)


def lease_gold_item(annotator, campaign, kind, item, attempt=None, ahead: bool = False) -> Lease:
    now = timezone.now()
    return Lease.objects.create(
        campaign=campaign,
        kind=kind,
        gold_item=item,
        exam_attempt=attempt,
        annotator=annotator,
        ahead=ahead,
        shown_at=now,
        expires_at=now + timezone.timedelta(seconds=campaign.lease_seconds),
    )


def record_gold_answer(lease: Lease, label: str, seconds_spent: float) -> Feedback | None:
    """Store the answer on a gold item (the caller holds the lease's lock, checked it is
    live and the label valid) and do what follows: pause, exam result. Never a Vote."""
    item = lease.gold_item
    GoldAnswer.objects.create(
        lease=lease,
        gold_item=item,
        annotator=lease.annotator,
        label=label,
        correct=label == item.label,
        seconds_spent=seconds_spent,
    )
    if lease.kind == Lease.Kind.CHECK:
        pause_if_gold_accuracy_low(lease.annotator, lease.campaign, item.modality)
        return None
    if lease.kind == Lease.Kind.TRAINING:
        return Feedback(
            kind=Lease.Kind.TRAINING,
            correct=label == item.label,
            expected=item.label,
            explanation=item.explanation,
        )
    attempt = ExamAttempt.objects.select_for_update().get(pk=lease.exam_attempt_id)
    asked = attempt.leases.exclude(pk=lease.pk).exclude(status=Lease.Status.ACTIVE).count() + 1
    if asked >= len(attempt.questions):
        finish_attempt(attempt)
    return Feedback(kind=Lease.Kind.EXAM, answered=asked, questions=len(attempt.questions))


def revise_gold_answer(lease: Lease, label: str) -> None:
    """A hidden check's answer changed by its annotator (the caller holds the lease's lock
    and checked it may be revised); its accuracy counts the new answer."""
    answer = lease.gold_answer
    answer.label, answer.correct = label, label == lease.gold_item.label
    answer.save(update_fields=["label", "correct"])
    pause_if_gold_accuracy_low(lease.annotator, lease.campaign, lease.gold_item.modality)


def pause_if_gold_accuracy_low(annotator, campaign: Campaign, modality: str) -> bool:
    """Pause the annotator when their check accuracy in this modality is below the
    campaign's threshold after enough answers. Answers from before a reviewer last resumed
    them do not count again, so a resume gives a fresh start."""
    if campaign.gold_pause_below <= 0:
        return False
    resumed = (
        ReviewAction.objects.filter(
            campaign=campaign, subject=annotator, kind=ReviewAction.Kind.RESUME
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    right, answered = gold_accuracy(annotator, campaign, modality, since=resumed)
    if answered < campaign.gold_min_answers or right / answered >= campaign.gold_pause_below:
        return False
    reason = (
        f"Automatic: {right} of {answered} gold checks right in {Modality(modality).label} "
        f"({right / answered:.0%}), below {campaign.gold_pause_below:.0%}."
    )
    record_pause(
        campaign,
        annotator,
        actor=None,
        reason=reason,
        kind=ReviewAction.Kind.AUTO_PAUSE,
        details={"gold_right": right, "gold_answered": answered},
    )
    return True


def finish_attempt(attempt: ExamAttempt) -> None:
    correct = GoldAnswer.objects.filter(lease__exam_attempt=attempt, correct=True).count()
    attempt.correct = correct
    attempt.score = correct / len(attempt.questions) if attempt.questions else 0.0
    attempt.passed = attempt.score >= attempt.exam.pass_mark
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["correct", "score", "passed", "finished_at"])
