"""Tiny model configs and padded synthetic batches, so model tests run in seconds on CPU."""

from __future__ import annotations

import torch

from training.models import MODEL_NAMES, EmotionModel, ModalityInputs, build_model, presets

TINY_DIMS = {"t": 12, "a": 10, "v": 8}
TINY_LENS = {"t": 7, "a": 9, "v": 5}

_LFMIM_TINY = dict(
    d_model=16, num_heads=2, num_layers=2, uni_head_hidden=(16,), m_head_hidden=(16,)
)
_RELEASED_TINY = dict(
    d_model=32, num_heads=4, num_layers=2, uni_head_hidden=(16, 8), m_head_hidden=(32, 16, 8)
)
_TRANSFORMER_TINY = dict(d_model=16, num_heads=2, num_layers=2, head_hidden=(16,))

TINY_OVERRIDES: dict[tuple[str, str], dict] = {
    ("lfmim", "paper"): _LFMIM_TINY,
    ("lfmim", "released"): _RELEASED_TINY,
    ("lfmim-ml", "paper"): _LFMIM_TINY,
    ("lfmim-ml", "released"): _RELEASED_TINY,
    ("pmr", "paper"): _LFMIM_TINY,
    ("tfn", "paper"): dict(d_model=16, fusion_dims={"t": 4, "a": 4, "v": 4}, post_fusion_dim=16),
    ("lmf", "paper"): dict(d_model=16, rank=2, fusion_dim=16),
    ("eft", "paper"): _TRANSFORMER_TINY,
    ("lft", "paper"): _TRANSFORMER_TINY,
    ("mult", "paper"): dict(_TRANSFORMER_TINY, self_layers=2),
    ("tailor", "released"): dict(
        d_model=16,
        num_heads=2,
        ffn_mult=2,
        encoder_layers={"t": 2, "a": 1, "v": 1},
        cross_layers=1,
        decoder_layers=1,
    ),
}

ALL_PRESETS: list[tuple[str, str]] = [(n, p) for n in MODEL_NAMES for p in presets(n)]
assert set(ALL_PRESETS) == set(TINY_OVERRIDES), "give every model/preset a tiny config"


def tiny_model(name: str, preset: str, *, seed: int = 0, **extra) -> EmotionModel:
    """A small, deterministic-initialised model of `name`/`preset` in eval mode."""
    torch.manual_seed(seed)
    overrides = dict(TINY_OVERRIDES[(name, preset)], **extra)
    overrides.setdefault("seq_lens", dict(TINY_LENS))
    return build_model(name, preset=preset, feature_dims=TINY_DIMS, **overrides).eval()


def padded_batch(
    batch: int = 4,
    *,
    dims: dict[str, int] = TINY_DIMS,
    lens: dict[str, int] = TINY_LENS,
    seed: int = 1,
) -> ModalityInputs:
    """Random features; sample 0 is full length, the others have 1..T real positions."""
    g = torch.Generator().manual_seed(seed)
    fields = {}
    for u, name in (("t", "text"), ("a", "audio"), ("v", "vision")):
        x = torch.randn(batch, lens[u], dims[u], generator=g)
        real = torch.randint(1, lens[u] + 1, (batch,), generator=g)
        real[0] = lens[u]
        mask = torch.arange(lens[u]).unsqueeze(0) < real.unsqueeze(1)
        fields[name] = x.masked_fill(~mask.unsqueeze(-1), 0.0)
        fields[name + "_mask"] = mask
    return ModalityInputs(**fields)


def replace_padding(inputs: ModalityInputs, *, seed: int = 2, scale: float = 100.0):
    """Same batch with every padded position filled with large random values."""
    g = torch.Generator().manual_seed(seed)
    fields = {}
    for u, name in (("t", "text"), ("a", "audio"), ("v", "vision")):
        x, mask = inputs.features(u), inputs.mask(u)
        noise = scale * torch.randn(x.shape, generator=g)
        fields[name] = torch.where(mask.unsqueeze(-1), x, noise)
        fields[name + "_mask"] = mask
    return ModalityInputs(**fields)


def with_modality(inputs: ModalityInputs, modality: str, features: torch.Tensor):
    """Same batch with one modality's features replaced."""
    name = {"t": "text", "a": "audio", "v": "vision"}[modality]
    fields = {f: getattr(inputs, f) for f in inputs.__dataclass_fields__}
    fields[name] = features
    return ModalityInputs(**fields)
