"""manage.py export_cherma --campaign X --out DIR: a training-ready dataset of a campaign.

By default the export runs on a worker of the ``export`` queue and this command follows its
progress from the job row; ``--local`` runs it here. ``--cancel``, ``--resume`` and
``--follow`` act on an existing export by its id.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotator.celery import app
from labeling.management.long_jobs import cancel_message
from labeling.models import Campaign, ExportJob
from labeling.selectors.annotation import find_campaign
from labeling.services.exports import (
    DEFAULT_MODELS,
    DEFAULT_OPTIONS,
    ExportBusy,
    create_export,
    request_cancel,
    rerun_export,
    run_export,
)
from training.dataset import CLASS_ORDERS, ExportError
from training.features.sources import PRECISIONS, model_note

EXPORT_QUEUE = "export"
POLL_SECONDS = 0.5
START = (
    "Start a worker for it (`celery -A annotator worker -Q export`) or run the export in "
    "this process with --local."
)


def export_workers(timeout: float) -> set[str] | None:
    """Names of the workers consuming the export queue that answer within ``timeout``;
    None when the broker offers no remote control to ask them."""
    try:
        replies = app.control.inspect(timeout=timeout).active_queues()
    except NotImplementedError:
        return None
    return {
        worker
        for worker, queues in (replies or {}).items()
        if any(queue.get("name") == EXPORT_QUEUE for queue in queues)
    }


class Command(BaseCommand):
    help = (
        "Export a campaign's utterances whose t, a, v and m labels are all decided as a "
        "training-ready dataset (split 6:2:2; text, audio and vision features from the models "
        "named; manifest, datasheet and SHA256SUMS; layout in training/DATASET.md). Runs on a "
        "worker of the export queue and shows its progress, or here with --local. A stopped "
        "or failed export continues from its finished shards when run again (--resume ID)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", help="Campaign name or id.")
        parser.add_argument("--out", type=Path, help="Directory to create (must not exist).")
        for role, kind in (("text", "BERT"), ("audio", "wav2vec 2.0"), ("vision", "ResNet")):
            parser.add_argument(
                f"--{role}-model",
                help=f"{kind} model: a save_pretrained directory or a hub id "
                f"(default: the EXPORT_{role.upper()}_MODEL setting, else "
                f"{DEFAULT_MODELS[role]}: {model_note(DEFAULT_MODELS[role])}).",
            )
        parser.add_argument(
            "--seed", type=int, help=f"Split seed (default {DEFAULT_OPTIONS['seed']})."
        )
        parser.add_argument(
            "--stratify",
            action="store_true",
            default=None,
            help="Split each m label exactly 6:2:2 (exact sizes: utterances may move between "
            "splits when the corpus grows).",
        )
        parser.add_argument(
            "--exact-sizes",
            action="store_true",
            default=None,
            help="Cut exactly 6:2:2 instead of by each utterance's hash; utterances already "
            "exported may then move between splits when the corpus grows.",
        )
        parser.add_argument("--dtype", choices=["float16", "float32"])
        parser.add_argument("--shard-size", type=int, help="Utterances per feature shard.")
        parser.add_argument("--class-order", choices=list(CLASS_ORDERS))
        parser.add_argument(
            "--released-layout",
            action="store_true",
            default=None,
            help="Also write released/ for the released LFMIM code.",
        )
        parser.add_argument(
            "--overwrite", action="store_true", default=None, help="Replace an existing --out."
        )
        parser.add_argument("--name", help="Dataset name in the datasheet (default: campaign).")
        parser.add_argument("--device", help="cpu, cuda, cuda:1 … (default: cuda if available).")
        parser.add_argument(
            "--precision",
            choices=PRECISIONS,
            help="The feature models' arithmetic: auto (default) is bf16 on CUDA and on CPUs "
            "with AMX or AMD's AVX512-BF16, where it is faster, and fp32 elsewhere.",
        )
        parser.add_argument("--max-words", type=int, help="Text: words per transcript (78).")
        parser.add_argument("--segments", type=int, help="Vision: segments per clip (8).")
        parser.add_argument("--per-segment", type=int, help="Vision: frames per segment (8).")
        parser.add_argument("--crop-size", type=int, help="Vision: face crop side (224).")
        parser.add_argument(
            "--compile",
            action="store_true",
            default=None,
            help="Vision: run the ResNet through torch.compile (about 2x faster on a CPU, "
            "tens of seconds to compile once; features equal within rounding).",
        )
        parser.add_argument(
            "--pool",
            action="store_true",
            default=None,
            help="Export the utterances still waiting for labels instead, without labels, in "
            "one split 'pool' (features as a labelled export makes them; to score with a run).",
        )
        parser.add_argument("--local", action="store_true", help="Run here, not on a worker.")
        parser.add_argument(
            "--no-wait", action="store_true", help="Queue the export and return its id."
        )
        parser.add_argument("--cancel", type=int, metavar="JOB_ID", help="Cancel an export.")
        parser.add_argument(
            "--resume", type=int, metavar="JOB_ID", help="Run a stopped export again."
        )
        parser.add_argument(
            "--follow", type=int, metavar="JOB_ID", help="Show an export's progress."
        )
        parser.add_argument(
            "--worker-timeout",
            type=float,
            default=3.0,
            help="Seconds to wait for export workers to answer, or, when the broker cannot "
            "ask them, for the export to leave the queue (default 3).",
        )
        parser.add_argument(
            "--stall-timeout",
            type=float,
            default=900.0,
            help="Give up following when a running export reports nothing for this long.",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        self.opts = options
        if options["cancel"] is not None:
            return self._cancel(options["cancel"])
        if options["follow"] is not None:
            return self._report(self._follow(self._job(options["follow"]), workers=set()))
        if options["resume"] is not None:
            job = self._job(options["resume"])
            workers = None if options["local"] else self._workers()
            try:
                job = rerun_export(job.pk, enqueue=not options["local"])
            except ExportError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Export {job.pk} runs again; finished shards are kept.")
        else:
            if not options["campaign"] or not options["out"]:
                raise CommandError("Give --campaign and --out (or --cancel/--resume/--follow ID).")
            campaign = self._campaign(options["campaign"])
            workers = None if options["local"] else self._workers()
            try:
                job = create_export(
                    campaign=campaign,
                    out_dir=options["out"],
                    options=self._export_options(),
                    enqueue=not options["local"],
                )
            except ExportError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Export {job.pk} of {campaign.name!r} to {job.out_dir}.")
        if options["local"]:
            return self._report(self._run_here(job))
        if options["no_wait"]:
            self.stdout.write(
                f"Queued. Follow it with --follow {job.pk}, cancel it with --cancel {job.pk}."
            )
            return
        return self._report(self._follow(job, workers))

    # --- what to export ----------------------------------------------------------------------

    def _campaign(self, key: str) -> Campaign:
        campaign = find_campaign(key)
        if campaign is None:
            names = ", ".join(Campaign.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No campaign {key!r}. Campaigns: {names}.")
        return campaign

    def _job(self, job_id: int) -> ExportJob:
        job = ExportJob.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"No export {job_id}; the admin lists the exports.")
        return job

    def _export_options(self) -> dict:
        names = [
            "text_model",
            "audio_model",
            "vision_model",
            "seed",
            "stratify",
            "exact_sizes",
            "dtype",
            "shard_size",
            "class_order",
            "released_layout",
            "overwrite",
            "name",
            "device",
            "precision",
            "max_words",
            "segments",
            "per_segment",
            "crop_size",
            "pool",
            "compile",
        ]
        return {name: self.opts[name] for name in names if self.opts[name] is not None}

    # --- running and following ---------------------------------------------------------------

    def _workers(self) -> set[str] | None:
        """The export workers; a clear error when none answers (before anything is queued)."""
        timeout = self.opts["worker_timeout"]
        workers = export_workers(timeout)
        if workers == set():
            message = (
                f"No Celery worker consuming the {EXPORT_QUEUE!r} queue answered within "
                f"{timeout:g} s. {START} (A worker busy with another export under --pool solo "
                "cannot answer: wait for it or raise --worker-timeout.)"
            )
            if not self.opts["no_wait"]:
                raise CommandError(message)
            self.stderr.write(message + " The export waits in the queue until a worker starts.")
        return workers

    def _run_here(self, job: ExportJob) -> ExportJob:
        with tqdm(
            total=0, unit="utterance", desc="exporting", disable=self.opts["no_progress"]
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.total, bar.n = total, done
                bar.refresh()

            try:
                return run_export(job.pk, progress=progress)
            except ExportBusy as busy:
                raise CommandError(str(busy)) from busy

    def _follow(self, job: ExportJob, workers: set[str] | None) -> ExportJob:
        """Show the job row's progress until the export ends.

        When the broker cannot tell whether a worker listens (``workers is None``), an export
        still queued after --worker-timeout is cancelled with advice rather than waited on.
        """
        started = last_change = time.monotonic()
        last_seen = None
        queue_timeout, stall_timeout = self.opts["worker_timeout"], self.opts["stall_timeout"]
        with tqdm(
            total=job.total, unit="utterance", desc="exporting", disable=self.opts["no_progress"]
        ) as bar:
            while True:
                job.refresh_from_db()
                bar.total, bar.n = job.total, job.done
                bar.set_postfix_str(job.status, refresh=True)
                if job.is_finished:
                    return job
                now = time.monotonic()
                if job.updated_at != last_seen:
                    last_change, last_seen = now, job.updated_at
                queued = job.status == ExportJob.Status.QUEUED
                if queued and workers is None and now - started > queue_timeout:
                    request_cancel(job.pk)
                    raise CommandError(
                        f"Export {job.pk} was still queued after {queue_timeout:g} s, so no "
                        f"worker seems to consume the {EXPORT_QUEUE!r} queue; it is "
                        f"cancelled. {START}"
                    )
                if not queued and now - last_change > stall_timeout:
                    raise CommandError(
                        f"Export {job.pk} has reported nothing for {stall_timeout:.0f} s; its "
                        f"worker may have died. Check the worker; --resume {job.pk} continues "
                        "the export."
                    )
                time.sleep(POLL_SECONDS)

    def _report(self, job: ExportJob) -> None:
        if job.status == ExportJob.Status.DONE:
            result = job.result
            sizes = ", ".join(f"{split} {n}" for split, n in result["sizes"].items())
            self.stdout.write(f"Export {job.pk} done: {job.out_dir}")
            self.stdout.write(
                f"  utterances with features: {sizes}; failed {result['failed_count']}"
                f" (listed in the datasheet); shards {result['num_shards']}"
                f" ({len(result['reused_shards'])} reused from an earlier run)."
            )
            if result["without_media"]:
                self.stdout.write(
                    f"  {len(result['without_media'])} decided utterances have no media "
                    "(imported as labels only) and are not exported."
                )
            return
        raise CommandError(f"Export {job.pk} {job.status}: {job.error}")

    def _cancel(self, job_id: int) -> None:
        job = request_cancel(self._job(job_id).pk)
        running = (
            f"Asked export {job.pk} to stop; it stops within a few seconds and keeps its "
            f"finished shards (--resume {job.pk} continues it)."
        )
        self.stdout.write(cancel_message(job, "Export", running))
