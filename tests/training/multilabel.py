"""A separable synthetic multi-label set (items as CHERMASplit gives them) and its chance level."""

from __future__ import annotations

import numpy as np
import torch

from tests.trainer.synthetic import SyntheticSplit
from training.metrics import multilabel_report

EMOTIONS = ["happy", "sad", "anger", "surprise"]
DIMS = {"t": 12, "a": 10, "v": 8}
_NAMES = {"t": "text", "a": "audio", "v": "vision"}


def prototypes(seed: int = 3) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per modality: one direction per emotion for its own label set, a weaker one for y_m."""
    g = torch.Generator().manual_seed(seed)
    return {
        u: (
            torch.randn(len(EMOTIONS), DIMS[u], generator=g),
            0.6 * torch.randn(len(EMOTIONS), DIMS[u], generator=g),
        )
        for u in "tav"
    }


class MultiLabelSplit(SyntheticSplit):
    """y_m: each emotion present with probability 0.4; y_u: y_m with each emotion flipped with
    probability `flip` (modalities disagree, as annotators of one modality do). Modality u
    shows Σ of its own present emotions' directions strongly and y_m's weakly, plus noise, at
    every real position; padded at random. `labels` (n, 4, C) may be given. Items as the
    single-label SyntheticSplit's (ids u0, u1, ...)."""

    label_mode = "multi-label"
    classes = EMOTIONS

    def __init__(
        self,
        n: int,
        *,
        seed: int,
        lens: dict[str, int],
        protos=None,
        labels: torch.Tensor | None = None,
        flip: float = 0.15,
        noise: float = 0.3,
        pad: bool = True,
    ):
        g = torch.Generator().manual_seed(seed)
        protos = protos or prototypes()
        c = len(EMOTIONS)
        if labels is None:
            y_m = (torch.rand(n, c, generator=g) < 0.4).float()
            flips = (torch.rand(n, 3, c, generator=g) < flip).float()
            y_uni = (y_m.unsqueeze(1) + flips) % 2
            labels = torch.cat([y_uni, y_m.unsqueeze(1)], dim=1)
        self.labels = labels
        self.fields: dict[str, torch.Tensor] = {}
        for i, u in enumerate("tav"):
            own, shared = protos[u]
            signal = labels[:, i] @ own + labels[:, 3] @ shared  # (n, D)
            x = signal.unsqueeze(1) + noise * torch.randn(n, lens[u], DIMS[u], generator=g)
            low = 2 if pad else lens[u]
            real = torch.randint(low, lens[u] + 1, (n,), generator=g)
            mask = torch.arange(lens[u]).unsqueeze(0) < real.unsqueeze(1)
            self.fields[_NAMES[u]] = x.masked_fill(~mask.unsqueeze(-1), 0.0)
            self.fields[_NAMES[u] + "_mask"] = mask


def chance(train_labels: np.ndarray, test_labels: np.ndarray) -> dict[str, float]:
    """Best score of any input-blind predictor tried on the test labels: everything, nothing,
    each emotion's training majority, and the training prior drawn at random (mean of 20)."""
    rng = np.random.default_rng(0)
    prior = train_labels.mean(axis=0)
    n, c = test_labels.shape
    blind = [
        np.ones((n, c), np.int64),
        np.zeros((n, c), np.int64),
        np.tile((prior > 0.5).astype(np.int64), (n, 1)),
        *((rng.random((n, c)) < prior).astype(np.int64) for _ in range(20)),
    ]
    reports = [multilabel_report(test_labels, p, EMOTIONS) for p in blind]
    return {
        "f1_micro": max(r["f1_micro"] for r in reports),
        "accuracy": max(r["accuracy"] for r in reports),
    }
