"""Tensor-fusion baselines: TFN (Zadeh et al., 2017) and LMF (Liu et al., 2018), SPEC §7.

Both reduce each modality to one vector with a small sub-network over its masked time-mean,
then fuse the three vectors multiplicatively: TFN with the full 3-way outer product of
[h; 1] vectors, LMF with a rank-r factorisation of the same tensor product. Output: the `m` head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .common import UNI_MODALITIES, EmotionModel, ModalityInputs, ModelConfig, masked_mean
from .layers import MLPHead


class PooledSubNet(nn.Module):
    """Masked time-mean, then LayerNorm, dropout, 2-layer ReLU MLP: (B, T, D_in) -> (B, out_dim)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Dropout(dropout),
            nn.Linear(in_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
            nn.ReLU(),
        )

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.net(masked_mean(x, mask))


@dataclass(frozen=True)
class TFNConfig(ModelConfig):
    """TFN hyper-parameters. The outer product has Π(fusion_dim_u + 1) entries (33³ ≈ 36k)."""

    model_type: ClassVar[str] = "tfn"

    d_model: int = 128  # sub-network hidden width
    fusion_dims: dict[str, int] = field(default_factory=lambda: {"t": 32, "a": 32, "v": 32})
    post_fusion_dim: int = 128
    dropout: float = 0.1


def tfn_paper_config(**overrides: Any) -> TFNConfig:
    """TFN sized comparably to LFMIM's paper preset (width 128), paper feature shapes."""
    return TFNConfig(**overrides)


class TFN(EmotionModel):
    """TFN: z = [h_t; 1] ⊗ [h_a; 1] ⊗ [h_v; 1] (flattened) -> MLP -> `m` logits (B, C)."""

    config_class = TFNConfig
    config: TFNConfig

    def __init__(self, config: TFNConfig):
        super().__init__()
        self.config = c = config
        self.subnets = nn.ModuleDict(
            {
                u: PooledSubNet(c.feature_dims[u], c.d_model, c.fusion_dims[u], c.dropout)
                for u in UNI_MODALITIES
            }
        )
        product = 1
        for u in UNI_MODALITIES:
            product *= c.fusion_dims[u] + 1
        self.dropout = nn.Dropout(c.dropout)
        self.post_fusion = MLPHead(
            product, (c.post_fusion_dim, c.post_fusion_dim), c.num_classes, dropout=c.dropout
        )

    def forward(self, inputs: ModalityInputs) -> dict[str, Tensor]:
        inputs.check(self.config.feature_dims)
        h = {u: self.subnets[u](inputs.features(u), inputs.mask(u)) for u in UNI_MODALITIES}
        one = torch.ones(inputs.batch_size, 1, dtype=h["t"].dtype, device=h["t"].device)
        t, a, v = (torch.cat([h[u], one], dim=-1) for u in UNI_MODALITIES)
        z = torch.einsum("bi,bj,bk->bijk", t, a, v).flatten(1)  # (B, Π(d_u + 1))
        return {"m": self.post_fusion(self.dropout(z))}


@dataclass(frozen=True)
class LMFConfig(ModelConfig):
    """LMF hyper-parameters: rank of the modality-specific factors and fused width."""

    model_type: ClassVar[str] = "lmf"

    d_model: int = 128  # sub-network hidden and output width
    rank: int = 4
    fusion_dim: int = 128
    dropout: float = 0.1


def lmf_paper_config(**overrides: Any) -> LMFConfig:
    """LMF sized comparably to LFMIM's paper preset (width 128, rank 4)."""
    return LMFConfig(**overrides)


class LMF(EmotionModel):
    """LMF: fused = Σ_r w_r Π_u ([h_u; 1] W_u^(r)) + b, (B, fusion_dim) -> MLP -> `m` logits."""

    config_class = LMFConfig
    config: LMFConfig

    def __init__(self, config: LMFConfig):
        super().__init__()
        self.config = c = config
        if c.rank < 1:
            raise ValueError(f"LMF rank must be at least 1, not {c.rank}.")
        self.subnets = nn.ModuleDict(
            {
                u: PooledSubNet(c.feature_dims[u], c.d_model, c.d_model, c.dropout)
                for u in UNI_MODALITIES
            }
        )
        self.factors = nn.ParameterDict(
            {
                u: nn.Parameter(torch.empty(c.rank, c.d_model + 1, c.fusion_dim))
                for u in UNI_MODALITIES
            }
        )
        for factor in self.factors.values():
            nn.init.xavier_normal_(factor)
        self.rank_weights = nn.Parameter(torch.empty(1, c.rank))
        nn.init.xavier_normal_(self.rank_weights)
        self.fusion_bias = nn.Parameter(torch.zeros(c.fusion_dim))
        self.head = MLPHead(c.fusion_dim, (c.d_model,), c.num_classes, dropout=c.dropout)

    def forward(self, inputs: ModalityInputs) -> dict[str, Tensor]:
        inputs.check(self.config.feature_dims)
        fused: Tensor | None = None
        for u in UNI_MODALITIES:
            h = self.subnets[u](inputs.features(u), inputs.mask(u))  # (B, d)
            h = torch.cat([h, torch.ones_like(h[:, :1])], dim=-1)  # (B, d + 1)
            part = torch.einsum("bi,rio->rbo", h, self.factors[u])  # (rank, B, fusion_dim)
            fused = part if fused is None else fused * part
        assert fused is not None
        z = torch.einsum("r,rbo->bo", self.rank_weights[0], fused) + self.fusion_bias
        return {"m": self.head(z)}
