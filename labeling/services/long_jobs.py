"""The lifecycle shared by long jobs on workers (ExportJob, TrainingRun, PredictionJob):
queued → running → done | failed | cancelled, with a cancel request a running job polls."""

from __future__ import annotations

from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

STALE_AFTER = timedelta(minutes=5)  # a running job silent this long has lost its worker


def life_left(job: models.Model, now=None) -> timedelta:
    """How long the job's worker still counts as alive without another heartbeat: STALE_AFTER
    after its last one; zero or less once it is silent (or never beat)."""
    if job.heartbeat_at is None:
        return timedelta(0)
    return STALE_AFTER - ((now or timezone.now()) - job.heartbeat_at)


def silent(job: models.Model) -> bool:
    """No sign of life from the job's worker for STALE_AFTER (its heartbeat): it has died."""
    return life_left(job) <= timedelta(0)


def update_job(job: models.Model, **fields) -> None:
    """Write `fields` to the job's row (and the instance) without touching its other columns,
    which the worker or a cancel request may be changing at the same time."""
    for name, value in fields.items():
        setattr(job, name, value)
    type(job).objects.filter(pk=job.pk).update(updated_at=timezone.now(), **fields)


def report_progress(model: type[models.Model], pk: int, **fields) -> bool:
    """A running job's progress (`fields`) and heartbeat, in one statement that writes
    nothing once a cancel was requested: False then, for the worker to stop."""
    now = timezone.now()
    return bool(
        model.objects.filter(pk=pk, cancel_requested=False).update(
            updated_at=now, heartbeat_at=now, **fields
        )
    )


def finish_job(job: models.Model, status: str, **fields) -> None:
    update_job(job, status=status, finished_at=timezone.now(), **fields)


def requeue_job(job: models.Model) -> None:
    """Put a finished (or abandoned) job back in the queue, its last outcome cleared."""
    update_job(job, status=job.Status.QUEUED, cancel_requested=False, error="", finished_at=None)


def request_cancel(model: type[models.Model], pk: int):
    """Cancel a queued job now; ask a running one to stop (it polls `cancel_requested`)."""
    with transaction.atomic():
        job = model.objects.select_for_update().get(pk=pk)
        if job.status == model.Status.QUEUED:
            finish_job(
                job,
                model.Status.CANCELLED,
                cancel_requested=True,
                error="Cancelled before it started.",
            )
        elif job.status == model.Status.RUNNING:
            update_job(job, cancel_requested=True)
    return job
