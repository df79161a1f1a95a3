"""Dropout whose CPU mask costs one 64-bit random draw per four elements.

Why (training/models/README.md, "Speed"): on CPU, `torch.nn.functional.dropout` draws one
Mersenne-Twister number per element in a serial loop (`bernoulli_`), then divides and
multiplies in two more passes; in the paper preset's training step that was a fifth of the CPU
time. Here one full-range 64-bit draw gives four uniform 16-bit integers, an element is kept
when its integer is at least a threshold, and one `where` zeroes the dropped ones before an
in-place scale (torch: three passes plus the serial draws).

The distribution: each element is dropped independently with probability p̂ = round(p·2¹⁶)/2¹⁶
(|p̂ − p| ≤ 2⁻¹⁷; p̂ = p for 0.25, 0.5, …) and kept values are multiplied by 1/(1 − p̂), so the
expectation is the input, as with torch's dropout. The mask is saved as bool (1 byte per
element instead of torch's 4-byte float noise) for the backward pass. The 64-bit words come
from NumPy's SFC64 generator, seeded for each mask by one draw from torch's default CPU
generator, so `torch.manual_seed` makes it reproducible: SFC64 makes them 2–4× faster than
torch's serial Mersenne Twister (`random_`), which took a tenth of the paper preset's CPU step.
Off the CPU (CUDA's dropout is one fused kernel) and outside training this is `F.dropout` /
the identity.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

_LEVELS = 1 << 16


def keep_mask(shape: torch.Size | tuple[int, ...], p: float) -> tuple[Tensor, float]:
    """A CPU bool mask of `shape` (True = keep, each with probability 1 − p̂) and 1/(1 − p̂)."""
    dropped_levels = round(p * _LEVELS)
    n = math.prod(shape)
    seed = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))  # torch's generator
    words = np.random.SFC64(seed).random_raw((n + 3) // 4)
    bits = torch.from_numpy(words.view(np.int16)[:n]).view(shape)  # uniform on [-2^15, 2^15)
    keep = bits >= dropped_levels - _LEVELS // 2
    return keep, _LEVELS / (_LEVELS - dropped_levels)


class _KeepAndScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, keep: Tensor, scale: float) -> Tensor:  # noqa: D102
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return torch.where(keep, x, 0.0).mul_(scale)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # noqa: D102
        (keep,) = ctx.saved_tensors
        return torch.where(keep, grad, 0.0).mul_(ctx.scale), None, None


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Dropout with probability `p` (see the module docstring); `x` unchanged when not training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be between 0 and 1, not {p}.")
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or round(p * _LEVELS) >= _LEVELS:
        return F.dropout(x, p, training=True)
    keep, scale = keep_mask(x.shape, p)
    return _KeepAndScale.apply(x, keep, scale)


class Dropout(nn.Module):
    """`nn.Dropout` (same `p`, no parameters) computed with `dropout` above."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, not {p}.")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
