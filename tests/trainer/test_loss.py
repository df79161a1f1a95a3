"""The objective Σ_u β_u CE(y_target(u), ŷ_u) weights heads by β and follows label_targets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from training.engine import TrainConfig, head_targets, multi_head_loss
from training.models import LFMIM_ML_LABEL_TARGETS

IDENTITY = {h: h for h in "tavm"}


def _logits(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {h: torch.randn(5, 7, generator=g, requires_grad=True) for h in "tavm"}


LABELS = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 0], [1, 1, 1, 1], [6, 0, 3, 2], [2, 4, 5, 6]])


def test_beta_scales_each_heads_cross_entropy_with_its_own_label():
    logits = _logits()
    beta = {"t": 2.0, "a": 0.0, "v": 1.0, "m": 0.5}
    total, per_head = multi_head_loss(logits, LABELS, IDENTITY, beta)
    expected = {h: F.cross_entropy(logits[h], LABELS[:, i]) for i, h in enumerate("tavm")}
    for h in "tavm":
        torch.testing.assert_close(per_head[h], expected[h])
    torch.testing.assert_close(total, 2 * expected["t"] + expected["v"] + 0.5 * expected["m"])


def test_a_head_with_zero_beta_receives_no_gradient():
    logits = _logits()
    total, _ = multi_head_loss(logits, LABELS, IDENTITY, {"t": 1.0, "a": 0.0, "v": 1.0, "m": 1.0})
    total.backward()
    assert torch.count_nonzero(logits["a"].grad) == 0
    assert all(torch.count_nonzero(logits[h].grad) > 0 for h in "tvm")


def test_lfmim_ml_supervises_every_head_with_the_multimodal_label():
    targets = head_targets(LABELS, LFMIM_ML_LABEL_TARGETS)
    assert all(torch.equal(targets[h], LABELS[:, 3]) for h in "tavm")
    logits = _logits()
    _, per_head = multi_head_loss(logits, LABELS, LFMIM_ML_LABEL_TARGETS, {h: 1.0 for h in "tavm"})
    torch.testing.assert_close(per_head["t"], F.cross_entropy(logits["t"], LABELS[:, 3]))


def test_a_model_with_only_an_m_head_is_trained_on_y_m_alone():
    logits = {"m": _logits()["m"]}
    total, per_head = multi_head_loss(logits, LABELS, {"m": "m"}, {h: 3.0 for h in "tavm"})
    assert list(per_head) == ["m"]
    torch.testing.assert_close(total, 3 * F.cross_entropy(logits["m"], LABELS[:, 3]))


def test_config_round_trips_through_json_and_fills_unset_betas_with_one():
    config = TrainConfig(
        model="lfmim-ml", beta={"t": 0.5}, model_overrides={"hub_order": ("t", "v", "a")}
    )
    assert config.beta == {"t": 0.5, "a": 1.0, "v": 1.0, "m": 1.0}
    assert TrainConfig.from_json(config.to_json()) == config
    assert config.preset_name == "paper"


def test_config_rejects_unknown_settings_with_a_sentence():
    with pytest.raises(ValueError, match="choose one of"):
        TrainConfig(model="lstm")
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adamw"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="no field"):
        TrainConfig.from_dict({"epochz": 3})
