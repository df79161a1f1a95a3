"""training.engine.scoring: a checkpoint's probabilities per head equal the model's output."""

import math

import numpy as np
import pytest
import torch

from tests.training.tiny import padded_batch, tiny_model
from training.engine.checkpoint import save_checkpoint
from training.engine.scoring import head_probabilities, load_best, summarise
from training.models import model_to_dict

CLASSES = ["happy", "sad", "angry", "neutral", "surprise", "fear", "disgust"]


def samples_of(inputs):
    """The batch as per-utterance (T, D) arrays, padding cut off."""
    out = []
    for i in range(inputs.text.shape[0]):
        out.append({u: inputs.features(u)[i][inputs.mask(u)[i]].numpy() for u in "tav"})
    return out


@pytest.mark.parametrize("name, mode", [("lfmim", "single-label"), ("lfmim-ml", "multi-label")])
def test_stored_checkpoint_gives_the_models_own_probabilities(tmp_path, name, mode):
    model = tiny_model(name, "paper", seed=3, num_classes=len(CLASSES))
    path = tmp_path / "best.pt"
    save_checkpoint(
        {"model": model_to_dict(model), "classes": CLASSES, "state_dict": model.state_dict()},
        path,
    )
    loaded, classes = load_best(path)
    assert classes == CLASSES
    inputs = padded_batch(5, seed=4)
    with torch.no_grad():
        logits = model(inputs)
    got = head_probabilities(loaded, samples_of(inputs), label_mode=mode, batch_size=2)
    assert set(got) == set(model.heads)
    for head in model.heads:
        z = logits[head].double()
        want = torch.sigmoid(z) if mode == "multi-label" else torch.softmax(z, dim=1)
        np.testing.assert_allclose(got[head], want.numpy(), rtol=1e-5, atol=1e-6)


def test_single_label_summary_is_argmax_its_probability_and_entropy():
    s = summarise([0.1, 0.7, 0.2], ["a", "b", "c"], "single-label")
    assert (s.label, s.label_set) == ("b", None)
    assert s.confidence == pytest.approx(0.7)
    assert s.entropy == pytest.approx(
        -(0.1 * math.log(0.1) + 0.7 * math.log(0.7) + 0.2 * math.log(0.2))
    )


def test_multi_label_summary_uses_the_threshold_and_the_least_certain_decision():
    s = summarise([0.9, 0.4, 0.2], ["a", "b", "c"], "multi-label", threshold=0.35)
    assert s.label_set == ["a", "b"] and s.label == ""
    assert s.confidence == pytest.approx(0.6)
    bern = lambda x: -(x * math.log(x) + (1 - x) * math.log(1 - x))  # noqa: E731
    assert s.entropy == pytest.approx(bern(0.9) + bern(0.4) + bern(0.2))
