"""Predict: a finished run scores a campaign's utterances, per head (design note beside this).

`start_prediction` records a PredictionJob and queues it on the gpu queue after commit;
`run_prediction` (the worker, or `manage.py predict --local`) does the work: the run's best
checkpoint of one seed on the run's own dataset, standardised exactly as it trained, and one
Prediction row per utterance and head, written in one transaction per batch. The orders that
use predictions and the suspect-vote pauses are brought up to date when it finishes.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from labeling.models import Campaign, Prediction, PredictionJob, TrainingRun
from labeling.selectors.exports import utterance_id
from labeling.services import long_jobs
from labeling.services.job_order import after_predictions
from labeling.services.suspects import pause_suspect_annotators
from labeling.services.training import RunRefused, dataset_checksum

BATCH = 64


class PredictionRefused(ValueError):
    """A predict request the rules refuse; str(self) says what to do."""


class Cancelled(Exception):
    """A reviewer asked a running prediction to stop (its stored batches stay)."""


def start_prediction(
    *, run: TrainingRun, campaign: Campaign, seed: int | None = None, user=None, enqueue=True
) -> PredictionJob:
    """Record a predict job of `run` on `campaign` and queue it on the gpu queue on commit."""
    if run.status != TrainingRun.Status.DONE:
        raise PredictionRefused(
            f"Run {run.pk} is {run.status}; only a finished run can score utterances."
        )
    seed = run.seeds[0] if seed is None else int(seed)
    if seed not in run.seeds:
        raise PredictionRefused(
            f"Run {run.pk} trained seeds {', '.join(map(str, run.seeds))}, not {seed}."
        )
    with transaction.atomic():
        job = PredictionJob.objects.create(
            run=run,
            campaign=campaign,
            options={"seed": seed, "batch_size": BATCH},
            created_by=user if user is not None and user.is_authenticated else None,
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_prediction(job.pk))
    return job


def enqueue_prediction(job_id: int) -> None:
    from labeling.tasks import predict_task  # tasks import this module

    predict_task.delay(job_id)


def run_prediction(job_id: int, progress=None) -> PredictionJob | None:
    """Score the job's utterances and store the predictions; the job records how it ended.
    `progress(done, total)` is called after each batch (the terminal's bar)."""
    job = PredictionJob.objects.select_related("run", "campaign").filter(pk=job_id).first()
    if job is None or job.is_finished:
        return job
    long_jobs.update_job(
        job,
        status=PredictionJob.Status.RUNNING,
        started_at=timezone.now(),
        attempts=job.attempts + 1,
        heartbeat_at=timezone.now(),
    )
    try:
        result = _score(job, progress)
    except PredictionRefused as exc:
        long_jobs.finish_job(job, PredictionJob.Status.FAILED, error=str(exc))
        return job
    except Cancelled:
        long_jobs.finish_job(
            job,
            PredictionJob.Status.CANCELLED,
            error="Cancelled; the predictions stored so far are kept.",
        )
        return job
    except Exception as exc:  # noqa: BLE001 - recorded for the page, then re-raised
        long_jobs.finish_job(job, PredictionJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    long_jobs.finish_job(job, PredictionJob.Status.DONE, result=result)
    after_predictions(job.run_id)  # the uncertainty and disagreement orders
    pause_suspect_annotators(job.campaign_id)
    return job


def _score(job: PredictionJob, progress) -> dict:
    from training.engine import BEST, TrainConfig
    from training.engine.scoring import (
        head_probabilities,
        load_best,
        run_threshold,
        sample_of,
        summarise,
    )
    from training.engine.splits import open_splits

    run, campaign = job.run, job.campaign
    dataset = Path(run.dataset_path)
    if not dataset.exists():
        raise PredictionRefused(
            f"Run {run.pk}'s dataset {dataset} is gone; restore it (or re-export and train a "
            "new run) to score with this run."
        )
    try:
        checksum = dataset_checksum(run.dataset_path)  # every file checked against SHA256SUMS
    except RunRefused as exc:
        raise PredictionRefused(str(exc)) from exc
    if checksum != run.dataset_checksum:
        raise PredictionRefused(
            f"The dataset {dataset} changed since run {run.pk} trained on it (its SHA256SUMS "
            "differs), so its standardisation would not be the run's; train a new run."
        )
    checkpoint = Path(run.out_dir) / f"seed-{job.options['seed']}" / BEST
    if not checkpoint.is_file():
        raise PredictionRefused(f"Run {run.pk} has no {BEST} for seed {job.options['seed']}.")
    config = TrainConfig.from_dict(run.config)
    model, classes = load_best(checkpoint)
    threshold = run_threshold(run.config)
    ids = {
        utterance_id(external, pk): pk
        for pk, external in campaign.corpus.utterances.values_list("pk", "external_id")
    }
    splits = open_splits(dataset, config)  # standardised with the training split's statistics
    items = [
        (split, i)
        for split in (splits.train, splits.validation, splits.test)
        if split is not None
        for i in range(len(split))
        if split.utterance_ids[i] in ids
    ]
    long_jobs.update_job(job, total=len(items), done=0)
    size = int(job.options.get("batch_size", BATCH))
    for start in range(0, len(items), size):
        if PredictionJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            raise Cancelled
        batch = [split[i] for split, i in items[start : start + size]]
        samples = [sample_of(item) for item in batch]
        probabilities = head_probabilities(model, samples, label_mode=config.label_mode)
        rows = []
        for head, per_item in probabilities.items():
            for item, p in zip(batch, per_item.tolist(), strict=True):
                decided = summarise(p, classes, config.label_mode, threshold)
                rows.append(
                    Prediction(
                        run=run,
                        utterance_id=ids[item["utterance_id"]],
                        head=head,
                        probabilities=p,
                        label=decided.label,
                        label_set=decided.label_set,
                        confidence=decided.confidence,
                        entropy=decided.entropy,
                    )
                )
        with transaction.atomic():  # a batch is stored whole or not at all
            Prediction.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["run", "utterance", "head"],
                update_fields=["probabilities", "label", "label_set", "confidence", "entropy"],
            )
        done = min(start + size, len(items))
        long_jobs.update_job(job, done=done, heartbeat_at=timezone.now())
        if progress is not None:
            progress(done, len(items))
    return {
        "scored": len(items),
        "heads": list(model.heads),
        "seed": job.options["seed"],
        "not_in_dataset": len(ids) - len(items),
        "classes": classes,
    }
