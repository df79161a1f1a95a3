"""Exporting a campaign as a training-ready dataset (layout: ``training/DATASET.md``).

``create_export`` records what was asked as an ``ExportJob`` and queues it on the ``export``
queue after commit; ``run_export`` (a worker, or ``export_cherma --local``) selects the
utterances whose four labels are decided, loads the three feature models and calls the pure
exporter, keeping the job row up to date. Atomic and resumable because the exporter is: a
cancelled, failed or killed run leaves only ``.<out_dir>.partial``, and running the job again
(``rerun_export``), or a new job to the same directory with the same selection, seed and
models, keeps the shards already finished.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from labeling.models import Campaign, ExportJob
from labeling.selectors.exports import (
    Selection,
    check_exportable,
    datasheet_statistics,
    export_readiness,
    select_export_records,
    select_pool_records,
)
from labeling.services import long_jobs
from training.dataset.records import (
    CLASS_ORDERS,
    ExportCancelled,
    ExportError,
    ExportLocked,
    Extractors,
)
from training.features.sources import PRECISIONS, model_note, on_this_machine, weight_files

# The writer (and with it PyTorch and transformers) is imported where an export runs: the
# web process imports this module to queue exports and should not load them.

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (utterances done, utterances selected)

ROLES: tuple[str, ...] = ("text", "audio", "vision")
# The defaults: the paper's kinds of text and audio model (§3.3: Chinese BERT-wwm, a wav2vec 2.0
# trained on WenetSpeech) and, for vision, an ImageNet ResNet-18: a substitute for the paper's
# RAF-DB ResNet-18, which is not on the hub (training.features.sources says so wherever it is
# named). Each can be replaced by the setting or environment variable EXPORT_<ROLE>_MODEL.
DEFAULT_MODELS = {
    "text": "hfl/chinese-bert-wwm-ext",
    "audio": "TencentGameMate/chinese-wav2vec2-base",
    "vision": "microsoft/resnet-18",
}
# What an ExportJob's options may hold, with the type each must have and its default.
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "text_model": (str,),
    "audio_model": (str,),
    "vision_model": (str,),
    "device": (str, type(None)),
    "precision": (str,),  # the models' arithmetic: auto (bf16 where faster), fp32 or bf16
    "name": (str,),
    "seed": (int,),
    "stratify": (bool,),
    "exact_sizes": (bool,),  # cut exactly 6:2:2; ids may move as the corpus grows
    "dtype": (str,),
    "shard_size": (int,),
    "class_order": (str,),
    "released_layout": (bool,),
    "overwrite": (bool,),
    "max_words": (int,),  # text: words padded to this, + CLS and SEP (paper: 78 → 80 tokens)
    "segments": (int,),  # vision: the clip split into this many segments ...
    "per_segment": (int,),  # ... with this many frames sampled from each (paper: 8 × 8)
    "crop_size": (int,),  # vision: face crop side in pixels (paper: 224)
    "pool": (bool,),  # the utterances without four final labels, unlabelled, split `pool`
    "compile": (bool,),  # vision: torch.compile the ResNet (about 2x; tens of s to compile)
}
DEFAULT_OPTIONS: dict[str, Any] = {
    "device": None,
    "precision": "auto",
    "name": "",
    "seed": 0,
    "stratify": False,
    "exact_sizes": False,
    "dtype": "float16",
    "shard_size": 512,
    "class_order": "paper",
    "released_layout": False,
    "overwrite": False,
    "max_words": 78,
    "segments": 8,
    "per_segment": 8,
    "crop_size": 224,
    "pool": False,
    "compile": False,
}
PROGRESS_INTERVAL_SECONDS = 1.0  # how often a running export writes its progress to the row


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, None) or os.environ.get(name) or default)


def export_options(**given: Any) -> dict[str, Any]:
    """Complete and check an export's options; ``ExportError`` says what is wrong."""
    unknown = sorted(set(given) - set(OPTION_TYPES))
    if unknown:
        raise ExportError(
            f"Unknown export option(s) {', '.join(unknown)}; "
            f"the options are {', '.join(OPTION_TYPES)}."
        )
    models = {f"{role}_model": default_model(role) for role in ROLES}
    options = {**models, **DEFAULT_OPTIONS, **{k: v for k, v in given.items() if v is not None}}
    for key, value in options.items():
        types = OPTION_TYPES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ExportError(f"Export option {key} must be {wanted}, not {value!r}.")
    if options["dtype"] not in ("float16", "float32"):
        raise ExportError(f"dtype must be float16 or float32, not {options['dtype']!r}.")
    if options["precision"] not in PRECISIONS:
        raise ExportError(
            f"precision must be {', '.join(PRECISIONS)}, not {options['precision']!r}."
        )
    if options["class_order"] not in CLASS_ORDERS:
        raise ExportError(
            f"class_order must be {' or '.join(CLASS_ORDERS)}, not {options['class_order']!r}."
        )
    for key in ("shard_size", "max_words", "segments", "per_segment", "crop_size"):
        if options[key] < 1:
            raise ExportError(f"Export option {key} must be at least 1, not {options[key]}.")
    if options["max_words"] > 510:
        raise ExportError("max_words must be at most 510: BERT reads 512 tokens with CLS and SEP.")
    return options


