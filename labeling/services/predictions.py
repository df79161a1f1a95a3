"""Predict: a finished run scores a campaign's utterances, per head (design note beside this).

`start_prediction` records a PredictionJob and queues it on the gpu queue after commit;
`run_prediction` (the worker, or `manage.py predict --local`) does the work: the run's best
checkpoint of one seed on the run's own dataset, standardised exactly as it trained, and one
Prediction row per utterance and head, written in one transaction per batch. The orders that
use predictions and the suspect-vote pauses are brought up to date when it finishes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from django.db import transaction
from django.utils import timezone

from labeling.models import Campaign, Prediction, PredictionJob, TrainingRun
from labeling.selectors.exports import select_pool_records, utterance_id
from labeling.services import long_jobs
from labeling.services.exports import dataset_extractors, export_root, load_dataset_extractors
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
    from training.engine.scoring import load_best, run_threshold
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
    ids = {
        utterance_id(external, pk): pk
        for pk, external in campaign.corpus.utterances.values_list("pk", "external_id")
    }
    splits = open_splits(dataset, config)  # standardised with the training split's statistics
    sources = [s for s in (splits.train, splits.validation, splits.test) if s is not None]
    in_dataset = {uid for split in sources for uid in split.utterance_ids}
    pool = select_pool_records(campaign, leave_out=in_dataset)
    items = [
        (split, i) for split in sources for i, uid in enumerate(split.utterance_ids) if uid in ids
    ]
    bar = _Bar(job, progress, total=len(items) + 2 * len(pool.records))
    pool_split, failed = None, []
    if pool.records:  # extract first: a refusal stores nothing, a cancel loses nothing
        pool_split, failed = _pool_split(job, splits, config, pool.records, bar)
        bar.total = len(items) + len(pool.records) + len(pool_split)
        items += [(pool_split, i) for i in range(len(pool_split))]
    _store(job, model, classes, config, run_threshold(run.config), ids, items, bar)
    return {
        "scored": len(items),
        "from_dataset": len(items) - (len(pool_split) if pool_split is not None else 0),
        "extracted": len(pool_split) if pool_split is not None else 0,
        "pool": str(pool_split.path) if pool_split is not None else "",
        "not_scored": len(failed) + len(pool.without_media),
        "failed": failed[:100],  # media that did not decode: [{utterance_id, error}]
        "without_media": pool.without_media[:100],
        "heads": list(model.heads),
        "seed": job.options["seed"],
        "classes": classes,
    }


class _Bar:
    """The job's progress in one count: pool utterances extracted, then utterances scored."""

    def __init__(self, job: PredictionJob, callback, total: int) -> None:
        self.job, self.callback, self.total, self.done = job, callback, total, 0
        long_jobs.update_job(job, total=total, done=0)

    def advance(self, count: int) -> None:
        self.done += count
        if not long_jobs.report_progress(
            PredictionJob, self.job.pk, total=self.total, done=self.done
        ):
            raise Cancelled
        self.job.done, self.job.total = self.done, self.total
        if self.callback is not None:
            self.callback(self.done, self.total)


def pool_dir(run: TrainingRun, campaign: Campaign) -> Path:
    """Where the features of `campaign`'s utterances outside `run`'s dataset are kept: one
    pool per dataset and campaign, so runs trained on the same dataset share it."""
    return export_root() / "pools" / f"{Path(run.dataset_path).name}-campaign-{campaign.pk}"


def _pool_split(job: PredictionJob, splits, config, records, bar: _Bar):
    """The pool split of `records` (standardised as the run trained) and the records whose
    media did not decode. Extracted with the dataset's own extractors and settings, unless
    the pool on disk already holds them with those extractors."""
    from training.dataset import CHERMASplit, ExportCancelled, ExportError, export_dataset
    from training.dataset.split import POOL

    out = pool_dir(job.run, job.campaign)
    wanted = {r.utterance_id for r in records}
    if _pool_holds(out, wanted, splits.datasheet):
        bar.advance(len(records))
    else:
        try:
            extractors, dtype = load_dataset_extractors(splits.datasheet)
            done = [0]

            def extracted(n: int, total: int) -> None:  # the writer counts per utterance
                bar.advance(n - done[0])
                done[0] = n

            export_dataset(
                records,
                out,
                extractors=extractors,
                seed=0,
                name=f"pool of {job.campaign.name} for {Path(job.run.dataset_path).name}",
                classes=splits.classes,
                label_mode=splits.datasheet.get("label_mode", "single-label"),
                dtype=dtype,
                shard_size=int(splits.datasheet.get("shard_size", 512)),
                progress=extracted,
                overwrite=True,
                pool=True,
            )
        except Cancelled:
            raise
        except ExportCancelled as exc:
            raise Cancelled from exc
        except ExportError as exc:  # a changed feature model, a pool being written, no media
            raise PredictionRefused(str(exc)) from exc
    split = CHERMASplit(
        out,
        POOL,
        audio_len=config.audio_len,
        audio_how=config.audio_how,
        standardize=splits.train.standardize,  # the training split's statistics, or None
    )
    failed = json.loads((out / "datasheet.json").read_text(encoding="utf-8"))["failed"]
    return _Subset(split, wanted), [f for f in failed if f["utterance_id"] in wanted]


def _pool_holds(out: Path, wanted: set[str], sheet: dict) -> bool:
    """The pool on disk is whole and made by the dataset's extractors and holds `wanted`."""
    from training.dataset import verify_checksums

    path = out / "datasheet.json"
    if not path.is_file() or verify_checksums(out):
        return False
    pool = json.loads(path.read_text(encoding="utf-8"))
    if pool.get("extractors") != dataset_extractors(sheet) or pool.get("dtype") != sheet["dtype"]:
        return False
    held = set(pd.read_parquet(out / "manifest.parquet", columns=["utterance_id"])["utterance_id"])
    return wanted <= held


class _Subset:
    """The items of a pool split whose utterance is wanted (a pool may hold more)."""

    def __init__(self, split, wanted: set[str]) -> None:
        self.split, self.path = split, split.path
        self.rows = [i for i, uid in enumerate(split.utterance_ids) if uid in wanted]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.split[self.rows[i]]


def _store(job, model, classes, config, threshold, ids, items, bar: _Bar) -> None:
    """Score `items` ((split, index) pairs) in batches and upsert their Prediction rows,
    one transaction per batch."""
    from training.engine.scoring import head_probabilities, sample_of, summarise

    size = int(job.options.get("batch_size", BATCH))
    for start in range(0, len(items), size):
        batch = [split[i] for split, i in items[start : start + size]]
        samples = [sample_of(item) for item in batch]
        probabilities = head_probabilities(model, samples, label_mode=config.label_mode)
        rows = []
        for head, per_item in probabilities.items():
            for item, p in zip(batch, per_item.tolist(), strict=True):
                decided = summarise(p, classes, config.label_mode, threshold)
                rows.append(
                    Prediction(
                        run=job.run,
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
        bar.advance(len(batch))
