"""A real Celery worker consuming the gpu queue over the real Redis trains a queued run."""

from __future__ import annotations

import json
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from django.urls import reverse

from annotator.celery import app
from labeling.models import TrainingRun
from labeling.services import training as runs
from labeling.services.exports import create_export, run_export
from tests.export.conftest import build_campaign
from tests.runs.tiny import TINY_OPTIONS, reviewer, tiny_config

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gpu_worker():
    assert app.conf.broker_url.startswith("redis://"), (
        "run the tests with CELERY_BROKER_URL on Redis"
    )
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(runs.GPU_QUEUE)
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=[runs.GPU_QUEUE],
        shutdown_timeout=60,
    ) as worker:
        yield worker


def wait_for(run: TrainingRun, done, seconds: float = 90) -> TrainingRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if done(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} is still {run.status} after {seconds} s: {run.error}")


def start(dataset, epochs: int, seeds: int = 1) -> TrainingRun:
    with transaction.atomic():  # queued on commit, as a page or the command queues it
        return runs.start_run(dataset_path=dataset, config=tiny_config(epochs=epochs), seeds=seeds)


def test_worker_on_the_gpu_queue_trains_a_run_and_records_its_epochs(gpu_worker, exported):
    run = wait_for(start(exported, epochs=2, seeds=2), lambda r: r.is_finished)
    assert run.status == TrainingRun.Status.DONE, run.error
    assert sorted(run.epochs.values_list("seed", "epoch")) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert run.attempts == 1 and run.step == run.total_steps
    assert set(run.report["summary"]) == {"t", "a", "v", "m"}


def test_cancel_reaches_the_worker_mid_run(gpu_worker, exported):
    run = wait_for(start(exported, epochs=200), lambda r: r.epochs.exists())
    runs.request_cancel(run.pk)
    run = wait_for(run, lambda r: r.is_finished, seconds=30)
    assert run.status == TrainingRun.Status.CANCELLED
    assert run.epochs.count() < 200
    assert "Continue the run to resume" in run.error


def test_a_run_started_from_a_finished_export_on_the_page_is_trained_by_the_worker(
    gpu_worker, client, media_root, clips, tiny_options, tmp_path
):
    built = build_campaign(clips)  # through the services, committed for the worker to read
    job = create_export(
        campaign=built.campaign, out_dir=tmp_path / "export", options=tiny_options, enqueue=False
    )
    assert run_export(job.pk).status == "done"
    client.force_login(reviewer())
    settings_lines = "\n".join(f"{k}={json.dumps(v)}" for k, v in TINY_OPTIONS.items())
    form = {"export": job.pk, "model": "lfmim", "seeds": 1, "epochs": 2, "settings": settings_lines}
    response = client.post(reverse("runs"), form)
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("run-detail", args=[run.pk])
    run = wait_for(run, lambda r: r.is_finished)
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.dataset_path == job.out_dir
    assert sorted(run.epochs.values_list("seed", "epoch")) == [(0, 1), (0, 2)]