def export_root() -> Path:
    """Where exports are written from the web UI and read by runs started from it:
    EXPORT_ROOT (setting or environment)."""
    return Path(_setting("EXPORT_ROOT", str(Path(settings.VAR_DIR) / "exports")))


def default_out_dir(campaign: Campaign) -> Path:
    """Where the admin's Export button writes: a new folder under export_root()."""
    name = slugify(campaign.name) or "campaign"
    return export_root() / f"{name}-{campaign.pk}-{timezone.now():%Y%m%d-%H%M%S}"


# --- jobs ------------------------------------------------------------------------------------


def create_export(
    *,
    campaign: Campaign,
    out_dir: str | Path,
    options: dict[str, Any] | None = None,
    user=None,
    enqueue: bool = True,
) -> ExportJob:
    """Record an export of ``campaign`` to ``out_dir`` and queue it (unless ``enqueue=False``,
    for running it here with ``run_export``). Refused (``ExportError``) when no utterance is
    usable yet, saying how many are and why the others are not."""
    check_exportable(campaign)
    options = export_options(**(options or {}))
    if options["pool"]:
        _pool_selection(campaign)
    else:
        readiness = export_readiness(campaign)
        if not readiness.usable:
            raise ExportError(readiness.refusal())
    if campaign.is_multi_label and options["released_layout"]:
        raise ExportError(
            f"Campaign {campaign.name!r} is multi-label; the released LFMIM layout holds one "
            "label per modality. Export it without released_layout."
        )
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not options["overwrite"]:  # the exporter checks again at the end
        raise ExportError(f"{out_dir} already exists; choose another directory or overwrite it.")
    with transaction.atomic():
        job = ExportJob.objects.create(
            campaign=campaign, out_dir=str(out_dir), options=options, created_by=user
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_export(job.pk))
    return job


def rerun_export(job_id: int, *, enqueue: bool = True) -> ExportJob:
    """Queue a failed, cancelled or killed export again; it continues from its finished shards.

    A job still shown as running is accepted too (its worker may have been killed): if it is
    in fact alive, the exporter's lock makes the second run stop at once.
    """
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ExportJob.Status.DONE:
            raise ExportError(
                f"Export {job.pk} is done: its dataset is in {job.out_dir}. Start a new export "
                "(with overwrite to replace it) to export again."
            )
        long_jobs.requeue_job(job)
        if enqueue:
            transaction.on_commit(lambda: enqueue_export(job.pk))
    return job


def request_cancel(job_id: int) -> ExportJob:
    """Cancel a queued export now; ask a running one to stop (it keeps its finished shards)."""
    return long_jobs.request_cancel(ExportJob, job_id)


def enqueue_export(job_id: int) -> None:
    """Queue the export on the ``export`` queue; call from ``transaction.on_commit``."""
    from labeling.tasks import export_dataset_task  # tasks import this module

    export_dataset_task.delay(job_id)


STALE_AFTER = long_jobs.STALE_AFTER


