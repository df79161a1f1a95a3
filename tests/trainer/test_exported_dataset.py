"""The trainer and the CLI on a tiny dataset exported by `training.dataset` (stub extractors,
real audio clips, the real writer and reader)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.emotions import EMOTIONS, MODALITIES
from tests.clips import write_clip
from training.__main__ import main
from training.dataset import ExportRecord, Extractors, export_dataset
from training.engine import TrainConfig, train
from training.engine.splits import open_splits
from training.features.vision import VisionFeatures

from .synthetic import TINY_LFMIM

REPO = Path(__file__).resolve().parents[2]


class StubText:
    sequence_length, hidden_size = 6, 12

    def describe(self) -> dict:
        return {"model": "stub-text"}

    def extract(self, texts):
        rng = np.random.default_rng(len(texts))
        mask = np.zeros((len(texts), self.sequence_length), bool)
        for i, text in enumerate(texts):
            mask[i, : min(len(text) + 2, self.sequence_length)] = True
        features = rng.standard_normal((len(texts), self.sequence_length, self.hidden_size))
        return features.astype(np.float32) * mask[..., None], mask


class StubAudio:
    sample_rate, hidden_size = 16000, 10

    def describe(self) -> dict:
        return {"model": "stub-audio"}

    def extract(self, waveforms):  # one frame per 20 ms, as wav2vec
        return [np.full((len(w) // 320, self.hidden_size), w.std(), np.float32) for w in waveforms]


class StubVision:
    num_frames, hidden_size = 4, 8

    def describe(self) -> dict:
        return {"model": "stub-vision"}

    def extract_file(self, path):
        rng = np.random.default_rng(len(str(path)))
        return VisionFeatures(
            rng.standard_normal((self.num_frames, self.hidden_size)).astype(np.float32),
            np.array([True, True, False, True]),
            np.arange(self.num_frames),
        )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    clips = tmp_path_factory.mktemp("clips")
    records = []
    for i in range(20):
        path = write_clip(
            clips / f"u{i:02d}.m4a",
            seconds=0.2 + 0.1 * (i % 5),
            video=False,
            tone_hz=200 + 40 * i,
        )
        labels = {m: EMOTIONS[(i + j) % len(EMOTIONS)] for j, m in enumerate(MODALITIES)}
        records.append(ExportRecord(f"u{i:02d}", labels, "你好" * (i % 3 + 1), path, 0.5))
    out = tmp_path_factory.mktemp("exports") / "tiny"
    extractors = Extractors(text=StubText(), audio=StubAudio(), vision=StubVision())
    export_dataset(records, out, extractors=extractors, seed=1, name="tiny", shard_size=8)
    return out


def test_trains_on_an_exported_dataset_with_its_class_names_and_utterance_ids(exported, tmp_path):
    config = TrainConfig(
        model="lfmim", model_overrides=TINY_LFMIM, epochs=2, batch_size=4, audio_len=12
    )
    splits = open_splits(exported, config)
    assert splits.classes == list(EMOTIONS)  # the export's paper class order
    assert splits.train[0]["audio"].shape == (12, 10)
    result = train(
        config, splits.train, splits.validation, splits.test, tmp_path, classes=splits.classes
    )
    assert result.classes == list(EMOTIONS)
    assert set(result.test["m"]["per_class_f1"]) == set(EMOTIONS)
    assert result.global_step == 2 * -(-len(splits.train) // 4)
    ids = [row.split(",")[0] for row in (tmp_path / "test_predictions.csv").read_text().split()]
    assert ids[1:] == splits.test.utterance_ids


def test_command_line_trains_every_seed_and_writes_the_summary(exported, tmp_path, capsys):
    out = tmp_path / "runs"
    argv = [
        "--dataset", str(exported), "--model", "lfmim-ml", "--preset", "paper",
        "--seeds", "2", "--out", str(out), "--epochs", "1", "--batch-size", "4",
        "--audio-len", "12", "--optimizer", "adamw", "--lr", "0.001",
        "--beta", "t=0.5",
        *(f"--set={k}={json.dumps(v)}" for k, v in TINY_LFMIM.items()),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "±" in printed.out  # the seed table: mean ± std
    assert "seed 1 epoch 1: train loss" in printed.err  # the progress lines
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [0, 1]
    assert set(summary["summary"]) == {"t", "a", "v", "m"}
    config = json.loads((out / "seed-1" / "config.json").read_text())["config"]
    assert config["seed"] == 1 and config["model"] == "lfmim-ml"
    assert config["beta"] == {"t": 0.5, "a": 1.0, "v": 1.0, "m": 1.0}
    assert config["model_overrides"]["d_model"] == 16
    assert (out / "report.txt").read_text().startswith("lfmim-ml test set")

    # Run again with --resume: finished seeds are read back, not retrained.
    before = (out / "seed-0" / "last.pt").stat().st_mtime_ns
    assert main([*argv, "--resume"]) == 0
    assert (out / "seed-0" / "last.pt").stat().st_mtime_ns == before
    # Without --resume an existing run is refused with a sentence, not overwritten.
    assert main(argv) == 2
    assert "resume" in capsys.readouterr().err


def test_training_code_imports_no_django():
    code = (
        "import sys, training.engine, training.metrics, training.dataset, training.__main__; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60).returncode == 0
