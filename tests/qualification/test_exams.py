"""Training, exams per modality, and what qualification unlocks."""

import pytest
from django.utils import timezone

from labeling.models import ExamAttempt, GoldAnswer, Lease, Vote
from labeling.services.assignment import (
    LeaseClosed,
    NotQualified,
    next_task,
    skip_task,
    submit_vote,
)
from labeling.services.qualification import (
    ExamRefused,
    allow_another_attempt,
    next_exam_question,
    next_training_question,
    start_exam,
)
from tests.qualification.conftest import gold_utterance_ids


def answer_training(annotator, campaign, labels):
    feedback = []
    for label in labels:
        lease = next_training_question(annotator, campaign, "t")
        feedback.append(submit_vote(annotator, lease.pk, label).feedback)
    assert next_training_question(annotator, campaign, "t") is None
    return feedback


def sit_exam(annotator, campaign, label) -> ExamAttempt:
    attempt = start_exam(annotator, campaign, "t")
    while True:
        attempt, lease = next_exam_question(annotator, attempt.pk)
        if lease is None:
            return attempt
        submit_vote(annotator, lease.pk, label)


def served_modalities(annotator, campaign) -> list[str]:
    """Every job the annotator is offered until none is left (skipping each)."""
    seen = []
    while (lease := next_task(annotator, campaign)) is not None:
        assert lease.kind == Lease.Kind.JOB
        seen.append(lease.job.modality)
        skip_task(annotator, lease.pk)
    return seen


def test_gold_utterances_get_no_jobs(campaign):
    gold = gold_utterance_ids(campaign)
    assert len(gold) == 6
    assert not campaign.jobs.filter(utterance_id__in=gold).exists()
    assert campaign.jobs.count() == 6 * 2


def test_fail_cool_down_pass_then_real_jobs_in_that_modality(campaign, team):
    campaign.independence_guard = False
    campaign.save()
    annotator = team[0]
    assert set(served_modalities(annotator, campaign)) == {"a"}  # no exam on audio

    with pytest.raises(ExamRefused, match="2 training question"):
        start_exam(annotator, campaign, "t")
    feedback = answer_training(annotator, campaign, ["fear", "anger"])
    assert [f.correct for f in feedback] == [False, True]
    assert feedback[0].expected == "anger" and "insult" in feedback[0].explanation

    failed = sit_exam(annotator, campaign, "fear")
    assert (failed.number, failed.score, failed.passed) == (1, 0.0, False)
    with pytest.raises(ExamRefused, match="next attempt opens"):
        start_exam(annotator, campaign, "t")
    assert served_modalities(annotator, campaign) == []  # still nothing in t

    ExamAttempt.objects.filter(pk=failed.pk).update(
        finished_at=timezone.now() - timezone.timedelta(minutes=31)
    )
    passed = sit_exam(annotator, campaign, "anger")
    assert (passed.number, passed.correct, passed.score, passed.passed) == (2, 2, 1.0, True)
    assert set(served_modalities(annotator, campaign)) == {"t"}
    with pytest.raises(ExamRefused, match="already passed"):
        start_exam(annotator, campaign, "t")


def test_attempts_run_out(campaign, team):
    annotator = team[1]
    answer_training(annotator, campaign, ["anger", "anger"])
    for _ in range(2):
        sit_exam(annotator, campaign, "fear")
        ExamAttempt.objects.update(finished_at=timezone.now() - timezone.timedelta(hours=1))
    with pytest.raises(ExamRefused, match="all 2 attempts"):
        start_exam(annotator, campaign, "t")


def test_an_admin_can_allow_another_attempt(campaign, team):
    annotator = team[1]
    answer_training(annotator, campaign, ["anger", "anger"])
    sit_exam(annotator, campaign, "fear")
    ExamAttempt.objects.update(finished_at=timezone.now() - timezone.timedelta(hours=1))
    sit_exam(annotator, campaign, "fear")  # both attempts used, the last one just now
    with pytest.raises(ExamRefused):
        start_exam(annotator, campaign, "t")
    assert allow_another_attempt(ExamAttempt.objects.filter(annotator=annotator)) == 2
    third = sit_exam(annotator, campaign, "anger")  # no cool-down either
    assert (third.number, third.passed) == (3, True)
    assert ExamAttempt.objects.filter(annotator=annotator, counts=False).count() == 2


