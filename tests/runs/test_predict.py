"""Predict: a finished run scores a campaign's utterances; stored probabilities are the
model's output on the run's own (standardised) features; a real gpu worker runs it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from labeling.models import Prediction, PredictionJob
from labeling.selectors.exports import utterance_id
from labeling.services import training as runs
from labeling.services.predictions import (
    PredictionRefused,
    run_prediction,
    start_prediction,
)
from tests.runs.test_worker import gpu_worker, wait_for  # noqa: F401 - fixture
from tests.runs.tiny import TINY_OPTIONS, reviewer, train_here


def trained(export_job, standardize: bool = True):
    options = {**TINY_OPTIONS, "standardize": standardize}
    config = runs.make_config("lfmim", epochs=2, options=options)
    run = runs.start_run(dataset_path=export_job.out_dir, config=config, seeds=1, enqueue=False)
    return runs.run_training(run.pk)


def expected_probabilities(run) -> dict[tuple[str, str], np.ndarray]:
    """The checkpoint's softmax per head through the trainer's own predict()."""
    from training.engine import BEST, TrainConfig, load_checkpoint, predict
    from training.engine.splits import open_splits
    from training.models import model_from_dict

    state = load_checkpoint(f"{run.out_dir}/seed-0/{BEST}")
    model = model_from_dict(state["model"])
    model.load_state_dict(state["state_dict"])
    splits = open_splits(run.dataset_path, TrainConfig.from_dict(run.config))
    found = {}
    for split in (splits.train, splits.validation, splits.test):
        out = predict(model.eval(), split, batch_size=4)
        for head, logits in out.logits.items():
            p = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
            for uid, row in zip(out.utterance_ids, p, strict=True):
                found[(uid, head)] = row
    return found


@pytest.mark.django_db
def test_stored_predictions_are_the_models_output_on_the_runs_standardised_features(
    finished_export,
):
    run = trained(finished_export)
    campaign = finished_export.campaign
    job = run_prediction(start_prediction(run=run, campaign=campaign, enqueue=False).pk)
    assert job.status == PredictionJob.Status.DONE, job.error
    expected = expected_probabilities(run)
    ids = {
        pk: utterance_id(external, pk)
        for pk, external in campaign.corpus.utterances.values_list("pk", "external_id")
    }
    rows = list(Prediction.objects.filter(run=run))
    assert len(rows) == len(expected) == job.result["scored"] * 4 == job.total * 4
    classes = run.report["classes"]
    for row in rows:
        p = expected[(ids[row.utterance_id], row.head)]
        np.testing.assert_allclose(row.probabilities, p, atol=1e-5)
        assert row.label == classes[int(np.argmax(p))]
        assert row.confidence == pytest.approx(float(p.max()), abs=1e-5)
        assert row.entropy == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-4)
    assert job.result["not_in_dataset"] == len(ids) - job.result["scored"]

    # Predicting again replaces the run's rows, never duplicates them.
    again = run_prediction(start_prediction(run=run, campaign=campaign, enqueue=False).pk)
    assert again.status == PredictionJob.Status.DONE
    assert Prediction.objects.filter(run=run).count() == len(rows)


@pytest.mark.django_db
def test_refusals_say_what_to_do(finished_export, tmp_path):
    run = trained(finished_export, standardize=False)
    campaign = finished_export.campaign
    with pytest.raises(PredictionRefused, match="trained seeds 0, not 3"):
        start_prediction(run=run, campaign=campaign, seed=3, enqueue=False)
    shard = next((tmp_path / "export" / "features" / "text").glob("shard-*.npy"))
    shard.write_bytes(shard.read_bytes()[:-8] + b"\0" * 8)
    job = run_prediction(start_prediction(run=run, campaign=campaign, enqueue=False).pk)
    assert job.status == PredictionJob.Status.FAILED
    assert "fails its checksums" in job.error and not Prediction.objects.exists()
    run.status = run.Status.FAILED
    with pytest.raises(PredictionRefused, match="only a finished run"):
        start_prediction(run=run, campaign=campaign, enqueue=False)


@pytest.mark.django_db
def test_the_command_scores_here_with_local(finished_export, capsys):
    run = train_here(finished_export.out_dir)
    campaign = finished_export.campaign
    call_command("predict", run=run.pk, campaign=str(campaign.pk), local=True, no_progress=True)
    out = capsys.readouterr().out
    assert "scored" in out and Prediction.objects.filter(run=run).exists()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_gpu_worker_runs_a_queued_prediction(gpu_worker, finished_export):  # noqa: F811
    run = trained(finished_export)
    with transaction.atomic():  # queued on commit, as the command and the page queue it
        job = start_prediction(run=run, campaign=finished_export.campaign)
    job = wait_for(job, lambda j: j.is_finished)
    assert job.status == PredictionJob.Status.DONE, job.error
    assert job.done == job.total > 0
    assert Prediction.objects.filter(run=run).count() == job.total * 4


@pytest.mark.django_db
def test_the_run_page_queues_a_prediction_and_shows_its_progress(
    finished_export, client, django_capture_on_commit_callbacks
):
    run = trained(finished_export)
    client.force_login(reviewer())
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert 'id="predict-form"' in page and finished_export.campaign.name in page
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            reverse("run-predict", args=[run.pk]), {"campaign": finished_export.campaign.pk}
        )
    assert response.status_code == 302 and len(queued) == 1  # the gpu task, after commit
    job = PredictionJob.objects.get(run=run)
    assert job.status == PredictionJob.Status.QUEUED and job.created_by is not None
    run_prediction(job.pk)  # what the worker does
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    job.refresh_from_db()
    assert f"{job.done} / {job.total}" in page and f"{job.result['scored']} scored" in page
