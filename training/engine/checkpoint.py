"""Checkpoint files of a run, and which epoch counts as best.

`last.pt` holds everything needed to continue: model, optimiser, scheduler and scaler states,
completed epochs, the position inside an unfinished epoch, global step, history, the best
epoch so far, and each process's random state. `best.pt` holds the model of the best epoch.
Both load with `torch.load(..., weights_only=True)` (tensors and plain values only) and are
written atomically (temporary file, then rename), so a kill never leaves half a checkpoint.

Best epoch: highest validation weighted F1 of the m head by default — the paper's headline
number (SPEC §6 "overall") on the label LFMIM is judged on; ties keep the earlier epoch.
`select_metric="loss"` picks the lowest validation loss instead. Without a validation set the
last epoch is the best. The best epoch's weights are written to `best.pt` when that epoch
ends (serialised then, never kept by reference), and the test set is scored with them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

FORMAT_VERSION = 1
LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write `state` to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`."""
    state = torch.load(path, map_location=map_location, weights_only=True)
    version = state.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format {version!r}; this trainer reads format "
            f"{FORMAT_VERSION}. Train anew in an empty directory."
        )
    return state


@dataclass(frozen=True)
class BestSelection:
    """Which validation number decides the best epoch: `metric` of head `head`."""

    head: str = "m"
    metric: str = "f1_weighted"

    @property
    def name(self) -> str:
        return f"validation {self.head} {self.metric}"

    @property
    def higher_is_better(self) -> bool:
        return self.metric not in ("loss", "hamming_loss")

    def value(self, record: dict[str, Any]) -> float | None:
        """The deciding number of an epoch record, or None without validation metrics."""
        validation = record.get("validation")
        if not validation:
            return None
        return float(validation["heads"][self.head][self.metric])

    def improves(self, value: float | None, best: float | None, has_best: bool) -> bool:
        """Whether an epoch scoring `value` replaces the best so far (scoring `best`)."""
        if not has_best or value is None or best is None:
            return True
        return value > best if self.higher_is_better else value < best
