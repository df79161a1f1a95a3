"""One process of the 2-process gloo DDP test of TAILOR (spawned; importable by module name)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.trainer.ddp_worker import join
from training.engine import TrainConfig, train

from .multilabel import MultiLabelSplit, prototypes

LENS = {"t": 5, "a": 5, "v": 5}
NO_DROPOUT = dict(dropout=0.0, private_dropout=0.0, common_dropout=0.0, discriminator_dropout=0.0)


def config(batch_size: int) -> TrainConfig:
    """Dropout off, fp32 and plain SGD, so 2 processes and 1 process with twice the batch agree."""
    return TrainConfig(
        model="tailor",
        model_overrides=dict(
            d_model=16,
            num_heads=2,
            encoder_layers={"t": 1, "a": 1, "v": 1},
            cross_layers=1,
            **NO_DROPOUT,
        ),  # fmt: skip
        epochs=2,
        batch_size=batch_size,
        optimizer="sgd",
        lr=0.1,
        schedule="none",
        mixed_precision="no",  # fp32: bf16 (auto where it is faster) rounds differently
    )


def splits():
    # No padding: the adversarial terms average over real positions, so equal counts per
    # process make the mean of the two processes' gradients the one-process gradient.
    protos = prototypes()
    return tuple(
        MultiLabelSplit(n, seed=seed, lens=LENS, protos=protos, pad=False)
        for n, seed in ((32, 4), (12, 5), (12, 6))
    )


def run(rank: int, world_size: int, port: int, base: str) -> None:
    join(rank, world_size, port)
    result = train(config(batch_size=8), *splits(), Path(base) / f"rank{rank}")
    report = {"global_step": result.global_step, "test": result.test}
    (Path(base) / f"report{rank}.json").write_text(json.dumps(report))
