"""A trained run's class probabilities per head for feature arrays: the model in the loop.

Pure PyTorch (no Django): `load_best` rebuilds the model a checkpoint holds (its own
architecture record and class order); `head_probabilities` runs it on samples the caller has
already standardised as the run trained; `summarise` turns one head's probabilities into what
a Prediction row stores.

Single-label: softmax over classes; label = argmax, confidence = its probability, entropy the
Shannon entropy (nats). Multi-label: a sigmoid per emotion; label_set = the emotions with
p > threshold (as `Predictions.predicted`), confidence = the least certain decision
min_c max(p_c, 1 − p_c) (the set is right only if every decision is), entropy = the sum of
the per-emotion Bernoulli entropies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from training.models import ModalityInputs, model_from_dict

from .checkpoint import load_checkpoint
from .loss import MULTI_LABEL

_FIELDS = {"t": "text", "a": "audio", "v": "vision"}


def load_best(path: Path, device: str | torch.device = "cpu"):
    """(model in eval mode on `device`, the run's classes) from a checkpoint file."""
    state = load_checkpoint(path, map_location=device)
    model = model_from_dict(state["model"])
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), list(state["classes"])


def sample_of(item: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A dataset item (`CHERMASplit[i]`: padded features and masks) as the sample
    `head_probabilities` takes: each modality's real frames only."""
    return {u: np.asarray(item[name][item[f"{name}_mask"]]) for u, name in _FIELDS.items()}


def _batch(samples: Sequence[Mapping[str, np.ndarray]], device) -> ModalityInputs:
    """Pad each modality's (T, D) arrays to the batch's longest; masks mark real frames."""
    fields: dict[str, torch.Tensor] = {}
    for u, name in _FIELDS.items():
        arrays = [np.asarray(s[u], dtype=np.float32) for s in samples]
        length = max(a.shape[0] for a in arrays)
        x = torch.zeros(len(arrays), length, arrays[0].shape[1])
        mask = torch.zeros(len(arrays), length, dtype=torch.bool)
        for i, a in enumerate(arrays):
            x[i, : a.shape[0]] = torch.from_numpy(a)
            mask[i, : a.shape[0]] = True
        fields[name], fields[name + "_mask"] = x.to(device), mask.to(device)
    return ModalityInputs(**fields)


@torch.no_grad()
def head_probabilities(
    model: torch.nn.Module,
    samples: Sequence[Mapping[str, np.ndarray]],
    *,
    label_mode: str,
    batch_size: int = 64,
) -> dict[str, np.ndarray]:
    """head → (N, C) float64 probabilities for samples {"t": (Tt, Dt), "a": ..., "v": ...},
    in order, in fp32 (no autocast: stored probabilities do not depend on the machine)."""
    device = next(model.parameters()).device
    out: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(samples), batch_size):
        logits = model(_batch(samples[start : start + batch_size], device))
        for head in getattr(model, "heads", tuple(logits)):
            z = logits[head].double()
            p = torch.sigmoid(z) if label_mode == MULTI_LABEL else torch.softmax(z, dim=1)
            out.setdefault(head, []).append(p.cpu().numpy())
    return {head: np.concatenate(parts) for head, parts in out.items()}


class Summary(NamedTuple):
    label: str
    label_set: list[str] | None
    confidence: float
    entropy: float


def summarise(
    p: Sequence[float], classes: Sequence[str], label_mode: str, threshold: float = 0.35
) -> Summary:
    """What one head's probabilities `p` (in the run's class order) decide."""
    if label_mode == MULTI_LABEL:
        chosen = [c for c, x in zip(classes, p, strict=True) if x > threshold]
        confidence = min(max(x, 1.0 - x) for x in p)
        bernoulli = -sum(x * math.log(x) + (1 - x) * math.log(1 - x) for x in p if 0 < x < 1)
        return Summary("", chosen, float(confidence), float(bernoulli))
    best = max(range(len(p)), key=p.__getitem__)
    return Summary(classes[best], None, float(p[best]), entropy(p))


def entropy(p: Sequence[float]) -> float:
    """Shannon entropy (nats) of one head's softmax probabilities."""
    return float(-sum(x * math.log(x) for x in p if x > 0))


def run_threshold(config: Mapping[str, Any]) -> float:
    """The multi-label decision threshold a run was trained with (0.35 by default)."""
    return float(config.get("threshold", 0.35))
