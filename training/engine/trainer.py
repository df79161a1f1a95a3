"""`train()`: one seeded, resumable, optionally multi-process training run.

Per epoch: train (order and randomness derived from the seed and the epoch), validate, keep
`best.pt` (see `checkpoint.BestSelection`), write `last.pt` and `history.json`, call
`on_epoch_end`. At the end the best checkpoint is scored on the test set. Files in `out_dir`
(rank 0 only): config.json, last.pt, best.pt, history.json, result.json, report.txt,
test_predictions.csv.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset

from training.metrics import format_table
from training.models import build_model, model_to_dict

from .checkpoint import BEST, LAST, BestSelection, load_checkpoint, save_checkpoint
from .config import RESUMABLE_CHANGES, TrainConfig
from .data import infer_label_mode, infer_shapes, steps_per_epoch, to_batch, train_loader
from .distributed import (
    DistContext,
    all_reduce_sum,
    any_process,
    barrier,
    broadcast_module,
    distributed_context,
    gather_objects,
)
from .evaluate import Predictions, epoch_metrics, predict, score
from .loss import LABEL_ORDER, MULTI_LABEL, head_targets, label_loss, multi_head_loss
from .optim import build_optimizer, build_scheduler
from .precision import resolve_precision
from .randomness import capture_rng, derive_seed, restore_rng, seed_everything
from .result import Callback, RunResult, TrainingCancelled

logger = logging.getLogger(__name__)


def train(
    config: TrainConfig,
    train_set: Dataset,
    val_set: Dataset | None,
    test_set: Dataset | None,
    out_dir: str | Path,
    *,
    callbacks: Sequence[Callback] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
    classes: Sequence[str] | None = None,
) -> RunResult:
    """Train `config.model` on `train_set`, validating on `val_set` after every epoch.

    `classes`: class names in label-id order (default: `train_set.classes`).
    `resume=True` continues from `out_dir/last.pt` when it exists (else starts afresh);
    without it, an `out_dir` that already holds a run is an error. `should_stop()` is asked
    before every step; when it returns True the run is saved and TrainingCancelled raised.
    Under torchrun (WORLD_SIZE > 1) this joins the process group and trains with DDP.
    """
    with distributed_context(config.device) as ctx:
        run = _Run(config, train_set, val_set, test_set, Path(out_dir), ctx, classes)
        run.start(resume)
        return run.fit(list(callbacks or []), should_stop)


class _Run:
    def __init__(
        self,
        config: TrainConfig,
        train_set: Dataset,
        val_set: Dataset | None,
        test_set: Dataset | None,
        out_dir: Path,
        ctx: DistContext,
        classes: Sequence[str] | None,
    ):
        self.config, self.ctx, self.out_dir = config, ctx, out_dir
        self.train_set, self.val_set, self.test_set = train_set, val_set, test_set
        classes = classes if classes is not None else getattr(train_set, "classes", None)
        if classes is None:
            raise ValueError(
                "Give the class names: pass classes=[...] or use a dataset with a .classes list."
            )
        self.classes = list(classes)
        if config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        self.precision = resolve_precision(config.mixed_precision, ctx.device)
        self.model = self._build_model()
        self.label_mode = infer_label_mode(train_set, len(self.classes), config.label_mode)
        if config.select_metric not in epoch_metrics(self.label_mode):
            raise ValueError(
                f"select_metric {config.select_metric!r} is not scored for {self.label_mode} "
                f"runs; choose one of {', '.join(epoch_metrics(self.label_mode))}."
            )
        self.heads = tuple(self.model.heads)
        self.aux_terms = tuple(self.model.auxiliary_terms)
        self.targets = dict(self.model.label_targets)
        self.beta = {h: config.beta[h] for h in self.heads}
        self.optimizer = build_optimizer(self.model, config)
        self.scheduler = build_scheduler(self.optimizer, config)
        self.scaler = self.precision.scaler()
        self.selection = BestSelection(config.select_head, config.select_metric)
        if config.select_head not in self.heads:
            raise ValueError(
                f"select_head {config.select_head!r} is not a head of {config.model} "
                f"(heads: {', '.join(self.heads)})."
            )
        self.steps = steps_per_epoch(
            len(train_set),
            config.batch_size,
            ctx,
            config.max_steps_per_epoch,  # type: ignore
        )
        # Progress, all of it stored in last.pt.
        self.epochs_done = 0
        self.step_in_epoch = 0  # steps done of epoch `epochs_done + 1` when cancelled
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.best_epoch = 0
        self.best_value: float | None = None
        self.resume_state: dict[str, Any] | None = None  # this rank's mid-epoch RNG and sums

    def _build_model(self) -> torch.nn.Module:
        dims, lens = infer_shapes(self.train_set)
        overrides = dict(self.config.model_overrides)
        feature_dims = overrides.pop("feature_dims", dims)
        overrides.setdefault("seq_lens", lens)
        seed_everything(derive_seed(self.config.seed, "init"))
        model = build_model(
            self.config.model,
            preset=self.config.preset_name,
            num_classes=len(self.classes),
            feature_dims=feature_dims,
            **overrides,
        )
        return model.to(self.ctx.device)

    # -- starting and resuming ----------------------------------------------------------

    def start(self, resume: bool) -> None:
        last = self.out_dir / LAST
        if last.exists() and not resume:
            raise FileExistsError(
                f"{self.out_dir} already holds a run (last.pt). Pass resume=True to continue "
                f"it, or choose an empty output directory."
            )
        if last.exists():
            self._load(load_checkpoint(last, map_location=self.ctx.device))
        if self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.json").write_text(json.dumps(self._describe(), indent=1))
        self.ddp_model: torch.nn.Module = self.model
        if self.ctx.distributed:
            device_ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            self.ddp_model = DistributedDataParallel(self.model, device_ids=device_ids)

    def _describe(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "model": model_to_dict(self.model),
            "classes": self.classes,
            "label_mode": self.label_mode,
            "world_size": self.ctx.world_size,
            "device": str(self.ctx.device),
            "precision": self.precision.name,
            "steps_per_epoch": self.steps,
        }

    def _load(self, state: dict[str, Any]) -> None:
        stored = TrainConfig.from_dict(state["config"])
        changed = set(stored.differences(self.config)) - RESUMABLE_CHANGES
        if changed:
            raise ValueError(
                f"Cannot resume {self.out_dir}: its run was trained with different "
                f"{', '.join(sorted(changed))}. Use the same settings, or a new output directory."
            )
        if state["classes"] != self.classes or state["model"] != model_to_dict(self.model):
            raise ValueError(
                f"Cannot resume {self.out_dir}: its classes or model shapes differ from this "
                f"dataset's. Resume with the dataset it was trained on."
            )
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epochs_done, self.step_in_epoch = state["epochs_done"], state["step_in_epoch"]
        self.global_step, self.history = state["global_step"], state["history"]
        self.best_epoch, self.best_value = state["best_epoch"], state["best_value"]
        if self.step_in_epoch:
            ranks = state["rank_states"]
            if len(ranks) != self.ctx.world_size:
                raise ValueError(
                    f"{self.out_dir} was stopped mid-epoch by {len(ranks)} process(es); resume "
                    f"it with the same number of processes (now {self.ctx.world_size})."
                )
            self.resume_state = ranks[self.ctx.rank]
        logger.info(
            "Resuming %s after epoch %d, step %d",
            self.out_dir,
            self.epochs_done,
            self.step_in_epoch,
        )

    # -- the loop -----------------------------------------------------------------------

    def fit(self, callbacks: list[Callback], should_stop: Callable[[], bool] | None) -> RunResult:
        for index in range(self.epochs_done, self.config.epochs):
            record = self._epoch(index, callbacks, should_stop)
            for callback in callbacks if self.ctx.is_main else []:
                if hasattr(callback, "on_epoch_end"):
                    callback.on_epoch_end(record["epoch"], record)
        return self._finish()

    def _epoch(
        self, index: int, callbacks: list[Callback], should_stop: Callable[[], bool] | None
    ) -> dict[str, Any]:
        config, ctx = self.config, self.ctx
        started = time.monotonic()
        self.model.train()
        # Running sums over this epoch's samples: count, weighted loss, then per head its loss
        # and its accuracy (dropout on, weights changing: a rough guide), then each auxiliary
        # term (weighted, as added to the loss).
        width = 2 + 2 * len(self.heads) + len(self.aux_terms)
        sums = torch.zeros(width, dtype=torch.float64, device=ctx.device)
        if self.resume_state is not None:  # cancelled mid-epoch: continue where it stopped
            restore_rng(self.resume_state["rng"])
            sums += self.resume_state["sums"].to(ctx.device)
            self.resume_state = None
        else:
            seed_everything(derive_seed(config.seed, "train", index, ctx.rank))
        skip = self.step_in_epoch
        loader = iter(
            train_loader(
                self.train_set,
                ctx,
                seed=config.seed,
                epoch=index,
                batch_size=config.batch_size,
                num_workers=config.num_workers,
                skip_batches=skip,
            )
        )
        lr = self.optimizer.param_groups[0]["lr"]
        on_step = [c for c in callbacks if hasattr(c, "on_step")] if ctx.is_main else []
        for step in range(skip, self.steps):
            if should_stop is not None and any_process(bool(should_stop()), ctx):
                self._save_last(index, step, sums)
                barrier(ctx)
                raise TrainingCancelled(self.out_dir, index + 1, step)
            batch = to_batch(next(loader), ctx.device)
            with self.precision.autocast():
                logits = self.ddp_model(batch.inputs)
            total, per_head = multi_head_loss(
                logits, batch.labels, self.targets, self.beta, self.label_mode
            )
            targets = head_targets(batch.labels, self.targets)
            aux = self._auxiliary(logits, targets)
            if aux:
                total = total + sum(aux.values())
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            if config.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.global_step += 1
            n = len(batch)
            parts = [
                torch.ones((), device=ctx.device),
                total.detach(),
                *(per_head[h].detach() for h in self.heads),
                *(self._batch_accuracy(logits[h].detach(), targets[h]) for h in self.heads),
                *(aux[name].detach().float() for name in self.aux_terms),
            ]
            sums += torch.stack(parts).double() * n
            if on_step:
                value = float(total.detach())
                for callback in on_step:
                    callback.on_step(self.global_step, self.steps * config.epochs, value)
        self.scheduler.step()
        all_reduce_sum(sums, ctx)
        means = (sums / sums[0]).tolist()
        heads = len(self.heads)
        train = {
            "loss": means[1],
            "heads": {
                h: {"loss": means[2 + i], "accuracy": means[2 + heads + i]}
                for i, h in enumerate(self.heads)
            },
        }
        if self.aux_terms:
            start = 2 + 2 * heads
            train["auxiliary"] = {t: means[start + i] for i, t in enumerate(self.aux_terms)}
        validation = self._evaluate(self.val_set) if self.val_set is not None else None
        record = {
            "epoch": index + 1,
            "lr": lr,
            "steps": self.steps,
            "global_step": self.global_step,
            "seconds": time.monotonic() - started,
            "train": train,
            "validation": validation,
        }
        self._end_epoch(record)
        return record

    def _auxiliary(
        self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """The model's own weighted loss terms (TAILOR's), checked against its declared names."""
        if not self.aux_terms:
            return {}
        aux = self.model.auxiliary_losses(
            outputs, targets, lambda z, y: label_loss(z, y, self.label_mode)
        )
        if tuple(aux) != self.aux_terms:
            raise ValueError(
                f"{self.config.model}.auxiliary_losses returned {sorted(aux)}, not the terms "
                f"it declares ({', '.join(self.aux_terms)})."
            )
        return aux

    def _batch_accuracy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Share of right argmax predictions, or (multi-label) mean |y∩ŷ|/|y∪ŷ| per sample
        at the threshold (a sample with both sets empty counts 1, as in `multilabel_report`)."""
        if self.label_mode != MULTI_LABEL:
            return (logits.argmax(1) == target).float().mean()
        predicted = torch.sigmoid(logits.float()) > self.config.threshold
        present = target > 0.5
        inter = (predicted & present).sum(1).float()
        union = (predicted | present).sum(1).float()
        return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).mean()

    def _evaluate(self, dataset: Dataset, *, full: bool = False) -> dict[str, Any]:
        predictions = self._predict(dataset)
        return score(predictions, self.targets, self.classes, self.beta, full=full)

    def _predict(self, dataset: Dataset) -> Predictions:
        return predict(
            self.model,
            dataset,
            batch_size=self.config.eval_batch_size or self.config.batch_size,
            num_workers=self.config.num_workers,
            ctx=self.ctx,
            precision=self.precision,
            label_mode=self.label_mode,
            threshold=self.config.threshold,
        )

    def _end_epoch(self, record: dict[str, Any]) -> None:
        epoch = record["epoch"]
        value = self.selection.value(record)
        if self.selection.improves(value, self.best_value, self.best_epoch > 0):
            self.best_epoch, self.best_value = epoch, value
            if self.ctx.is_main:
                save_checkpoint(
                    {
                        **self._identity(),
                        "kind": "best",
                        "epoch": epoch,
                        "metrics": record,
                        "state_dict": self.model.state_dict(),
                    },
                    self.out_dir / BEST,
                )
        self.history.append(record)
        self.epochs_done, self.step_in_epoch = epoch, 0
        if epoch % self.config.checkpoint_every == 0 or epoch == self.config.epochs:
            self._save_last(epoch, 0, None)
        if self.ctx.is_main:
            (self.out_dir / "history.json").write_text(json.dumps(self.history, indent=1))
            heads = (record["validation"] or {}).get("heads", {})
            logger.info(
                "epoch %d/%d: train loss %.4f, validation %s",
                epoch,
                self.config.epochs,
                record["train"]["loss"],
                ", ".join(
                    f"{h} {self.selection.metric} {m[self.selection.metric]:.4f}"
                    for h, m in heads.items()
                )
                or "none",
            )

    def _identity(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "model": model_to_dict(self.model),
            "classes": self.classes,
        }

    def _save_last(self, epochs_done: int, step_in_epoch: int, sums: torch.Tensor | None) -> None:
        """Write last.pt (rank 0); every process contributes its random state (and, mid-epoch,
        its running training sums)."""
        mine = {"rng": capture_rng(), "sums": None if sums is None else sums.detach().cpu()}
        rank_states = gather_objects(mine, self.ctx)
        if not self.ctx.is_main:
            return
        save_checkpoint(
            {
                **self._identity(),
                "kind": "last",
                "state_dict": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "epochs_done": epochs_done,
                "step_in_epoch": step_in_epoch,
                "global_step": self.global_step,
                "history": self.history,
                "best_epoch": self.best_epoch,
                "best_value": self.best_value,
                "rank_states": rank_states,
            },
            self.out_dir / LAST,
        )

    # -- the end ------------------------------------------------------------------------

    def _finish(self) -> RunResult:
        test, test_loss = None, None
        if self.test_set is not None:
            if self.ctx.is_main:
                best = load_checkpoint(self.out_dir / BEST, map_location=self.ctx.device)
                self.model.load_state_dict(best["state_dict"])
            broadcast_module(self.model, self.ctx)
            predictions = self._predict(self.test_set)
            scored = score(predictions, self.targets, self.classes, self.beta, full=True)
            test, test_loss = scored["heads"], scored["loss"]
            if self.ctx.is_main:
                self._write_predictions(predictions)
        result = RunResult(
            out_dir=str(self.out_dir),
            config=self.config.to_dict(),
            model=model_to_dict(self.model),
            classes=self.classes,
            history=self.history,
            best_epoch=self.best_epoch,
            best_value=self.best_value,
            selection=self.selection.name,
            test=test,
            test_loss=test_loss,
            global_step=self.global_step,
            world_size=self.ctx.world_size,
            label_mode=self.label_mode,
            threshold=self.config.threshold if self.label_mode == MULTI_LABEL else None,
        )
        if self.ctx.is_main:
            result.save(self.out_dir / "result.json")
            if test is not None:
                title = f"{self.config.model} test set, best epoch {self.best_epoch}, per head"
                table = format_table(test, classes=self.classes, title=title)
                (self.out_dir / "report.txt").write_text(table + "\n")
        barrier(self.ctx)
        return result

    def _write_predictions(self, predictions: Predictions) -> None:
        """test_predictions.csv: utterance, its four labels and every head's prediction
        (multi-label: the present names joined by ';' in class order, "" for none)."""
        classes = self.classes

        def names(value) -> str:
            if self.label_mode != MULTI_LABEL:
                return classes[value]
            return ";".join(c for c, on in zip(classes, value, strict=True) if on > 0.5)

        with open(self.out_dir / "test_predictions.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(
                [
                    "utterance_id",
                    *(f"label_{u}" for u in LABEL_ORDER),
                    *(f"pred_{h}" for h in self.heads),
                ]
            )
            predicted = {h: predictions.predicted(h) for h in self.heads}
            ids = predictions.utterance_ids or [str(i) for i in range(len(predictions.labels))]
            for i, uid in enumerate(ids):
                writer.writerow(
                    [
                        uid,
                        *(names(y) for y in predictions.labels[i]),
                        *(names(predicted[h][i]) for h in self.heads),
                    ]
                )
