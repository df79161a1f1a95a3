"""Padded positions are never attended to and never pooled: they cannot change any output."""

from __future__ import annotations

import pytest
import torch

from training.models import ModalityInputs
from training.models.layers import TransformerBlock, WeightedSumPool

from .tiny import ALL_PRESETS, TINY_LENS, padded_batch, replace_padding, tiny_model

VARIABLE_LENGTH = [(n, p) for n, p in ALL_PRESETS if p != "released"]


def _assert_same_outputs(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for head in a:
        torch.testing.assert_close(a[head], b[head], atol=atol, rtol=1e-5, msg=head)


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
def test_values_at_padded_positions_change_no_output(name, preset):
    model = tiny_model(name, preset)
    batch = padded_batch()
    with torch.no_grad():
        _assert_same_outputs(model(batch), model(replace_padding(batch)), atol=0)


def _pad_more(inputs: ModalityInputs, extra: int) -> ModalityInputs:
    """Append `extra` padded positions (random values) to every modality."""
    fields = {}
    for u, name in (("t", "text"), ("a", "audio"), ("v", "vision")):
        x, mask = inputs.features(u), inputs.mask(u)
        b, _, d = x.shape
        fields[name] = torch.cat([x, torch.randn(b, extra, d)], dim=1)
        fields[name + "_mask"] = torch.cat([mask, torch.zeros(b, extra, dtype=torch.bool)], 1)
    return ModalityInputs(**fields)


@pytest.mark.parametrize(("name", "preset"), VARIABLE_LENGTH)
def test_extra_padding_gives_the_same_outputs_as_no_padding(name, preset):
    # Stronger than the test above: padded positions carry position embeddings, tokens' own
    # attention outputs and so on, so only real masking keeps the outputs equal.
    model = tiny_model(name, preset)
    batch = padded_batch()
    with torch.no_grad():
        _assert_same_outputs(model(batch), model(_pad_more(batch, extra=4)))


def test_released_preset_with_padding_matches_a_model_built_for_the_shorter_length():
    # Weighted-sum pooling fixes the lengths, so compare a model built for text length 7 on a
    # sample with 5 real text tokens with a model built for length 5, same weights minus the
    # pooling weights of the two padded positions.
    long_model = tiny_model("lfmim", "released")
    short_lens = dict(TINY_LENS, t=5)
    short_model = tiny_model("lfmim", "released", seq_lens=short_lens)
    state = long_model.state_dict()
    keep_t = list(range(1 + 5))  # text token + 5 real positions
    state["pool.t.weight"] = state["pool.t.weight"][keep_t]
    fex = long_model.config.fex_tokens
    hub_keep = list(range(fex)) + [fex + i for i in keep_t]  # [m tokens, t, v, a]
    hub_keep += list(range(fex + 1 + TINY_LENS["t"], state["pool.m.weight"].shape[0]))
    state["pool.m.weight"] = state["pool.m.weight"][hub_keep]
    short_model.load_state_dict(state)

    full = padded_batch(batch=2)
    mask_t = full.text_mask.clone()
    mask_t[:, 5:] = False
    padded = ModalityInputs(
        full.text, mask_t, full.audio, full.audio_mask, full.vision, full.vision_mask
    )
    cut = ModalityInputs(
        full.text[:, :5], mask_t[:, :5], full.audio, full.audio_mask, full.vision, full.vision_mask
    )
    with torch.no_grad():
        _assert_same_outputs(long_model(padded), short_model(cut))


def test_transformer_block_output_at_real_positions_ignores_padded_keys():
    torch.manual_seed(0)
    block = TransformerBlock(16, 2).eval()
    x = torch.randn(2, 6, 16)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    changed = x.clone()
    changed[1, 3:] = 50 * torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(block(x, mask)[mask], block(changed, mask)[mask])


def test_cross_attention_block_ignores_padded_memory():
    torch.manual_seed(0)
    block = TransformerBlock(16, 2, cross=True).eval()
    x, mask = torch.randn(2, 4, 16), torch.ones(2, 4, dtype=torch.bool)
    memory = torch.randn(2, 5, 16)
    memory_mask = torch.tensor([[True] * 5, [True, True] + [False] * 3])
    changed = memory.clone()
    changed[1, 2:] = 50 * torch.randn(3, 16)
    with torch.no_grad():
        torch.testing.assert_close(
            block(x, mask, memory, memory_mask), block(x, mask, changed, memory_mask)
        )


def test_weighted_sum_pool_gives_padded_positions_zero_weight():
    pool = WeightedSumPool(4)
    x = torch.randn(1, 4, 3)
    mask = torch.tensor([[True, True, False, False]])
    expected = pool.weight[0] * x[0, 0] + pool.weight[1] * x[0, 1]
    torch.testing.assert_close(pool(x, mask)[0], expected)


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
def test_sample_with_an_empty_modality_still_gets_finite_logits(name, preset):
    model = tiny_model(name, preset)
    batch = padded_batch()
    batch.audio_mask[1] = False
    batch.audio[1] = 0.0
    with torch.no_grad():
        out = model(batch)
    assert all(torch.isfinite(v).all() for v in out.values())
