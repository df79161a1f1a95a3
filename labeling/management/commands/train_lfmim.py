"""manage.py train_lfmim: train LFMIM or a baseline on an exported dataset, as a recorded run.

By default the run goes to a worker consuming the `gpu` queue and this command follows its
progress (Ctrl-C stops following, not the run); `--local` trains here in the foreground with a
progress bar (Ctrl-C stops after the current step, saved). `--cancel RUN_ID` stops a run,
`--resume RUN_ID` continues a cancelled or failed one from its last checkpoint.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.management.long_jobs import cancel_message
from labeling.models import TrainingRun
from labeling.services import training as runs
from training.__main__ import ProgressBar, StopOnInterrupt, key_value_argument
from training.metrics import format_table
from training.models import MODEL_NAMES


class Command(BaseCommand):
    help = (
        "Train LFMIM or a baseline on an exported dataset over several seeds, recorded as a "
        "training run (pages: /runs/). Queued to a gpu worker unless --local."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset",
            help="an exported dataset directory, or a CMU-MOSEI-style feature file (.pkl/.pt: "
            "aligned text, vision, audio and emotion labels per split, e.g. to train TAILOR)",
        )
        parser.add_argument("--model", choices=MODEL_NAMES, default="lfmim")
        parser.add_argument("--preset", help="model preset (lfmim: paper or released)")
        parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
        parser.add_argument("--epochs", type=int, help="epochs per seed (default 20)")
        add_set_option(parser)
        parser.add_argument("--name", default="", help="a name for the run")
        parser.add_argument("--out", help="checkpoint folder (default TRAINING_RUNS_ROOT/run-N)")
        parser.add_argument("--local", action="store_true", help="train here, in the foreground")
        parser.add_argument("--no-wait", action="store_true", help="queue and return at once")
        parser.add_argument("--cancel", type=int, metavar="RUN_ID", help="stop a run")
        parser.add_argument(
            "--resume", type=int, metavar="RUN_ID", help="continue a cancelled or failed run"
        )
        parser.add_argument(
            "--worker-timeout",
            type=float,
            default=3.0,
            help="seconds to wait for workers to say which queues they consume (default 3)",
        )
        parser.add_argument(
            "--queue-timeout",
            type=float,
            default=60.0,
            help="when the broker cannot list workers: give up following a run still queued "
            "after this many seconds (default 60)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        self.consumers: list[str] | None = None  # gpu workers, when the broker can tell
        if options["cancel"] is not None:
            return self._cancel(options["cancel"])
        try:
            if options["resume"] is not None:
                run = self._resume(options)
            else:
                run = self._start(options)
        except runs.RunRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["local"]:
            self._train_here(run, options)
        elif options["no_wait"]:
            self.stdout.write(
                f"Run {run.pk} is queued for a gpu worker; follow it at /runs/{run.pk}/ or "
                f"stop it with train_lfmim --cancel {run.pk}."
            )
            return
        else:
            self._follow(run, options)
        self._report(TrainingRun.objects.get(pk=run.pk))

    def _start(self, options) -> TrainingRun:
        if not options["dataset"]:
            raise CommandError(
                "Give --dataset DIR (an exported dataset) or FILE (a CMU-MOSEI-style feature "
                "file), or --cancel/--resume."
            )
        config = runs.make_config(
            options["model"],
            preset=options["preset"],
            epochs=options["epochs"],
            options=options["options"],
        )
        if not options["local"]:
            self._check_workers(options)
        run = runs.start_run(
            dataset_path=options["dataset"],
            config=config,
            seeds=options["seeds"],
            name=options["name"],
            out_dir=options["out"],
            enqueue=not options["local"],
        )
        where = "here" if options["local"] else "on a gpu worker"
        self.stdout.write(
            f"Run {run.pk}: {config.model} ({config.preset_name}), seeds {run.seeds}, "
            f"{config.epochs} epochs, {where}; checkpoints in {run.out_dir}."
        )
        return run

    def _resume(self, options) -> TrainingRun:
        if not options["local"]:
            self._check_workers(options)
        run = runs.continue_run(options["resume"], enqueue=not options["local"])
        self.stdout.write(f"Run {run.pk} continues from its checkpoints in {run.out_dir}.")
        return run

    def _check_workers(self, options) -> None:
        self.consumers = runs.gpu_consumers(timeout=options["worker_timeout"])
        if self.consumers == []:
            raise CommandError(
                f"No worker consumes the '{runs.GPU_QUEUE}' queue (none answered within "
                f"{options['worker_timeout']:g} s). Start one with `celery -A annotator worker "
                f"-Q {runs.GPU_QUEUE} --concurrency 1` (docker compose: the gpu-worker service), "
                "or train here with --local."
            )

    def _cancel(self, run_id: int) -> None:
        try:
            run = runs.request_cancel(run_id)
        except TrainingRun.DoesNotExist:
            raise CommandError(f"There is no run {run_id}.") from None
        running = (
            f"Run {run.pk} will stop after its current step (saved; "
            f"--resume {run.pk} continues it)."
        )
        self.stdout.write(cancel_message(run, "Run", running))

    def _train_here(self, run: TrainingRun, options) -> None:
        with StopOnInterrupt() as stop:
            runs.run_training(
                run.pk,
                callbacks_for=lambda seed: [ProgressBar(seed, not options["no_progress"])],
                should_stop=stop,
            )

    def _follow(self, run: TrainingRun, options) -> None:
        """Show the run's progress until it finishes; a run nobody picks up is an error when
        the broker could not say whether a gpu worker exists."""
        bar, shown, began = None, 0, time.monotonic()
        try:
            while True:
                run.refresh_from_db()
                for row in run.epochs.order_by("recorded_at", "pk")[shown:]:
                    shown += 1  # one line per epoch, as the --local progress bar writes it
                    ProgressBar(row.seed, enabled=False).on_epoch_end(row.epoch, row.metrics)
                if run.total_steps and not options["no_progress"]:
                    if bar is None:
                        bar = tqdm(total=run.total_steps, desc=f"run {run.pk}", unit="step")
                    bar.update(run.step - bar.n)
                if run.is_finished:
                    break
                waited = time.monotonic() - began
                if (
                    run.status == TrainingRun.Status.QUEUED
                    and self.consumers is None
                    and waited > options["queue_timeout"]
                ):
                    raise CommandError(
                        f"Run {run.pk} is still queued after {waited:.0f} s: no worker seems to "
                        f"consume the '{runs.GPU_QUEUE}' queue (this broker cannot list the "
                        f"workers). Start a gpu worker, or cancel it (--cancel {run.pk}) and "
                        "train here with --local."
                    )
                time.sleep(1.0)
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped following; run {run.pk} goes on on the worker "
                f"(/runs/{run.pk}/; stop it with --cancel {run.pk})."
            ) from None
        finally:
            if bar is not None:
                bar.close()

    def _report(self, run: TrainingRun) -> None:
        if run.status != TrainingRun.Status.DONE:
            raise CommandError(f"Run {run.pk} {run.status}: {run.error}")
        rows = runs.head_rows(run)
        if rows:
            title = f"Run {run.pk}: {run.model} test set, seeds {run.seeds}, per head"
            self.stdout.write(format_table(rows, classes=run.report["classes"], title=title))
        self.stdout.write(f"Checkpoints and reports are in {run.out_dir}.")


def add_set_option(parser, scope: str = "") -> None:
    """`--set KEY=VALUE` (repeatable), read as `python -m training --set` reads it."""
    parser.add_argument(
        "--set",
        dest="options",
        action="append",
        type=key_value_argument,
        default=[],
        metavar="KEY=VALUE",
        help=f"a training setting (batch_size=16, lr=0.001, …) or a model setting "
        f"(d_model=64, …){scope}; repeatable",
    )
