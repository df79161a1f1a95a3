"""Short runs on separable synthetic data: heads learn, β and label_targets steer what they
learn, callbacks and checkpoints behave, and the best epoch is the one kept."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training.engine import BEST, LAST, BestSelection, load_checkpoint, predict, train
from training.engine.randomness import derive_seed, seed_everything
from training.models import model_from_dict

from .synthetic import CLASSES, SyntheticSplit, tiny_config


@pytest.fixture(scope="module")
def splits():
    return SyntheticSplit(256, seed=4), SyntheticSplit(96, seed=5), SyntheticSplit(96, seed=6)


def _load_model(path):
    state = load_checkpoint(path)
    model = model_from_dict(state["model"])
    model.load_state_dict(state["state_dict"])
    return model


def test_short_run_teaches_every_lfmim_head_far_above_chance(splits, tmp_path):
    result = train(tiny_config(epochs=6), *splits, tmp_path)
    accuracy = {h: r["accuracy"] for h, r in result.test.items()}
    assert set(accuracy) == {"t", "a", "v", "m"}
    assert all(a > 0.6 for a in accuracy.values()), accuracy  # chance: 1/7 ≈ 0.14
    assert all(r["f1_weighted"] > 0.5 for r in result.test.values())
    for name in ("config.json", LAST, BEST, "history.json", "result.json", "report.txt"):
        assert (tmp_path / name).exists(), name
    assert "overall" in (tmp_path / "report.txt").read_text()
    rows = (tmp_path / "test_predictions.csv").read_text().splitlines()
    assert rows[0] == "utterance_id,label_t,label_a,label_v,label_m,pred_t,pred_a,pred_v,pred_m"
    assert len(rows) == 1 + 96 and rows[1].startswith("u0,")


def test_lfmim_ml_teaches_the_text_head_the_multimodal_label(tmp_path):
    # y_t, y_a, y_v all differ from y_m; each modality still carries y_m (through its own label,
    # a fixed permutation of y_m), so a head trained on y_m can learn it.
    def split(n, seed):
        y_m = torch.randint(0, 7, (n,), generator=torch.Generator().manual_seed(seed))
        labels = torch.stack([(y_m + 1) % 7, (y_m + 2) % 7, (y_m + 3) % 7, y_m], dim=1)
        return SyntheticSplit(n, seed=seed, labels=labels)

    train_set, test_set = split(256, 10), split(96, 11)
    result = train(tiny_config(model="lfmim-ml", epochs=6), train_set, None, test_set, tmp_path)
    predictions = predict(_load_model(tmp_path / BEST), test_set)
    agrees_with = {
        u: float(np.mean(predictions.predicted("t") == predictions.target(u))) for u in "tm"
    }
    assert agrees_with["m"] > 0.6, agrees_with
    assert agrees_with["t"] < 0.1, agrees_with
    assert result.test["t"]["accuracy"] == pytest.approx(agrees_with["m"])  # scored against y_m


def test_zero_beta_leaves_that_heads_classifier_untouched(splits, tmp_path):
    config = tiny_config(epochs=1, max_steps_per_epoch=4, beta={"t": 0.0})
    train(config, splits[0], None, None, tmp_path)
    trained = _load_model(tmp_path / LAST).state_dict()
    seed_everything(derive_seed(config.seed, "init"))  # how the trainer seeds initialisation
    initial = model_from_dict(load_checkpoint(tmp_path / LAST)["model"]).state_dict()
    for name, value in trained.items():
        if name.startswith(("classifiers.t.", "final_norm.t.")):
            assert torch.equal(value, initial[name]), name
        elif name.startswith(("classifiers.a.", "classifiers.m.")):
            assert not torch.equal(value, initial[name]), name


def test_released_schedule_divides_the_sgd_learning_rate_by_the_epoch_number(splits, tmp_path):
    config = tiny_config(
        epochs=3, optimizer="sgd", lr=0.01, schedule="lambda", max_steps_per_epoch=2
    )
    result = train(config, splits[0], None, None, tmp_path)
    assert [r["lr"] for r in result.history] == pytest.approx([0.01, 0.005, 0.01 / 3])


def test_callbacks_see_every_step_and_every_epoch(splits, tmp_path):
    steps, epochs = [], []

    class Recorder:
        def on_step(self, step, total, loss):
            steps.append((step, total, loss))

        def on_epoch_end(self, epoch, metrics):
            epochs.append((epoch, metrics))

    train(tiny_config(epochs=2, max_steps_per_epoch=3), *splits, tmp_path, callbacks=[Recorder()])
    assert [(s, t) for s, t, _ in steps] == [(i, 6) for i in range(1, 7)]
    assert all(np.isfinite(loss) for _, _, loss in steps)
    assert [e for e, _ in epochs] == [1, 2]
    heads = epochs[0][1]["validation"]["heads"]
    assert set(heads) == {"t", "a", "v", "m"}
    assert set(heads["m"]) == {"loss", "accuracy", "f1_weighted", "f1_macro"}
    assert set(epochs[0][1]["train"]["heads"]["m"]) == {"loss", "accuracy"}
    assert json.loads((tmp_path / "history.json").read_text()) == [m for _, m in epochs]


def test_best_checkpoint_is_the_epoch_with_highest_validation_m_weighted_f1(tmp_path):
    # Plain SGD with a large constant step: validation F1 rises, then falls back in epoch 5, so
    # best.pt (epoch 4) and last.pt differ; best.pt reproduces the scores recorded for it.
    train_set, val_set = SyntheticSplit(128, seed=4), SyntheticSplit(64, seed=5)
    config = tiny_config(epochs=5, optimizer="sgd", lr=0.2, schedule="none")
    result = train(config, train_set, val_set, val_set, tmp_path)
    scores = [r["validation"]["heads"]["m"]["f1_weighted"] for r in result.history]
    assert result.best_epoch == int(np.argmax(scores)) + 1
    assert result.best_epoch < 5, scores  # this seed's run peaks early: the test means something
    assert result.selection == "validation m f1_weighted"
    assert result.best_value == max(scores)
    best = load_checkpoint(tmp_path / BEST)
    assert best["epoch"] == result.best_epoch
    assert best["metrics"] == result.history[result.best_epoch - 1]
    last = load_checkpoint(tmp_path / LAST)
    assert not all(torch.equal(best["state_dict"][k], v) for k, v in last["state_dict"].items())
    # The test set here is the validation set: the final test scores are the best epoch's.
    assert result.test["m"]["f1_weighted"] == pytest.approx(max(scores))
    predictions = predict(_load_model(tmp_path / BEST), val_set)
    assert np.mean(predictions.predicted("m") == predictions.target("m")) == pytest.approx(
        result.history[result.best_epoch - 1]["validation"]["heads"]["m"]["accuracy"]
    )


def test_selection_by_loss_prefers_lower_and_ties_keep_the_earlier_epoch():
    by_f1, by_loss = BestSelection("m", "f1_weighted"), BestSelection("m", "loss")
    assert by_f1.improves(0.5, None, has_best=False)
    assert by_f1.improves(0.6, 0.5, has_best=True)
    assert not by_f1.improves(0.5, 0.5, has_best=True)
    assert by_loss.improves(0.4, 0.5, has_best=True)
    assert not by_loss.improves(0.6, 0.5, has_best=True)
    assert by_f1.improves(None, 0.9, has_best=True)  # no validation set: the last epoch wins


def test_an_existing_run_is_not_overwritten_without_resume(splits, tmp_path):
    config = tiny_config(epochs=1, max_steps_per_epoch=1)
    train(config, splits[0], None, None, tmp_path)
    with pytest.raises(FileExistsError, match="resume=True"):
        train(config, splits[0], None, None, tmp_path)
    with pytest.raises(ValueError, match="different lr"):
        train(config.replace(lr=0.1), splits[0], None, None, tmp_path, resume=True)


def test_class_names_come_from_the_dataset_or_must_be_given(splits, tmp_path):
    config = tiny_config(epochs=1, max_steps_per_epoch=1)
    result = train(config, splits[0], None, None, tmp_path / "a")
    assert result.classes == CLASSES

    class Bare(torch.utils.data.Dataset):
        def __len__(self):
            return len(splits[0])

        def __getitem__(self, i):
            return splits[0][i]

    with pytest.raises(ValueError, match="classes="):
        train(config, Bare(), None, None, tmp_path / "b")
