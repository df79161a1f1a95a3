"""What a finished run hands back (and writes to `result.json`), and how a run is cancelled."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self


class TrainingCancelled(Exception):
    """`should_stop()` returned True: the run was saved to `last.pt` in the middle of epoch
    `epoch` after `step` of its steps; `train(..., resume=True)` continues exactly there."""

    def __init__(self, out_dir: Path, epoch: int, step: int):
        super().__init__(
            f"Training stopped on request in epoch {epoch} after step {step}; its state is in "
            f"{out_dir / 'last.pt'}. Call train again with resume=True to continue."
        )
        self.out_dir, self.epoch, self.step = out_dir, epoch, step


class Callback(Protocol):
    """What `train(callbacks=[...])` calls, on rank 0 only. Both methods are optional.

    on_step(step, total, loss): after each optimiser step; `step` counts from 1 over the whole
        run, `total` = epochs × steps per epoch, `loss` = the step's weighted loss.
    on_epoch_end(epoch, metrics): after epoch `epoch` (from 1) is validated and checkpointed;
        `metrics` is its history record (see `RunResult.history`).
    """

    def on_step(self, step: int, total: int, loss: float) -> None: ...

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None: ...


@dataclass
class RunResult:
    """A finished run. Metric values are fractions in [0, 1].

    history: one record per epoch: {"epoch" (from 1), "lr", "steps", "global_step", "seconds",
        "train": {"loss", "heads": {h: {"loss", "accuracy"}}} (running means over the epoch),
        "validation": {"loss", "heads": {h: {"loss", "accuracy", "f1_weighted", "f1_macro"}}}
        or None}. "loss" at the top of a split is Σ_u β_u CE_u.
    test: {head: classification_report + "loss"} of the best checkpoint, or None without a
        test set; each head is scored against the label it is trained on.
    Multi-label runs hold `multilabel_report` numbers instead (validation records too: loss,
        accuracy = example-based, f1_micro, precision_micro, recall_micro, f1_macro,
        f1_weighted, hamming_loss, subset_accuracy); train records' "accuracy" is then the
        example-based accuracy, so loss and accuracy curves read the same way.
    """

    out_dir: str
    config: dict[str, Any]
    model: dict[str, Any]  # model_to_dict record
    classes: list[str]
    history: list[dict[str, Any]]
    best_epoch: int
    best_value: float | None
    selection: str  # e.g. "validation m f1_weighted"
    test: dict[str, dict[str, Any]] | None
    test_loss: float | None
    global_step: int
    world_size: int
    label_mode: str = "single-label"  # multi-label: metrics are `multilabel_report`'s
    threshold: float | None = None  # multi-label decision threshold; None for single-label

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Self:
        return cls.from_dict(json.loads(Path(path).read_text()))
