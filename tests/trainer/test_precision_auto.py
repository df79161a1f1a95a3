"""`mixed_precision=auto` picks bf16 on CPU only where bf16 matrix products are faster: AMX
tiles, or AVX512-BF16 on an AMD CPU (not on an Intel one without AMX, measured slower)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.engine import precision


def test_auto_on_cpu_follows_the_fast_bf16_check(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert precision.resolve_precision("auto", cpu).dtype == torch.bfloat16
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    chosen = precision.resolve_precision("auto", cpu)
    assert chosen.dtype is None and chosen.name == "fp32"
    assert precision.resolve_precision("bf16", cpu).dtype == torch.bfloat16
    assert precision.resolve_precision("no", cpu).dtype is None


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "vendor", "fast"),
    [
        (True, True, "GenuineIntel", True),  # Sapphire Rapids with AMX exposed
        (False, True, "GenuineIntel", False),  # the same Xeon with AMX masked: 0.6× fp32
        (False, True, "AuthenticAMD", True),  # EPYC Zen 4: 2.3× fp32
        (False, False, "AuthenticAMD", False),  # EPYC Zen 3: no bf16 instructions
        (False, True, "", False),  # no /proc/cpuinfo to tell the vendor
    ],
)
def test_bf16_is_fast_with_amx_or_on_amd_with_avx512_bf16(
    monkeypatch, amx, avx512_bf16, vendor, fast
):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(precision, "cpu_vendor", lambda: vendor)
    assert precision.cpu_has_fast_bf16() is fast


def test_the_check_reads_this_cpu():
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo on this system")
    first = cpuinfo.read_text().split("\n\n")[0]
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    assert precision.cpu_vendor() == fields["vendor_id"]
    amd_bf16 = "avx512_bf16" in flags and fields["vendor_id"] == "AuthenticAMD"
    assert precision.cpu_has_fast_bf16() == ("amx_tile" in flags or amd_bf16)


def test_vendor_is_empty_without_cpuinfo(tmp_path):
    assert precision.cpu_vendor(str(tmp_path / "missing")) == ""
