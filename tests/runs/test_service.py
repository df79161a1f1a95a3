"""Runs through the service, as the pages and `train_lfmim --local` call it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from labeling.models import TrainingEpoch, TrainingRun
from labeling.services import training as runs
from tests.runs.tiny import tiny_config, train_here

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(exported, tmp_path):
    """A private copy of the tiny export, free to damage."""
    return shutil.copytree(exported, tmp_path / "dataset")


def test_dataset_whose_files_changed_fails_the_run_with_what_to_do(dataset):
    shard = dataset / "features" / "text" / "shard-00000.npy"
    shard.write_bytes(shard.read_bytes()[:-8] + b"\0" * 8)
    # Starting reads only SHA256SUMS (a web request must not hash a whole dataset) ...
    run = runs.start_run(dataset_path=dataset, config=tiny_config(), seeds=1, enqueue=False)
    # ... and the worker checks every file before it trains.
    run = runs.run_training(run.pk)
    assert run.status == TrainingRun.Status.FAILED
    assert "features/text/shard-00000.npy" in run.error and "Re-export" in run.error
    assert not run.epochs.exists()


def test_folder_without_sha256sums_is_refused(dataset):
    (dataset / "SHA256SUMS").unlink()
    with pytest.raises(runs.RunRefused, match="SHA256SUMS does not exist"):
        runs.start_run(dataset_path=dataset, config=tiny_config(), seeds=1)


def test_unknown_model_setting_is_refused_before_anything_is_recorded(exported):
    with pytest.raises(runs.RunRefused, match="no setting"):
        runs.make_config("lfmim", options={"d_modle": 64})
    with pytest.raises(runs.RunRefused, match="own option"):
        runs.make_config("lfmim", options={"seed": 3})


def test_key_values_go_to_the_training_config_or_the_model():
    config = runs.make_config("pmr", epochs=3, options={"batch_size": 8, "d_model": 32})
    assert (config.model, config.epochs, config.batch_size) == ("pmr", 3, 8)
    assert config.model_overrides == {"d_model": 32}


def test_run_records_every_epoch_per_head_and_a_seed_summary(exported):
    run = train_here(exported, seeds=2, epochs=2)
    rows = TrainingEpoch.objects.filter(run=run)
    assert sorted(rows.values_list("seed", "epoch")) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    for row in rows:
        assert set(row.metrics["train"]["heads"]) == {"t", "a", "v", "m"}
        assert set(row.metrics["validation"]["heads"]["m"]) >= {"loss", "accuracy", "f1_weighted"}
    assert run.step == run.total_steps > 0
    assert set(run.report["runs"]) == {"0", "1"}
    summary = run.report["summary"]
    assert list(runs.head_rows(run)) == ["t", "a", "v", "m"]  # Table 4's order, not JSONB's
    assert summary["m"]["f1_weighted"]["n"] == 2
    assert set(summary["m"]["per_class_f1"]) == set(run.report["classes"])
    out = Path(run.out_dir)
    assert {"seed-0", "seed-1", "summary.json"} <= {p.name for p in out.iterdir()}
    assert (out / "seed-1" / "best.pt").exists()


def test_cancel_stops_after_a_step_and_continue_resumes_to_the_same_result(exported, monkeypatch):
    monkeypatch.setattr(runs, "CANCEL_POLL_SECONDS", 0.0)
    reference = train_here(exported, seeds=1, epochs=2)

    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)

    class CancelAtStep3:
        def on_step(self, step, total, loss):
            if step == 3:
                runs.request_cancel(run.pk)

    runs.run_training(run.pk, callbacks_for=lambda seed: [CancelAtStep3()])
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
    assert "in epoch 2 after step 1" in run.error and "resume" in run.error
    assert run.cancel_requested
    assert (Path(run.out_dir) / "seed-0" / "last.pt").exists()

    runs.continue_run(run.pk, enqueue=False)
    runs.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE and run.attempts == 2
    assert run.epochs.count() == 2
    # Resumed exactly: the same test scores as the run that was never interrupted.
    ours, theirs = run.report["summary"]["m"], reference.report["summary"]["m"]
    assert ours["f1_weighted"]["mean"] == theirs["f1_weighted"]["mean"]
    assert ours["accuracy"]["mean"] == theirs["accuracy"]["mean"]


def test_run_cancelled_while_queued_never_trains(exported):
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    assert runs.request_cancel(run.pk).status == TrainingRun.Status.CANCELLED
    assert runs.run_training(run.pk).status == TrainingRun.Status.CANCELLED
    assert not Path(run.out_dir).exists()


def test_second_delivery_while_a_worker_is_alive_is_retried_not_trained_twice(exported):
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    TrainingRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())
    with pytest.raises(runs.RunBusy) as busy:
        runs.run_training(run.pk)
    assert 0 < busy.value.retry_after <= runs.STALE_AFTER.total_seconds() + 1

    with pytest.raises(runs.RunRefused, match="stopped answering"):
        runs.continue_run(run.pk, enqueue=False)

    # Silent for longer than STALE_AFTER: its worker died; it may be continued, and a
    # delivery of its task takes it over.
    stale = timezone.now() - runs.STALE_AFTER * 2
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    assert runs.continue_run(run.pk, enqueue=False).status == TrainingRun.Status.QUEUED
    assert runs.run_training(run.pk).status == TrainingRun.Status.DONE


def test_dataset_exported_again_after_the_start_fails_the_run(dataset):
    run = runs.start_run(dataset_path=dataset, config=tiny_config(), seeds=1, enqueue=False)
    sums = dataset / "SHA256SUMS"
    sums.write_text(sums.read_text() + "\n")
    runs.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "exported again" in run.error


def test_training_error_fails_the_run_with_the_cause(exported, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr("training.engine.train_seeds", broken)
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    runs.run_training(run.pk)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "RuntimeError: CUDA out of memory" in run.error
    assert f"continue run {run.pk}" in run.error