class ExportBusy(ExportError):
    """A live worker is writing this export (or its directory) now; try again after
    `retry_after` seconds. Nothing about the job was changed."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


def run_export(job_id: int, *, progress: Progress | None = None) -> ExportJob | None:
    """Run a queued export (or continue one whose worker died) and record how it ended.

    ``progress(done, total)`` is called per utterance besides the throttled updates of the
    row; a cancel request is seen within ``PROGRESS_INTERVAL_SECONDS``. Returns the job, or
    None if there is no such job. Raises ExportBusy while another worker runs it (a
    redelivered message, or "run again" on an export that is in fact alive).
    """
    from training.dataset.writer import export_dataset, partial_path

    job = _claim(job_id)
    if job is None or job.status != ExportJob.Status.RUNNING:
        return job
    partial = partial_path(job.out_dir)
    try:
        options = export_options(**job.options)
        for role in ROLES:  # seconds; loading a model that is not there takes minutes
            check_model_source(role, options[f"{role}_model"])
        pool = options["pool"]
        selection = (_pool_selection if pool else select_export_records)(job.campaign)
        long_jobs.update_job(job, done=0, total=len(selection.records))
        extractors = load_extractors(options)
        long_jobs.update_job(job, heartbeat_at=timezone.now())  # loading may take minutes
        result = export_dataset(
            selection.records,
            job.out_dir,
            extractors=extractors,
            seed=options["seed"],
            name=options["name"] or job.campaign.name,
            class_order=options["class_order"],
            # A multi-label campaign's own label set, in its order, is the class order.
            classes=job.campaign.label_names if job.campaign.is_multi_label else None,
            label_mode=job.campaign.label_mode,
            dtype=options["dtype"],
            shard_size=options["shard_size"],
            stratify=options["stratify"],
            exact_sizes=options["exact_sizes"],
            released_layout=options["released_layout"],
            statistics=None
            if pool
            else lambda exported: datasheet_statistics(job.campaign, selection, exported),
            progress=_RowProgress(job.pk, partial, progress),
            should_stop=lambda: _cancel_requested(job.pk),
            overwrite=options["overwrite"],
            pool=pool,
        )
    except ExportCancelled as exc:
        long_jobs.finish_job(job, ExportJob.Status.CANCELLED, error=str(exc))
    except ExportLocked as exc:
        # The worker holding the lock owns the row and keeps its heartbeat fresh; this run
        # only gives back the attempt it counted.
        long_jobs.update_job(job, attempts=job.attempts - 1)
        raise ExportBusy(f"{exc} It continues there.", STALE_AFTER.total_seconds()) from None
    except ExportError as exc:
        long_jobs.finish_job(job, ExportJob.Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        long_jobs.finish_job(
            job,
            ExportJob.Status.FAILED,
            error=f"The export stopped on an unexpected error ({type(exc).__name__}: {exc}). "
            f"Finished shards are kept in {partial}: fix the cause and run export {job.pk} "
            "again to continue.",
        )
    except BaseException:  # interrupted (Ctrl-C in --local): say so, and let it propagate
        long_jobs.finish_job(
            job,
            ExportJob.Status.FAILED,
            error=f"The export was interrupted. Finished shards are kept in {partial}: run "
            f"export {job.pk} again to continue.",
        )
        raise
    else:
        long_jobs.finish_job(
            job, ExportJob.Status.DONE, error="", result=_summary(result, selection)
        )
    job.refresh_from_db()  # with the progress the export wrote
    return job


def _pool_selection(campaign: Campaign) -> Selection:
    """A pool export's utterances: those with jobs and not yet four final labels."""
    selection = select_pool_records(campaign)
    if not selection.records:
        raise ExportError(
            f"Campaign {campaign.name!r} has no utterance with media waiting for labels; every "
            "utterance with jobs has its four labels final (export it without pool)."
        )
    return selection


