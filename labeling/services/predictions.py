"""Predict: a finished run scores a campaign's utterances, per head (design note beside this).

`start_prediction` records a PredictionJob and queues it on the gpu queue after commit;
`run_prediction` (the worker, or `manage.py predict --local`) does the work: the run's best
checkpoint of one seed on the run's own dataset, standardised exactly as it trained, and one
Prediction row per utterance and head, written in one transaction per batch. The orders that
use predictions and the suspect-vote pauses are brought up to date when it finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
# In each pool part, beside what the export's writer wrote: utterance id → [size, mtime in
# ns] of its media file when the part read it, which tells a clip replaced since.
STAMPS = "media-stamps.json"


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
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()  # one start at a time
        busy = _writing_the_same_pool(run, campaign)
        if busy is not None:
            raise PredictionRefused(
                f"Prediction {busy.pk} (run {busy.run_id}) is {busy.status} on {campaign} with "
                "the same dataset's features; follow it on the run page, or cancel it in the "
                "admin's predictions to start another."
            )
        job = PredictionJob.objects.create(
            run=run,
            campaign=campaign,
            options={"seed": seed, "batch_size": BATCH},
            created_by=user if user is not None and user.is_authenticated else None,
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_prediction(job.pk))
    return job


def _writing_the_same_pool(run: TrainingRun, campaign: Campaign) -> PredictionJob | None:
    """A prediction queued, or running with a live worker, that extracts into the pool a new
    one would (the same dataset and campaign): two would write the same part at once (a
    double click on the run page's button, say). A running one silent for STALE_AFTER lost
    its worker and blocks nothing."""
    active = PredictionJob.objects.filter(
        campaign=campaign,
        run__dataset_path=run.dataset_path,
        status__in=[PredictionJob.Status.QUEUED, PredictionJob.Status.RUNNING],
    ).order_by("pk")
    return next(
        (j for j in active if j.status == PredictionJob.Status.QUEUED or not long_jobs.silent(j)),
        None,
    )


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
    from_pool, failed, extracted_now = [], [], 0
    if pool.records:  # extract first: a refusal stores nothing, a cancel loses nothing
        from_pool, failed, extracted_now = _pool_split(job, splits, config, pool.records, bar)
        bar.total = len(items) + len(pool.records) + len(from_pool)
    from_dataset = len(items)
    items += from_pool
    _store(job, model, classes, config, run_threshold(run.config), ids, items, bar)
    return {
        "scored": len(items),
        "from_dataset": from_dataset,
        "extracted": len(from_pool),  # scored on pool features
        "extracted_now": extracted_now,  # of which extracted by this job
        "pool": str(pool_dir(run, campaign)) if pool.records else "",
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


@dataclass
class _Part:
    """One part of a pool: a pool dataset written at once, for the utterances missing then."""

    path: Path
    held: dict[str, str]  # utterance id with features → the transcript they were made from
    failed: dict[str, dict]  # utterance id → the writer's failure entry
    stamps: dict[str, list[int]]  # utterance id → its media's stamp when the part read it
    made: float  # when it was written (its datasheet's mtime)

    def holds(self, record, now: dict) -> bool:
        """Its features are still the record's: the same transcript and the same media file
        (`now`: each record's stamp; an edited transcript or a replaced clip is extracted
        again, into a newer part)."""
        uid = record.utterance_id
        return self.held.get(uid) == record.transcript and self._same_media(uid, now[uid])

    def failed_on(self, record, now: dict) -> bool:
        """The record's clip did not decode here and is still that file (not tried again)."""
        uid = record.utterance_id
        return uid in self.failed and self._same_media(uid, now[uid])

    def _same_media(self, uid: str, now: list[int] | None) -> bool:
        if now is None:  # gone: nothing newer to extract from
            return True
        if uid in self.stamps:
            return self.stamps[uid] == now
        return now[1] / 1e9 <= self.made  # a part written before stamps were kept


def _pool_split(job: PredictionJob, splits, config, records, bar: _Bar):
    """(items, failures, newly extracted): the pool's items for `records` ((split, index)
    pairs, standardised as the run trained), the records whose media did not decode, and
    how many records this call extracted.

    A pool is a folder of parts, each written once by the export's writer with the
    dataset's own extractors. Parts that verify are reused; only the records no part holds
    are extracted, into a new part: a campaign that grows costs its new utterances, not the
    whole pool again. A clip that failed before is tried again only when its media file
    changed since (a fixed clip is picked up; a still broken one is not decoded every
    time)."""
    from training.dataset import CHERMASplit
    from training.dataset.split import POOL

    root = pool_dir(job.run, job.campaign)
    parts = _pool_parts(root, splits.datasheet)
    stamps = {r.utterance_id: _stamp(r.media_path) for r in records}  # before any reading
    missing = [
        r for r in records if not any(p.holds(r, stamps) or p.failed_on(r, stamps) for p in parts)
    ]
    bar.advance(len(records) - len(missing))
    undecodable = []  # of a new part that did not decode at all (no part is written)
    if missing:
        numbers = [int(path.name[5:]) for path in root.glob("part-[0-9]*")]
        path = root / f"part-{max(numbers, default=0) + 1:04d}"
        undecodable = _extract_part(job, splits, missing, stamps, path, bar)
        parts += _pool_parts(root, splits.datasheet, only=path)
    # Each record from the newest part that holds it as it is now.
    source = {}
    for part in parts:
        source.update({r.utterance_id: part for r in records if part.holds(r, stamps)})
    items = []
    for part in parts:
        mine = {uid for uid, p in source.items() if p is part}
        if not mine:
            continue
        split = CHERMASplit(
            part.path,
            POOL,
            audio_len=config.audio_len,
            audio_how=config.audio_how,
            standardize=splits.train.standardize,  # the training split's statistics, or None
        )
        items += [(split, i) for i, uid in enumerate(split.utterance_ids) if uid in mine]
    # Each clip still without features, with its latest failure.
    wanted = {r.utterance_id for r in records}
    failures = {uid: f for part in parts for uid, f in part.failed.items() if uid in wanted}
    failures.update({f["utterance_id"]: f for f in undecodable})
    _prune(root, parts, source, records, stamps)
    return items, [f for uid, f in failures.items() if uid not in source], len(missing)


def _prune(root: Path, parts: list[_Part], source: dict, records, stamps: dict) -> None:
    """Delete the parts this pool no longer reads: no record's features come from them and
    none of them holds the failure of a clip that is still that broken file (which keeps it
    from being decoded again). Their utterances were all extracted again into newer parts,
    or left the pool (a reviewer excluded them); one that comes back is extracted again."""
    import shutil

    read = {id(part) for part in source.values()}
    for part in parts:
        if part.path == root or id(part) in read:
            continue  # a pool written before parts existed is the folder itself
        if any(part.failed_on(r, stamps) for r in records):
            continue
        shutil.rmtree(part.path, ignore_errors=True)


def _extract_part(
    job: PredictionJob, splits, records, stamps: dict, path: Path, bar: _Bar
) -> list[dict]:
    """Write `records`' features as a new part of the pool, with the dataset's extractors,
    and beside them their media's `stamps` (taken before reading); when none of them
    decodes, no part is written and their failures are returned (the other utterances are
    still scored)."""
    from training.dataset import ExportCancelled, ExportError, NothingDecoded, export_dataset

    try:
        extractors, dtype = load_dataset_extractors(splits.datasheet)
        done = [0]

        def extracted(n: int, total: int) -> None:  # the writer counts per utterance
            bar.advance(n - done[0])
            done[0] = n

        export_dataset(
            records,
            path,
            extractors=extractors,
            seed=0,
            name=f"pool of {job.campaign.name} for {Path(job.run.dataset_path).name}",
            classes=splits.classes,
            label_mode=splits.datasheet.get("label_mode", "single-label"),
            dtype=dtype,
            shard_size=int(splits.datasheet.get("shard_size", 512)),
            progress=extracted,
            pool=True,
        )
    except Cancelled:
        raise
    except NothingDecoded as exc:
        return exc.failed
    except ExportCancelled as exc:
        raise Cancelled from exc
    except ExportError as exc:  # a changed feature model, a part being written, no media
        raise PredictionRefused(str(exc)) from exc
    mine = {r.utterance_id: stamps[r.utterance_id] for r in records}
    (path / STAMPS).write_text(json.dumps(mine), encoding="utf-8")
    return []


def _pool_parts(root: Path, sheet: dict, only: Path | None = None) -> list[_Part]:
    """The pool's parts that are whole (checksums verify) and made by the dataset's
    extractors, oldest first; a pool written before parts existed is its own first part."""
    from training.dataset import verify_checksums

    candidates = [only] if only else [root, *sorted(root.glob("part-[0-9]*"))]
    parts = []
    for path in candidates:
        datasheet = path / "datasheet.json"
        if not datasheet.is_file() or verify_checksums(path):
            continue
        pool = json.loads(datasheet.read_text(encoding="utf-8"))
        if (
            pool.get("extractors") != dataset_extractors(sheet)
            or pool.get("dtype") != sheet["dtype"]
        ):
            continue
        columns = ["utterance_id", "status", "transcript"]
        manifest = pd.read_parquet(path / "manifest.parquet", columns=columns)
        ok = manifest[manifest["status"] == "ok"]
        parts.append(
            _Part(
                path=path,
                held=dict(zip(ok["utterance_id"], ok["transcript"], strict=True)),
                failed={f["utterance_id"]: f for f in pool.get("failed", [])},
                stamps=_read_stamps(path),
                made=datasheet.stat().st_mtime,
            )
        )
    return parts


def _read_stamps(part: Path) -> dict[str, list[int]]:
    try:
        return json.loads((part / STAMPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a part written before stamps were kept, or cut off before they were


def _stamp(path) -> list[int] | None:
    """A media file's size and modification time (ns), which change when the clip is
    replaced; None when it is gone."""
    try:
        status = Path(path).stat()
    except (OSError, TypeError):
        return None
    return [status.st_size, status.st_mtime_ns]


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
