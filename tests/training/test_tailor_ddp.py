"""TAILOR under DistributedDataParallel: its auxiliary terms (computed from `ModelOutput`
extras outside the wrapped call) still reduce every gradient across processes."""

from __future__ import annotations

import json

import pytest
import torch
import torch.multiprocessing as mp

from tests.trainer.test_ddp import _free_port
from training.engine import LAST, load_checkpoint, train
from training.engine.randomness import derive_seed, seed_everything
from training.models import model_from_dict

from . import ddp_tailor


@pytest.mark.timeout(180)
def test_two_processes_train_tailor_as_one_process_with_twice_the_batch(tmp_path):
    mp.spawn(ddp_tailor.run, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    reports = [json.loads((tmp_path / f"report{r}.json").read_text()) for r in (0, 1)]
    assert [r["global_step"] for r in reports] == [4, 4]  # 32 / 2 / 8 = 2 steps × 2 epochs
    assert reports[0]["test"] == reports[1]["test"]
    train(ddp_tailor.config(batch_size=16), *ddp_tailor.splits(), tmp_path / "single")
    ddp_state = load_checkpoint(tmp_path / "rank0" / LAST)["state_dict"]
    single_state = load_checkpoint(tmp_path / "single" / LAST)["state_dict"]
    # The discriminator learns only from the adversarial terms: it moved, and as one process.
    seed_everything(derive_seed(0, "init"))  # how the trainer seeds initialisation
    initial = model_from_dict(load_checkpoint(tmp_path / "single" / LAST)["model"]).state_dict()
    assert not torch.equal(ddp_state["discriminator.0.weight"], initial["discriminator.0.weight"])
    for name, value in single_state.items():
        torch.testing.assert_close(ddp_state[name], value, atol=1e-5, rtol=1e-4, msg=name)
