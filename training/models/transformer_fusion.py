"""Transformer fusion baselines of the LFMIM paper (§5.1.1, SPEC §7): early and late fusion.

EF-transformer: project each modality to d, add positions and a learned modality embedding,
concatenate along time, one transformer over the joint sequence, masked mean, MLP.
LF-transformer: one transformer per modality, masked mean each, concatenate, MLP.
Both output the `m` head only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .common import UNI_MODALITIES, EmotionModel, ModalityInputs, ModelConfig, masked_mean
from .layers import FeatureProjection, MLPHead, TransformerBlock, sinusoidal_positions


@dataclass(frozen=True)
class TransformerBaselineConfig(ModelConfig):
    """Shared by the transformer baselines; defaults match LFMIM's paper preset (d=128)."""

    d_model: int = 128
    num_heads: int = 8
    num_layers: int = 4
    ffn_mult: int = 4
    dropout: float = 0.1  # attention, feed-forward and residual dropout
    embed_dropout: float = 0.1
    conv_kernel_size: int = 1
    head_hidden: tuple[int, ...] = (128,)
    head_dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by num_heads={self.num_heads}."
            )

    def block(self, d_model: int | None = None, *, cross: bool = False) -> TransformerBlock:
        """A pre-LN transformer block of this config (width `d_model`, default the config's)."""
        return TransformerBlock(
            d_model or self.d_model,
            self.num_heads,
            ffn_mult=self.ffn_mult,
            attn_dropout=self.dropout,
            ffn_dropout=self.dropout,
            residual_dropout=self.dropout,
            cross=cross,
        )


class UniModalEncoder(nn.Module):
    """1-D conv to d, + sinusoidal positions, dropout, L pre-LN blocks, final LayerNorm.

    (B, T, D_in), (B, T) -> (B, T, d).
    """

    def __init__(self, in_dim: int, config: TransformerBaselineConfig):
        super().__init__()
        self.proj = FeatureProjection(
            in_dim, config.d_model, kind="conv", kernel_size=config.conv_kernel_size
        )
        self.dropout = nn.Dropout(config.embed_dropout)
        self.blocks = nn.ModuleList(config.block() for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        z = self.proj(x, mask)
        z = self.dropout(
            z + sinusoidal_positions(z.shape[1], z.shape[2], device=z.device, dtype=z.dtype)
        )
        for block in self.blocks:
            z = block(z, mask)
        return self.norm(z)


@dataclass(frozen=True)
class EFTConfig(TransformerBaselineConfig):
    model_type: ClassVar[str] = "eft"


@dataclass(frozen=True)
class LFTConfig(TransformerBaselineConfig):
    model_type: ClassVar[str] = "lft"


def eft_paper_config(**overrides: Any) -> EFTConfig:
    """EF-transformer sized like LFMIM's paper preset: d=128, 8 heads, 4 layers."""
    return EFTConfig(**overrides)


def lft_paper_config(**overrides: Any) -> LFTConfig:
    """LF-transformer sized like LFMIM's paper preset: d=128, 8 heads, 4 layers per modality."""
    return LFTConfig(**overrides)


class EFTransformer(EmotionModel):
    """Early fusion: one transformer over [t; a; v] (B, Tt + Ta + Tv, d) -> `m` logits."""

    config_class = EFTConfig
    config: EFTConfig

    def __init__(self, config: EFTConfig):
        super().__init__()
        self.config = c = config
        self.proj = nn.ModuleDict(
            {
                u: FeatureProjection(
                    c.feature_dims[u], c.d_model, kind="conv", kernel_size=c.conv_kernel_size
                )
                for u in UNI_MODALITIES
            }
        )
        self.modality_embedding = nn.Parameter(
            torch.randn(len(UNI_MODALITIES), c.d_model) * c.d_model**-0.5
        )
        self.dropout = nn.Dropout(c.embed_dropout)
        self.blocks = nn.ModuleList(c.block() for _ in range(c.num_layers))
        self.norm = nn.LayerNorm(c.d_model)
        self.head = MLPHead(c.d_model, c.head_hidden, c.num_classes, dropout=c.head_dropout)

    def forward(self, inputs: ModalityInputs) -> dict[str, Tensor]:
        inputs.check(self.config.feature_dims)
        parts = []
        for k, u in enumerate(UNI_MODALITIES):
            z = self.proj[u](inputs.features(u), inputs.mask(u))
            z = z + sinusoidal_positions(z.shape[1], z.shape[2], device=z.device, dtype=z.dtype)
            parts.append(z + self.modality_embedding[k])
        z = self.dropout(torch.cat(parts, dim=1))  # (B, Tt + Ta + Tv, d)
        mask = torch.cat([inputs.mask(u) for u in UNI_MODALITIES], dim=1)
        for block in self.blocks:
            z = block(z, mask)
        return {"m": self.head(masked_mean(self.norm(z), mask))}


class LFTransformer(EmotionModel):
    """Late fusion: a transformer per modality, pooled (B, 3d) -> MLP -> `m` logits."""

    config_class = LFTConfig
    config: LFTConfig

    def __init__(self, config: LFTConfig):
        super().__init__()
        self.config = c = config
        self.encoders = nn.ModuleDict(
            {u: UniModalEncoder(c.feature_dims[u], c) for u in UNI_MODALITIES}
        )
        self.head = MLPHead(
            len(UNI_MODALITIES) * c.d_model, c.head_hidden, c.num_classes, dropout=c.head_dropout
        )

    def forward(self, inputs: ModalityInputs) -> dict[str, Tensor]:
        inputs.check(self.config.feature_dims)
        pooled = []
        for u in UNI_MODALITIES:
            x, mask = inputs.features(u), inputs.mask(u)
            pooled.append(masked_mean(self.encoders[u](x, mask), mask))
        return {"m": self.head(torch.cat(pooled, dim=-1))}
