"""Building blocks shared by the models: projections, positions, transformer blocks, pooling, heads.

Every sequence module takes and returns `(B, T, D)` with a `(B, T)` bool mask (True = real).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .common import key_padding_mask, masked_mean, zero_padding


def sinusoidal_positions(
    length: int,
    dim: int,
    *,
    offset: int = 1,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(length, dim) sinusoidal positions for positions offset..offset+length-1.

    tensor2tensor/fairseq layout (first half sin, second half cos, frequency step
    log(10000)/(dim/2 - 1)), as used by MulT and the released LFMIM code (positions from 1).
    """
    half = dim // 2
    step = math.log(10000.0) / max(half - 1, 1)
    freqs = torch.exp(torch.arange(half, device=device, dtype=torch.float32) * -step)
    pos = torch.arange(offset, offset + length, device=device, dtype=torch.float32)
    angles = pos.unsqueeze(1) * freqs.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2:
        table = torch.cat([table, torch.zeros(length, 1, device=device)], dim=1)
    return table.to(dtype)


class FeatureProjection(nn.Module):
    """Map raw features to the model width: (B, T, D_in) -> (B, T, d).

    `kind="conv"` is a 1-D convolution over time (the paper's "1D convolutional layer"),
    `kind="linear"` a per-position linear layer (the released code). Padded inputs are zeroed
    first so a kernel wider than 1 never reads padded values.
    """

    def __init__(self, in_dim: int, d_model: int, *, kind: str = "conv", kernel_size: int = 1):
        super().__init__()
        if kind not in ("conv", "linear"):
            raise ValueError(f"projection kind must be 'conv' or 'linear', not {kind!r}.")
        if kind == "conv" and kernel_size % 2 == 0:
            raise ValueError("conv kernel_size must be odd so the sequence length is kept.")
        self.kind = kind
        if kind == "conv":
            self.proj: nn.Module = nn.Conv1d(in_dim, d_model, kernel_size, padding=kernel_size // 2)
        else:
            self.proj = nn.Linear(in_dim, d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = zero_padding(x, mask)
        if self.kind == "conv":
            return self.proj(x.transpose(1, 2)).transpose(1, 2)
        return self.proj(x)


class TransformerBlock(nn.Module):
    """Pre-LayerNorm transformer block; self-attention, or cross-attention when given `memory`.

    x (B, T, d), mask (B, T) -> (B, T, d). With `memory` (B, S, d) and `memory_mask` (B, S),
    queries come from x and keys/values from the (separately normalised) memory, as in MulT.
    `output_norm=True` adds a LayerNorm on each sub-layer's output before the residual sum
    (the released LFMIM block).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        *,
        ffn_mult: int = 4,
        attn_dropout: float = 0.1,
        ffn_dropout: float = 0.1,
        residual_dropout: float = 0.1,
        activation: str = "relu",
        output_norm: bool = False,
        cross: bool = False,
    ):
        super().__init__()
        acts = {"relu": nn.ReLU, "gelu": nn.GELU}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, not {activation!r}.")
        self.norm_attn = nn.LayerNorm(d_model)
        self.norm_memory = nn.LayerNorm(d_model) if cross else None
        self.attn = nn.MultiheadAttention(
            d_model, num_heads, dropout=attn_dropout, batch_first=True
        )
        self.attn_out_norm = nn.LayerNorm(d_model) if output_norm else nn.Identity()
        self.norm_ffn = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, ffn_mult * d_model),
            acts[activation](),
            nn.Dropout(ffn_dropout),
            nn.Linear(ffn_mult * d_model, d_model),
        )
        self.ffn_out_norm = nn.LayerNorm(d_model) if output_norm else nn.Identity()
        self.residual_dropout = nn.Dropout(residual_dropout)

    def forward(
        self,
        x: Tensor,
        mask: Tensor,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        h = self.norm_attn(x)
        if memory is None:
            kv, ignore = h, key_padding_mask(mask)
        else:
            if self.norm_memory is None or memory_mask is None:
                raise ValueError("cross-attention needs a block built with cross=True and a mask.")
            kv, ignore = self.norm_memory(memory), key_padding_mask(memory_mask)
        a = self.attn(h, kv, kv, key_padding_mask=ignore, need_weights=False)[0]
        x = x + self.residual_dropout(self.attn_out_norm(a))
        f = self.ffn(self.norm_ffn(x))
        return x + self.residual_dropout(self.ffn_out_norm(f))


class MeanPool(nn.Module):
    """Mean over real positions: (B, T, d), (B, T) -> (B, d)."""

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return masked_mean(x, mask)


class WeightedSumPool(nn.Module):
    """Learnable weighted sum over a fixed number of positions (released LFMIM): -> (B, d).

    Weights are free (not normalised), initialised U(0, 1)/sqrt(T) as released; padded
    positions get weight 0.
    """

    def __init__(self, length: int):
        super().__init__()
        self.length = length
        self.weight = nn.Parameter(torch.rand(length) * length**-0.5)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if x.shape[1] != self.length:
            raise ValueError(
                f"weighted-sum pooling was built for {self.length} positions but got "
                f"{x.shape[1]}; pad or cut every sequence to the config's seq_lens."
            )
        weights = self.weight.unsqueeze(0) * mask.to(x.dtype)
        return torch.einsum("bt,btd->bd", weights, x.masked_fill(~mask.unsqueeze(-1), 0.0))


class MLPHead(nn.Module):
    """Classifier MLP: (B, in_dim) -> (B, num_classes), ReLU between layers."""

    def __init__(
        self, in_dim: int, hidden: Sequence[int], num_classes: int, *, dropout: float = 0.0
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)
