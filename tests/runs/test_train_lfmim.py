"""manage.py train_lfmim: --local in the foreground, a clear error when no worker would train
the run, --cancel."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from labeling.models import TrainingEpoch, TrainingRun
from labeling.services import training as runs
from tests.runs.tiny import TINY_FLAGS, tiny_config

pytestmark = pytest.mark.django_db


def test_local_run_is_recorded_with_epochs_per_head_and_a_final_report(exported, capsys):
    call_command(
        "train_lfmim", "--dataset", str(exported), "--model", "lfmim-ml", "--seeds", "2",
        "--epochs", "2", "--name", "ablation", "--local", *TINY_FLAGS,
    )  # fmt: skip
    out, err = capsys.readouterr()
    run = TrainingRun.objects.get()
    assert (run.name, run.model, run.preset, run.seeds) == ("ablation", "lfmim-ml", "paper", [0, 1])
    assert run.status == TrainingRun.Status.DONE
    assert run.config["batch_size"] == 4 and run.config["model_overrides"]["d_model"] == 16
    assert TrainingEpoch.objects.filter(run=run).count() == 4
    epoch = TrainingEpoch.objects.get(run=run, seed=1, epoch=2)
    assert set(epoch.metrics["validation"]["heads"]) == {"t", "a", "v", "m"}
    assert set(run.report["summary"]["t"]["per_class_f1"]) == set(run.report["classes"])
    assert "seed 1 epoch 2: train loss" in err  # the progress lines
    assert f"Run {run.pk}: lfmim-ml test set, seeds [0, 1], per head" in out
    assert "±" in out and "overall = support-weighted F1" in out


def test_no_worker_on_the_gpu_queue_is_an_error_at_once(exported):
    began = time.monotonic()
    with pytest.raises(CommandError, match="No worker consumes the 'gpu' queue") as error:
        call_command(
            "train_lfmim", "--dataset", str(exported), "--worker-timeout", "0.5", *TINY_FLAGS
        )
    assert time.monotonic() - began < 10
    assert "--local" in str(error.value)
    assert not TrainingRun.objects.exists()


def test_run_nobody_takes_times_out_when_the_broker_cannot_list_workers(exported, monkeypatch):
    monkeypatch.setattr(runs, "gpu_consumers", lambda timeout: None)
    with pytest.raises(CommandError, match="still queued after") as error:
        call_command(
            "train_lfmim", "--dataset", str(exported), "--queue-timeout", "1",
            "--no-progress", *TINY_FLAGS,
        )  # fmt: skip
    run = TrainingRun.objects.get()
    assert f"--cancel {run.pk}" in str(error.value) and "--local" in str(error.value)


def test_cancel_flag_cancels_a_queued_run(exported, capsys):
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    call_command("train_lfmim", "--cancel", str(run.pk))
    assert f"Run {run.pk} is cancelled." in capsys.readouterr().out
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED


def test_broken_dataset_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("train_lfmim", "--dataset", str(tmp_path / "nowhere"), "--local")


def test_local_run_trains_tailor_on_a_cmu_mosei_style_feature_file(tmp_path, capsys):
    from tests.dataset.mosei_files import write_tailor_file

    path = write_tailor_file(tmp_path)
    call_command(
        "train_lfmim", "--dataset", str(path), "--model", "tailor", "--seeds", "1",
        "--epochs", "1", "--local", "--no-progress", "--set", "batch_size=8",
        "--set", "d_model=16", "--set", "num_heads=2", "--set", "cross_layers=1",
        "--set", 'encoder_layers={"t": 1, "a": 1, "v": 1}',
    )  # fmt: skip
    out = capsys.readouterr().out
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.dataset_checksum == runs.sha256_file(path)
    assert run.report["classes"] == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    assert run.report["runs"]["0"]["label_mode"] == "multi-label"
    assert "f1_micro" in run.report["summary"]["m"]
    assert "micro F1" in out
    epoch = TrainingEpoch.objects.get(run=run)
    assert {"loss", "accuracy", "f1_micro"} <= set(epoch.metrics["validation"]["heads"]["m"])
