"""Qualification: training questions, exams per modality, and setting gold up.

Gold file columns (CSV or JSONL), for `import_gold_items` and `manage.py import_gold`:
    utterance    required  the utterance's id in the campaign's corpus (its manifest id)
    modality     required  t, a, v or m (one the campaign collects)
    purpose      required  training | exam | check
    label        required  the expected answer, one of the campaign's labels
    explanation  optional  shown after a training answer

Design note: qualification.md beside this file. Every function that hands out a question
locks the annotator's user row first, as `assignment.next_task` does, so one annotator's
concurrent requests are serialised and a pass or a lease is never decided on a stale read.
Answers go through `assignment.submit_vote`, like every task's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from labeling.manifest import RowProblem, has_undecodable_bytes, read_records
from labeling.models import Campaign, ExamAttempt, GoldItem, Lease, Utterance
from labeling.selectors.qualification import (
    exam_refusal,
    ready_gold_items,
    training_items,
    training_left,
)
from labeling.services.assignment import (
    AnnotationError,
    check_member,
    lock_annotator,
    worth_handing_out,
)
from labeling.services.gold import finish_attempt, lease_gold_item, rng


class ExamRefused(AnnotationError):
    status, code = 409, "exam_refused"


class UnknownModality(AnnotationError):
    status, code = 400, "unknown_modality"


def check_modality(campaign: Campaign, modality: str) -> None:
    if modality not in list(campaign.modalities):
        raise UnknownModality(
            f"{modality!r} is not a modality of this campaign; "
            f"use one of {', '.join(campaign.modalities)}."
        )


class GoldInvalid(ValueError):
    """A gold item the campaign cannot use; the message says why."""


# --- training ----------------------------------------------------------------------------


def next_training_question(annotator, campaign: Campaign, modality: str) -> Lease | None:
    """The live training question of this modality, or the next unanswered one; None when
    every training question of the modality has been answered."""
    check_member(annotator, campaign)
    check_modality(campaign, modality)
    with transaction.atomic():
        lock_annotator(annotator)
        live = _live_practice_lease(annotator, campaign, Lease.Kind.TRAINING, modality=modality)
        if live is not None:
            return live
        answered = Lease.objects.filter(
            annotator=annotator, kind=Lease.Kind.TRAINING, status=Lease.Status.SUBMITTED
        ).values("gold_item_id")
        item = training_items(campaign, modality).exclude(pk__in=answered).order_by("pk").first()
        return (
            None
            if item is None
            else lease_gold_item(annotator, campaign, Lease.Kind.TRAINING, item)
        )


def _live_practice_lease(annotator, campaign, kind, *, modality="", attempt=None):
    """The annotator's one live lease of this kind; stale ones (expired or about to) are
    closed as expired."""
    now = timezone.now()
    leases = Lease.objects.filter(
        annotator=annotator, campaign=campaign, kind=kind, status=Lease.Status.ACTIVE
    ).select_related("gold_item")
    if attempt is not None:
        leases = leases.filter(exam_attempt=attempt)
    live = None
    for lease in leases:
        if not worth_handing_out(lease, now):
            Lease.objects.filter(pk=lease.pk).update(status=Lease.Status.EXPIRED, closed_at=now)
        elif not modality or lease.gold_item.modality == modality:
            live = live or lease
    return live


# --- exams -------------------------------------------------------------------------------


def start_exam(annotator, campaign: Campaign, modality: str) -> ExamAttempt:
    """The annotator's unfinished attempt at this modality's exam, or a new one if the
    rules allow it: not passed yet, attempts left, cool-down over, training answered."""
    check_member(annotator, campaign)
    check_modality(campaign, modality)
    exam = campaign.exams.filter(modality=modality).first()
    if exam is None:
        raise ExamRefused("This modality has no exam in this campaign.")
    with transaction.atomic():
        lock_annotator(annotator)
        attempts = list(exam.attempts.filter(annotator=annotator).order_by("number"))
        unfinished = [a for a in attempts if a.finished_at is None]
        if unfinished:
            return unfinished[0]
        refusal = exam_refusal(exam, attempts, training_left(annotator, campaign, modality))
        if refusal:
            raise ExamRefused(refusal)
        questions = list(
            ready_gold_items(campaign, GoldItem.Purpose.EXAM)
            .filter(modality=modality)
            .values_list("pk", flat=True)
        )
        rng.shuffle(questions)
        if exam.questions:
            questions = questions[: exam.questions]
        return ExamAttempt.objects.create(
            exam=exam, annotator=annotator, number=len(attempts) + 1, questions=questions
        )


def next_exam_question(annotator, attempt_id: int) -> tuple[ExamAttempt, Lease | None]:
    """The attempt and its live question, or its next one; no lease once it is finished.

    A question whose lease ran out is not asked again: it counts as a wrong answer.
    """
    with transaction.atomic():
        lock_annotator(annotator)
        attempt = (
            ExamAttempt.objects.select_for_update()
            .select_related("exam__campaign")
            .filter(pk=attempt_id, annotator=annotator)
            .first()
        )
        if attempt is None:
            raise ExamRefused("No such exam attempt of yours.")
        campaign = attempt.exam.campaign
        check_member(annotator, campaign)
        if attempt.finished_at is not None:
            return attempt, None
        live = _live_practice_lease(annotator, campaign, Lease.Kind.EXAM, attempt=attempt)
        if live is not None:
            return attempt, live
        asked = set(attempt.leases.values_list("gold_item_id", flat=True))
        remaining = [pk for pk in attempt.questions if pk not in asked]
        if not remaining:
            finish_attempt(attempt)
            return attempt, None
        item = GoldItem.objects.get(pk=remaining[0])
        return attempt, lease_gold_item(annotator, campaign, Lease.Kind.EXAM, item, attempt)


def allow_another_attempt(attempts) -> int:
    """An admin's second chance: the given failed, finished attempts stop counting against
    the exam's attempts and its cool-down. Their answers and scores stay on record."""
    return attempts.filter(passed=False, finished_at__isnull=False).update(counts=False)


