"""Alignment: every exported record carries its own utterance's verdicts and features, and the
trainer reads labels in the order the heads are trained on them.

A dataset whose labels are shifted by one row against its features trains to chance without
any error; these tests are what rules that out.
"""

import numpy as np
import pytest
import torch

from labeling.emotions import MODALITIES
from labeling.models import Job
from training.dataset import SPLITS, CHERMASplit, open_dataset
from training.engine.loss import head_targets
from training.features import TextFeatureExtractor

from .conftest import run_export_cherma

pytestmark = pytest.mark.django_db


def verdicts(campaign) -> dict[tuple[str, str], str]:
    """(exported utterance id, modality) -> the job's final label, read from the database."""
    jobs = Job.objects.filter(campaign=campaign).select_related("utterance")
    return {
        (job.utterance.external_id or f"u{job.utterance.pk}", job.modality): job.final_label
        for job in jobs
    }


@pytest.fixture
def exported(built, tiny_options, tmp_path):
    out = tmp_path / "aligned"
    # The released order, so label ids differ from the paper's order and a mix-up shows.
    run_export_cherma(
        built.campaign, out, "--local", "--class-order", "released", options=tiny_options
    )
    return out


def test_every_exported_label_is_the_verdict_of_its_utterance_and_modality(built, exported):
    decided = verdicts(built.campaign)
    dataset = open_dataset(exported)
    manifest = dataset.manifest
    assert len(manifest) == len(built.ids)
    for row in manifest.itertuples():
        for u in MODALITIES:
            label = getattr(row, f"label_{u}")
            assert label == decided[(row.utterance_id, u)], (row.utterance_id, u)
            assert dataset.classes[getattr(row, f"label_{u}_id")] == label


def test_the_trainer_reads_each_utterances_own_labels_and_features(built, exported, model_dirs):
    decided = verdicts(built.campaign)
    transcripts = {
        (job.utterance.external_id or f"u{job.utterance.pk}"): job.utterance.transcript
        for job in Job.objects.filter(campaign=built.campaign, modality="t").select_related(
            "utterance"
        )
    }
    text = TextFeatureExtractor(str(model_dirs["text"]), device="cpu")
    seen = 0
    for split in SPLITS:
        data = CHERMASplit(exported, split)
        for i in range(len(data)):
            item = data[i]
            uid = item["utterance_id"]
            batch_labels = item["labels"].unsqueeze(0)
            targets = head_targets(batch_labels, {u: u for u in MODALITIES})
            for u in MODALITIES:  # head u is trained on this utterance's verdict for u
                assert data.classes[int(targets[u][0])] == decided[(uid, u)], (uid, u)
            # The feature row is this utterance's: its transcript gives the same text features.
            expected = text.extract([transcripts[uid]])
            real = item["text_mask"].numpy()
            np.testing.assert_allclose(
                item["text"].numpy()[real],
                np.asarray(expected.features[0], dtype=np.float16)[real].astype(np.float32),
                atol=2e-3,
            )
            assert torch.equal(item["text_mask"], torch.from_numpy(expected.mask[0]))
            seen += 1
    assert seen == len(built.ids) - 1  # all but the clip that no longer decodes
