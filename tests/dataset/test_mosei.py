"""CMU-MOSEI-style feature files (MulT pickle and TAILOR's .pt): read, checked, trained on."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from training.__main__ import main
from training.dataset.mosei import (
    MOSEI_EMOTIONS,
    FeatureFileError,
    is_feature_file,
    open_feature_file,
)
from training.engine import TrainConfig
from training.engine.splits import open_splits

from .mosei_files import make_splits, write_mult_file, write_tailor_file


@pytest.fixture(scope="module")
def mult_file(tmp_path_factory):
    return write_mult_file(tmp_path_factory.mktemp("mosei")), make_splits()


@pytest.fixture(scope="module")
def tailor_file(tmp_path_factory):
    return write_tailor_file(tmp_path_factory.mktemp("mosei")), make_splits()


@pytest.mark.parametrize("layout", ["mult_file", "tailor_file"])
def test_both_layouts_read_as_multi_hot_labels_with_masks_and_infinities_zeroed(layout, request):
    path, made = request.getfixturevalue(layout)
    assert is_feature_file(path)
    source = open_feature_file(path)
    assert source.sizes == {"train": 24, "validation": 8, "test": 10}
    assert source.classes == MOSEI_EMOTIONS and source.label_mode == "multi-label"
    assert source.datasheet["shapes"] == {"text": [8, 300], "audio": [8, 74], "vision": [8, 35]}
    assert source.datasheet["non_finite"]["train"] == {"text": 0, "vision": 0, "audio": 3}
    x, hot = made["train"]
    split = source.split("train")
    item = split[1]
    assert item["labels"].shape == (4, 6) and item["labels"].dtype == torch.float32
    for row in range(4):  # y_m copied to t, a, v
        assert item["labels"][row].tolist() == hot[1].tolist()
    assert split[0]["labels"][3].tolist() == [0, 0, 1, 0, 0, 0]  # anger alone
    audio = item["audio"].numpy()
    assert np.isfinite(audio).all() and audio[-1, 0] == 0.0 and audio[-1, 2] == x["audio"][1, -1, 2]
    real = np.abs(x["text"][1]).sum(axis=1) > 0
    assert item["text_mask"].tolist() == real.tolist()
    assert source.datasheet["label_frequencies"]["train"]["anger"] == int(hot[:, 2].sum())


def _write(tmp_path, data, name="bad.pkl"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(data))
    return path


def _good() -> dict:
    return {split: {**x, "labels": hot} for split, (x, hot) in make_splits().items()}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.pop("valid"), "no validation split"),
        (lambda d: d["test"].pop("vision"), "has no vision"),
        (lambda d: d["train"].update(text=d["train"]["text"][:, 0]), "expected \\(samples, length"),
        (lambda d: d["train"].update(audio=d["train"]["audio"][:5]), "different sample counts"),
        (lambda d: d["test"]["text"].__setitem__((0, 0, 0), np.nan), "NaN values in text"),
        (lambda d: d["train"].update(labels=np.zeros((24, 1, 1))), "sentiment score"),
        (lambda d: d["train"].update(labels=np.zeros((24, 5))), "expected \\(24, 6\\)"),
        (lambda d: d["valid"].update(text=d["valid"]["text"][:, :, :200]), "differ in shape"),
        (lambda d: d["train"].update(labels=[[2, 11, 3]] * 24), "label token 11"),
    ],
)
def test_damaged_files_are_refused_with_a_sentence(tmp_path, damage, message):
    data = _good()
    damage(data)
    with pytest.raises(FeatureFileError, match=message):
        open_feature_file(_write(tmp_path, data))


def test_a_file_that_is_not_a_mapping_of_splits_is_refused(tmp_path):
    with pytest.raises(FeatureFileError, match="mapping of the splits"):
        open_feature_file(_write(tmp_path, [1, 2, 3]))
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"not a pickle")
    with pytest.raises(FeatureFileError, match="could not be read"):
        open_feature_file(broken)
    with pytest.raises(FileNotFoundError):
        open_feature_file(tmp_path / "missing.pkl")


def test_open_splits_reads_a_feature_file_and_can_standardise_it(mult_file):
    path, _ = mult_file
    splits = open_splits(path, TrainConfig(model="tailor", standardize=True))
    assert splits.classes == list(MOSEI_EMOTIONS)
    assert len(splits.train) == 24 and len(splits.validation) == 8 and len(splits.test) == 10
    text = torch.stack([splits.train[i]["text"] for i in range(24)])
    mask = torch.stack([splits.train[i]["text_mask"] for i in range(24)])
    assert abs(float(text[mask].mean())) < 0.05 and text[~mask].abs().sum() == 0


def test_python_m_training_trains_tailor_on_a_feature_file(tailor_file, tmp_path, capsys):
    path, _ = tailor_file
    tiny = ["d_model=16", "num_heads=2", 'encoder_layers={"t":1,"a":1,"v":1}', "cross_layers=1"]
    args = ["--dataset", str(path), "--out", str(tmp_path / "runs"), "--model", "tailor",
            "--seeds", "1", "--epochs", "2", "--batch-size", "8", "--optimizer", "adamw",
            "--lr", "0.001", "--no-progress", "--threshold", "0.4"]  # fmt: skip
    for setting in tiny:
        args += ["--set", setting]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "micro F1" in out and "Hamming" in out
    result = json.loads((tmp_path / "runs" / "seed-0" / "result.json").read_text())
    assert result["label_mode"] == "multi-label" and result["threshold"] == 0.4
    assert result["classes"] == list(MOSEI_EMOTIONS)
    assert result["model"]["config"]["common_fusion"] == "auto"
    assert set(result["test"]["m"]["per_class_f1"]) == set(MOSEI_EMOTIONS)
