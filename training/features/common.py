"""Shared bits of the feature extractors: device and precision choice, errors, and weight
provenance."""

from __future__ import annotations

import contextlib
import hashlib

import torch
import transformers

from training.features.sources import PRECISIONS, model_note, weight_files
from training.hashing import sha256_file


class MediaDecodeError(ValueError):
    """A media file could not be decoded into what a feature extractor needs."""


def resolve_device(device: str | None) -> str:
    """The device to run on: as given, else CUDA when available, else CPU."""
    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str, device: str) -> str:
    """The arithmetic the models run in: "fp32", or "bf16" autocast (outputs stay float32).

    "auto" is bf16 where bf16 matrix products are faster than fp32 ones (CUDA, or a CPU with
    AMX tiles or AMD's AVX512-BF16: ``cpu_has_fast_bf16``) and fp32 elsewhere; bf16 changes
    features by about 1 % of their range (tests/features/test_precision.py), which is why the
    datasheet records it.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "bf16"
    from training.engine.precision import cpu_has_fast_bf16

    return "bf16" if device == "cpu" and cpu_has_fast_bf16() else "fp32"


def autocast(precision: str, device: str):
    """The context a forward pass runs in for ``resolve_precision``'s answer."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def weights_provenance(model_name_or_path: str) -> dict:
    """SHA-256 of each weight file and one digest over all of them (name and hash, in order).

    ``weights_sha256`` is None when the files cannot be found locally.
    """
    files = [
        {"name": p.name, "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in weight_files(model_name_or_path)
    ]
    combined = None
    if files:
        digest = hashlib.sha256()
        for f in files:
            digest.update(f"{f['name']}\0{f['sha256']}\n".encode())
        combined = files[0]["sha256"] if len(files) == 1 else digest.hexdigest()
    return {"weights_sha256": combined, "weights_files": files}


class ModelDescription:
    """Caches the provenance part of ``describe()``: hashing large weights takes seconds."""

    def __init__(
        self, model_name_or_path: str, model: torch.nn.Module, precision: str = "fp32"
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.model = model
        self.precision = precision
        self._provenance: dict | None = None

    def base(self, hidden_size: int) -> dict:
        if self._provenance is None:
            self._provenance = weights_provenance(self.model_name_or_path)
        config = self.model.config
        note = model_note(self.model_name_or_path)
        return {
            "model": self.model_name_or_path,
            **({"note": note} if note else {}),
            "model_type": config.model_type,
            "architecture": type(self.model).__name__,
            "hidden_size": int(hidden_size),
            "dtype": "float32",
            "compute_precision": self.precision,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            **self._provenance,
        }
