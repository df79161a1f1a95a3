"""Exporting a multi-label campaign through Django: multi-hot labels in the campaign's label
order, a datasheet that says multi-label and keeps the multi-label figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from labeling.emotions import MODALITIES, MOSEI_EMOTIONS, preset_labels
from labeling.models import Campaign, Corpus, Utterance
from labeling.selectors.exports import export_readiness, select_export_records
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from labeling.services.exports import create_export, run_export
from labeling.services.imports import import_manifest
from labeling.services.renditions import render_pending
from labeling.verdicts import VotingRule
from tests.factories import annotators
from training.dataset import CHERMASplit, ExportError, open_dataset, verify_checksums

from .conftest import EXPORTED, eager_tasks

pytestmark = pytest.mark.django_db


def label_set(index: int, modality: str) -> list[str]:
    """Utterance ``index``'s emotions in ``modality``: 0 to 2 of them, differing by modality."""
    j = MODALITIES.index(modality)
    return [MOSEI_EMOTIONS[(index + j + k) % 6] for k in range((index + j) % 3)]


def multilabel_campaign(clips: Path, name: str = "ml export") -> Campaign:
    """The export clips imported and rendered; one vote decides every emotion, as scripted."""
    corpus = Corpus.objects.create(name=f"{name} corpus")
    with eager_tasks():
        import_manifest(corpus=corpus, manifest_path=clips / "manifest.csv", media_root=clips)
    render_pending(corpus.pk)
    (annotator,) = annotators(1, prefix=f"{name[:4]}-")
    campaign = create_campaign(
        name=name,
        corpus=corpus,
        annotators=[annotator],
        labels=preset_labels("mosei"),
        label_mode=Campaign.LabelMode.MULTI,
        allow_none=True,
        rule=VotingRule(1, 1, 1),
        independence_guard=False,
    )
    utterances = list(Utterance.objects.filter(corpus=corpus).order_by("pk"))
    while (lease := next_task(annotator, campaign)) is not None:
        index = utterances.index(lease.job.utterance)
        submit_vote(annotator, lease.pk, label_set(index, lease.job.modality))
    return campaign


def test_selected_records_carry_frozensets_and_the_campaign_has_no_cherma_label_check(
    media_root, clips
):
    campaign = multilabel_campaign(clips)
    selection = select_export_records(campaign)
    assert len(selection.records) == EXPORTED + 2
    first = selection.records[0]
    assert first.labels == {m: frozenset(label_set(0, m)) for m in MODALITIES}
    assert export_readiness(campaign).usable == EXPORTED + 2


def test_the_admin_export_page_says_how_a_multilabel_campaign_is_written(
    media_root, clips, admin_client
):
    campaign = multilabel_campaign(clips)
    page = admin_client.get(reverse("admin:labeling_campaign_export", args=[campaign.pk]))
    text = page.content.decode()
    assert 'id="label-mode"' in text and "happy, sad, anger, surprise, disgust, fear" in text
    assert f"{EXPORTED + 2} of {EXPORTED + 2} utterances have all of t, a, v, m decided" in text


def test_a_multilabel_export_writes_multi_hot_labels_in_the_campaign_order(
    media_root, clips, tiny_options, tmp_path
):
    campaign = multilabel_campaign(clips)
    out = tmp_path / "ml"
    job = create_export(campaign=campaign, out_dir=out, options=tiny_options, enqueue=False)
    job = run_export(job.pk)
    assert job.status == "done", job.error
    sheet = json.loads((out / "datasheet.json").read_text(encoding="utf-8"))
    assert sheet["label_mode"] == "multi-label" and sheet["classes"] == list(MOSEI_EMOTIONS)
    statistics = sheet["statistics"]
    assert statistics["campaign"]["label_mode"] == "multi-label"
    assert {"label_frequencies", "co_occurrence", "krippendorff_alpha_masi"} <= set(statistics)
    assert statistics["covers"] == f"the {EXPORTED + 2} exported utterances with features"
    manifest = pd.read_parquet(out / "manifest.parquet")
    hot = np.load(out / "labels.npy")
    index_of = {
        (u.external_id or f"u{u.pk}"): i
        for i, u in enumerate(Utterance.objects.filter(corpus=campaign.corpus).order_by("pk"))
    }
    for row, labels in zip(manifest.itertuples(), hot, strict=True):
        for j, m in enumerate(MODALITIES):
            present = {MOSEI_EMOTIONS[c] for c in np.flatnonzero(labels[j])}
            assert present == set(label_set(index_of[row.utterance_id], m))
    dataset = open_dataset(out)
    assert dataset.label_mode == "multi-label" and list(dataset.classes) == list(MOSEI_EMOTIONS)
    assert CHERMASplit(out, "train")[0]["labels"].shape == (4, 6)
    assert verify_checksums(out) == []
    # The frequencies of the datasheet's curation figures cover what was exported.
    frequencies = statistics["label_frequencies"]["t"]
    assert sum(frequencies.values()) == sum(len(label_set(i, "t")) for i in range(EXPORTED + 2))


def test_a_multilabel_export_in_the_released_layout_is_refused_before_it_is_queued(
    media_root, clips, tmp_path
):
    campaign = multilabel_campaign(clips)
    with pytest.raises(ExportError, match="multi-label"):
        create_export(
            campaign=campaign,
            out_dir=tmp_path / "x",
            options={"released_layout": True},
            enqueue=False,
        )
