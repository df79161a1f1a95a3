"""training.models.dropout: torch's dropout distribution from a cheaper CPU mask."""

from __future__ import annotations

import math

import pytest
import torch

from training.models.dropout import Dropout, dropout, keep_mask

N = 400_000


@pytest.mark.parametrize("p", [0.1, 0.2, 0.25, 0.5])
def test_each_lane_is_dropped_with_probability_p(p):
    torch.manual_seed(0)
    keep, scale = keep_mask((N,), p)
    p_hat = round(p * 65536) / 65536
    assert abs(p_hat - p) <= 2**-17
    assert scale == pytest.approx(1 / (1 - p_hat), rel=1e-12)
    sigma = math.sqrt(p * (1 - p) / (N // 4))
    # The four 16-bit lanes of one 64-bit draw, each on its own: 5 sigma.
    for lane in range(4):
        dropped = 1 - keep[lane::4].double().mean().item()
        assert abs(dropped - p) < 5 * sigma, (lane, dropped)
    # Neighbouring elements are independent: P(both kept) = (1 - p)^2.
    both = (keep[:-1] & keep[1:]).double().mean().item()
    assert abs(both - (1 - p) ** 2) < 5 * math.sqrt((1 - p) ** 2 / N)


def test_kept_values_are_scaled_and_the_gradient_uses_the_same_mask():
    x = torch.randn(64, 33, requires_grad=True)
    torch.manual_seed(3)
    out = dropout(x, 0.2)
    torch.manual_seed(3)
    keep, scale = keep_mask(x.shape, 0.2)
    torch.testing.assert_close(out, torch.where(keep, x * scale, 0.0), atol=0, rtol=1e-6)
    out.backward(torch.full_like(out, 2.0))
    torch.testing.assert_close(x.grad, torch.where(keep, 2.0 * scale, 0.0).expand_as(x))


def test_seeded_and_off_outside_training():
    x = torch.randn(1000)
    torch.manual_seed(1)
    a = dropout(x, 0.3)
    torch.manual_seed(1)
    assert torch.equal(a, dropout(x, 0.3))
    assert not torch.equal(a, dropout(x, 0.3))
    module = Dropout(0.3).eval()
    assert module(x) is x
    assert dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))


def test_mean_is_kept():
    torch.manual_seed(2)
    x = torch.ones(N)
    assert dropout(x, 0.1).mean().item() == pytest.approx(1.0, abs=5 * math.sqrt(0.1 / 0.9 / N))


def test_bad_probability_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(1.5)
