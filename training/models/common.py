"""What every model shares: the input bundle, the config base class and padding-mask helpers.

Conventions used throughout `training.models`:
- modalities are `t` (text), `a` (audio), `v` (vision); `m` names the multi-modal head;
- a feature tensor is `(B, T, D)`; its mask is `(B, T)` bool with True = real position;
- a model maps `ModalityInputs` to `{head: logits (B, num_classes)}`: one score per class
  (single-label: softmax over them; multi-label: one sigmoid per emotion — the same heads,
  only the trainer's loss and decision differ);
- a model with objectives of its own (TAILOR) returns a `ModelOutput` (that dict plus
  `.extras`, the tensors its losses need) and implements `auxiliary_losses`, whose weighted
  terms the trainer adds to Σ_u β_u L_u.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import torch
from torch import Tensor, nn

UNI_MODALITIES: tuple[str, ...] = ("t", "a", "v")

# Feature shapes (dims and lengths) of the paper (§3.3) and of the released code (SPEC §4).
PAPER_FEATURE_DIMS: dict[str, int] = {"t": 768, "a": 768, "v": 512}
PAPER_SEQ_LENS: dict[str, int] = {"t": 80, "a": 100, "v": 64}
RELEASED_FEATURE_DIMS: dict[str, int] = {"t": 1024, "a": 1024, "v": 2048}
RELEASED_SEQ_LENS: dict[str, int] = {"t": 80, "a": 50, "v": 16}

_FIELD_OF = {"t": "text", "a": "audio", "v": "vision"}


def default_device() -> torch.device:
    """The device to train on, decided at run time: the first GPU if there is one, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class ModalityInputs:
    """One batch of padded feature sequences, one per modality.

    text (B, Tt, Dt), audio (B, Ta, Da), vision (B, Tv, Dv) float;
    each `*_mask` is (B, T) bool, True where the position holds a real frame/token.
    """

    text: Tensor
    text_mask: Tensor
    audio: Tensor
    audio_mask: Tensor
    vision: Tensor
    vision_mask: Tensor

    @classmethod
    def unpadded(cls, text: Tensor, audio: Tensor, vision: Tensor) -> ModalityInputs:
        """Wrap sequences that have no padding (every mask all True)."""

        def full(x: Tensor) -> Tensor:
            return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)

        return cls(text, full(text), audio, full(audio), vision, full(vision))

    def features(self, modality: str) -> Tensor:
        """The (B, T, D) features of modality `t`, `a` or `v`."""
        return getattr(self, _FIELD_OF[modality])

    def mask(self, modality: str) -> Tensor:
        """The (B, T) bool mask of modality `t`, `a` or `v`."""
        return getattr(self, _FIELD_OF[modality] + "_mask")

    @property
    def batch_size(self) -> int:
        return self.text.shape[0]

    def to(self, device: torch.device | str) -> ModalityInputs:
        """A copy with every tensor moved to `device`."""
        return ModalityInputs(
            **{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)}
        )

    def check(self, feature_dims: dict[str, int]) -> None:
        """Raise ValueError, saying what to fix, if shapes or mask dtypes do not fit the model."""
        batch = self.batch_size
        for u in UNI_MODALITIES:
            x, mask, name = self.features(u), self.mask(u), _FIELD_OF[u]
            if x.dim() != 3 or x.shape[0] != batch or x.shape[2] != feature_dims[u]:
                raise ValueError(
                    f"{name} features have shape {tuple(x.shape)} but the model expects "
                    f"(B={batch}, T, {feature_dims[u]}); build the model with "
                    f"feature_dims matching your features."
                )
            if mask.dtype != torch.bool or tuple(mask.shape) != tuple(x.shape[:2]):
                raise ValueError(
                    f"{name}_mask must be a bool tensor of shape {tuple(x.shape[:2])} "
                    f"(True = real position); got {mask.dtype} {tuple(mask.shape)}."
                )


