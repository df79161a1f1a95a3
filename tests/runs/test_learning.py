"""The whole chain learns: simulated votes → verdicts → export with tiny random feature models
→ LFMIM, and its m head predicts held-out utterances far better than guessing could.

A pipeline that shuffles labels against features, drops a modality or trains nothing still
runs end to end; only a score no guesser reaches tells it learnt from what the clips carry.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from scipy.stats import binomtest

from labeling.management.commands.cherma_experiment import RECIPES
from labeling.models import Campaign, ExportJob, TrainingRun
from labeling.selectors.statistics import progress
from labeling.services import training as runs
from labeling.services.exports import create_export, run_export
from labeling.services.simulation import simulate
from training.features.random_models import save_random_models

pytestmark = pytest.mark.django_db

UTTERANCES = 160
CORPUS = "learning corpus"


def test_simulated_votes_exported_and_trained_give_an_m_head_far_above_chance(media_root, tmp_path):
    # Every modality shows the utterance's emotion (inconsistency 0): one clear signal per clip.
    call_command(
        "make_demo", utterances=UTTERANCES, inconsistency=0.0, seed=5, corpus=CORPUS,
        render_now=True, no_progress=True,
    )  # fmt: skip
    campaign = Campaign.objects.get(name=f"{CORPUS}: emotions per modality")
    simulate(campaign, accuracy={m: 1.0 for m in "tavm"})
    assert progress(campaign)["usable_utterances"] == UTTERANCES

    models = save_random_models(tmp_path / "models", size="tiny")
    job = create_export(
        campaign=campaign,
        out_dir=tmp_path / "dataset",
        options={
            **{f"{role}_model": path for role, path in models.items()},
            "device": "cpu",
            "segments": 2,
            "per_segment": 4,
            "seed": 1,
        },  # fmt: skip
        enqueue=False,
    )
    job = run_export(job.pk)
    assert job.status == ExportJob.Status.DONE, job.error

    config = runs.make_config("lfmim", epochs=25, options=RECIPES["quick"])
    run = runs.start_run(dataset_path=tmp_path / "dataset", config=config, seeds=1, enqueue=False)
    runs.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE, run.error

    predictions = Path(run.out_dir) / "seed-0" / "test_predictions.csv"
    with open(predictions, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    right = sum(row["pred_m"] == row["label_m"] for row in rows)
    # Guessing one of 7 emotions is right with probability 1/7 per utterance (1/7 is also the
    # most a constant guess can expect over uniformly drawn emotions); the chance of guessing
    # this many right must be below 1 in 1,000.
    chance = binomtest(right, len(rows), 1 / 7, alternative="greater").pvalue
    assert chance < 1e-3, f"{right} of {len(rows)} right; guessing does this with p={chance:.3g}"
