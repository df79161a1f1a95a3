"""Multi-label runs through the trainer: TAILOR and LFMIM learn far above chance, every model
of the registry trains on multi-label data, the tested checkpoint is the best epoch's, and
evaluation sees every sample once, in order."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from training.__main__ import build_parser, config_from_args
from training.engine import BEST, LAST, TrainConfig, load_checkpoint, predict, score, train
from training.engine.data import eval_loader
from training.engine.distributed import DistContext
from training.models import MODEL_NAMES, model_from_dict

from .multilabel import EMOTIONS, MultiLabelSplit, chance, prototypes
from .tiny import TINY_OVERRIDES

LENS = {"t": 6, "a": 8, "v": 4}
TINY_TAILOR = dict(
    d_model=32,
    num_heads=4,
    ffn_mult=2,
    encoder_layers={"t": 1, "a": 1, "v": 1},
    cross_layers=1,
    dropout=0.1,
)


@pytest.fixture(scope="module")
def splits():
    protos = prototypes()
    return tuple(
        MultiLabelSplit(n, seed=seed, lens=LENS, protos=protos)
        for n, seed in ((384, 1), (96, 2), (160, 3))
    )


def config(model: str, **changes) -> TrainConfig:
    values = dict(
        model=model,
        model_overrides=TINY_TAILOR if model == "tailor" else TINY_OVERRIDES[(model, "paper")],
        epochs=6,
        batch_size=16,
        optimizer="adamw",
        lr=3e-3,
        schedule="none",
        select_metric="f1_micro",
    )
    values.update(changes)
    return TrainConfig(**values)


def _load(path):
    state = load_checkpoint(path)
    model = model_from_dict(state["model"])
    model.load_state_dict(state["state_dict"])
    return model


def _chance_of(splits, column: int) -> dict[str, float]:
    return chance(splits[0].labels[:, column].numpy(), splits[2].labels[:, column].numpy())


def test_tailor_learns_the_multilabel_set_far_above_chance(splits, tmp_path):
    result = train(config("tailor"), *splits, tmp_path)
    assert result.label_mode == "multi-label" and result.threshold == 0.35
    floor = _chance_of(splits, 3)
    m = result.test["m"]
    assert m["f1_micro"] > floor["f1_micro"] + 0.25, (m["f1_micro"], floor)
    assert m["accuracy"] > floor["accuracy"] + 0.3, (m["accuracy"], floor)
    assert m["hamming_loss"] < 0.15
    record = result.history[-1]
    assert set(record["train"]["auxiliary"]) == {"adversarial", "orthogonality", "common"}
    assert {"loss", "accuracy"} <= set(record["train"]["heads"]["m"])
    assert {"loss", "accuracy", "f1_micro", "hamming_loss"} <= set(
        record["validation"]["heads"]["m"]
    )  # the run page's loss and accuracy curves read these
    report = (tmp_path / "report.txt").read_text()
    assert "micro F1" in report and "Hamming" in report
    with open(tmp_path / "test_predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(splits[2])
    first = splits[2][0]["labels"][3]
    assert rows[0]["label_m"] == ";".join(e for e, on in zip(EMOTIONS, first, strict=True) if on)


def test_multilabel_lfmim_teaches_every_head_its_own_labels_far_above_chance(splits, tmp_path):
    result = train(config("lfmim"), *splits, tmp_path)
    for column, head in enumerate("tavm"):
        floor = _chance_of(splits, column)
        scores = result.test[head]
        assert scores["f1_micro"] > floor["f1_micro"] + 0.25, (head, scores["f1_micro"], floor)
        assert scores["accuracy"] > floor["accuracy"] + 0.3, (head, scores["accuracy"], floor)


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n not in ("lfmim", "tailor")])
def test_every_model_of_the_registry_trains_on_multilabel_data(name, splits, tmp_path):
    run = config(name, epochs=1, max_steps_per_epoch=3)
    result = train(run, splits[0], splits[1], splits[2], tmp_path)
    assert result.label_mode == "multi-label"
    for head in result.test.values():
        assert 0.0 <= head["f1_micro"] <= 1.0 and np.isfinite(head["loss"])
        assert set(head["per_class_f1"]) == set(EMOTIONS)


def test_the_tested_checkpoint_is_the_best_epochs_weights_not_the_last(splits, tmp_path):
    # Validation labels are the training labels inverted: the better the model fits the
    # training set, the worse its validation loss, so the first epoch is the best.
    train_set, _, test_set = splits
    flipped = MultiLabelSplit(96, seed=2, lens=LENS, protos=prototypes())
    flipped.labels = 1.0 - flipped.labels
    # fp32: the trainer evaluates under autocast, which is bf16 on CPUs where it is faster, and
    # predict() below does not.
    run = config("lfmim", epochs=4, select_metric="loss", mixed_precision="no")
    result = train(run, train_set, flipped, test_set, tmp_path)
    losses = [e["validation"]["loss"] for e in result.history]
    assert result.best_epoch == 1 + int(np.argmin(losses)) == 1, losses
    assert load_checkpoint(tmp_path / BEST)["epoch"] == 1
    targets = {h: h for h in "tavm"}
    beta = {h: 1.0 for h in "tavm"}

    def test_scores(path):
        predictions = predict(_load(path), test_set, label_mode="multi-label")
        return score(predictions, targets, EMOTIONS, beta, full=True)["heads"]

    best, last = test_scores(tmp_path / BEST), test_scores(tmp_path / LAST)
    assert result.test["m"]["f1_micro"] == pytest.approx(best["m"]["f1_micro"])
    assert result.test["m"]["loss"] == pytest.approx(best["m"]["loss"])
    assert best["m"]["loss"] != pytest.approx(last["m"]["loss"])
    assert best["m"]["f1_micro"] < last["m"]["f1_micro"]  # the last epoch fits better


def test_evaluation_never_shuffles_nor_drops_the_last_partial_batch(splits):
    dataset = MultiLabelSplit(37, seed=9, lens=LENS)
    ctx = DistContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    loader, indices = eval_loader(dataset, ctx, batch_size=8, num_workers=0)
    assert loader.drop_last is False and indices == list(range(37))
    seen = [uid for batch in loader for uid in batch["utterance_id"]]
    assert seen == [f"u{i}" for i in range(37)]
    assert [len(b["utterance_id"]) for b in loader][-1] == 5
    torch.manual_seed(0)
    model = _tiny_lfmim()
    first = predict(model, dataset, batch_size=8, label_mode="multi-label")
    again = predict(model, dataset, batch_size=8, label_mode="multi-label")
    assert first.utterance_ids == seen and len(first.labels) == 37
    np.testing.assert_array_equal(first.logits["m"], again.logits["m"])
    torch.testing.assert_close(torch.from_numpy(first.labels), dataset.labels)


def _tiny_lfmim():
    from training.models import build_model

    return build_model(
        "lfmim", feature_dims={"t": 12, "a": 10, "v": 8}, **TINY_OVERRIDES[("lfmim", "paper")]
    )


def test_label_mode_comes_from_the_dataset_and_a_contradiction_is_refused(splits, tmp_path):
    with pytest.raises(ValueError, match="set label_mode to multi-label"):
        train(config("lfmim", label_mode="single-label", select_metric="f1_weighted"),
              splits[0], None, None, tmp_path / "a")  # fmt: skip
    with pytest.raises(ValueError, match="only for multi-label"):
        config("lfmim", label_mode="single-label")
    with pytest.raises(ValueError, match="threshold must lie"):
        config("lfmim", threshold=1.0)


def test_command_line_sets_threshold_and_label_mode(tmp_path):
    args = build_parser().parse_args(
        ["--dataset", str(tmp_path), "--out", str(tmp_path / "o"), "--model", "tailor",
         "--threshold", "0.5", "--label-mode", "multi-label"]
    )  # fmt: skip
    run = config_from_args(args)
    assert run.threshold == 0.5 and run.label_mode == "multi-label" and run.model == "tailor"
    assert json.loads(run.to_json())["threshold"] == 0.5
