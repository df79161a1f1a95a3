"""Reads about qualification and gold: who may annotate what, and gold accuracy."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from labeling.models import (
    Campaign,
    Exam,
    ExamAttempt,
    GoldAnswer,
    GoldItem,
    Lease,
    Modality,
    Rendition,
)


def qualified_modalities(annotator, campaign: Campaign) -> str:
    """The collected modalities the annotator may get real jobs in: no exam, or passed."""
    passed_it = ExamAttempt.objects.filter(exam=OuterRef("pk"), annotator=annotator, passed=True)
    locked = set(campaign.exams.filter(~Exists(passed_it)).values_list("modality", flat=True))
    return "".join(m for m in campaign.modalities if m not in locked)


def gold_accuracy(annotator, campaign: Campaign, modality: str, since=None) -> tuple[int, int]:
    """(right, answered) on hidden checks in one modality, optionally since a moment."""
    answers = GoldAnswer.objects.filter(
        annotator=annotator,
        lease__kind=Lease.Kind.CHECK,
        gold_item__campaign=campaign,
        gold_item__modality=modality,
    )
    if since is not None:
        answers = answers.filter(created_at__gt=since)
    counts = answers.aggregate(right=Count("pk", filter=Q(correct=True)), answered=Count("pk"))
    return counts["right"], counts["answered"]


def ready_gold_items(campaign: Campaign, purpose: str):
    """The campaign's gold items of this purpose whose rendition is ready to play. A broken
    player would give a hidden check away, and nobody can answer a question that won't play;
    jobs are filtered the same way (`assignment_sql.claim_job`)."""
    ready = Rendition.objects.filter(
        utterance_id=OuterRef("utterance_id"),
        modality=OuterRef("modality"),
        status=Rendition.Status.DONE,
    )
    return campaign.gold_items.filter(Exists(ready), purpose=purpose)


def training_items(campaign: Campaign, modality: str):
    return ready_gold_items(campaign, GoldItem.Purpose.TRAINING).filter(modality=modality)


def training_left(annotator, campaign: Campaign, modality: str) -> int:
    answered = Lease.objects.filter(
        annotator=annotator, kind=Lease.Kind.TRAINING, status=Lease.Status.SUBMITTED
    ).values("gold_item_id")
    return training_items(campaign, modality).exclude(pk__in=answered).count()


def exam_refusal(exam: Exam, attempts: list[ExamAttempt], training_left: int) -> str:
    """Why a new attempt cannot start now, or "" when it can."""
    if any(a.passed for a in attempts):
        return "You have already passed this exam."
    counted = [a for a in attempts if a.counts]  # an admin may have allowed another try
    if len(counted) >= exam.max_attempts:
        return (
            f"You have used all {exam.max_attempts} attempts at this exam; "
            "ask the campaign's admin."
        )
    if training_left:
        return f"Answer the {training_left} training question(s) of this modality first."
    if (
        not ready_gold_items(exam.campaign, GoldItem.Purpose.EXAM)
        .filter(modality=exam.modality)
        .exists()
    ):
        return "This exam has no questions yet; ask the campaign's admin."
    if counted:
        ready_at = counted[-1].finished_at + timezone.timedelta(minutes=exam.cooldown_minutes)
        if timezone.now() < ready_at:
            return f"Your next attempt opens at {timezone.localtime(ready_at):%Y-%m-%d %H:%M}."
    return ""


def qualification_status(annotator, campaign: Campaign) -> list[dict]:
    """Per collected modality: the annotator's training, exam attempts and what they may do."""
    exams = {exam.modality: exam for exam in campaign.exams.all()}
    attempts: dict[str, list[ExamAttempt]] = {}
    for attempt in (
        ExamAttempt.objects.filter(exam__campaign=campaign, annotator=annotator)
        .select_related("exam")
        .order_by("number")
    ):
        attempts.setdefault(attempt.exam.modality, []).append(attempt)
    rows = []
    for modality in campaign.modalities:
        exam = exams.get(modality)
        mine = attempts.get(modality, [])
        left = training_left(annotator, campaign, modality)
        unfinished = next((a for a in mine if a.finished_at is None), None)
        refusal = exam_refusal(exam, mine, left) if exam and not unfinished else ""
        rows.append(
            {
                "modality": modality,
                "modality_name": Modality(modality).label,
                "exam": exam is not None,
                "qualified": exam is None or any(a.passed for a in mine),
                "training_total": training_items(campaign, modality).count(),
                "training_left": left,
                "attempts": [
                    {
                        "id": a.pk,
                        "number": a.number,
                        "questions": len(a.questions),
                        "correct": a.correct,
                        "score": a.score,
                        "passed": a.passed,
                        "finished_at": a.finished_at,
                    }
                    for a in mine
                ],
                "max_attempts": exam.max_attempts if exam else 0,
                "pass_mark": exam.pass_mark if exam else None,
                "open_attempt": unfinished.pk if unfinished else None,
                "can_start": bool(exam) and not unfinished and not refusal,
                "refusal": refusal,
            }
        )
    return rows


def exam_attempts(campaign: Campaign):
    """Every attempt at the campaign's exams, for admins: who, which modality, score."""
    return (
        ExamAttempt.objects.filter(exam__campaign=campaign)
        .select_related("exam", "annotator")
        .order_by("annotator__username", "exam__modality", "number")
    )


def gold_accuracy_table(campaign: Campaign) -> dict[tuple[int, str], tuple[int, int]]:
    """(annotator id, modality) → (right, answered) on hidden checks."""
    rows = (
        GoldAnswer.objects.filter(lease__kind=Lease.Kind.CHECK, gold_item__campaign=campaign)
        .values_list("annotator_id", "gold_item__modality")
        .annotate(right=Count("pk", filter=Q(correct=True)), answered=Count("pk"))
    )
    return {(a, m): (right, answered) for a, m, right, answered in rows}


def qualification_overview(campaign: Campaign) -> list[dict]:
    """For reviewers: each pool member's exam attempts and gold accuracy per modality."""
    attempts: dict[tuple[int, str], list[ExamAttempt]] = {}
    for attempt in exam_attempts(campaign):
        attempts.setdefault((attempt.annotator_id, attempt.exam.modality), []).append(attempt)
    gold = gold_accuracy_table(campaign)
    examined = set(campaign.exams.values_list("modality", flat=True))
    paused = set(campaign.pauses.values_list("annotator_id", flat=True))
    rows = []
    for member in campaign.annotators.order_by("username"):
        cells = []
        for modality in campaign.modalities:
            mine = attempts.get((member.pk, modality), [])
            right, answered = gold.get((member.pk, modality), (0, 0))
            cells.append(
                {
                    "modality": modality,
                    "exam": modality in examined,
                    "qualified": modality not in examined or any(a.passed for a in mine),
                    "attempts": mine,
                    "gold_right": right,
                    "gold_answered": answered,
                }
            )
        rows.append({"annotator": member, "paused": member.pk in paused, "cells": cells})
    return rows
