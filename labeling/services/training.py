"""Training runs from the Django side: start, run (on a `gpu` worker or here), cancel, continue.

`start_run` checks the dataset against its SHA256SUMS, records a `TrainingRun` and queues it
on the `gpu` queue after commit. `run_training` (the worker's task, or `train_lfmim --local`)
calls the pure trainer (`training.engine.train_seeds`) with callbacks that record every epoch
as a `TrainingEpoch`, write progress at most every `PROGRESS_SECONDS`, and stop the run when
a cancel is requested. Every seed checkpoints into the run's `out_dir`; a run whose worker
died, or that was cancelled or failed and is continued, resumes from its `last.pt` exactly.

A run marked running whose heartbeat is fresh belongs to a live worker: a second delivery of
its task (Redis redelivers unacknowledged long tasks after its visibility timeout) raises
`RunBusy` and is retried later instead of training the same seeds twice.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling.models import TrainingEpoch, TrainingRun
from labeling.services import long_jobs
from training.dataset.checksums import verify_checksums
from training.dataset.mosei import MOSEI_EMOTIONS, is_feature_file
from training.hashing import sha256_file
from training.models.names import ALL_HEADS

if TYPE_CHECKING:
    from training.engine import TrainConfig
    from training.engine.result import Callback

# PyTorch, transformers and scikit-learn are imported where they are used, not here: the web
# process imports this module and should start in a moment, without loading them.

logger = logging.getLogger(__name__)

GPU_QUEUE = "gpu"
MAX_SEEDS = 20
PROGRESS_SECONDS = 2.0  # at most one progress write per this many seconds
CANCEL_POLL_SECONDS = 1.0  # how often a running seed asks the database for a cancel request
STALE_AFTER = long_jobs.STALE_AFTER
# Settings a run may not take from key=value pairs: they have their own fields or flags.
_RESERVED = frozenset({"model", "preset", "model_overrides", "seed", "epochs"})


class RunRefused(ValueError):
    """The run cannot start as asked; the message says what to change."""


class RunBusy(Exception):
    """Another worker is running this run right now; try again after `retry_after` seconds."""

    def __init__(self, run_id: int, retry_after: float):
        super().__init__(f"Run {run_id} is being trained by another worker.")
        self.retry_after = retry_after


def runs_root() -> Path:
    """Where runs keep their checkpoints: TRAINING_RUNS_ROOT (setting or environment)."""
    root = getattr(settings, "TRAINING_RUNS_ROOT", None) or os.environ.get("TRAINING_RUNS_ROOT")
    return Path(root or Path(settings.VAR_DIR) / "runs")


# --- configuration ---------------------------------------------------------------------------


def make_config(
    model: str,
    *,
    preset: str | None = None,
    epochs: int | None = None,
    options: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
) -> TrainConfig:
    """A TrainConfig for `model`; `options` key=value pairs set TrainConfig fields (batch_size,
    lr, ...) when the key is one, and model settings (d_model, num_layers, ...) otherwise."""
    from training.engine import TrainConfig
    from training.models import build_config

    config_fields = {f.name for f in fields(TrainConfig)}
    values: dict[str, Any] = {"model": model, "preset": preset or None}
    overrides: dict[str, Any] = {}
    for key, value in dict(options).items():
        if key in _RESERVED:
            raise RunRefused(f"Set {key} with its own option, not as {key}=… .")
        if key in config_fields:
            values[key] = value
        else:
            overrides[key] = value
    if epochs is not None:
        values["epochs"] = epochs
    values["model_overrides"] = overrides
    try:
        config = TrainConfig.from_dict(values)
        build_config(config.model, preset=config.preset, **overrides)  # unknown settings
    except (TypeError, ValueError) as exc:
        raise RunRefused(str(exc)) from exc
    return config


def dataset_digest(dataset_path: str | Path) -> str:
    """sha256 of the dataset's SHA256SUMS: which export this is. Cheap (one small file), so
    starting a run from a web request never reads a whole dataset. A CMU-MOSEI-style feature
    file (`training.dataset.mosei`) has no SHA256SUMS: its identity is its own sha256."""
    path = Path(dataset_path)
    if is_feature_file(path):
        if not path.is_file():
            raise RunRefused(f"{path} does not exist; give an export folder or a feature file.")
        return sha256_file(path)
    if not path.is_dir():
        raise RunRefused(
            f"{path} is not a directory; give the folder an export wrote (it holds SHA256SUMS)."
        )
    sums = path / "SHA256SUMS"
    if not sums.is_file():
        raise RunRefused(f"{sums} does not exist: this folder is not a complete export.")
    return sha256_file(sums)


def dataset_checksum(dataset_path: str | Path) -> str:
    """dataset_digest after checking every file against SHA256SUMS (the worker does this
    before training). Refuses (RunRefused) a dataset whose files changed."""
    digest = dataset_digest(dataset_path)
    path = Path(dataset_path)
    if is_feature_file(path):
        return digest  # the file's own hash: any change to it shows as a different digest
    try:
        bad = verify_checksums(path)
    except FileNotFoundError as exc:
        raise RunRefused(str(exc)) from exc
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise RunRefused(
            f"The dataset {path} fails its checksums: {shown} "
            f"{'is' if len(bad) == 1 else 'are'} missing or changed since it was exported. "
            "Re-export it (or restore the files) before training on it."
        )
    return digest


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    seeds = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not 1 <= len(seeds) <= MAX_SEEDS:
        raise RunRefused(f"Train between 1 and {MAX_SEEDS} seeds (the paper uses 5).")
    if len(set(seeds)) != len(seeds):
        raise RunRefused("Each seed may be trained only once in a run.")
    return seeds


# --- runs ------------------------------------------------------------------------------------


def start_run(
    *,
    dataset_path: str | Path,
    config: TrainConfig,
    seeds: int | Sequence[int] = 5,
    name: str = "",
    user=None,
    out_dir: str | Path | None = None,
    enqueue: bool = True,
) -> TrainingRun:
    """Record a run of `config` on the dataset over `seeds` (a count or a list) and queue it on
    the gpu queue after commit (unless `enqueue=False`, for `run_training` here).

    Only the export's identity (its SHA256SUMS) is read here; the worker checks every file
    against it before training, and fails the run saying which files changed.
    """
    dataset = Path(dataset_path).expanduser().absolute()
    checksum = dataset_digest(dataset)
    try:
        from training.dataset import open_dataset

        # A feature file is read (and checked) by the worker: loading it here would hold a
        # web request for the whole file.
        classes = MOSEI_EMOTIONS if is_feature_file(dataset) else open_dataset(dataset).classes
    except (OSError, ValueError, KeyError) as exc:
        raise RunRefused(f"{dataset} cannot be read as an exported dataset: {exc}") from exc
    seed_list = _seed_list(seeds)
    if out_dir is not None:
        out_dir = Path(out_dir).expanduser().absolute()
        if out_dir.exists() and any(out_dir.iterdir()):
            raise RunRefused(f"{out_dir} is not empty; choose a new folder for the run.")
    with transaction.atomic():
        run = TrainingRun.objects.create(
            name=name.strip()[:200],
            model=config.model,
            preset=config.preset_name,
            config=config.to_dict(),
            dataset_path=str(dataset),
            dataset_checksum=checksum,
            seeds=seed_list,
            report={"classes": list(classes)},
            created_by=user if user is not None and user.is_authenticated else None,
        )
        run.out_dir = str(out_dir or runs_root() / f"run-{run.pk:05d}")
        run.save(update_fields=["out_dir"])
        if enqueue:
            transaction.on_commit(lambda: enqueue_run(run.pk))
    return run


def enqueue_run(run_id: int) -> None:
    """Queue the run on the gpu queue; call from `transaction.on_commit`."""
    from labeling.tasks import train_run_task  # tasks import this module

    train_run_task.delay(run_id)


def request_cancel(run_id: int) -> TrainingRun:
    """Cancel a queued run now; ask a running one to stop after its current step (it saves
    `last.pt`, so continuing it later resumes exactly there)."""
    return long_jobs.request_cancel(TrainingRun, run_id)


def continue_run(run_id: int, *, enqueue: bool = True) -> TrainingRun:
    """Queue a cancelled or failed run again (or a running one whose worker has been silent
    for STALE_AFTER); finished seeds are kept and the rest resume from last.pt."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run_id)
        if run.status not in (TrainingRun.Status.CANCELLED, TrainingRun.Status.FAILED) and not (
            run.status == TrainingRun.Status.RUNNING and long_jobs.silent(run)
        ):
            raise RunRefused(
                f"Run {run.pk} is {run.status}; only a cancelled or failed run (or one whose "
                "worker stopped answering) can be continued."
            )
        long_jobs.requeue_job(run)
        if enqueue:
            transaction.on_commit(lambda: enqueue_run(run.pk))
    return run