def _claim(job_id: int) -> ExportJob | None:
    """Mark the job running if it should run: queued, or running when its worker went
    silent (no heartbeat for STALE_AFTER: it died). ExportBusy while its worker is alive."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update(of=("self",))
            .select_related("campaign__corpus")
            .filter(pk=job_id)
            .first()
        )
        if job is None:
            logger.warning("export %s does not exist (deleted?); nothing to run", job_id)
            return None
        if job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return job  # finished already: a repeated delivery, or cancelled while queued
        now = timezone.now()
        left = long_jobs.life_left(job, now)
        if job.status == ExportJob.Status.RUNNING and left.total_seconds() > 0:
            raise ExportBusy(
                f"Export {job.pk} is being written by another worker.", left.total_seconds() + 1
            )
        if job.cancel_requested:
            long_jobs.finish_job(
                job, ExportJob.Status.CANCELLED, error="Cancelled before it started."
            )
            return job
        long_jobs.update_job(
            job,
            status=ExportJob.Status.RUNNING,
            attempts=job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error="",
        )
    return job


class _RowProgress:
    """Writes progress to the job row at most every PROGRESS_INTERVAL_SECONDS, and stops the
    export there when a cancel was requested (the update then matches no row)."""

    def __init__(self, job_id: int, partial: Path, callback: Progress | None) -> None:
        self.job_id, self.partial, self.callback = job_id, partial, callback
        self.last = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        if self.callback is not None:
            self.callback(done, total)
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now
        # The heartbeat is the sign of life a redelivery checks (STALE_AFTER).
        running = ExportJob.Status.RUNNING
        if not long_jobs.report_progress(
            ExportJob, self.job_id, done=done, total=total, status=running
        ):
            raise ExportCancelled(_cancelled_message(self.partial))


def _cancel_requested(job_id: int) -> bool:
    return ExportJob.objects.filter(pk=job_id, cancel_requested=True).exists()


def _cancelled_message(partial: Path) -> str:
    return (
        f"Cancelled on request; finished shards are kept in {partial} and running the export "
        "again (same selection, seed and models) continues from them."
    )


def _summary(result, selection: Selection) -> dict:
    """What the job row keeps of a finished export (the datasheet has the rest)."""
    files = [p for p in Path(result.out_dir).rglob("*") if p.is_file()]
    return {
        "sizes": result.sizes,
        "failed_count": len(result.failed),
        "failed": result.failed[:100],
        "num_shards": result.num_shards,
        "reused_shards": result.reused_shards,
        "without_media": selection.without_media,
        "bytes": sum(p.stat().st_size for p in files),
    }


# --- models ----------------------------------------------------------------------------------


def load_extractors(options: dict) -> Extractors:
    """The three feature extractors the options name (``check_model_source`` each first)."""
    names = {role: options[f"{role}_model"] for role in ROLES}
    try:
        extractors = Extractors.from_pretrained(
            names["text"],
            names["audio"],
            names["vision"],
            device=options["device"],
            precision=options["precision"],
            segments=options["segments"],
            per_segment=options["per_segment"],
            crop_size=options["crop_size"],
            compile=options["compile"],
        )
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        models = ", ".join(f"{role} {name!r}" for role, name in names.items())
        raise ExportError(
            f"Could not load the feature models ({models}): {exc}. Check that each is a "
            "model of its kind (BERT, wav2vec 2.0, ResNet) saved with save_pretrained."
        ) from exc
    # from_pretrained passes options to the vision extractor only; the text extractor reads
    # max_words at each call (tokenizer length, sequence_length, describe()).
    extractors.text.max_words = options["max_words"]
    return extractors


# describe() keys added after datasets were made, with the value those datasets had:
# extraction ran in fp32 before the precision option, and uncompiled before compile.
SETTINGS_BEFORE = {
    "text": {"compute_precision": "fp32"},
    "audio": {"compute_precision": "fp32"},
    "vision": {"compute_precision": "fp32", "compiled": False},
}


def dataset_extractors(sheet: dict) -> dict[str, dict]:
    """A datasheet's extractor descriptions, settings added since then filled in."""
    return {role: {**SETTINGS_BEFORE[role], **sheet["extractors"][role]} for role in ROLES}


def load_dataset_extractors(sheet: dict, *, device: str | None = None) -> tuple[Extractors, str]:
    """The extractors a dataset's features were made with, loaded again from the models and
    settings its datasheet records, and its feature dtype: new utterances then get the
    features its own utterances have. ExportError when a model or setting is no longer
    what the datasheet describes (a model changed on disk, another library version)."""
    described = dataset_extractors(sheet)
    vision = described["vision"]
    options = export_options(
        **{f"{role}_model": described[role]["model"] for role in ROLES},
        device=device,
        precision=described["text"]["compute_precision"],
        max_words=described["text"]["max_words"],
        segments=vision["segments"],
        per_segment=vision["per_segment"],
        crop_size=vision["crop_size"],
        compile=vision["compiled"],
    )
    for role in ROLES:
        check_model_source(role, options[f"{role}_model"])
    extractors = load_extractors(options)
    # Before group-norm wav2vec models batched clips of any length, datasheets said False.
    extractors.audio.batch_any_length = described["audio"]["batched_with_attention_mask"]
    loaded = {"text": extractors.text, "audio": extractors.audio, "vision": extractors.vision}
    for role, extractor in loaded.items():
        now = json.loads(json.dumps(extractor.describe(), ensure_ascii=False, default=str))
        then = described[role]
        changed = sorted(k for k in {*now, *then} if now.get(k) != then.get(k))
        if changed:
            raise ExportError(
                f"The {role} model {options[f'{role}_model']!r} no longer makes this dataset's "
                f"features: {', '.join(changed)} differ from its datasheet. Restore that model "
                "(and library versions), or export the campaign again and train a new run."
            )
    return extractors, sheet["dtype"]


