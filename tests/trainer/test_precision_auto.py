"""`mixed_precision=auto` picks bf16 on CPU only where bf16 matrix products are faster (AMX)."""

from __future__ import annotations

import torch

from training.engine import precision


def test_auto_on_cpu_follows_the_amx_check(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert precision.resolve_precision("auto", cpu).dtype == torch.bfloat16
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    chosen = precision.resolve_precision("auto", cpu)
    assert chosen.dtype is None and chosen.name == "fp32"
    assert precision.resolve_precision("bf16", cpu).dtype == torch.bfloat16
    assert precision.resolve_precision("no", cpu).dtype is None


def test_the_check_reads_the_cpu():
    assert precision.cpu_has_fast_bf16() == torch.cpu._is_amx_tile_supported()
