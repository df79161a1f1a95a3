"""Celery tasks: load by id, call one service. Enqueued with transaction.on_commit."""

from celery import shared_task

from labeling.services.renditions import render_utterance


@shared_task(bind=True, max_retries=None, acks_late=True)
def render_utterance_task(self, utterance_id: int) -> dict:
    outcome = render_utterance(utterance_id)
    if outcome.retryable:
        # Bounded: render_utterance stops claiming a rendition after RENDITION_MAX_ATTEMPTS.
        raise self.retry(countdown=min(60, 5 * 2**self.request.retries))
    return {"done": outcome.done, "failed": outcome.failed}


@shared_task(acks_late=True)
def import_batch_task(batch_id: int) -> str:
    from labeling.services.imports import run_staged_import

    return run_staged_import(batch_id).status


@shared_task(bind=True, acks_late=True, max_retries=None)
def export_dataset_task(self, export_job_id: int) -> str:
    """Routed to the `export` queue. A redelivery after a worker died continues the export;
    one while another worker still writes it is retried after that worker goes silent."""
    from labeling.services.exports import ExportBusy, run_export

    try:
        job = run_export(export_job_id)
    except ExportBusy as busy:
        raise self.retry(countdown=busy.retry_after) from None
    return job.status if job is not None else "missing"


@shared_task(bind=True, acks_late=True, max_retries=None)
def train_run_task(self, run_id: int) -> str:
    """Routed to the `gpu` queue. A redelivery after a worker died resumes from last.pt; one
    while another worker still trains the run is retried after that worker goes silent."""
    from labeling.services.training import RunBusy, run_training

    try:
        run = run_training(run_id)
    except RunBusy as busy:
        raise self.retry(countdown=busy.retry_after) from None
    return run.status if run is not None else "missing"


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=5)
def screen_utterance_task(utterance_id: int) -> str:
    """Measure a clip for screening and judge it in every screening campaign of its corpus.

    A clip that cannot be decoded is recorded as failed, not retried; other errors (the
    database, the disk) are retried a few times, and `manage.py screen_clips` measures any
    clip still pending.
    """
    from labeling.services.screening import measure_utterance

    utterance = measure_utterance(utterance_id)
    return utterance.screening_status if utterance is not None else "missing"


@shared_task(acks_late=True)
def simulate_annotators_task(run_id: int) -> str:
    """Routed to the `cpu` queue. A redelivery after a worker died takes the run over; the
    votes already cast stay and the simulated annotators carry on from there."""
    from labeling.services.simulation import run_simulation

    run = run_simulation(run_id)
    return run.status if run is not None else "missing"


@shared_task(acks_late=True)
def predict_task(job_id: int) -> str:
    """Routed to the `gpu` queue: a finished run scores a campaign's utterances."""
    from labeling.services.predictions import run_prediction

    job = run_prediction(job_id)
    return job.status if job is not None else "missing"
