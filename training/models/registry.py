"""Build any model by name and preset; record a model as a dict and rebuild it from that dict."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .common import EmotionModel, ModelConfig
from .lfmim import LFMIM, LFMIM_PRESETS
from .mult import MulT, mult_paper_config
from .names import ALL_HEADS, MODEL_NAMES
from .pmr import PMR, PMR_PRESETS
from .tailor import TAILOR, tailor_released_config
from .tensor_fusion import LMF, TFN, lmf_paper_config, tfn_paper_config
from .transformer_fusion import EFTransformer, LFTransformer, eft_paper_config, lft_paper_config


@dataclass(frozen=True)
class _Entry:
    model_class: type[EmotionModel]
    presets: Mapping[str, Callable[..., ModelConfig]]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    default_preset: str = "paper"


LFMIM_ML_LABEL_TARGETS: dict[str, str] = {h: "m" for h in ALL_HEADS}

_REGISTRY: dict[str, _Entry] = {
    "lfmim": _Entry(LFMIM, LFMIM_PRESETS),
    # LFMIM-ML (ablation, §5.2): the same network, every head trained on the multi-modal label.
    "lfmim-ml": _Entry(LFMIM, LFMIM_PRESETS, fixed={"label_targets": LFMIM_ML_LABEL_TARGETS}),
    "pmr": _Entry(PMR, PMR_PRESETS),
    "tfn": _Entry(TFN, {"paper": tfn_paper_config}),
    "lmf": _Entry(LMF, {"paper": lmf_paper_config}),
    "eft": _Entry(EFTransformer, {"paper": eft_paper_config}),
    "lft": _Entry(LFTransformer, {"paper": lft_paper_config}),
    "mult": _Entry(MulT, {"paper": mult_paper_config}),
    # TAILOR (multi-label, SPEC §8): the released code's CMU-MOSEI shapes.
    "tailor": _Entry(TAILOR, {"released": tailor_released_config}, default_preset="released"),
}

assert tuple(_REGISTRY) == MODEL_NAMES, "names.MODEL_NAMES must list the registry's models"

# model_type (stored in records) -> class; lfmim-ml is an LFMIM whose config says so.
MODEL_CLASSES: dict[str, type[EmotionModel]] = {
    e.model_class.config_class.model_type: e.model_class for e in _REGISTRY.values()
}


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
    return _REGISTRY[name]


def presets(name: str) -> tuple[str, ...]:
    """The preset names model `name` accepts; the first is its default."""
    entry = _entry(name)
    return (entry.default_preset, *(p for p in entry.presets if p != entry.default_preset))


def build_config(
    name: str,
    *,
    preset: str | None = None,
    num_classes: int | None = None,
    feature_dims: Mapping[str, int] | None = None,
    **overrides: Any,
) -> ModelConfig:
    """The config `build_model` would use. `feature_dims` defaults to the preset's shapes."""
    entry = _entry(name)
    preset = preset or entry.default_preset
    if preset not in entry.presets:
        raise ValueError(
            f"Model {name!r} has no preset {preset!r}; choose one of {', '.join(presets(name))}."
        )
    config_class = entry.model_class.config_class
    valid = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(
            f"Model {name!r} has no setting(s) {unknown}; valid settings are {sorted(valid)}."
        )
    values: dict[str, Any] = dict(entry.fixed)
    if num_classes is not None:  # else the preset's own (7 emotions; TAILOR: 6)
        values["num_classes"] = num_classes
    if feature_dims is not None:
        values["feature_dims"] = dict(feature_dims)
    values.update(overrides)
    return entry.presets[preset](**values)


def build_model(
    name: str,
    *,
    preset: str | None = None,
    num_classes: int | None = None,
    feature_dims: Mapping[str, int] | None = None,
    **overrides: Any,
) -> EmotionModel:
    """Build model `name` (one of MODEL_NAMES) from a preset, with config fields overridden.

    Example: `build_model("lfmim", preset="released")`,
    `build_model("mult", feature_dims={"t": 1024, "a": 1024, "v": 2048}, d_model=64)`.
    """
    config = build_config(
        name, preset=preset, num_classes=num_classes, feature_dims=feature_dims, **overrides
    )
    return _entry(name).model_class(config)


def model_to_dict(model: EmotionModel) -> dict[str, Any]:
    """JSON-ready record of a model's architecture: {"model_type": ..., "config": {...}}."""
    return {"model_type": model.config.model_type, "config": model.config.to_dict()}


def model_from_dict(record: Mapping[str, Any]) -> EmotionModel:
    """Rebuild a (freshly initialised) model from `model_to_dict` output."""
    model_type = record.get("model_type")
    if model_type not in MODEL_CLASSES:
        raise ValueError(
            f"Cannot rebuild model type {model_type!r}; known types are {sorted(MODEL_CLASSES)}."
        )
    model_class = MODEL_CLASSES[model_type]
    return model_class(model_class.config_class.from_dict(dict(record["config"])))


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameter values (works on the `meta` device too)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
