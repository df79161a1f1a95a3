"""Tiny training runs on the dataset tests' export: the trainer tests' tiny LFMIM, batches of 4."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth.models import Group, User

from labeling.models import TrainingRun
from labeling.roles import REVIEWER
from labeling.services import training as runs
from tests.trainer.synthetic import TINY_LFMIM
from training.engine import TrainConfig

TINY_OPTIONS = {"batch_size": 4, "audio_len": 12, **TINY_LFMIM}
# The same, as train_lfmim's --set flags.
TINY_FLAGS = [arg for k, v in TINY_OPTIONS.items() for arg in ("--set", f"{k}={json.dumps(v)}")]


def tiny_config(model: str = "lfmim", epochs: int = 2) -> TrainConfig:
    return runs.make_config(model, epochs=epochs, options=TINY_OPTIONS)


def train_here(
    dataset: Path, model: str = "lfmim", *, seeds: int = 1, epochs: int = 2, name: str = ""
) -> TrainingRun:
    """A run started as the pages start one, trained here as `train_lfmim --local` trains it."""
    run = runs.start_run(
        dataset_path=dataset,
        config=tiny_config(model, epochs),
        seeds=seeds,
        name=name,
        enqueue=False,
    )
    runs.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE, run.error
    return run


def reviewer(username: str = "rev") -> User:
    user = User.objects.create_user(username, password="pw")
    user.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    return user
