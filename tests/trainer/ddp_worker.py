"""One process of the 2-process gloo DDP test (spawned; must be importable by module name)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from training.engine import train

from .synthetic import SyntheticSplit, tiny_config

NO_DROPOUT = dict(
    attn_dropout=0.0, ffn_dropout=0.0, residual_dropout=0.0, embed_dropout=0.0, head_dropout=0.0
)


def config(batch_size: int):
    """Dropout off, fp32 and plain SGD, so a 2-process run and a 1-process run with twice the batch
    agree up to rounding (Adam would blow rounding noise in zero gradients up to full steps)."""
    base = tiny_config()
    return base.replace(
        epochs=2,
        batch_size=batch_size,
        optimizer="sgd",
        lr=0.1,
        schedule="lambda",
        mixed_precision="no",  # fp32: bf16 (auto where it is faster) rounds differently
        model_overrides={**base.model_overrides, **NO_DROPOUT},
    )


def splits():
    return SyntheticSplit(50, seed=4), SyntheticSplit(21, seed=5), SyntheticSplit(21, seed=6)


def join(rank: int, world_size: int, port: int) -> None:
    """What a launcher (torchrun) gives each process: the trainer reads it and joins the group."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world_size),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)


def run(rank: int, world_size: int, port: int, base: str) -> None:
    join(rank, world_size, port)
    # Each rank gets its own output directory, so the test can see that only rank 0 writes.
    result = train(config(batch_size=8), *splits(), Path(base) / f"rank{rank}")
    report = {
        "global_step": result.global_step,
        "world_size": result.world_size,
        "history": result.history,
        "test": result.test,
    }
    (Path(base) / f"report{rank}.json").write_text(json.dumps(report))
