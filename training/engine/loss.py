"""The LFMIM objective (§4): Σ_u β_u · CE(y_target(u), ŷ_u), averaged over the batch.

target(u) comes from `model.label_targets`: the identity for LFMIM (each head on its own
label), `m` for every head of LFMIM-ML; models with only an `m` head use y_m alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch.nn.functional as F
from torch import Tensor

# Column of each modality's label in the (B, 4) label tensor a dataset item provides.
LABEL_ORDER: tuple[str, ...] = ("t", "a", "v", "m")
LABEL_COLUMN: dict[str, int] = {u: i for i, u in enumerate(LABEL_ORDER)}


def head_targets(labels: Tensor, label_targets: Mapping[str, str]) -> dict[str, Tensor]:
    """(B, 4) labels in t, a, v, m order -> {head: (B,) class ids it is trained on}."""
    if labels.dim() != 2 or labels.shape[1] != len(LABEL_ORDER):
        raise ValueError(
            f"labels must be (B, 4) in t, a, v, m order; got shape {tuple(labels.shape)}."
        )
    return {h: labels[:, LABEL_COLUMN[u]] for h, u in label_targets.items()}


def multi_head_loss(
    logits: Mapping[str, Tensor],
    labels: Tensor,
    label_targets: Mapping[str, str],
    beta: Mapping[str, float],
) -> tuple[Tensor, dict[str, Tensor]]:
    """(weighted total, {head: unweighted mean CE}) for the heads in `logits`.

    Heads the model does not have are ignored; cross-entropy is computed in float32 even
    under autocast.
    """
    targets = head_targets(labels, {h: label_targets[h] for h in logits})
    per_head = {h: F.cross_entropy(z.float(), targets[h]) for h, z in logits.items()}
    total = sum(beta[h] * loss for h, loss in per_head.items())
    return total, per_head  # type: ignore[return-value]
