"""Small in-memory datasets of LFMIM items, easily separable, for trainer tests."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from training.engine import TrainConfig

CLASSES = ["anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
DIMS = {"t": 12, "a": 10, "v": 8}
LENS = {"t": 6, "a": 8, "v": 4}
TINY_LFMIM = {
    "d_model": 16,
    "num_heads": 2,
    "num_layers": 1,
    "uni_head_hidden": [16],
    "m_head_hidden": [16],
}
_NAMES = {"t": "text", "a": "audio", "v": "vision"}


def prototypes(seed: int = 3, shared_scale: float = 0.7) -> dict[str, tuple]:
    """Per modality: a class prototype for its own label and a weaker one for y_m."""
    g = torch.Generator().manual_seed(seed)
    return {
        u: (
            torch.randn(len(CLASSES), DIMS[u], generator=g),
            shared_scale * torch.randn(len(CLASSES), DIMS[u], generator=g),
        )
        for u in "tav"
    }


class SyntheticSplit(Dataset):
    """Items with four labels; modality u shows y_u strongly and y_m weakly, padded at random.

    `labels` (n, 4) may be given (t, a, v, m order); otherwise the four are drawn independently.
    """

    classes = CLASSES

    def __init__(
        self,
        n: int,
        *,
        seed: int,
        protos=None,
        labels: torch.Tensor | None = None,
        noise: float = 0.3,
    ):
        g = torch.Generator().manual_seed(seed)
        protos = protos or prototypes()
        if labels is None:
            labels = torch.randint(0, len(CLASSES), (n, 4), generator=g)
        self.labels = labels
        self.fields: dict[str, torch.Tensor] = {}
        for i, u in enumerate("tav"):
            own, shared = protos[u]
            signal = own[labels[:, i]] + shared[labels[:, 3]]
            x = signal.unsqueeze(1) + noise * torch.randn(n, LENS[u], DIMS[u], generator=g)
            real = torch.randint(2, LENS[u] + 1, (n,), generator=g)
            mask = torch.arange(LENS[u]).unsqueeze(0) < real.unsqueeze(1)
            self.fields[_NAMES[u]] = x.masked_fill(~mask.unsqueeze(-1), 0.0)
            self.fields[_NAMES[u] + "_mask"] = mask

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        item = {k: v[i] for k, v in self.fields.items()}
        item["labels"] = self.labels[i]
        item["utterance_id"] = f"u{i}"
        return item


def tiny_config(**changes) -> TrainConfig:
    """A tiny LFMIM (paper preset) that trains in about a second per epoch on CPU."""
    values = dict(
        model="lfmim",
        preset="paper",
        model_overrides=TINY_LFMIM,
        epochs=2,
        batch_size=16,
        optimizer="adamw",
        lr=3e-3,
        schedule="none",
        seed=0,
    )
    values.update(changes)
    return TrainConfig(**values)