# --- setting gold up (admins) -------------------------------------------------------------


def add_gold_item(
    campaign: Campaign,
    *,
    utterance,
    modality: str,
    purpose: str,
    label: str,
    explanation: str = "",
) -> GoldItem:
    """Make an utterance a gold item of the campaign; it then gets no jobs there.

    Refused when the utterance has votes or leases in the campaign: it would be a dataset
    label and gold at once. Its untouched jobs are removed in the same transaction.
    """
    with transaction.atomic():
        jobs = campaign.jobs.filter(utterance=utterance)
        list(jobs.select_for_update())  # nobody may lease them while they are removed
        validate_gold_item(campaign, utterance, modality, purpose, label)
        jobs.delete()
        item, _ = GoldItem.objects.update_or_create(
            campaign=campaign,
            utterance=utterance,
            modality=modality,
            purpose=purpose,
            defaults={"label": label, "explanation": explanation},
        )
    return item


def validate_gold_item(campaign: Campaign, utterance, modality: str, purpose: str, label: str):
    """Raise GoldInvalid saying why this cannot be a gold item of the campaign."""
    if campaign.is_multi_label:
        raise GoldInvalid(
            "Gold items have one label, so a multi-label campaign cannot have training, exam "
            "or hidden check items yet; its annotators need no exam."
        )
    if label not in campaign.label_names:
        raise GoldInvalid(
            f"{label!r} is not a label of this campaign; use one of "
            f"{', '.join(campaign.label_names)}."
        )
    if purpose not in GoldItem.Purpose.values:
        raise GoldInvalid(f"Unknown purpose {purpose!r}: use training, exam or check.")
    if modality not in campaign.modalities:
        raise GoldInvalid(f"This campaign does not collect modality {modality!r}.")
    if utterance.corpus_id != campaign.corpus_id:
        raise GoldInvalid("A gold utterance must come from the campaign's corpus.")
    other = (
        campaign.gold_items.filter(utterance=utterance)
        .exclude(purpose=purpose)
        .values_list("purpose", flat=True)
        .first()
    )
    if other is not None:
        raise GoldInvalid(
            f"Utterance {utterance} is already a {other} item of this campaign: a training "
            "answer would give an exam or check answer away, so each utterance serves one "
            "gold purpose; choose another utterance."
        )
    jobs = campaign.jobs.filter(utterance=utterance)
    if Lease.objects.filter(job__in=jobs).exists() or jobs.filter(votes_count__gt=0).exists():
        raise GoldInvalid(
            f"Utterance {utterance} is already being annotated in this campaign; "
            "choose one that is not, or use another campaign."
        )


GOLD_REQUIRED = ("utterance", "modality", "purpose", "label")
GOLD_OPTIONAL = ("explanation",)


@dataclass
class GoldImportReport:
    items: int = 0
    rejected: list[dict] = field(default_factory=list)


def import_gold_items(campaign: Campaign, path: Path) -> GoldImportReport:
    """Add the file's gold items to the campaign: all of them in one transaction, or none
    when any row is bad (a half-built exam would be worse than none); bad rows by line."""
    records, _ = read_records(path, None, GOLD_REQUIRED, GOLD_OPTIONAL)
    report = GoldImportReport()
    utterances = dict(
        campaign.corpus.utterances.exclude(external_id="").values_list("external_id", "pk")
    )
    rows = []
    for line, record in records:
        if isinstance(record, RowProblem):
            report.rejected.append(record.as_dict())
            continue
        values = {key: str(record.get(key) or "").strip() for key in GOLD_REQUIRED + GOLD_OPTIONAL}
        if any(has_undecodable_bytes(value) for value in values.values()):
            report.rejected.append({"line": line, "reason": "a value is not valid UTF-8 text"})
        elif values["utterance"] not in utterances:
            report.rejected.append(
                {"line": line, "reason": f"no utterance {values['utterance']!r} in the corpus"}
            )
        else:
            rows.append((line, utterances[values["utterance"]], values))
    try:
        with transaction.atomic():
            for line, utterance_id, values in rows:
                try:
                    add_gold_item(
                        campaign,
                        utterance=Utterance.objects.get(pk=utterance_id),
                        modality=values["modality"],
                        purpose=values["purpose"],
                        label=values["label"],
                        explanation=values["explanation"],
                    )
                except GoldInvalid as exc:
                    report.rejected.append({"line": line, "reason": str(exc)})
            if report.rejected:
                raise _RollBack
    except _RollBack:
        report.rejected.sort(key=lambda problem: problem["line"])
        return report
    report.items = len(rows)
    return report


class _RollBack(Exception):
    """Leaves the import's transaction so that nothing of it is written."""
