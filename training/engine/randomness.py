"""Explicit random state: seeds derived from (run seed, purpose, epoch, rank), and snapshots of
every generator (python, numpy, torch CPU and CUDA) that a checkpoint can store and restore.

Each epoch reseeds from `derive_seed(seed, "train", epoch, rank)`, so the random stream of
epoch e depends on nothing but the run seed and e: a run resumed at an epoch boundary repeats
an uninterrupted one exactly. Snapshots cover resumption in the middle of an epoch.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

_PURPOSES = {"init": 1, "train": 2, "loader": 3}


def derive_seed(seed: int, purpose: str, epoch: int = 0, rank: int = 0) -> int:
    """A 63-bit seed for one purpose, epoch and process, independent of the others."""
    entropy = [seed & 0xFFFFFFFF, seed >> 32, _PURPOSES[purpose], epoch, rank]
    words = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(words[0]) | (int(words[1] & 0x7FFFFFFF) << 32)


def seed_everything(seed: int) -> None:
    """Seed python's `random`, numpy's global generator and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: numpy and python seeded from the worker's torch seed."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def capture_rng() -> dict[str, Any]:
    """Every generator's state as tensors and plain values (loadable with weights_only=True)."""
    version, state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {
            "version": version,
            "state": torch.tensor(state, dtype=torch.int64),
            "gauss": gauss,
        },
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(snapshot: dict[str, Any]) -> None:
    """Put every generator back to a `capture_rng()` snapshot."""
    py = snapshot["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss"]))
    n = snapshot["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(snapshot["torch"])
    if snapshot["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(snapshot["cuda"])
