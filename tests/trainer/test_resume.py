"""A run killed after an epoch, or cancelled mid-epoch, and then resumed ends exactly where an
uninterrupted run with the same seed ends: same metrics, same parameters, same optimiser."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from training.engine import LAST, TrainingCancelled, load_checkpoint, train

from .synthetic import SyntheticSplit, tiny_config

REPO = Path(__file__).resolve().parents[2]
# AdamW keeps optimiser state and dropout (0.1) draws random numbers: both must be restored.
CONFIG = tiny_config(epochs=3)


@pytest.fixture(scope="module")
def splits():
    return SyntheticSplit(128, seed=4), SyntheticSplit(48, seed=5), SyntheticSplit(48, seed=6)


@pytest.fixture(scope="module")
def uninterrupted(splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    return train(CONFIG, *splits, out), load_checkpoint(out / LAST)


def _without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def _assert_same_run(result, last, expected_result, expected_last):
    assert _without_timing(result.history) == _without_timing(expected_result.history)
    assert result.test == expected_result.test
    assert result.global_step == expected_result.global_step
    for name, value in expected_last["state_dict"].items():
        assert torch.equal(last["state_dict"][name], value), name
    moments = zip(
        last["optimizer"]["state"].values(),
        expected_last["optimizer"]["state"].values(),
        strict=True,
    )
    for got, want in moments:
        assert torch.equal(got["exp_avg"], want["exp_avg"])
        assert torch.equal(got["exp_avg_sq"], want["exp_avg_sq"])
    assert last["scheduler"] == expected_last["scheduler"]


def test_process_killed_after_an_epoch_resumes_to_the_uninterrupted_result(
    splits, uninterrupted, tmp_path
):
    # A real kill: a child process trains and SIGKILLs itself once epoch 1 is checkpointed.
    script = textwrap.dedent(
        f"""
        import os, signal, torch
        torch.set_num_threads(1)
        from tests.trainer.synthetic import SyntheticSplit, tiny_config
        from training.engine import train

        class Kill:
            def on_epoch_end(self, epoch, metrics):
                os.kill(os.getpid(), signal.SIGKILL)

        splits = SyntheticSplit(128, seed=4), SyntheticSplit(48, seed=5), SyntheticSplit(48, seed=6)
        train(tiny_config(epochs=3), *splits, {str(tmp_path)!r}, callbacks=[Kill()])
        """
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    child = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, timeout=120)
    assert child.returncode == -9
    assert load_checkpoint(tmp_path / LAST)["epochs_done"] == 1

    result = train(CONFIG, *splits, tmp_path, resume=True)
    _assert_same_run(result, load_checkpoint(tmp_path / LAST), *uninterrupted)


def test_cancel_mid_epoch_saves_and_resumes_to_the_uninterrupted_result(
    splits, uninterrupted, tmp_path
):
    asked = 0

    def stop_at_step_12() -> bool:  # epoch 2 (8 steps per epoch), after 3 of its steps
        nonlocal asked
        asked += 1
        return asked == 12

    with pytest.raises(TrainingCancelled) as cancelled:
        train(CONFIG, *splits, tmp_path, should_stop=stop_at_step_12)
    assert (cancelled.value.epoch, cancelled.value.step) == (2, 3)
    saved = load_checkpoint(tmp_path / LAST)
    assert (saved["epochs_done"], saved["step_in_epoch"], saved["global_step"]) == (1, 3, 11)

    result = train(CONFIG, *splits, tmp_path, resume=True)
    _assert_same_run(result, load_checkpoint(tmp_path / LAST), *uninterrupted)


def test_a_finished_run_resumed_with_more_epochs_continues_like_a_longer_run(
    splits, uninterrupted, tmp_path
):
    train(CONFIG.replace(epochs=2), *splits, tmp_path)
    result = train(CONFIG, *splits, tmp_path, resume=True)
    _assert_same_run(result, load_checkpoint(tmp_path / LAST), *uninterrupted)
