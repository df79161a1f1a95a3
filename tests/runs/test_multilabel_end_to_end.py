"""A multi-label campaign from annotation to a finished run, on a real Celery worker over the
real Redis: clips imported and rendered, simulated annotators voting label sets through the
services under the CHERMA rule per emotion, the multi-label statistics, an export queued on
the export queue, then a multi-label LFMIM run and a TAILOR run queued on the gpu queue, all
done by the worker. Small (13 clips, tiny models, 2 epochs): it checks the chain, not learning
(tests/training has the learning tests)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse

from annotator.celery import app
from labeling.emotions import EMOTIONS, MODALITIES, emotion_label_set, preset_labels
from labeling.models import Campaign, Corpus, ExportJob, SyntheticTruth, TrainingRun, Utterance
from labeling.selectors.exports import export_readiness
from labeling.selectors.statistics import campaign_statistics
from labeling.services import training as runs
from labeling.services.campaigns import create_campaign
from labeling.services.exports import create_export
from labeling.services.imports import import_manifest
from labeling.services.renditions import render_pending
from labeling.services.simulation import parse_accuracy, simulate
from tests.export.conftest import EXPORTED, eager_tasks
from tests.runs.tiny import tiny_config
from tests.training.tiny import TINY_OVERRIDES
from training.dataset import open_dataset

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
QUEUES = ("export", runs.GPU_QUEUE)
MOSEI = [label["name"] for label in preset_labels("mosei")]
TINY_TAILOR = TINY_OVERRIDES[("tailor", "released")]


def purge() -> None:
    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)


@pytest.fixture
def worker():
    """One worker following the export and the gpu queues, as a small deployment runs them."""
    assert app.conf.broker_url.startswith("redis://"), (
        "run the tests with CELERY_BROKER_URL on Redis"
    )
    purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=list(QUEUES),
        shutdown_timeout=60,
    ) as started:
        yield started
    purge()


def wait_for(row, done, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if done(row):
            return row
        time.sleep(0.2)
    raise AssertionError(f"{row} is still {row.status} after {seconds} s: {row.error}")


def truth_of(index: int) -> dict[str, str]:
    """Utterance ``index``'s synthetic emotion per modality (they differ across modalities)."""
    return {m: EMOTIONS[(index + 2 * j) % len(EMOTIONS)] for j, m in enumerate(MODALITIES)}


def annotated_campaign(clips) -> Campaign:
    """The export clips imported and rendered, with a known truth; a multi-label campaign
    over CMU-MOSEI's emotions worked by simulated annotators under the paper's rule."""
    corpus = Corpus.objects.create(name="multi-label end to end", is_synthetic=True)
    with eager_tasks():
        import_manifest(corpus=corpus, manifest_path=clips / "manifest.csv", media_root=clips)
    render_pending(corpus.pk)
    utterances = list(Utterance.objects.filter(corpus=corpus).order_by("pk"))
    SyntheticTruth.objects.bulk_create(
        [
            SyntheticTruth(
                utterance=u,
                text_emotion=truth["t"],
                voice_emotion=truth["a"],
                face_emotion=truth["v"],
                underlying=truth["m"],
                seed=i,
            )
            for i, u in enumerate(utterances)
            for truth in [truth_of(i)]
        ]
    )
    campaign = create_campaign(
        name="multi-label end to end",
        corpus=corpus,
        labels=preset_labels("mosei"),
        label_mode=Campaign.LabelMode.MULTI,
        allow_none=True,
    )
    report = simulate(campaign, accuracy=parse_accuracy("0.95"), seed=1)
    assert report.stuck == [] and report.votes >= len(utterances) * 4 * 3
    return campaign


def test_a_multilabel_campaign_goes_from_annotation_to_a_finished_run_on_a_worker(
    worker, media_root, clips, tiny_options, tmp_path
):
    campaign = annotated_campaign(clips)
    reviewer_client = Client()
    reviewer_client.force_login(User.objects.create_superuser("ml-reviewer", password="x"))
    stats = campaign_statistics(campaign)
    assert stats["campaign"]["label_mode"] == "multi-label"
    usable = export_readiness(campaign).usable
    assert usable >= EXPORTED - 3, export_readiness(campaign).sentence()
    # The truth differs across modalities (truth_of), so the decided sets do too.
    assert stats["inconsistency"]["differ"]["t"]["m"] > 0.5
    alpha, n_jobs = stats["krippendorff_alpha_masi"]["m"]
    assert alpha > 0.5 and n_jobs == EXPORTED + 2

    with transaction.atomic():  # queued on commit, as the admin's Export button queues it
        export = create_export(campaign=campaign, out_dir=tmp_path / "export", options=tiny_options)
    export = wait_for(export, lambda job: job.status not in ("queued", "running"))
    assert export.status == ExportJob.Status.DONE, export.error
    dataset = open_dataset(export.out_dir)
    assert dataset.label_mode == "multi-label" and list(dataset.classes) == MOSEI
    assert sum(dataset.sizes.values()) == usable
    hot = np.load(f"{export.out_dir}/labels.npy")
    truths = {
        (u.external_id or f"u{u.pk}"): u.synthetic_truth
        for u in Utterance.objects.filter(corpus=campaign.corpus).select_related("synthetic_truth")
    }
    manifest = pd.read_parquet(f"{export.out_dir}/manifest.parquet")
    agree = [
        {MOSEI[c] for c in np.flatnonzero(row[j])}
        == emotion_label_set(truths[uid].emotion(m), MOSEI)
        for uid, row in zip(manifest.utterance_id, hot, strict=True)
        for j, m in enumerate(MODALITIES)
    ]
    assert np.mean(agree) > 0.8  # the verdicts recover the simulated truth sets

    # Multi-label LFMIM (a head per modality) and TAILOR (the m head), read off the dataset.
    configs = {
        "lfmim": (tiny_config(epochs=2), {"t", "a", "v", "m"}),
        "tailor": (
            runs.make_config("tailor", epochs=2, options={"batch_size": 4, **TINY_TAILOR}),
            {"m"},
        ),
    }
    for model, (config, heads) in configs.items():
        with transaction.atomic():
            run = runs.start_run(dataset_path=export.out_dir, config=config, seeds=1, name=model)
        run = wait_for(run, lambda r: r.is_finished)
        assert run.status == TrainingRun.Status.DONE, (model, run.error)
        assert sorted(run.epochs.values_list("seed", "epoch")) == [(0, 1), (0, 2)]
        summary = run.report["summary"]
        assert set(summary) == heads
        for head in heads:  # the field's multi-label metrics, per emotion of the campaign
            assert {"f1_micro", "hamming_loss", "accuracy"} <= set(summary[head])
            assert set(summary[head]["per_class_f1"]) == set(MOSEI)
        # The run page shows the multi-label scores, not single-label "overall".
        page = reviewer_client.get(reverse("run-detail", args=[run.pk])).content.decode()
        assert "<th>micro F1</th>" in page and "<th>Hamming loss</th>" in page
        assert "<th>overall</th>" not in page and "|y∩ŷ|/|y∪ŷ|" in page
