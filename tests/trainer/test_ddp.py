"""DDP on 2 CPU processes (gloo): every process takes the same optimiser steps, gradients are
averaged (the result matches one process with twice the batch), and only rank 0 writes."""

from __future__ import annotations

import json
import socket

import pytest
import torch
import torch.multiprocessing as mp

from training.engine import LAST, load_checkpoint, train

from . import ddp_worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(180)
def test_two_gloo_processes_step_together_and_only_rank_zero_writes(tmp_path):
    mp.spawn(ddp_worker.run, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    reports = [json.loads((tmp_path / f"report{r}.json").read_text()) for r in (0, 1)]

    # 50 samples over 2 processes = 25 each; batches of 8 -> 4 steps per epoch, 2 epochs.
    assert [r["global_step"] for r in reports] == [8, 8]
    assert all(r["world_size"] == 2 for r in reports)
    assert reports[0]["test"] == reports[1]["test"]  # both score the whole (gathered) test set
    assert sum(reports[0]["test"]["m"]["support"].values()) == 21

    written = sorted(p.name for p in (tmp_path / "rank0").iterdir())
    assert {LAST, "best.pt", "result.json", "history.json", "config.json"} <= set(written)
    assert not (tmp_path / "rank1").exists()

    # One process with batch 16 sees the same samples per step (DistributedSampler interleaves
    # one permutation), so averaged gradients give the same weights.
    single = train(ddp_worker.config(batch_size=16), *ddp_worker.splits(), tmp_path / "single")
    assert single.global_step == 8
    ddp_state = load_checkpoint(tmp_path / "rank0" / LAST)["state_dict"]
    for name, value in load_checkpoint(tmp_path / "single" / LAST)["state_dict"].items():
        torch.testing.assert_close(ddp_state[name], value, atol=1e-5, rtol=1e-4, msg=name)
    for got, want in zip(reports[0]["history"], single.history, strict=True):
        assert got["validation"]["loss"] == pytest.approx(want["validation"]["loss"], rel=1e-4)
        assert got["train"]["loss"] == pytest.approx(want["train"]["loss"], rel=1e-4)
