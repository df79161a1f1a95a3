"""manage.py cherma_experiment end to end on a few synthetic utterances with tiny models."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from labeling.models import SyntheticTruth, TrainingRun
from tests.runs.tiny import TINY_FLAGS

pytestmark = pytest.mark.django_db


def test_experiment_labels_exports_trains_the_three_models_and_compares_them(
    model_dirs, media_root, tmp_path, capsys
):
    out = tmp_path / "experiment"
    argv = [
        "cherma_experiment", "--utterances", "5", "--seeds", "2", "--epochs", "1",
        "--text-model", str(model_dirs["text"]), "--audio-model", str(model_dirs["audio"]),
        "--vision-model", str(model_dirs["vision"]), "--out", str(out), "--no-progress",
        *TINY_FLAGS,
    ]  # fmt: skip
    call_command(*argv)
    printed = capsys.readouterr().out
    assert [r.model for r in TrainingRun.objects.order_by("pk")] == ["lfmim", "lfmim-ml", "pmr"]
    assert set(TrainingRun.objects.values_list("status", flat=True)) == {"done"}
    table = printed[printed.index("Test set, m head") :]
    for model in ("lfmim", "lfmim-ml", "pmr"):
        assert f"experiment {model} ({model})" in table
    assert "LFMIM per head (like Table 4)" in printed and "±" in printed
    assert (out / "report.txt").read_text().startswith("Test set, m head")
    assert "RANDOM WEIGHTS" not in printed
    assert "Modality independence: LFMIM's heads against every modality's labels" in printed

    # The exported labels are the synthetic ground truth: t text, a voice, v face, m underlying.
    manifest = pd.read_csv(out / "dataset" / "manifest.csv").set_index("utterance_id")
    truths = SyntheticTruth.objects.select_related("utterance")
    assert len(manifest) == truths.count() == 5
    for truth in truths:
        row = manifest.loc[truth.utterance.external_id]
        assert {m: row[f"label_{m}"] for m in "tavm"} == {
            "t": truth.text_emotion,
            "a": truth.voice_emotion,
            "v": truth.face_emotion,
            "m": truth.underlying,
        }

    # Again, one model: the corpus, labels and dataset are reused, the run is new.
    call_command(*argv[: -len(TINY_FLAGS)], "--models", "lfmim", *TINY_FLAGS)
    printed = capsys.readouterr().out
    assert "Reusing the dataset" in printed and "already has 5 utterances" in printed
    assert (out / "runs" / "lfmim-2").is_dir()


def test_experiment_needs_models_or_the_random_ones(tmp_path):
    with pytest.raises(CommandError, match="--tiny-random-models"):
        call_command("cherma_experiment", "--out", str(tmp_path), "--utterances", "2")
