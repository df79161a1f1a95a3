"""TAILOR: released shapes, padding, gradient reversal, orthogonality and its loss terms."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from training.models import ModalityInputs, ModelOutput, build_config, build_model, presets
from training.models.tailor import (
    MOSEI_FEATURE_DIMS,
    MOSEI_SEQ_LENS,
    TAILOR,
    orthogonality_loss,
    reverse_gradient,
)

from .tiny import TINY_LENS, padded_batch, tiny_model

ALIGNED = {"t": 6, "a": 6, "v": 6}


def _targets(batch: int, classes: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"m": (torch.rand(batch, classes, generator=g) < 0.4).float()}


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, target)


def test_released_preset_has_the_released_codes_shapes():
    assert presets("tailor") == ("released",)
    c = build_config("tailor", num_classes=6)
    assert (c.d_model, c.num_heads, c.num_classes) == (256, 8, 6)
    assert c.feature_dims == {"t": 300, "a": 74, "v": 35} == MOSEI_FEATURE_DIMS
    assert c.seq_lens == {"t": 60, "a": 60, "v": 60} == MOSEI_SEQ_LENS
    assert c.encoder_layers == {"t": 6, "a": 4, "v": 4}
    assert (c.adversarial_weight, c.orthogonality_weight, c.common_weight) == (0.01, 5e-6, 0.5)
    torch.manual_seed(0)
    model = build_model("tailor", num_classes=6).eval()
    assert isinstance(model, TAILOR) and model.heads == ("m",)
    assert len(model.private) == 3 and isinstance(model.common, torch.nn.Sequential)
    assert model.discriminator[-1].out_features == 3
    x = {u: torch.randn(2, 60, MOSEI_FEATURE_DIMS[u]) for u in "tav"}
    with torch.no_grad():
        out = model(ModalityInputs.unpadded(x["t"], x["a"], x["v"]))
    assert isinstance(out, ModelOutput) and tuple(out) == ("m",)
    assert out["m"].shape == (2, 6) and torch.isfinite(out["m"]).all()
    assert out.extras["common_logits"].shape == (2, 6)
    assert out.extras["private"]["t"].shape == (2, 60, 256)
    assert out.extras["common_modality"]["a"].shape == (2, 60, 3)


@pytest.mark.parametrize("lens", [TINY_LENS, ALIGNED], ids=["unaligned", "aligned"])
def test_extra_padding_changes_neither_logits_nor_auxiliary_losses(lens):
    model = tiny_model("tailor", "released")
    batch = padded_batch(lens=lens)
    more = {}
    for u, name in (("t", "text"), ("a", "audio"), ("v", "vision")):
        x, mask = batch.features(u), batch.mask(u)
        more[name] = torch.cat([x, 50 * torch.randn(x.shape[0], 3, x.shape[2])], dim=1)
        more[name + "_mask"] = torch.cat([mask, torch.zeros(x.shape[0], 3, dtype=bool)], 1)
    padded = ModalityInputs(**more)
    targets = _targets(4)
    with torch.no_grad():
        a, b = model(batch), model(padded)
        torch.testing.assert_close(a["m"], b["m"], atol=1e-5, rtol=1e-5)
        aux_a = model.auxiliary_losses(a, targets, _bce)
        aux_b = model.auxiliary_losses(b, targets, _bce)
    for name in model.auxiliary_terms:
        torch.testing.assert_close(aux_a[name], aux_b[name], atol=1e-6, rtol=1e-5, msg=name)


def test_aligned_inputs_sum_the_common_sequences_and_unaligned_concatenate_them():
    model = tiny_model("tailor", "released")
    with torch.no_grad():
        aligned = model(padded_batch(lens=ALIGNED))
        unaligned = model(padded_batch())
    # the fused sequence: [t; a; v] private stages, then the common part
    assert (
        model._common_sequence(aligned.extras["common"], aligned.extras["masks"])[0].shape[1] == 6
    )
    total = sum(TINY_LENS.values())
    common = model._common_sequence(unaligned.extras["common"], unaligned.extras["masks"])[0]
    assert common.shape[1] == total
    strict = tiny_model("tailor", "released", common_fusion="sum")
    with pytest.raises(ValueError, match="aligned modalities"):
        strict(padded_batch())


def test_gradient_reversal_is_identity_forward_and_negates_the_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.arange(4.0)).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * torch.arange(4.0).expand(3, 4))


def test_discriminator_gradient_flips_sign_at_the_common_extractor():
    # Same weights; one model reverses the gradient (scale 1), the other passes it unchanged
    # (scale -1). The adversarial common loss then pulls the common extractor in opposite
    # directions while the discriminator itself gets the same gradient in both.
    reversed_model = tiny_model("tailor", "released", reversal_scale=1.0)
    plain = tiny_model("tailor", "released", reversal_scale=-1.0)
    plain.load_state_dict(reversed_model.state_dict())
    batch = padded_batch()
    grads = []
    for model in (reversed_model, plain):
        out = model(batch)
        adv_common, _ = model.adversarial_losses(out.extras)
        model.zero_grad()
        adv_common.backward()
        grads.append(
            {
                "extractor": model.common[0].weight.grad.clone(),
                "discriminator": model.discriminator[0].weight.grad.clone(),
            }
        )
    assert grads[0]["extractor"].abs().sum() > 0
    torch.testing.assert_close(grads[0]["extractor"], -grads[1]["extractor"])
    torch.testing.assert_close(grads[0]["discriminator"], grads[1]["discriminator"])


def test_orthogonality_loss_is_zero_for_orthogonal_inputs_and_the_squared_products_else():
    first = torch.zeros(2, 3, 4)
    second = torch.zeros(2, 5, 4)
    first[..., :2] = torch.randn(2, 3, 2)
    second[..., 2:] = torch.randn(2, 5, 2)
    assert orthogonality_loss(first, second).item() == 0.0
    a = torch.tensor([[[1.0, 2.0]]])  # (1, 1, 2)
    b = torch.tensor([[[3.0, 1.0], [0.0, 1.0]]])  # (1, 2, 2): products 5 and 2
    assert orthogonality_loss(a, b).item() == pytest.approx(25.0 + 4.0)


def test_auxiliary_losses_are_the_released_weights_times_their_terms():
    model = tiny_model("tailor", "released")
    out = model(padded_batch())
    targets = _targets(4)
    aux = model.auxiliary_losses(out, targets, _bce)
    assert tuple(aux) == model.auxiliary_terms == ("adversarial", "orthogonality", "common")
    adv_common, adv_private = model.adversarial_losses(out.extras)
    torch.testing.assert_close(aux["adversarial"], 0.01 * (adv_common + adv_private))
    torch.testing.assert_close(aux["orthogonality"], 5e-6 * model.orthogonality(out.extras))
    expected = 0.5 * _bce(out.extras["common_logits"], targets["m"])
    torch.testing.assert_close(aux["common"], expected)
    with pytest.raises(ValueError, match="ModelOutput"):
        model.auxiliary_losses({"m": out["m"]}, targets, _bce)


def test_released_preset_has_the_parameter_count_counted_by_hand():
    from training.models import count_parameters

    d, labels = 256, 6

    def linear(n_in: int, n_out: int) -> int:
        return n_in * n_out + n_out

    block = linear(d, 3 * d) + linear(d, d) + 2 * linear(d, d) + 2 * 2 * d  # ffn_mult 1
    encoders = sum(
        2 * width + linear(width, d) + 2 * d + layers * block + 2 * d
        for width, layers in ((300, 6), (74, 4), (35, 4))
    )
    extractors = 3 * linear(d, d) + linear(d, d)  # three private, one common
    discriminator = linear(d, d // 2) + linear(d // 2, 3)
    stages = 3 * (2 * d + 2 * block + 2 * d)  # segment embeddings, two blocks, final norm
    decoder = 3 * 2 * d + 2 * (linear(d, 3 * d) + linear(d, d)) + 2 * d + 2 * linear(d, d)
    rest = linear(d, labels) + labels * d + 2 * d + 2 * d + linear(d, 1)
    expected = encoders + extractors + discriminator + stages + decoder + rest
    with torch.device("meta"):
        model = build_model("tailor")
    assert count_parameters(model) == expected == 8_988_732  # README: 8.99 M