def run_training(
    run_id: int,
    *,
    callbacks_for: Callable[[int], Sequence[Callback]] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainingRun | None:
    """Train a queued run (or continue one whose worker died) and record how it ended.

    `callbacks_for(seed)` adds callbacks (a progress bar) to the recording ones; `should_stop`
    is asked besides the run's cancel request. Raises RunBusy if a live worker has the run.
    Returns the run, or None if there is no such run.
    """
    from training.engine import TrainConfig, TrainingCancelled, train_seeds
    from training.engine.splits import open_splits

    run = _claim(run_id)
    if run is None or run.status != TrainingRun.Status.RUNNING:
        return run
    try:
        if dataset_checksum(run.dataset_path) != run.dataset_checksum:
            raise RunRefused(
                f"The dataset {run.dataset_path} was exported again since run {run.pk} was "
                "started (its SHA256SUMS differs); start a new run on it."
            )
        config = TrainConfig.from_dict(run.config)
        splits = open_splits(run.dataset_path, config)
        out_dir = Path(run.out_dir)
        resume = any(out_dir.glob("seed-*/last.pt"))
        if resume:
            logger.info("run %s resumes from the checkpoints in %s", run.pk, out_dir)

        def callbacks(seed: int) -> list[Callback]:
            index = run.seeds.index(seed)
            extra = list(callbacks_for(seed)) if callbacks_for else []
            return [_Recorder(run.pk, seed, index, len(run.seeds)), *extra]

        outcome = train_seeds(
            config,
            run.seeds,
            splits.train,
            splits.validation,
            splits.test,
            out_dir,
            callbacks_for=callbacks,
            should_stop=_StopWhenAsked(run.pk, should_stop),
            resume=resume,
            classes=splits.classes,
        )
    except TrainingCancelled as exc:
        long_jobs.finish_job(
            run, TrainingRun.Status.CANCELLED, error=f"{exc} Continue the run to resume."
        )
    except (RunRefused, ValueError, FileNotFoundError, FileExistsError) as exc:
        long_jobs.finish_job(run, TrainingRun.Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("training run %s failed", run.pk)
        long_jobs.finish_job(
            run,
            TrainingRun.Status.FAILED,
            error=f"Training stopped on an unexpected error ({type(exc).__name__}: {exc}). "
            f"Checkpoints are kept in {run.out_dir}: fix the cause and continue run {run.pk}.",
        )
    except BaseException:  # interrupted (Ctrl-C in --local): say so, and let it propagate
        long_jobs.finish_job(
            run,
            TrainingRun.Status.FAILED,
            error=f"Interrupted. Checkpoints are kept in {run.out_dir}: continue run {run.pk} "
            "to resume from the last saved epoch.",
        )
        raise
    else:
        report = {
            "classes": splits.classes,
            "label_mode": next(iter(outcome.results.values())).label_mode,
            "runs": {str(seed): result.to_dict() for seed, result in outcome.results.items()},
            "summary": outcome.summary,
        }
        run.refresh_from_db(fields=["total_steps"])
        long_jobs.finish_job(
            run, TrainingRun.Status.DONE, error="", report=report, step=run.total_steps
        )
    return run


def _claim(run_id: int) -> TrainingRun | None:
    """Mark the run running if it should run: queued, or running with a silent worker."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("training run %s does not exist (deleted?); nothing to run", run_id)
            return None
        if run.is_finished:
            return run  # a repeated delivery, or cancelled while queued
        now = timezone.now()
        if run.cancel_requested:
            long_jobs.finish_job(
                run, TrainingRun.Status.CANCELLED, error="Cancelled before it started."
            )
            return run
        left = long_jobs.life_left(run, now)
        if run.status == TrainingRun.Status.RUNNING and left.total_seconds() > 0:
            raise RunBusy(run.pk, left.total_seconds() + 1)
        long_jobs.update_job(
            run,
            status=TrainingRun.Status.RUNNING,
            attempts=run.attempts + 1,
            started_at=run.started_at or now,
            heartbeat_at=now,
            finished_at=None,
            error="",
        )
    return run


class _Recorder:
    """Callbacks of one seed: throttled progress (and heartbeat) writes, one TrainingEpoch row
    per epoch. Steps are counted over all seeds of the run."""

    def __init__(self, run_id: int, seed: int, index: int, n_seeds: int) -> None:
        self.run_id, self.seed, self.index, self.n_seeds = run_id, seed, index, n_seeds
        self.last, self.step, self.total = float("-inf"), 0, 0

    def _write(self) -> None:
        self.last = time.monotonic()
        now = timezone.now()
        TrainingRun.objects.filter(pk=self.run_id).update(
            step=self.index * self.total + self.step,
            total_steps=self.n_seeds * self.total,
            current_seed=self.seed,
            heartbeat_at=now,
            updated_at=now,
        )

    def on_step(self, step: int, total: int, loss: float) -> None:
        self.step, self.total = step, total
        if step == total or time.monotonic() - self.last >= PROGRESS_SECONDS:
            self._write()

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        TrainingEpoch.objects.update_or_create(
            run_id=self.run_id, seed=self.seed, epoch=epoch, defaults={"metrics": metrics}
        )
        self._write()


class _StopWhenAsked:
    """`should_stop` for the trainer: the run's cancel request (read at most every
    CANCEL_POLL_SECONDS) or the caller's own stop (Ctrl-C in --local)."""

    def __init__(self, run_id: int, also: Callable[[], bool] | None) -> None:
        self.run_id, self.also = run_id, also
        self.checked, self.requested = float("-inf"), False

    def __call__(self) -> bool:
        if self.also is not None and self.also():
            return True
        if time.monotonic() - self.checked >= CANCEL_POLL_SECONDS:
            self.checked = time.monotonic()
            self.requested = TrainingRun.objects.filter(
                pk=self.run_id, cancel_requested=True
            ).exists()
        return self.requested


# --- workers ---------------------------------------------------------------------------------


def gpu_consumers(timeout: float = 2.0) -> list[str] | None:
    """Names of the workers consuming the gpu queue ([] when none answers that it does), or
    None when the broker cannot tell (remote control unavailable)."""
    from annotator.celery import app

    try:
        answers = app.control.inspect(timeout=timeout).active_queues()
    except Exception as exc:  # e.g. a transport without broadcast support
        logger.info("cannot ask the workers which queues they consume: %s", exc)
        return None
    return sorted(
        worker
        for worker, queues in (answers or {}).items()
        if any(q.get("name") == GPU_QUEUE for q in queues)
    )


# --- reading a run ---------------------------------------------------------------------------


def head_rows(run: TrainingRun) -> dict[str, dict[str, Any]]:
    """Table 4: per head (t, a, v, m), its test report summarised over the seeds ({} until it
    is done). JSONB does not keep key order, so the heads are put back in order here."""
    summary = (run.report or {}).get("summary") or {}
    return {head: summary[head] for head in ALL_HEADS if head in summary}


def comparison_rows(runs: Sequence[TrainingRun], head: str = "m") -> dict[str, dict[str, Any]]:
    """Table 2: one row per finished run (its `head` summarised over seeds), named
    `name (model)` or `model`; a name repeated gets the run id."""
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        summary = head_rows(run)
        if head not in summary:
            continue
        label = f"{run.name} ({run.model})" if run.name else run.model
        rows[label if label not in rows else f"{label} #{run.pk}"] = summary[head]
    return rows


def comparison_table(runs: Sequence[TrainingRun], head: str = "m") -> str:
    """Table 2 as text: per-emotion F1 of `head`, overall (weighted) F1, macro F1, accuracy."""
    rows = comparison_rows(runs, head)
    if not rows:
        raise RunRefused("None of these runs has finished with a test set; nothing to compare.")
    classes = next((r.report.get("classes") for r in runs if r.report.get("classes")), None)
    seeds = sorted({len(r.seeds) for r in runs})
    title = f"Test set, {head} head, mean ± std over {'/'.join(map(str, seeds))} seed(s)"
    from training.metrics import format_table

    return format_table(rows, classes=classes, title=title)
