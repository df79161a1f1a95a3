"""Qualification holds under concurrent requests (real PostgreSQL, one connection per thread)."""

import threading

import pytest
from django.db import close_old_connections, connection

from labeling.models import ExamAttempt, Lease
from labeling.services.assignment import AnnotationError, next_task, skip_task, submit_vote
from labeling.services.qualification import (
    next_exam_question,
    next_training_question,
    start_exam,
)
from tests.qualification.conftest import build_campaign


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_no_job_in_a_modality_before_its_exam_is_passed_even_under_concurrency(team):
    campaign = build_campaign(team, utterances=30)
    campaign.independence_guard = False
    campaign.save()
    learner, others = team[0], team[1:]
    errors: list[str] = []

    def hammer(annotator, rounds: int) -> None:
        try:
            for _ in range(rounds):
                lease = next_task(annotator, campaign)
                if lease is None:
                    return
                if annotator is learner and lease.job.modality == "t":
                    submit_vote(annotator, lease.pk, "fear")  # after passing: real work
                else:
                    skip_task(annotator, lease.pk)
        except AnnotationError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    def qualify() -> None:
        try:
            while (lease := next_training_question(learner, campaign, "t")) is not None:
                submit_vote(learner, lease.pk, "anger")
            attempt = start_exam(learner, campaign, "t")
            while (lease := next_exam_question(learner, attempt.pk)[1]) is not None:
                submit_vote(learner, lease.pk, "anger")
        except AnnotationError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=qualify)]
    for annotator in team:
        threads += [threading.Thread(target=hammer, args=(annotator, 12)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    close_old_connections()

    assert errors == []
    passed = ExamAttempt.objects.get(annotator=learner, passed=True)
    text_leases = Lease.objects.filter(kind="job", job__modality="t")
    assert not text_leases.filter(annotator__in=others).exists()
    assert not text_leases.filter(annotator=learner, created_at__lt=passed.finished_at).exists()
    assert Lease.objects.filter(kind="job", job__modality="a", annotator__in=others).exists()
