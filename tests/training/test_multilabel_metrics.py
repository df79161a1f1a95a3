"""Multi-label metrics on a hand-computed case, the threshold decision and the tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.engine import Predictions, score
from training.metrics import format_table, multilabel_report, summarize_seeds

CLASSES = ["happy", "sad", "anger"]
Y_TRUE = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
Y_PRED = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [0, 0, 1]])


def test_multilabel_report_matches_the_hand_computed_numbers():
    report = multilabel_report(Y_TRUE, Y_PRED, CLASSES)
    # |y∩ŷ|/|y∪ŷ| per sample: 1/2, 1/2, 1 (both empty: a right "none"), 0/3
    assert report["accuracy"] == pytest.approx(0.5)
    # micro: TP 2, FP 2, FN 3
    assert report["precision_micro"] == pytest.approx(2 / 4)
    assert report["recall_micro"] == pytest.approx(2 / 5)
    assert report["f1_micro"] == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    assert report["per_class_f1"] == pytest.approx({"happy": 2 / 3, "sad": 2 / 3, "anger": 0.0})
    assert report["f1_macro"] == pytest.approx(4 / 9)
    assert report["f1_weighted"] == pytest.approx((2 * 2 / 3 + 2 * 2 / 3) / 5)
    assert report["hamming_loss"] == pytest.approx(5 / 12)
    assert report["subset_accuracy"] == pytest.approx(1 / 4)
    assert report["support"] == {"happy": 2, "sad": 2, "anger": 1} and report["n"] == 4


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        (Y_TRUE, Y_PRED[:, :2], "multi-hot"),
        (Y_TRUE[:0], Y_PRED[:0], "empty"),
        (Y_TRUE * 2, Y_PRED, "0 or 1"),
    ],
)
def test_multilabel_report_refuses_bad_input_with_a_sentence(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        multilabel_report(y_true, y_pred, CLASSES)


def test_an_emotion_is_predicted_when_its_sigmoid_exceeds_the_threshold():
    cut = math.log(0.35 / 0.65)  # sigmoid(cut) = 0.35
    logits = np.array([[cut + 1e-3, cut - 1e-3, 3.0]], np.float32)
    labels = np.zeros((1, 4, 3), np.float32)
    low = Predictions({"m": logits}, labels, None, label_mode="multi-label", threshold=0.35)
    assert low.predicted("m").tolist() == [[1, 0, 1]]
    high = Predictions({"m": logits}, labels, None, label_mode="multi-label", threshold=0.5)
    assert high.predicted("m").tolist() == [[0, 0, 1]]


def test_score_uses_bce_and_the_multilabel_report_for_multilabel_predictions():
    logits = np.where(Y_PRED > 0, 2.0, -2.0).astype(np.float32)
    labels = np.repeat(Y_TRUE[:, None, :], 4, axis=1).astype(np.float32)
    predictions = Predictions({"m": logits}, labels, None, label_mode="multi-label")
    scored = score(predictions, {"m": "m"}, CLASSES, {"m": 1.0}, full=True)
    head = scored["heads"]["m"]
    p = 1 / (1 + math.exp(-2.0))
    wrong, right = 5, 12 - 5
    expected = -(right * math.log(p) + wrong * math.log(1 - p)) / 12
    assert head["loss"] == pytest.approx(expected, rel=1e-5) == scored["loss"]
    assert head["f1_micro"] == pytest.approx(multilabel_report(Y_TRUE, Y_PRED, CLASSES)["f1_micro"])
    brief = score(predictions, {"m": "m"}, CLASSES, {"m": 1.0})["heads"]["m"]
    assert "per_class_f1" not in brief and "hamming_loss" in brief and "accuracy" in brief


def test_tables_and_seed_summaries_show_the_multilabel_metrics():
    reports = [
        multilabel_report(Y_TRUE, Y_PRED, CLASSES),
        multilabel_report(Y_TRUE, Y_TRUE, CLASSES),
    ]
    summary = summarize_seeds([{"m": r} for r in reports])
    assert summary["m"]["f1_micro"]["mean"] == pytest.approx((0.4444444 + 1.0) / 2, rel=1e-5)
    assert summary["m"]["hamming_loss"]["n"] == 2
    table = format_table({"m": reports[0]}, classes=CLASSES)
    header = table.splitlines()[0]
    for column in ("happy", "micro F1", "precision", "recall", "macro F1", "accuracy", "Hamming"):
        assert column in header
    assert "41.67" in table and "example-based" in table  # Hamming 5/12 in %
    assert "overall" not in header
