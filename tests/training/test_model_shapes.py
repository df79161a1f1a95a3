"""Every model and preset maps ModalityInputs to one (B, num_classes) logit tensor per head."""

from __future__ import annotations

import pytest
import torch

from training.models import (
    ALL_HEADS,
    PAPER_FEATURE_DIMS,
    PAPER_SEQ_LENS,
    RELEASED_FEATURE_DIMS,
    RELEASED_SEQ_LENS,
    ModalityInputs,
    build_model,
)

from .tiny import ALL_PRESETS, padded_batch, tiny_model


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
def test_every_model_returns_finite_logits_of_shape_batch_by_classes_per_head(name, preset):
    model = tiny_model(name, preset)
    with torch.no_grad():
        out = model(padded_batch(batch=3))
    assert tuple(out) == model.heads
    assert "m" in model.heads
    for logits in out.values():
        assert logits.shape == (3, model.config.num_classes)  # 7 emotions; TAILOR: 6
        assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", ["lfmim", "lfmim-ml", "pmr"])
def test_lfmim_family_has_uni_modal_and_multi_modal_heads(name):
    assert tiny_model(name, "paper").heads == ALL_HEADS


def test_num_classes_sets_the_logit_width():
    model = tiny_model("lfmim", "paper", num_classes=5)
    with torch.no_grad():
        out = model(padded_batch(batch=2))
    assert all(v.shape == (2, 5) for v in out.values())


def _full_batch(dims, lens, batch=2, device="cpu"):
    x = {u: torch.randn(batch, lens[u], dims[u], device=device) for u in "tav"}
    return ModalityInputs.unpadded(x["t"], x["a"], x["v"])


@pytest.mark.parametrize("name", ["lfmim", "pmr", "tfn", "lmf", "eft", "lft", "mult"])
def test_paper_preset_accepts_the_papers_feature_shapes(name):
    torch.manual_seed(0)
    model = build_model(name, preset="paper").eval()
    with torch.no_grad():
        out = model(_full_batch(PAPER_FEATURE_DIMS, PAPER_SEQ_LENS))
    assert all(v.shape == (2, 7) for v in out.values())


def test_released_preset_accepts_the_released_codes_feature_shapes():
    # Full-size shapes propagate on the meta device without allocating 270 M weights.
    with torch.device("meta"):
        model = build_model("lfmim", preset="released")
        out = model(_full_batch(RELEASED_FEATURE_DIMS, RELEASED_SEQ_LENS, device="meta"))
    assert {h: tuple(v.shape) for h, v in out.items()} == {h: (2, 7) for h in ALL_HEADS}


def test_wrong_feature_width_is_reported_with_what_to_fix():
    model = tiny_model("lfmim", "paper")
    batch = padded_batch(batch=2)
    bad = ModalityInputs.unpadded(batch.text[..., :5], batch.audio, batch.vision)
    with pytest.raises(ValueError, match="feature_dims"):
        model(bad)


def test_weighted_pooling_rejects_sequences_not_padded_to_the_configured_length():
    model = tiny_model("lfmim", "released")
    short = padded_batch(batch=2, lens={"t": 6, "a": 9, "v": 5})
    with pytest.raises(ValueError, match="seq_lens"):
        model(short)


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
def test_every_parameter_gets_a_gradient_so_ddp_needs_no_unused_parameter_search(name, preset):
    # The trainer's loss: every head's, plus the model's own terms (TAILOR's discriminator and
    # common classifier learn only from those).
    model = tiny_model(name, preset).train()
    out = model(padded_batch())
    labels = torch.tensor([0, 1, 2, 3])
    ce = torch.nn.functional.cross_entropy
    loss = sum(ce(logits, labels) for logits in out.values())
    targets = {h: labels for h in model.heads}
    loss = loss + sum(model.auxiliary_losses(out, targets, ce).values())
    loss.backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []
