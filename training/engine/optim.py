"""Optimiser and learning-rate schedule of a run.

Released LFMIM: SGD (lr 0.005, no momentum) with LambdaLR lr = lr0 / (epoch index + 1),
stepped once per epoch. AdamW is offered for the baselines and quick experiments.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import TrainConfig


class InverseEpoch:
    """LambdaLR factor 1 / (epoch index + 1); a class, not a lambda, so it pickles."""

    def __call__(self, epoch: int) -> float:
        return 1.0 / (epoch + 1)


class Constant:
    def __call__(self, epoch: int) -> float:
        return 1.0


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR either way, so checkpoints hold the same kind of scheduler state."""
    factor = InverseEpoch() if config.schedule == "lambda" else Constant()
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
