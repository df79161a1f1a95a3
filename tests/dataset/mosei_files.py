"""Small CMU-MOSEI-style feature files in the two layouts the MulT/TAILOR family uses."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from training.dataset.mosei import MOSEI_EMOTIONS

DIMS = {"text": 300, "vision": 35, "audio": 74}
LENGTH = 8
SIZES = {"train": 24, "valid": 8, "test": 10}


def _features(n: int, rng: np.random.Generator, hot: np.ndarray) -> dict[str, np.ndarray]:
    """Aligned features, zero-padded at the front as the released files are; the emotions
    present shift the features so a model can learn them; audio has -inf in places."""
    out = {}
    for key, dim in DIMS.items():
        direction = rng.normal(size=(len(MOSEI_EMOTIONS), dim))
        x = rng.normal(scale=0.3, size=(n, LENGTH, dim)) + (hot @ direction)[:, None, :]
        pad = rng.integers(0, 3, size=n)
        for i, p in enumerate(pad):
            x[i, :p] = 0.0
        out[key] = x.astype(np.float32)
    out["audio"][0, -1, 3] = -np.inf
    out["audio"][1, -1, :2] = -np.inf
    return out


def make_splits(seed: int = 0) -> dict[str, tuple[dict[str, np.ndarray], np.ndarray]]:
    rng = np.random.default_rng(seed)
    made = {}
    for split, n in SIZES.items():
        hot = (rng.random((n, 6)) < 0.35).astype(np.float32)
        hot[0] = 0
        hot[0, 2] = 1
        made[split] = (_features(n, rng, hot), hot)
    return made


def write_mult_file(folder: Path) -> Path:
    """MulT-family pickle: text/vision/audio and labels as (N, 1, 6) emotion intensities."""
    data = {}
    for split, (x, hot) in make_splits().items():
        intensities = hot * np.array([0.33, 1.0, 2.0, 0.66, 3.0, 1.33], np.float32)
        data[split] = {**x, "labels": intensities[:, None, :], "id": np.arange(len(hot))}
    path = folder / "mosei_emotions.pkl"
    path.write_bytes(pickle.dumps(data))
    return path


def write_tailor_file(folder: Path) -> Path:
    """TAILOR's layout: src-text/src-visual/src-audio tensors and tgt token sequences."""
    data = {}
    for split, (x, hot) in make_splits().items():
        tokens = [[2, *(4 + np.flatnonzero(row)).tolist(), 3] for row in hot]
        data[split] = {
            "src-text": torch.from_numpy(x["text"]),
            "src-visual": torch.from_numpy(x["vision"]),
            "src-audio": torch.from_numpy(x["audio"]),
            "tgt": tokens,
        }
    path = folder / "train_valid_test.pt"
    torch.save(data, path)
    return path
