"""ExportJob's life: options checked up front, cancellation, failures that say what to do,
and re-runs that continue from the finished shards."""

import pytest

from labeling.models import ExportJob
from labeling.services import exports
from labeling.services.campaigns import create_campaign
from labeling.services.exports import (
    create_export,
    export_options,
    request_cancel,
    rerun_export,
    run_export,
)
from tests.factories import rendered_corpus
from training.dataset import ExportError, partial_path

from .conftest import SHARD, decided_campaign

pytestmark = pytest.mark.django_db


def stop_at(count: int, action):
    def progress(done: int, total: int) -> None:
        if done == count:
            action()

    return progress


def test_options_are_completed_from_settings_and_checked(settings):
    settings.EXPORT_TEXT_MODEL = "/models/bert-wwm"
    options = export_options(seed=9)
    assert options["text_model"] == "/models/bert-wwm"
    assert options["audio_model"] == exports.DEFAULT_MODELS["audio"]
    assert (options["seed"], options["dtype"], options["shard_size"]) == (9, "float16", 512)
    with pytest.raises(ExportError, match="Unknown export option"):
        export_options(colour="red")
    with pytest.raises(ExportError, match="dtype must be float16 or float32"):
        export_options(dtype="float8")
    with pytest.raises(ExportError, match="seed must be int"):
        export_options(seed=True)


def test_a_campaign_without_the_four_modalities_or_cherma_labels_cannot_be_exported(tmp_path):
    partial = create_campaign(name="t only", corpus=rendered_corpus(1), modalities="tm")
    with pytest.raises(ExportError, match="does not collect a, v"):
        create_export(campaign=partial, out_dir=tmp_path / "x", enqueue=False)
    labels = [{"name": "positive", "key": "1"}, {"name": "negative", "key": "2"}]
    polar = create_campaign(name="polar", corpus=rendered_corpus(1), labels=labels)
    with pytest.raises(ExportError, match="labels the dataset format does not know"):
        create_export(campaign=polar, out_dir=tmp_path / "x", enqueue=False)
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("model", "advice"),
    [
        ("{tmp}/no-such-model", "is no directory on this machine"),
        ("{tmp}", "has no config.json"),
        ("nobody/not-downloaded", "hf download nobody/not-downloaded"),
        ("{text}", "is a 'bert' model; the audio features need wav2vec2"),
    ],
)
def test_a_missing_model_fails_the_job_at_once_saying_how_to_provide_it(
    tiny_options, tmp_path, monkeypatch, model, advice
):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    campaign = decided_campaign("c")
    model = model.format(tmp=tmp_path, text=tiny_options["text_model"])
    options = {**tiny_options, "audio_model": model}
    job = create_export(campaign=campaign, out_dir=tmp_path / "o", options=options, enqueue=False)
    job = run_export(job.pk)
    assert job.status == "failed"
    assert advice in job.error
    assert "--audio-model" in job.error and "EXPORT_AUDIO_MODEL" in job.error


def test_a_queued_export_cancelled_never_runs(tiny_options, tmp_path):
    campaign = decided_campaign("c")
    job = create_export(
        campaign=campaign, out_dir=tmp_path / "o", options=tiny_options, enqueue=False
    )
    assert request_cancel(job.pk).status == "cancelled"
    job = run_export(job.pk)  # the message a worker still receives
    assert (job.status, job.attempts) == ("cancelled", 0)
    assert not partial_path(tmp_path / "o").exists()


def test_a_cancelled_export_keeps_its_shards_for_a_new_export_to_the_same_directory(
    built, tiny_options, tmp_path, monkeypatch
):
    monkeypatch.setattr(exports, "PROGRESS_INTERVAL_SECONDS", 0.0)
    out = tmp_path / "o"
    job = create_export(campaign=built.campaign, out_dir=out, options=tiny_options, enqueue=False)
    job = run_export(job.pk, progress=stop_at(SHARD + 1, lambda: request_cancel(job.pk)))
    assert job.status == "cancelled" and str(partial_path(out)) in job.error
    assert job.done == SHARD  # the last progress it wrote before it saw the request
    assert not out.exists() and partial_path(out).is_dir()

    again = create_export(campaign=built.campaign, out_dir=out, options=tiny_options, enqueue=False)
    again = run_export(again.pk)
    assert again.status == "done" and again.result["reused_shards"] == [0]
    assert not partial_path(out).exists()


