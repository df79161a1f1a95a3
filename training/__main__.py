"""Train on an exported dataset from the command line, over several seeds.

    python -m training --dataset DIR --model lfmim --preset paper --seeds 5 --out OUT
    python -m training --dataset mosei.pkl --model tailor --optimizer adamw --lr 5e-5 ...
    torchrun --nproc-per-node 4 -m training --dataset DIR --model lfmim --preset released ...

DIR is an exported dataset, or a CMU-MOSEI-style feature file (training/DATASET.md);
multi-label data train with BCE and are decided at --threshold. Seed s trains in
OUT/seed-<s>; OUT/summary.json and OUT/report.txt hold the mean ± std over seeds. Ctrl-C
stops cleanly after the current step (saved; `--resume` continues); a second Ctrl-C aborts at
once. Pure PyTorch: no Django is imported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.engine import TrainConfig, TrainingCancelled, train_seeds
from training.engine.config import LABEL_MODES, OPTIMIZERS, PRECISIONS, SCHEDULES, SELECT_METRICS
from training.engine.splits import open_splits
from training.models import MODEL_NAMES
from training.options import parse_key_value

# Command-line flag -> TrainConfig field, for the flags that map one to one.
_FIELDS = (
    "model", "preset", "epochs", "batch_size", "eval_batch_size", "optimizer", "lr", "momentum",
    "weight_decay", "schedule", "grad_clip", "num_workers", "mixed_precision", "device",
    "audio_len", "audio_how", "checkpoint_every", "max_steps_per_epoch", "select_head",
    "select_metric", "standardize", "label_mode", "threshold",
)  # fmt: skip


def key_value_argument(text: str) -> tuple[str, Any]:
    """argparse type for `--set key=value`."""
    try:
        return parse_key_value(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _beta(text: str) -> dict[str, float]:
    try:
        return {k: float(v) for k, v in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. t=1,a=1,v=1,m=1, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training",
        description="Train LFMIM, a baseline or TAILOR on an exported dataset (or a CMU-MOSEI-"
        "style feature file) over several seeds.",
    )
    p.add_argument(
        "--dataset",
        required=True,
        type=Path,
        help="an exported dataset directory, or a CMU-MOSEI-style feature file (.pkl/.pt)",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory of the runs")
    p.add_argument("--config", type=Path, help="a TrainConfig JSON file; flags override it")
    p.add_argument("--model", choices=MODEL_NAMES)
    p.add_argument("--preset", help="model preset (lfmim: paper or released)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=key_value_argument,
        default=[],
        metavar="KEY=VALUE",
        help="model setting, e.g. --set d_model=64 (repeatable)",
    )
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    p.add_argument("--first-seed", type=int, default=0, help="seeds are first..first+n-1")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="per process (per GPU under torchrun)")
    p.add_argument("--eval-batch-size", type=int)
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float)
    p.add_argument("--momentum", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--grad-clip", type=float)
    p.add_argument("--beta", type=_beta, help="loss weight per head, e.g. t=1,a=1,v=1,m=1")
    p.add_argument("--num-workers", type=int)
    p.add_argument("--mixed-precision", choices=PRECISIONS)
    p.add_argument("--device", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--audio-len", type=int, help="audio frames per utterance (default 100)")
    p.add_argument("--audio-how", choices=("sample", "cut"))
    p.add_argument(
        "--standardize",
        action="store_true",
        default=None,
        help="standardise each feature dimension with the training split's mean and std",
    )
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--max-steps-per-epoch", type=int)
    p.add_argument("--select-head", choices=("t", "a", "v", "m"))
    p.add_argument("--select-metric", choices=SELECT_METRICS)
    p.add_argument(
        "--label-mode", choices=LABEL_MODES, help="default: the dataset's (single-label if unsaid)"
    )
    p.add_argument(
        "--threshold",
        type=float,
        help="multi-label: an emotion is predicted when its sigmoid exceeds this (default 0.35)",
    )
    p.add_argument("--resume", action="store_true", help="continue the runs in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log every epoch")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values: dict[str, Any] = {}
    if args.config is not None:
        values = json.loads(args.config.read_text())
    values.update({f: getattr(args, f) for f in _FIELDS if getattr(args, f) is not None})
    if args.beta is not None:
        values["beta"] = {**values.get("beta", {}), **args.beta}
    if args.overrides:
        values["model_overrides"] = {**values.get("model_overrides", {}), **dict(args.overrides)}
    return TrainConfig.from_dict(values)


class ProgressBar:
    """A tqdm bar over one seed's steps, and one line per epoch with validation scores."""

    def __init__(self, seed: int, enabled: bool):
        self.seed, self.enabled, self.bar = seed, enabled, None

    def on_step(self, step: int, total: int, loss: float) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=step - 1, desc=f"seed {self.seed}", unit="step")
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4f}")
        if step == total:
            self.bar.close()

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        heads = (metrics.get("validation") or {}).get("heads", {})
        scores = " ".join(f"{h}={100 * m['f1_weighted']:.2f}" for h, m in heads.items())
        line = f"seed {self.seed} epoch {epoch}: train loss {metrics['train']['loss']:.4f}"
        line += f"; validation weighted F1 % {scores}" if scores else ""
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)  # above the bar, if one is showing


class StopOnInterrupt:
    """First Ctrl-C: ask the trainer to stop after the current step; second: abort."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> StopOnInterrupt:
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nStopping after this step (Ctrl-C again to abort)…", file=sys.stderr)

    def __call__(self) -> bool:
        return self.requested


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = config_from_args(args)
        splits = open_splits(args.dataset, config)
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        with StopOnInterrupt() as stop:
            outcome = train_seeds(
                config,
                seeds,
                splits.train,
                splits.validation,
                splits.test,
                args.out,
                callbacks_for=lambda seed: [ProgressBar(seed, not args.no_progress)],
                should_stop=stop,
                resume=args.resume,
                classes=splits.classes,
            )
    except TrainingCancelled as exc:
        print(f"{exc} (command line: add --resume)", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError) as exc:  # FeatureFileError too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 reports
    if outcome.summary is not None:
        print(outcome.table(f"{config.model} on {args.dataset}, test set, seeds {seeds}"))
    print(f"Runs, checkpoints and summary are in {args.out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
