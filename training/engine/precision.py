"""Mixed precision: autocast (bf16, else fp16 with a gradient scaler) where it is faster.

`auto` decides at run time. On CUDA: bf16 where the GPU supports it (no scaler needed), fp16
with `torch.amp.GradScaler` otherwise. On CPU: bf16 where its matrix products were measured
faster than fp32 ones (``cpu_has_fast_bf16``), otherwise float32:

- AMX tiles (Intel Sapphire Rapids and later, if the hypervisor exposes them): bf16 products
  about 6× the fp32 rate (2,016 against 324 GFLOP/s on the project's 2-core Xeon VM);
- AVX512-BF16 on an AMD CPU (Zen 4 and later): on the 2-core EPYC VM bf16 matrix products
  ran at 2.3× the fp32 rate (2048²: 397 against 173 GFLOP/s), an LFMIM training step at
  1.9× and the audio and vision feature extractors at 1.5–1.6× (README, Benchmarks);
- AVX512-BF16 on an Intel CPU without AMX is not enough: on the 2-core Xeon (avx512_bf16 and
  avx512_fp16, AMX masked) the same product ran at about 0.6× the fp32 rate and an LFMIM
  step at 0.85×, so bf16 autocast would slow it.

`bf16` forces it anywhere.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Precision:
    dtype: torch.dtype | None  # None: float32, no autocast
    device_type: str

    @property
    def needs_scaler(self) -> bool:
        return self.dtype == torch.float16

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler:
        """A scaler that is a no-op unless fp16 needs it (its state still checkpoints)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.needs_scaler)


def resolve_precision(setting: str, device: torch.device) -> Precision:
    """The autocast dtype for `mixed_precision` = auto | no | bf16 | fp16 on `device`."""
    cuda = device.type == "cuda"
    if setting == "auto" and device.type == "cpu":
        return Precision(torch.bfloat16 if cpu_has_fast_bf16() else None, "cpu")
    if setting == "no" or (setting == "auto" and not cuda):
        return Precision(None, device.type)
    if setting == "auto":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Precision(dtype, "cuda")
    if setting == "fp16" and not cuda:
        raise ValueError("fp16 mixed precision needs a GPU; use 'bf16' or 'no' on CPU.")
    return Precision(torch.bfloat16 if setting == "bf16" else torch.float16, device.type)


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices faster than fp32 ones: AMX tiles, or
    AVX512-BF16 on an AMD CPU (see the module docstring for the measurements)."""
    if torch.cpu._is_amx_tile_supported():
        return True
    return bool(torch.cpu._is_avx512_bf16_supported()) and cpu_vendor() == "AuthenticAMD"


def cpu_vendor(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's vendor string (``AuthenticAMD``, ``GenuineIntel``); "" where Linux's
    /proc/cpuinfo is not there to say."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "vendor_id":
                    return value.strip()
    except OSError:
        pass
    return ""
