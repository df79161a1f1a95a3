"""Run a model over a dataset and score every head against the label it is trained on.

Each head u is scored against y_target(u) (`model.label_targets`): its own label for LFMIM
(Table 4's per-head F1), y_m for every head of LFMIM-ML. Under torchrun each process predicts
a shard; the predictions are gathered so every process holds, and scores, the whole set.
Multi-label: an emotion is predicted present when sigmoid(logit) > threshold (0.35 by
default, as TAILOR's released code), and heads are scored with `multilabel_report`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from training.metrics import MULTILABEL_METRICS, classification_report, multilabel_report

from .data import eval_loader, to_batch
from .distributed import DistContext, gather_objects
from .loss import LABEL_COLUMN, MULTI_LABEL, SINGLE_LABEL, label_loss
from .precision import Precision, resolve_precision

EPOCH_METRICS = ("loss", "accuracy", "f1_weighted", "f1_macro")
MULTILABEL_EPOCH_METRICS = ("loss", *MULTILABEL_METRICS)


def epoch_metrics(label_mode: str) -> tuple[str, ...]:
    """The per-head numbers every validation record holds, for a label mode."""
    return MULTILABEL_EPOCH_METRICS if label_mode == MULTI_LABEL else EPOCH_METRICS


@dataclass
class Predictions:
    """Logits of every head for every sample, in dataset order."""

    logits: dict[str, np.ndarray]  # head -> (N, C) float32
    labels: np.ndarray  # (N, 4) int64 class ids, or (N, 4, C) multi-hot; t, a, v, m
    utterance_ids: list[str] | None
    label_mode: str = SINGLE_LABEL
    threshold: float = 0.35  # multi-label: present when sigmoid(logit) > threshold

    def predicted(self, head: str) -> np.ndarray:
        """(N,) class ids, or (N, C) 0/1 multi-label decisions."""
        if self.label_mode == MULTI_LABEL:
            # sigmoid(z) > p  <=>  z > log(p / (1 - p)): no overflow for large |z|
            cut = math.log(self.threshold / (1.0 - self.threshold))
            return (self.logits[head] > cut).astype(np.int64)
        return self.logits[head].argmax(axis=1)

    def target(self, label: str) -> np.ndarray:
        return self.labels[:, LABEL_COLUMN[label]]


def _single_process(device: torch.device) -> DistContext:
    return DistContext(rank=0, world_size=1, local_rank=0, device=device)


@torch.no_grad()
def predict(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    ctx: DistContext | None = None,
    precision: Precision | None = None,
    label_mode: str = SINGLE_LABEL,
    threshold: float = 0.35,
) -> Predictions:
    """Every head's logits on `dataset` (on all samples, in order, also under torchrun): the
    loader never shuffles nor drops a last partial batch."""
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    device = next(model.parameters()).device
    ctx = ctx or _single_process(device)
    precision = precision or resolve_precision("no", device)
    was_training = model.training
    model.eval()
    loader, indices = eval_loader(dataset, ctx, batch_size=batch_size, num_workers=num_workers)
    logits: dict[str, list[np.ndarray]] = {}
    labels, ids = [], []
    for collated in loader:
        batch = to_batch(collated, ctx.device)
        with precision.autocast():
            out = model(batch.inputs)
        for head in getattr(model, "heads", tuple(out)):
            logits.setdefault(head, []).append(out[head].float().cpu().numpy())
        labels.append(batch.labels.cpu().numpy())
        ids.extend(batch.utterance_ids or [])
    model.train(was_training)
    heads = getattr(model, "heads", tuple(logits))
    shard = (
        indices,
        {
            h: np.concatenate(logits[h]) if logits.get(h) else np.zeros((0, 0), np.float32)
            for h in heads
        },
        np.concatenate(labels) if labels else np.zeros((0, 4), np.float32),
        ids,
    )
    shards = [s for s in gather_objects(shard, ctx) if len(s[0])]
    order = np.argsort(np.concatenate([s[0] for s in shards]), kind="stable")
    all_ids = [i for s in shards for i in s[3]]
    return Predictions(
        logits={h: np.concatenate([s[1][h] for s in shards])[order] for h in heads},
        labels=np.concatenate([s[2] for s in shards])[order],
        utterance_ids=[all_ids[i] for i in order] if len(all_ids) == len(order) else None,
        label_mode=label_mode,
        threshold=threshold,
    )


def score(
    predictions: Predictions,
    label_targets: Mapping[str, str],
    classes: Sequence[str],
    beta: Mapping[str, float],
    *,
    full: bool = False,
) -> dict[str, Any]:
    """{"loss": Σ_u β_u L_u, "heads": {head: {"loss", "accuracy", "f1_weighted", "f1_macro",
    and with `full` the per-class F1, support and confusion matrix}}}; multi-label heads carry
    `multilabel_report`'s numbers instead (BCE loss, decisions at the threshold)."""
    heads: dict[str, Any] = {}
    total = 0.0
    mode = predictions.label_mode
    for head, logits in predictions.logits.items():
        target = predictions.target(label_targets[head])
        z, y = torch.from_numpy(logits).double(), torch.from_numpy(target)
        loss = float(label_loss(z, y, mode) if mode == MULTI_LABEL else F.cross_entropy(z, y))
        if mode == MULTI_LABEL:
            report = multilabel_report(target, predictions.predicted(head), classes)
        else:
            report = classification_report(target, logits.argmax(axis=1), classes)
        if not full:
            report = {k: report[k] for k in epoch_metrics(mode) if k in report}
        heads[head] = {"loss": loss, **report}
        total += beta[head] * loss
    return {"loss": total, "heads": heads}
