"""The faster training step computes the same function as the code it replaced.

Reference: the blocks' previous attention, `nn.MultiheadAttention` called with a
`key_padding_mask` (True = ignore; an all-padding row keeps its first key), kept here only.
Tolerance: fp32, `atol = rtol = 1e-5` on logits and gradients. The two differ only in the order
of floating-point sums (fused or math attention kernels, one (d → 3d) projection split into
views); measured differences are about 1e-6 at these sizes.

Dropout draws its masks differently now (training.models.dropout), so training-mode outputs
with dropout cannot equal the old ones draw for draw: with every mask forced to "keep all" the
training-mode forward and backward must equal the reference's dropout-free pass, and the
masks' distribution is tested in test_dropout.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import training.models.dropout as dropout
from training.models import build_model
from training.models import layers as layers_module
from training.models.layers import TransformerBlock

from .tiny import ALL_PRESETS, padded_batch, tiny_model

ATOL = RTOL = 1e-5
WITH_BLOCKS = [(n, p) for n, p in ALL_PRESETS if n not in ("tfn", "lmf")]


def _reference_attend(self, h, kv, kv_mask):
    ignore = ~kv_mask
    empty = ignore.all(dim=1, keepdim=True)
    first = torch.zeros_like(ignore)
    first[:, 0] = True
    ignore = ignore & ~(first & empty)
    mha = self.attn
    q, k, v = (t.transpose(0, 1) for t in (h, kv, kv))  # (T, B, d), as MHA computes
    out = F.multi_head_attention_forward(
        q,
        k,
        v,
        mha.embed_dim,
        mha.num_heads,
        mha.in_proj_weight,
        mha.in_proj_bias,
        None,
        None,
        False,
        0.0,  # dropout: compared with masks that keep everything
        mha.out_proj.weight,
        mha.out_proj.bias,
        training=self.training,
        key_padding_mask=ignore,
        need_weights=False,
    )[0]
    return out.transpose(0, 1)


def _keep_everything(shape, p):
    return torch.ones(shape, dtype=torch.bool), 1.0


def _assert_close(new: dict, ref: dict) -> None:
    assert new.keys() == ref.keys()
    for key in new:
        torch.testing.assert_close(new[key], ref[key], atol=ATOL, rtol=RTOL, msg=key)


@pytest.mark.parametrize(("name", "preset"), WITH_BLOCKS)
def test_eval_logits_equal_the_multihead_attention_reference(name, preset, monkeypatch):
    model, batch = tiny_model(name, preset), padded_batch(seed=3)
    with torch.no_grad():
        new = model(batch)
        monkeypatch.setattr(TransformerBlock, "_attend", _reference_attend)
        ref = model(batch)
    _assert_close(new, ref)


@pytest.mark.parametrize(("name", "preset"), WITH_BLOCKS)
def test_training_forward_and_gradients_equal_the_reference(name, preset, monkeypatch):
    # Training mode takes the CPU attention path of layers.scaled_dot_product_attention.
    monkeypatch.setattr(dropout, "keep_mask", _keep_everything)
    monkeypatch.setattr(layers_module, "keep_mask", _keep_everything)
    model, batch = tiny_model(name, preset).train(), padded_batch(seed=4)
    no_dropout = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Dropout)}

    def run() -> tuple[dict, dict]:
        model.zero_grad(set_to_none=True)
        logits = model(batch)
        sum((out * torch.arange(1.0, 1 + out.shape[1])).sum() for out in logits.values()).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        return {h: o.detach() for h, o in logits.items()}, grads

    for module in no_dropout.values():  # baselines' own nn.Dropout: off in both runs
        module.p = 0.0
    for module in model.modules():  # and attention dropout inside nn.MultiheadAttention (TAILOR)
        if isinstance(module, torch.nn.MultiheadAttention):
            module.dropout = 0.0
    new_logits, new_grads = run()
    monkeypatch.setattr(TransformerBlock, "_attend", _reference_attend)
    ref_logits, ref_grads = run()
    _assert_close(new_logits, ref_logits)
    _assert_close(new_grads, ref_grads)
    assert len(new_grads) > 10


def test_paper_preset_at_full_size_gives_the_reference_logits(monkeypatch):
    torch.manual_seed(0)
    model = build_model("lfmim", preset="paper").eval()
    c = model.config
    batch = padded_batch(2, dims=c.feature_dims, lens=c.seq_lens, seed=5)
    with torch.no_grad():
        new = model(batch)
        monkeypatch.setattr(TransformerBlock, "_attend", _reference_attend)
        ref = model(batch)
    _assert_close(new, ref)


def test_cpu_attention_dropout_drops_weights_with_the_drawn_mask():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    mask = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    mask[1, ..., 3:] = False
    torch.manual_seed(7)
    out = layers_module.scaled_dot_product_attention(q, k, v, mask, 0.3)
    torch.manual_seed(7)
    keep, scale = dropout.keep_mask((2, 3, 5, 5), 0.3)
    scores = (q @ k.transpose(-2, -1) / 2.0).masked_fill(~mask, float("-inf"))
    expected = (torch.softmax(scores, -1) * keep * scale) @ v
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)
    assert not keep.all() and keep.any()
