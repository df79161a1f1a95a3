"""LFMIM's forward flow is uni-modal -> multi-modal only; PMR's goes both ways; m's loss
still trains the uni-modal modules; LFMIM-ML supervises every head with y_m."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from training.models import ALL_HEADS, UNI_MODALITIES, build_model

from .tiny import padded_batch, tiny_model, with_modality


def _changed(a: torch.Tensor, b: torch.Tensor) -> bool:
    return not torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("preset", ["paper", "released"])
@pytest.mark.parametrize("modality", UNI_MODALITIES)
def test_lfmim_uni_modal_logits_ignore_other_modalities_while_m_logits_follow(preset, modality):
    model = tiny_model("lfmim", preset)  # eval mode: dropout off
    batch = padded_batch()
    other = with_modality(batch, modality, torch.randn_like(batch.features(modality)))
    with torch.no_grad():
        before, after = model(batch), model(other)
    for head in UNI_MODALITIES:
        if head == modality:
            assert _changed(before[head], after[head]), f"{head} ignores its own input"
        else:
            torch.testing.assert_close(before[head], after[head], atol=0, rtol=0, msg=head)
    assert _changed(before["m"], after["m"])


@pytest.mark.parametrize("modality", UNI_MODALITIES)
def test_pmr_uni_modal_logits_depend_on_other_modalities(modality):
    model = tiny_model("pmr", "paper")
    batch = padded_batch()
    other = with_modality(batch, modality, torch.randn_like(batch.features(modality)))
    with torch.no_grad():
        before, after = model(batch), model(other)
    for head in ALL_HEADS:
        assert _changed(before[head], after[head]), f"PMR head {head} did not react"


@pytest.mark.parametrize("preset", ["paper", "released"])
def test_m_loss_gradients_reach_every_uni_modal_module_but_not_uni_modal_heads(preset):
    model = tiny_model("lfmim", preset).train()
    batch = padded_batch()
    out = model(batch)
    F.cross_entropy(out["m"], torch.tensor([0, 1, 2, 3])).backward()
    for u in UNI_MODALITIES:
        first_layer = [p for p in model.blocks[u][0].parameters()]
        embedding = [p for p in model.embed[u].parameters()]
        for p in first_layer + embedding:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"no m gradient in {u}"
        assert all(p.grad is None for p in model.classifiers[u].parameters())


def test_paper_fusion_scalars_are_learnable_per_layer_and_modality():
    model = tiny_model("lfmim", "paper").train()
    out = model(padded_batch())
    F.cross_entropy(out["m"], torch.tensor([0, 1, 2, 3])).backward()
    layers = model.config.num_layers
    assert model.fusion.uni_weight.shape == (layers, 3)
    assert model.fusion.hub_weight.shape == (layers, 3)
    assert model.fusion.uni_weight.grad.abs().min() > 0
    # Z̄_u^1 = 0, so the first layer's ᾱ gets no signal; later layers' do.
    assert torch.all(model.fusion.hub_weight.grad[0] == 0)
    assert model.fusion.hub_weight.grad[1:].abs().min() > 0


def test_released_fusion_uses_six_scalars_shared_by_all_layers():
    model = tiny_model("lfmim", "released")
    assert model.fusion.p.shape == (6,)


def test_lfmim_supervises_each_head_with_its_own_label():
    assert build_model("lfmim").label_targets == {"t": "t", "a": "a", "v": "v", "m": "m"}


@pytest.mark.parametrize("preset", ["paper", "released"])
def test_lfmim_ml_is_the_same_network_with_every_head_on_the_multi_modal_label(preset):
    lfmim, ml = tiny_model("lfmim", preset), tiny_model("lfmim-ml", preset)
    assert ml.label_targets == {"t": "m", "a": "m", "v": "m", "m": "m"}
    assert type(ml) is type(lfmim)
    batch = padded_batch()
    with torch.no_grad():  # same seed, same architecture -> same function
        a, b = lfmim(batch), ml(batch)
    for head in ALL_HEADS:
        torch.testing.assert_close(a[head], b[head])


@pytest.mark.parametrize("name", ["tfn", "lmf", "eft", "lft", "mult"])
def test_baselines_supervise_their_m_head_with_the_multi_modal_label(name):
    assert tiny_model(name, "paper").label_targets == {"m": "m"}
