"""export_cherma --pool: the utterances still waiting for labels, unlabelled, with features."""

import pytest
from django.core.management import CommandError

from labeling.models import ExportJob
from labeling.selectors.exports import finished_exports, select_pool_records
from tests.runs.tiny import reviewer
from training.dataset import CHERMASplit, open_dataset, verify_checksums
from training.engine import TrainConfig
from training.engine.splits import open_splits

from .conftest import decided_campaign, run_export_cherma

pytestmark = pytest.mark.django_db


def test_a_pool_export_holds_the_undecided_utterances_without_labels(built, tiny_options, tmp_path):
    out = tmp_path / "pool"
    run_export_cherma(built.campaign, out, "--local", "--pool", options=tiny_options)
    job = ExportJob.objects.get(out_dir=str(out))
    assert job.status == ExportJob.Status.DONE, job.error
    assert job.result["sizes"] == {"pool": 1}

    pool = open_dataset(out)
    # Decided utterances are in the labelled export; the excluded one will never be labelled.
    assert list(pool.manifest["utterance_id"]) == [built.undecided]
    assert pool.datasheet["pool"] is True and verify_checksums(out) == []
    item = CHERMASplit(out, "pool")[0]
    assert item["utterance_id"] == built.undecided and (item["labels"] == -1).all()
    assert item["vision"].shape == (4, 16)  # the export's own settings: 2 × 2 frames

    # A pool is for scoring, never offered or accepted for training.
    assert job not in finished_exports(reviewer())
    with pytest.raises(ValueError, match="is a pool"):
        open_splits(out, TrainConfig())


def test_a_campaign_with_nothing_waiting_refuses_a_pool(tiny_options, tmp_path):
    campaign = decided_campaign("all decided", 2)
    assert select_pool_records(campaign).records == []
    with pytest.raises(CommandError, match="no utterance with media waiting for labels"):
        run_export_cherma(campaign, tmp_path / "pool", "--local", "--pool", options=tiny_options)
    assert not ExportJob.objects.exists()