def test_an_expired_exam_question_counts_as_wrong_and_is_not_asked_again(campaign, team):
    annotator = team[0]
    answer_training(annotator, campaign, ["anger", "anger"])
    attempt = start_exam(annotator, campaign, "t")
    _, first = next_exam_question(annotator, attempt.pk)
    Lease.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    _, second = next_exam_question(annotator, attempt.pk)
    assert second.gold_item_id != first.gold_item_id
    submit_vote(annotator, second.pk, "anger")
    attempt, done = next_exam_question(annotator, attempt.pk)
    assert done is None
    assert (attempt.correct, attempt.score, attempt.passed) == (1, 0.5, True)  # pass mark 0.5


def test_training_and_exam_questions_cannot_be_skipped(campaign, team):
    annotator = team[0]
    lease = next_training_question(annotator, campaign, "t")
    with pytest.raises(LeaseClosed, match="cannot be skipped"):
        skip_task(annotator, lease.pk)


def test_an_unfinished_attempt_is_resumed_not_restarted(campaign, team):
    annotator = team[0]
    answer_training(annotator, campaign, ["anger", "anger"])
    attempt = start_exam(annotator, campaign, "t")
    _, lease = next_exam_question(annotator, attempt.pk)
    assert start_exam(annotator, campaign, "t").pk == attempt.pk
    assert next_exam_question(annotator, attempt.pk)[1].pk == lease.pk


def test_someone_elses_attempt_is_refused(campaign, team):
    answer_training(team[0], campaign, ["anger", "anger"])
    attempt = start_exam(team[0], campaign, "t")
    with pytest.raises(ExamRefused, match="No such exam attempt"):
        next_exam_question(team[1], attempt.pk)


def test_an_annotator_without_any_qualified_modality_is_told_to_pass_an_exam(campaign, team):
    campaign.modalities = "t"
    campaign.save()
    with pytest.raises(NotQualified, match="Pass the exam"):
        next_task(team[0], campaign)


def test_training_and_exam_answers_are_never_votes(campaign, team):
    annotator = team[0]
    answer_training(annotator, campaign, ["anger", "fear"])
    sit_exam(annotator, campaign, "anger")
    assert Vote.objects.count() == 0
    assert GoldAnswer.objects.filter(annotator=annotator).count() == 4


def test_import_gold_adds_every_row_or_none(campaign, tmp_path):
    from django.core.management import CommandError, call_command

    from labeling.models import GoldItem

    before = GoldItem.objects.count()
    bad = tmp_path / "gold.csv"
    bad.write_text(
        "utterance,modality,purpose,label,explanation\n"
        "u7,t,exam,fear,\n"
        "u8,t,exam,joy,\n"
        "nope,t,exam,fear,\n"
        "u9,x,check,fear,\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="no gold item was added"):
        call_command("import_gold", str(bad), campaign=campaign.name)
    assert GoldItem.objects.count() == before
    good = tmp_path / "good.csv"
    good.write_text(
        "utterance,modality,purpose,label,explanation\nu7,t,exam,fear,\nu8,a,check,sadness,\n",
        encoding="utf-8",
    )
    call_command("import_gold", str(good), campaign=campaign.name)
    assert GoldItem.objects.count() == before + 2
    assert not campaign.jobs.filter(utterance__external_id__in=["u7", "u8"]).exists()


def test_import_gold_reports_each_bad_row(campaign, tmp_path):
    from labeling.services.qualification import import_gold_items

    bad = tmp_path / "gold.csv"
    bad.write_text(
        "utterance,modality,purpose,label\nu7,t,exam,joy\nnope,t,exam,fear\nu9,x,check,fear\n",
        encoding="utf-8",
    )
    report = import_gold_items(campaign, bad)
    reasons = {row["line"]: row["reason"] for row in report.rejected}
    assert "'joy' is not a label" in reasons[2]
    assert "no utterance 'nope'" in reasons[3]
    assert "does not collect modality 'x'" in reasons[4]
    assert report.items == 0
