"""MulT, the multimodal transformer (Tsai et al., ACL 2019), as a baseline (SPEC §7).

For each target modality u and each source s ≠ u, a cross-modal transformer lets u's sequence
attend to s's embedded low-level sequence (n(n−1) = 6 blocks of `num_layers` layers). The two
outputs for u are concatenated along features (B, T_u, 2d), passed through a self-attention
transformer, pooled over u's real positions (the original takes the last step; with padding
that is not a real frame, so masked mean instead), and the three pooled vectors (B, 6d) go
through MulT's residual projection and output layer. Output: the `m` head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .common import UNI_MODALITIES, EmotionModel, ModalityInputs, masked_mean
from .layers import FeatureProjection, sinusoidal_positions
from .transformer_fusion import TransformerBaselineConfig


@dataclass(frozen=True)
class MulTConfig(TransformerBaselineConfig):
    """MulT hyper-parameters: `num_layers` per cross-modal block, `self_layers` per target."""

    model_type: ClassVar[str] = "mult"

    self_layers: int = 4  # MulT uses max(num_layers, 3)
    out_dropout: float = 0.1


def mult_paper_config(**overrides: Any) -> MulTConfig:
    """MulT sized like LFMIM's paper preset: d=128, 8 heads, 4 layers."""
    return MulTConfig(**overrides)


def _scaled_with_positions(x: Tensor, dropout: nn.Module) -> Tensor:
    """MulT's embedding of a sequence (B, T, D): ×√D, + sinusoidal positions, dropout."""
    positions = sinusoidal_positions(x.shape[1], x.shape[2], device=x.device, dtype=x.dtype)
    return dropout(x * math.sqrt(x.shape[2]) + positions)


class CrossModalTransformer(nn.Module):
    """Target (B, T, d) attends to source (B, S, d) via L cross-attention blocks -> (B, T, d)."""

    def __init__(self, config: TransformerBaselineConfig):
        super().__init__()
        self.blocks = nn.ModuleList(config.block(cross=True) for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(self, x: Tensor, mask: Tensor, source: Tensor, source_mask: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x, mask, memory=source, memory_mask=source_mask)
        return self.norm(x)


class MulT(EmotionModel):
    """MulT: ModalityInputs -> {"m": logits (B, num_classes)}."""

    config_class = MulTConfig
    config: MulTConfig

    def __init__(self, config: MulTConfig):
        super().__init__()
        self.config = c = config
        d, n = c.d_model, len(UNI_MODALITIES)
        self.proj = nn.ModuleDict(
            {
                u: FeatureProjection(
                    c.feature_dims[u], d, kind="conv", kernel_size=c.conv_kernel_size
                )
                for u in UNI_MODALITIES
            }
        )
        self.embed_dropout = nn.Dropout(c.embed_dropout)
        self.cross = nn.ModuleDict(
            {
                f"{s}_to_{u}": CrossModalTransformer(c)
                for u in UNI_MODALITIES
                for s in UNI_MODALITIES
                if s != u
            }
        )
        width = (n - 1) * d
        self.self_attn = nn.ModuleDict(
            {u: nn.ModuleList(c.block(width) for _ in range(c.self_layers)) for u in UNI_MODALITIES}
        )
        self.self_norm = nn.ModuleDict({u: nn.LayerNorm(width) for u in UNI_MODALITIES})
        combined = n * width
        self.proj1 = nn.Linear(combined, combined)
        self.proj2 = nn.Linear(combined, combined)
        self.out_dropout = nn.Dropout(c.out_dropout)
        self.out_layer = nn.Linear(combined, c.num_classes)

    def forward(self, inputs: ModalityInputs) -> dict[str, Tensor]:
        inputs.check(self.config.feature_dims)
        masks = {u: inputs.mask(u) for u in UNI_MODALITIES}
        emb = {
            u: _scaled_with_positions(
                self.proj[u](inputs.features(u), masks[u]), self.embed_dropout
            )
            for u in UNI_MODALITIES
        }  # (B, T_u, d)
        pooled = []
        for u in UNI_MODALITIES:
            crossed = [
                self.cross[f"{s}_to_{u}"](emb[u], masks[u], emb[s], masks[s])
                for s in UNI_MODALITIES
                if s != u
            ]
            h = _scaled_with_positions(torch.cat(crossed, dim=-1), self.embed_dropout)
            for block in self.self_attn[u]:
                h = block(h, masks[u])  # (B, T_u, 2d)
            pooled.append(masked_mean(self.self_norm[u](h), masks[u]))
        last = torch.cat(pooled, dim=-1)  # (B, 6d)
        out = self.proj2(self.out_dropout(torch.relu(self.proj1(last)))) + last
        return {"m": self.out_layer(out)}