def test_a_failed_export_run_again_continues_from_its_finished_shards(
    built, tiny_options, tmp_path
):
    def crash():
        raise RuntimeError("disk unplugged")

    out = tmp_path / "o"
    job = create_export(campaign=built.campaign, out_dir=out, options=tiny_options, enqueue=False)
    job = run_export(job.pk, progress=stop_at(2 * SHARD + 1, crash))
    assert job.status == "failed"
    assert "disk unplugged" in job.error and f"run export {job.pk} again" in job.error

    rerun_export(job.pk, enqueue=False)
    job = run_export(job.pk)
    assert (job.status, job.attempts, job.error) == ("done", 2, "")
    assert job.result["reused_shards"] == [0, 1]
    with pytest.raises(ExportError, match="is done"):
        rerun_export(job.pk, enqueue=False)


def test_run_export_of_a_deleted_job_does_nothing():
    assert run_export(123456) is None


def test_a_redelivery_while_the_export_runs_is_busy_and_changes_nothing(
    built, tiny_options, tmp_path
):
    out = tmp_path / "o"
    job = create_export(campaign=built.campaign, out_dir=out, options=tiny_options, enqueue=False)
    seen = []

    def redelivered():
        with pytest.raises(exports.ExportBusy) as busy:
            run_export(job.pk)  # the broker hands the same message to a second worker
        seen.append(busy.value.retry_after)
        row = ExportJob.objects.get(pk=job.pk)
        assert (row.status, row.attempts, row.error) == ("running", 1, "")

    job = run_export(job.pk, progress=stop_at(1, redelivered))
    assert seen and 0 < seen[0] <= exports.STALE_AFTER.total_seconds() + 1
    assert (job.status, job.attempts, job.error) == ("done", 1, "")


def test_running_an_export_again_while_its_first_run_still_writes_is_busy_not_failed(
    built, tiny_options, tmp_path
):
    out = tmp_path / "o"
    job = create_export(campaign=built.campaign, out_dir=out, options=tiny_options, enqueue=False)

    def rerun():
        rerun_export(job.pk, enqueue=False)  # someone presses "run again" on a live export
        with pytest.raises(exports.ExportBusy, match="Another export is writing"):
            run_export(job.pk)
        row = ExportJob.objects.get(pk=job.pk)
        assert row.status != "failed" and row.attempts == 1

    job = run_export(job.pk, progress=stop_at(1, rerun))
    assert (job.status, job.attempts, job.error) == ("done", 1, "")


def test_an_export_whose_worker_went_silent_is_taken_over(built, tiny_options, tmp_path):
    from django.utils import timezone

    job = create_export(
        campaign=built.campaign, out_dir=tmp_path / "o", options=tiny_options, enqueue=False
    )
    silent = timezone.now() - exports.STALE_AFTER
    ExportJob.objects.filter(pk=job.pk).update(status="running", attempts=1, heartbeat_at=silent)
    job = run_export(job.pk)
    assert (job.status, job.attempts) == ("done", 2)


def test_the_export_task_retries_a_busy_export_later_instead_of_failing_it(monkeypatch):
    from types import SimpleNamespace

    from labeling.tasks import export_dataset_task

    calls = []

    def run_export(job_id):
        calls.append(job_id)
        if len(calls) == 1:
            raise exports.ExportBusy("Export 7 is being written by another worker.", 30.0)
        return SimpleNamespace(status="done")

    monkeypatch.setattr(exports, "run_export", run_export)
    result = export_dataset_task.apply(args=[7])  # eager: the retry runs at once
    assert calls == [7, 7] and result.get() == "done"
