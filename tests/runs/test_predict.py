"""Predict: a finished run scores a campaign's utterances; stored probabilities are the
model's output on the run's own (standardised) features; a real gpu worker runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from transformers import ResNetModel

from labeling.models import Prediction, PredictionJob
from labeling.selectors.exports import select_pool_records, utterance_id
from labeling.services import predictions
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
    finished_export, built
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
    # The dataset's 10, and the undecided utterance on features extracted now; the corrupt
    # clip cannot be scored and the excluded utterance is not asked for.
    assert job.result["from_dataset"] == len(expected) // 4 == 10
    assert job.result["extracted"] == 1 and job.result["scored"] == 11 == job.total - 2
    assert [f["utterance_id"] for f in job.result["failed"]] == [built.corrupt]
    assert job.result["not_scored"] == 1 and job.done == job.total
    assert {ids[r.utterance_id] for r in rows} == {*built.ids, built.undecided} - {
        built.corrupt,
        built.excluded,
    }
    assert len(rows) == 11 * 4
    classes = run.report["classes"]
    for row in rows:
        if ids[row.utterance_id] == built.undecided:
            continue
        p = expected[(ids[row.utterance_id], row.head)]
        np.testing.assert_allclose(row.probabilities, p, atol=1e-5)
        assert row.label == classes[int(np.argmax(p))]
        assert row.confidence == pytest.approx(float(p.max()), abs=1e-5)
        assert row.entropy == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-4)

    # Predicting again replaces the run's rows, never duplicates them, and reuses the pool.
    again = run_prediction(start_prediction(run=run, campaign=campaign, enqueue=False).pk)
    assert again.status == PredictionJob.Status.DONE
    assert Prediction.objects.filter(run=run).count() == len(rows)
    assert again.result["pool"] == job.result["pool"]


@pytest.mark.django_db
def test_an_utterance_outside_the_dataset_gets_what_it_would_get_inside(finished_export):
    """The pool path (the dataset's extractors loaded again from its datasheet, the training
    split's standardisation) gives the dataset's own utterances their dataset probabilities."""
    from training.engine import TrainConfig
    from training.engine.scoring import head_probabilities, load_best, sample_of
    from training.engine.splits import open_splits

    run = trained(finished_export)
    campaign = finished_export.campaign
    job = start_prediction(run=run, campaign=campaign, enqueue=False)
    config = TrainConfig.from_dict(run.config)
    splits = open_splits(run.dataset_path, config)
    records = select_pool_records(campaign, leave_out=set())  # every utterance, as if new
    bar = predictions._Bar(job, None, total=len(records.records))
    pool, failed, _ = predictions._pool_split(job, splits, config, records.records, bar)
    model, _ = load_best(f"{run.out_dir}/seed-0/best.pt")
    items = [split[i] for split, i in pool]
    got = head_probabilities(
        model, [sample_of(item) for item in items], label_mode=config.label_mode
    )
    expected = expected_probabilities(run)
    assert len(items) == 11 and len(failed) == 1  # the undecided one is only in the pool
    compared = 0
    for head, p in got.items():
        for item, row in zip(items, p, strict=True):
            if (item["utterance_id"], head) in expected:
                # Features stored in float16 either way, batched with other utterances.
                np.testing.assert_allclose(row, expected[(item["utterance_id"], head)], atol=2e-3)
                compared += 1
    assert compared == 40


@pytest.mark.django_db
def test_a_changed_feature_model_refuses_the_pool_and_stores_nothing(finished_export):
    run = trained(finished_export)
    sheet_path = Path(run.dataset_path) / "datasheet.json"
    vision = json.loads(sheet_path.read_text(encoding="utf-8"))["extractors"]["vision"]
    model_dir = Path(vision["model"])
    kept = {path: path.read_bytes() for path in model_dir.iterdir() if path.is_file()}
    model = ResNetModel.from_pretrained(model_dir)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # the same architecture, other weights
    model.save_pretrained(model_dir)
    try:
        job = run_prediction(
            start_prediction(run=run, campaign=finished_export.campaign, enqueue=False).pk
        )
    finally:  # the session's tiny model, as other tests expect it
        for path, data in kept.items():
            path.write_bytes(data)
    assert job.status == PredictionJob.Status.FAILED
    assert "no longer makes this dataset's features" in job.error, job.error
    assert not Prediction.objects.exists()


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
def test_a_second_prediction_into_the_same_pool_waits_for_the_first(finished_export):
    """A double click queues one prediction: another of the same dataset on the campaign is
    refused while the first is queued or running, and accepted once it finished or its
    worker went silent (a dead worker blocks nothing)."""
    from datetime import timedelta

    from django.utils import timezone

    from labeling.services.training import STALE_AFTER

    run, campaign = trained(finished_export), finished_export.campaign
    first = start_prediction(run=run, campaign=campaign, enqueue=False)
    with pytest.raises(PredictionRefused, match=f"Prediction {first.pk} .* is queued"):
        start_prediction(run=run, campaign=campaign, enqueue=False)
    first.status, first.heartbeat_at = PredictionJob.Status.RUNNING, timezone.now()
    first.save()
    with pytest.raises(PredictionRefused, match="is running"):
        start_prediction(run=run, campaign=campaign, enqueue=False)
    first.heartbeat_at = timezone.now() - STALE_AFTER - timedelta(seconds=1)
    first.save()
    second = start_prediction(run=run, campaign=campaign, enqueue=False)
    assert run_prediction(second.pk).status == PredictionJob.Status.DONE
    assert start_prediction(run=run, campaign=campaign, enqueue=False).pk > second.pk


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
    assert job.done == job.total > 0 and job.result["extracted"] == 1  # the worker extracted it
    assert Prediction.objects.filter(run=run).count() == job.result["scored"] * 4 == 11 * 4


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


@pytest.mark.django_db
def test_the_jobs_still_open_are_ordered_by_their_own_predictions(finished_export, built):
    """The point of scoring outside the dataset: the jobs that still need votes belong to
    utterances the dataset does not hold, and the uncertainty order ranks them too."""
    from labeling.models import Job
    from labeling.services.job_order import set_job_order
    from labeling.verdicts import State

    run = trained(finished_export)
    campaign = finished_export.campaign
    run_prediction(start_prediction(run=run, campaign=campaign, enqueue=False).pk)
    set_job_order(campaign, "uncertainty", run)
    entropy = dict(
        ((u, h), e)
        for u, h, e in Prediction.objects.filter(run=run).values_list(
            "utterance_id", "head", "entropy"
        )
    )
    jobs = Job.objects.filter(campaign=campaign, excluded=False)
    scored = [(entropy[(j.utterance_id, j.modality)], j.turn) for j in jobs
              if (j.utterance_id, j.modality) in entropy]  # fmt: skip
    open_ids = {utterance_id(j.utterance.external_id, j.utterance_id)
                for j in jobs if j.state != State.DECIDED}  # fmt: skip
    assert built.undecided in open_ids
    assert len(scored) == 11 * 4  # every job but the corrupt clip's, the open ones included
    by_turn = [e for e, _ in sorted(scored, key=lambda pair: pair[1])]
    assert by_turn == sorted(by_turn, reverse=True)  # most uncertain first


@pytest.mark.django_db
def test_admins_follow_and_cancel_predictions(finished_export, admin_client):
    run = trained(finished_export)
    job = start_prediction(run=run, campaign=finished_export.campaign, enqueue=False)
    listing = admin_client.get(reverse("admin:labeling_predictionjob_changelist"))
    assert listing.status_code == 200 and "0 / 0 (utterances extracted" in listing.content.decode()
    page = admin_client.get(reverse("admin:labeling_predictionjob_change", args=[job.pk]))
    assert 'http-equiv="refresh"' in page.content.decode()  # queued: the page follows it
    response = admin_client.post(
        reverse("admin:labeling_predictionjob_changelist"),
        {"action": "cancel", "_selected_action": [job.pk]},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == PredictionJob.Status.CANCELLED and job.cancel_requested
    assert run_prediction(job.pk).status == PredictionJob.Status.CANCELLED  # never runs
    assert not Prediction.objects.exists()


@pytest.mark.django_db
def test_a_dataset_made_before_a_setting_existed_reloads_its_extractors(finished_export, built):
    """Datasheets written before `compiled` was recorded were made without torch.compile:
    their extractors reload, and the pool made for them is reused, not extracted again."""
    from labeling.services.exports import load_dataset_extractors

    sheet = json.loads((Path(finished_export.out_dir) / "datasheet.json").read_text())
    assert sheet["extractors"]["vision"].pop("compiled") is False
    extractors, dtype = load_dataset_extractors(sheet)
    assert extractors.vision.compile is False and dtype == sheet["dtype"]
    run = trained(finished_export)
    job = run_prediction(start_prediction(run=run, campaign=built.campaign, enqueue=False).pk)
    pool = predictions.pool_dir(run, built.campaign)
    assert job.result["pool"] == str(pool)
    (part,) = predictions._pool_parts(pool, sheet)
    assert built.undecided in part.held


@pytest.mark.django_db
def test_a_growing_campaign_extracts_only_its_new_utterances_and_retries_a_fixed_clip(
    finished_export, built
):
    """A pool grows by parts: a new utterance costs its own extraction, not the pool's; a
    clip that did not decode is not decoded again until its file changes."""
    import os
    import shutil

    from labeling.models import Utterance
    from labeling.services.campaigns import add_missing_jobs
    from labeling.storage import media_path

    run, campaign = trained(finished_export), built.campaign

    def predict_now():
        job = run_prediction(start_prediction(run=run, campaign=campaign, enqueue=False).pk)
        assert job.status == PredictionJob.Status.DONE, job.error
        return job.result

    first = predict_now()  # the undecided utterance, and the corrupt clip tried
    assert (first["extracted"], first["extracted_now"]) == (1, 2)
    pool = Path(first["pool"])
    made = (pool / "part-0001" / "datasheet.json").stat().st_mtime_ns

    again = predict_now()  # nothing new, and the broken clip unchanged: nothing extracted
    assert (again["extracted"], again["extracted_now"]) == (1, 0)
    assert [f["utterance_id"] for f in again["failed"]] == [built.corrupt]

    # A new clip arrives, and the broken one is replaced by a good copy.
    good = Utterance.objects.get(corpus=campaign.corpus, external_id=built.ids[0])
    new = Utterance.objects.create(
        corpus=campaign.corpus, external_id="arrived-later", source_file=good.source_file,
        transcript=good.transcript, duration_seconds=good.duration_seconds,
    )  # fmt: skip
    add_missing_jobs(campaign, [new.pk])
    broken = Utterance.objects.get(corpus=campaign.corpus, external_id=built.corrupt)
    shutil.copyfile(media_path(good.source_file), media_path(broken.source_file))
    later = made / 1e9 + 5
    os.utime(media_path(broken.source_file), (later, later))

    grown = predict_now()
    assert (grown["extracted"], grown["extracted_now"], grown["failed"]) == (3, 2, [])
    assert sorted(p.name for p in pool.glob("part-*")) == ["part-0001", "part-0002"]
    assert (pool / "part-0001" / "datasheet.json").stat().st_mtime_ns == made  # left as it was
    scored = set(Prediction.objects.filter(run=run).values_list("utterance_id", flat=True))
    assert {new.pk, broken.pk} <= scored


def pool_reader(run, campaign):
    """A function that runs a prediction's pool step for `campaign` as it is now and gives
    each pool utterance → the part its features are read from."""
    from training.engine import TrainConfig
    from training.engine.splits import open_splits

    config = TrainConfig.from_dict(run.config)
    splits = open_splits(run.dataset_path, config)
    job = start_prediction(run=run, campaign=campaign, enqueue=False)

    def pool_parts_of() -> dict[str, str]:
        records = select_pool_records(campaign, leave_out=set()).records
        bar = predictions._Bar(job, None, total=len(records))
        items, _, _ = predictions._pool_split(job, splits, config, records, bar)
        return {split.utterance_ids[i]: split.path.name for split, i in items}

    return pool_parts_of


@pytest.mark.django_db
def test_an_edited_transcript_or_a_replaced_clip_is_extracted_again_and_scored_from_it(
    finished_export, built
):
    """A pool part's features belong to the transcript and clip they were made from: after
    either changes, the utterance is extracted again into a newer part, which it is scored
    from; the older part stays for the utterances it still holds as they are."""
    import os
    import shutil

    from labeling.models import Utterance
    from labeling.services.predictions import pool_dir
    from labeling.storage import media_path

    run, campaign = trained(finished_export), built.campaign
    pool_parts_of = pool_reader(run, campaign)
    first = pool_parts_of()
    assert set(first.values()) == {"part-0001"}
    undecided = Utterance.objects.get(corpus=campaign.corpus, external_id=built.undecided)
    undecided.transcript += "，还有一句"
    undecided.save()
    edited = pool_parts_of()
    assert edited[built.undecided] == "part-0002"
    assert {uid: part for uid, part in edited.items() if uid != built.undecided} == {
        uid: part for uid, part in first.items() if uid != built.undecided
    }

    # A clip replaced in place by an older file, its time kept (`cp -p`, `rsync -a`).
    victim = built.ids[1]
    clip = media_path(Utterance.objects.get(corpus=campaign.corpus, external_id=victim).source_file)
    shutil.copyfile(media_path(undecided.source_file), clip)
    made = (pool_dir(run, campaign) / "part-0001" / "datasheet.json").stat().st_mtime
    os.utime(clip, (made - 3600, made - 3600))
    replaced = pool_parts_of()
    assert replaced[victim] == "part-0003" and replaced[built.undecided] == "part-0002"
    assert sorted(p.name for p in pool_dir(run, campaign).glob("part-*")) == [
        "part-0001", "part-0002", "part-0003"
    ]  # fmt: skip


@pytest.mark.django_db
def test_a_part_the_pool_no_longer_reads_is_deleted(finished_export, built):
    """A part none of whose features are read any more (its utterances were extracted again
    into newer parts) is deleted, unless it holds the failure of a clip that is still that
    broken file: an edited corpus does not keep two copies of its features on disk."""
    import os
    import shutil

    from labeling.models import Utterance
    from labeling.services.predictions import pool_dir
    from labeling.storage import media_path

    run, campaign = trained(finished_export), built.campaign
    pool_parts_of = pool_reader(run, campaign)

    def parts_on_disk() -> list[str]:
        return sorted(p.name for p in pool_dir(run, campaign).glob("part-*"))

    first = pool_parts_of()
    assert set(first.values()) == {"part-0001"}
    for utterance in Utterance.objects.filter(corpus=campaign.corpus):
        utterance.transcript += "，改过"
        utterance.save()
    assert pool_parts_of() == dict.fromkeys(first, "part-0002")
    assert parts_on_disk() == ["part-0001", "part-0002"]  # the corrupt clip's failure

    broken = Utterance.objects.get(corpus=campaign.corpus, external_id=built.corrupt)
    good = Utterance.objects.get(corpus=campaign.corpus, external_id=built.undecided)
    shutil.copyfile(media_path(good.source_file), media_path(broken.source_file))
    later = (pool_dir(run, campaign) / "part-0002" / "datasheet.json").stat().st_mtime + 60
    os.utime(media_path(broken.source_file), (later, later))
    assert set(pool_parts_of().values()) == {"part-0002", "part-0003"}
    assert parts_on_disk() == ["part-0002", "part-0003"]  # part-0001 held nothing in use


def test_a_dataset_whose_audio_batched_only_equal_lengths_reloads_that_way(
    finished_export, tmp_path
):
    """A group-norm audio model's datasheet made before clips of any length were batched says
    batched_with_attention_mask False: its extractor reloads batching as it did."""
    from labeling.services.exports import load_dataset_extractors
    from tests.features.conftest import save_tiny_wav2vec2
    from training.features import AudioFeatureExtractor

    sheet = json.loads((Path(finished_export.out_dir) / "datasheet.json").read_text())
    group = str(save_tiny_wav2vec2(tmp_path / "group", "group", processor=False))
    precision = sheet["extractors"]["text"]["compute_precision"]
    for then in (False, True):
        made = AudioFeatureExtractor(group, precision=precision, batch_any_length=then)
        described = json.loads(json.dumps(made.describe(), default=str))
        assert described["batched_with_attention_mask"] is then
        sheet["extractors"]["audio"] = described
        extractors, _ = load_dataset_extractors(sheet)
        assert extractors.audio.batch_any_length is then
        groups = [[0, 2, 1]] if then else [[0, 2], [1]]
        assert extractors.audio._batches([100, 200, 100]) == groups


@pytest.mark.django_db
def test_a_prediction_cancelled_while_running_stops_and_keeps_its_stored_batches(finished_export):
    run = trained(finished_export)
    job = start_prediction(run=run, campaign=finished_export.campaign, enqueue=False)
    job.options = {**job.options, "batch_size": 4}
    job.save(update_fields=["options"])

    def cancel_once_scoring(done: int, total: int) -> None:
        if Prediction.objects.exists():  # a first batch is stored: ask the job to stop
            PredictionJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    job = run_prediction(job.pk, progress=cancel_once_scoring)
    assert job.status == PredictionJob.Status.CANCELLED, job.error
    stored = Prediction.objects.filter(run=run).count()
    assert 0 < stored < 11 * 4 and stored % 4 == 0  # whole batches of 4 heads per utterance