@dataclass(frozen=True)
class ModelConfig:
    """Base of every model config: plain values only, so it round-trips through a dict/JSON."""

    model_type: ClassVar[str] = ""

    num_classes: int = 7
    feature_dims: dict[str, int] = field(default_factory=lambda: dict(PAPER_FEATURE_DIMS))
    # Lengths the data pipeline pads or cuts each modality to. Only fixed-length layers (the
    # released LFMIM's weighted-sum pooling) require them; other models accept any length.
    seq_lens: dict[str, int] = field(default_factory=lambda: dict(PAPER_SEQ_LENS))

    def __post_init__(self) -> None:
        # JSON turns tuples into lists; turn them back so configs compare equal after a round trip.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
        for name in ("feature_dims", "seq_lens"):
            keys = sorted(getattr(self, name))
            if keys != sorted(UNI_MODALITIES):
                raise ValueError(f"{name} needs exactly the keys t, a, v; got {keys}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a config from `to_dict()` output; unknown keys are an error, not ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no field(s) {unknown}; valid fields are {sorted(names)}."
            )
        return cls(**data)


class ModelOutput(dict):
    """`{head: logits}` as every model returns, plus `extras`: named intermediate tensors a
    model's `auxiliary_losses` needs (never logits of a head). Code that only wants the
    heads' logits treats it as the plain dict it is."""

    def __init__(self, logits: Mapping[str, Tensor], extras: Mapping[str, Any] | None = None):
        super().__init__(logits)
        self.extras: dict[str, Any] = dict(extras or {})


# The trainer's per-head loss: (logits (B, C), target (B,) ids or (B, C) multi-hot) -> scalar.
LabelLoss = Callable[[Tensor, Tensor], Tensor]


class EmotionModel(nn.Module):
    """Base of every model: `forward(ModalityInputs) -> {head: logits (B, num_classes)}`."""

    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    HEADS: ClassVar[tuple[str, ...]] = ("m",)

    config: ModelConfig

    @property
    def heads(self) -> tuple[str, ...]:
        """Names of the heads `forward` returns, in order."""
        return self.HEADS

    @property
    def label_targets(self) -> dict[str, str]:
        """Head -> which label (t, a, v or m) the trainer supervises it with."""
        return {h: h for h in self.heads}

    @property
    def auxiliary_terms(self) -> tuple[str, ...]:
        """Names of the terms `auxiliary_losses` returns, in order (none for most models)."""
        return ()

    def auxiliary_losses(
        self,
        outputs: Mapping[str, Tensor],
        targets: Mapping[str, Tensor],
        label_loss: LabelLoss,
    ) -> dict[str, Tensor]:
        """Weighted auxiliary loss terms {name: scalar} the trainer adds to the head losses.

        `outputs`: what `forward` returned for the batch; `targets`: {head: its targets};
        `label_loss`: the run's per-head loss (CE or BCE), for terms on label predictions.
        """
        return {}


def zero_padding(x: Tensor, mask: Tensor) -> Tensor:
    """(B, T, D) with padded positions set to 0, so their values can never leak anywhere."""
    return x.masked_fill(~mask.unsqueeze(-1), 0.0)


def attention_mask(mask: Tensor) -> Tensor | None:
    """Turn a (B, S) real-key mask into `scaled_dot_product_attention`'s boolean attn_mask.

    Returns (B, 1, 1, S), True = attend, or None on CPU when every key is real (no mask is
    cheaper there; elsewhere the check would wait for the device, so the mask is kept). A row
    without any real key would make attention NaN, so its first key is left visible; such a
    row's content is input-independent (inputs are zeroed at padded positions) and it is
    excluded from pooling anyway.
    """
    if mask.device.type == "cpu" and bool(mask.all()):
        return None
    empty = ~mask.any(dim=1, keepdim=True)  # (B, 1)
    first = torch.zeros_like(mask)
    first[:, 0] = True
    return (mask | (first & empty))[:, None, None, :]


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over real positions: (B, T, D), (B, T) -> (B, D); an all-padding row gives zeros."""
    total = x.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)
    count = mask.sum(dim=1, keepdim=True).clamp(min=1).to(x.dtype)
    return total / count