def default_model(role: str) -> str:
    """The model an export uses unless told: EXPORT_<ROLE>_MODEL, else DEFAULT_MODELS."""
    return _setting(f"EXPORT_{role.upper()}_MODEL", DEFAULT_MODELS[role])


@dataclass(frozen=True)
class ModelChoice:
    source: str  # a save_pretrained directory or a hub id
    label: str  # what the export form shows
    available: bool  # on this machine (a directory, or in the Hugging Face cache)


def feature_model_choices(role: str) -> list[ModelChoice]:
    """The models the export form offers for ``role``: the configured ones
    (EXPORT_FEATURE_MODELS), the default, then the random models make_demo saved under
    FEATURE_MODELS_DIR. Looked up at each call, so models saved later appear."""
    entries = [*settings.EXPORT_FEATURE_MODELS.get(role, ()), (default_model(role),) * 2]
    demo = Path(settings.FEATURE_MODELS_DIR)
    entries += [
        (path.name, str(path))
        for path in sorted(demo.glob(f"random-*-{role}"))
        if (path / "config.json").is_file()
    ]
    choices, seen = [], set()
    for label, source in entries:
        if source in seen:
            continue
        seen.add(source)
        note = model_note(source)
        available = on_this_machine(source)
        shown = f"{label} ({note})" if note and note not in label else label
        choices.append(
            ModelChoice(source, shown if available else f"{shown}: not on this machine", available)
        )
    return choices


# The architectures the extractors load (text: any AutoModel encoder, BERT in the paper).
MODEL_TYPES = {"audio": ("wav2vec2",), "vision": ("resnet",)}


def check_model_source(role: str, name: str, *, offline: bool = False) -> None:
    """Fail early, with advice, when a model is neither a local directory nor obtainable, or
    is of the wrong kind (which from_pretrained would load with random weights). With
    ``offline`` a hub id must already be in this machine's cache (config and weights, as
    ``local_files_only`` loads it): the export form refuses it at once rather than queue an
    export that fails on the worker."""
    advice = (
        f"give a directory saved with save_pretrained() or a hub id with --{role}-model "
        f"(export_cherma) or the EXPORT_{role.upper()}_MODEL setting or environment variable"
    )
    path = Path(name).expanduser()
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise ExportError(f"The {role} model directory {path} has no config.json; {advice}.")
        return _check_model_type(role, name, config)
    if path.is_absolute() or name.startswith((".", "~")) or path.exists() or name.count("/") > 1:
        raise ExportError(f"The {role} model {name!r} is no directory on this machine; {advice}.")
    from huggingface_hub import HfApi, constants, try_to_load_from_cache

    cached = try_to_load_from_cache(name, "config.json")
    if isinstance(cached, str) and (not offline or weight_files(name)):
        return _check_model_type(role, name, Path(cached))
    if offline:
        raise ExportError(
            f"The {role} model {name!r} is not downloaded to this machine (its Hugging Face "
            "cache has no copy), so an export with it would fail. Download it where there is "
            f"a network (`hf download {name}`) into this machine's cache, or choose a model "
            "that is on this machine."
        )
    if constants.HF_HUB_OFFLINE:
        reason = "HF_HUB_OFFLINE is set"
    else:
        try:
            HfApi().model_info(name, timeout=10)
            return  # reachable: from_pretrained downloads it
        except Exception as exc:  # noqa: BLE001 - any failure means: not obtainable from here
            reason = f"the hub cannot be reached ({exc})"
    raise ExportError(
        f"The {role} model {name!r} is not in this machine's Hugging Face cache and {reason}. "
        f"Download it where there is a network (`hf download {name}`) into this machine's "
        f"cache, or {advice}."
    )


def _check_model_type(role: str, name: str, config: Path) -> None:
    found = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    expected = MODEL_TYPES.get(role)
    if expected and found not in expected:
        raise ExportError(
            f"The {role} model {name!r} is a {found!r} model; the {role} features need "
            f"{' or '.join(expected)} (--{role}-model, EXPORT_{role.upper()}_MODEL)."
        )
