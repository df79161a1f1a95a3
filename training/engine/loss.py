"""The LFMIM objective (§4): Σ_u β_u · L(y_target(u), ŷ_u), averaged over the batch.

L is cross-entropy for single-label data (labels (B, 4) class ids) and binary cross-entropy
on logits for multi-label data (labels (B, 4, C) multi-hot: one present/absent question per
emotion, averaged over emotions). target(u) comes from `model.label_targets`: the identity
for LFMIM (each head on its own label), `m` for every head of LFMIM-ML; models with only an
`m` head use y_m alone. Models with auxiliary objectives (TAILOR) add theirs through
`model.auxiliary_losses` (see training/models/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch.nn.functional as F
from torch import Tensor

# Column of each modality's label in the (B, 4) label tensor a dataset item provides.
LABEL_ORDER: tuple[str, ...] = ("t", "a", "v", "m")
LABEL_COLUMN: dict[str, int] = {u: i for i, u in enumerate(LABEL_ORDER)}
SINGLE_LABEL, MULTI_LABEL = "single-label", "multi-label"
LABEL_MODES: tuple[str, ...] = (SINGLE_LABEL, MULTI_LABEL)


def head_targets(labels: Tensor, label_targets: Mapping[str, str]) -> dict[str, Tensor]:
    """(B, 4) labels (or (B, 4, C) multi-hot) in t, a, v, m order -> {head: its (B,) class ids
    or (B, C) multi-hot targets}."""
    if labels.dim() not in (2, 3) or labels.shape[1] != len(LABEL_ORDER):
        raise ValueError(
            "labels must be (B, 4) class ids or (B, 4, C) multi-hot in t, a, v, m order; got "
            f"shape {tuple(labels.shape)}."
        )
    return {h: labels[:, LABEL_COLUMN[u]] for h, u in label_targets.items()}


def label_loss(logits: Tensor, target: Tensor, label_mode: str = SINGLE_LABEL) -> Tensor:
    """One head's mean loss, in float32 even under autocast: CE (single-label) or BCE with
    logits over every emotion (multi-label)."""
    if label_mode == MULTI_LABEL:
        return F.binary_cross_entropy_with_logits(logits.float(), target.float())
    return F.cross_entropy(logits.float(), target)


def multi_head_loss(
    logits: Mapping[str, Tensor],
    labels: Tensor,
    label_targets: Mapping[str, str],
    beta: Mapping[str, float],
    label_mode: str = SINGLE_LABEL,
) -> tuple[Tensor, dict[str, Tensor]]:
    """(weighted total, {head: unweighted mean loss}) for the heads in `logits`.

    Heads the model does not have are ignored.
    """
    targets = head_targets(labels, {h: label_targets[h] for h in logits})
    per_head = {h: label_loss(z, targets[h], label_mode) for h, z in logits.items()}
    total = sum(beta[h] * loss for h, loss in per_head.items())
    return total, per_head  # type: ignore[return-value]
