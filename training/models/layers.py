"""Building blocks shared by the models: projections, positions, transformer blocks, pooling, heads.

Every sequence module takes and returns `(B, T, D)` with a `(B, T)` bool mask (True = real).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import attention_mask, masked_mean, zero_padding
from .dropout import Dropout, keep_mask


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


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float
) -> Tensor:
    """softmax(q kᵀ / √d_head + mask) v with dropout on the attention weights: (B, H, T, d_head).

    `mask` is (B, 1, 1, S) bool, True = attend, or None. Without dropout, or off the CPU,
    PyTorch's fused `F.scaled_dot_product_attention`. PyTorch has no fused CPU kernel with
    dropout and its fallback runs a NaN-safe softmax (three extra passes over the B·H·T·S
    weights) and per-element `bernoulli_`; rows here always keep a visible key, so a plain
    softmax is exact, and the cheaper CPU dropout mask of `training.models.dropout` is used.
    """
    if dropout_p in (0.0, 1.0) or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (B, H, T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    keep, scale = keep_mask(scores.shape, dropout_p)
    # Dropout's 1/(1 - p) scale applied to the (B, H, T, d_head) output, not the weights.
    return (torch.where(keep, torch.softmax(scores, dim=-1), 0.0) @ v) * scale


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
            Dropout(ffn_dropout),
            nn.Linear(ffn_mult * d_model, d_model),
        )
        self.ffn_out_norm = nn.LayerNorm(d_model) if output_norm else nn.Identity()
        self.residual_dropout = Dropout(residual_dropout)

    def forward(
        self,
        x: Tensor,
        mask: Tensor,
        memory: Tensor | None = None,
        memory_mask: Tensor | None = None,
    ) -> Tensor:
        h = self.norm_attn(x)
        if memory is None:
            a = self._attend(h, h, mask)
        else:
            if self.norm_memory is None or memory_mask is None:
                raise ValueError("cross-attention needs a block built with cross=True and a mask.")
            a = self._attend(h, self.norm_memory(memory), memory_mask)
        x = x + self.residual_dropout(self.attn_out_norm(a))
        f = self.ffn(self.norm_ffn(x))
        return x + self.residual_dropout(self.ffn_out_norm(f))

    def _attend(self, h: Tensor, kv: Tensor, kv_mask: Tensor) -> Tensor:
        """Multi-head attention of queries h (B, T, d) over kv (B, S, d) -> (B, T, d).

        The same function as `nn.MultiheadAttention` (whose parameters `self.attn` holds, so
        checkpoints keep their names) computed in one `scaled_dot_product_attention` call on
        head-split views: no batch-first transposes or copies of q, k, v, and no attention mask
        at all when no key is padded.
        """
        attn = self.attn
        batch, length, d = h.shape
        heads = attn.num_heads
        weight, bias = attn.in_proj_weight, attn.in_proj_bias
        if kv is h:  # self-attention: one (d -> 3d) projection
            qkv = F.linear(h, weight, bias).view(batch, length, 3, heads, d // heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, d/H)
        else:
            q = F.linear(h, weight[:d], bias[:d])
            q = q.view(batch, length, heads, d // heads).transpose(1, 2)
            kv_proj = F.linear(kv, weight[d:], bias[d:]).view(batch, -1, 2, heads, d // heads)
            k, v = kv_proj.permute(2, 0, 3, 1, 4).unbind(0)
        p = attn.dropout if self.training else 0.0
        out = scaled_dot_product_attention(q, k, v, attention_mask(kv_mask), p)
        return attn.out_proj(out.transpose(1, 2).reshape(batch, length, d))


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
