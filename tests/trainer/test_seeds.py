"""Several seeds summarised like the paper's five; runs differ by seed and repeat exactly."""

from __future__ import annotations

import numpy as np
import pytest

from training.engine import train, train_seeds

from .synthetic import SyntheticSplit, tiny_config


def test_seed_runs_are_summarised_as_mean_and_sample_std_of_their_test_scores(tmp_path):
    data = SyntheticSplit(48, seed=4)
    config = tiny_config(epochs=1, max_steps_per_epoch=2)
    outcome = train_seeds(config, [0, 1, 2], data, None, data, tmp_path)
    assert sorted(outcome.results) == [0, 1, 2]
    assert [r.config["seed"] for r in outcome.results.values()] == [0, 1, 2]
    for head in "tavm":
        values = [r.test[head]["f1_weighted"] for r in outcome.results.values()]
        assert outcome.summary[head]["f1_weighted"]["mean"] == pytest.approx(np.mean(values))
        assert outcome.summary[head]["f1_weighted"]["std"] == pytest.approx(np.std(values, ddof=1))
    losses = {r.history[0]["train"]["loss"] for r in outcome.results.values()}
    assert len(losses) == 3  # each seed is its own run
    assert (tmp_path / "seed-2" / "best.pt").exists()
    assert "±" in (tmp_path / "report.txt").read_text()


def test_the_same_seed_repeats_a_run_exactly(tmp_path):
    data = SyntheticSplit(48, seed=4)
    config = tiny_config(epochs=1, max_steps_per_epoch=2)
    first = train(config, data, data, None, tmp_path / "a")
    second = train(config, data, data, None, tmp_path / "b")
    assert first.history[0]["validation"] == second.history[0]["validation"]
    assert first.history[0]["train"] == second.history[0]["train"]


def test_bf16_autocast_runs_on_cpu_when_asked_and_fp16_asks_for_a_gpu(tmp_path):
    data = SyntheticSplit(32, seed=4)
    result = train(tiny_config(epochs=1, mixed_precision="bf16"), data, data, None, tmp_path)
    assert np.isfinite(result.history[0]["validation"]["loss"])
    with pytest.raises(ValueError, match="needs a GPU"):
        train(tiny_config(mixed_precision="fp16"), data, None, None, tmp_path / "fp16")
