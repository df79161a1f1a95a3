"""Metrics agree with hand-computed small cases; seed summaries and tables say what they are."""

from __future__ import annotations

import pytest

from training.metrics import classification_report, format_table, summarize_seeds

CLASSES = ["anger", "joy", "fear"]


def test_report_matches_hand_computed_f1_accuracy_and_confusion_matrix():
    # anger: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8; joy: tp 1, fp 1, fn 1 -> F1 0.5;
    # fear: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2/3. Supports 3, 2, 1.
    report = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], CLASSES)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class_f1"] == pytest.approx({"anger": 0.8, "joy": 0.5, "fear": 2 / 3})
    assert report["f1_macro"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report["f1_weighted"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)
    assert report["support"] == {"anger": 3, "joy": 2, "fear": 1}
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]  # rows = true
    assert report["n"] == 6


def test_a_class_absent_from_truth_and_predictions_counts_zero_in_macro_f1():
    report = classification_report([0, 1], [0, 1], ["anger", "joy", "fear", "sad"])
    assert report["per_class_f1"] == {"anger": 1.0, "joy": 1.0, "fear": 0.0, "sad": 0.0}
    assert report["f1_macro"] == pytest.approx(0.5)
    assert report["f1_weighted"] == pytest.approx(1.0)


def test_report_refuses_class_ids_outside_the_named_classes():
    with pytest.raises(ValueError, match="Class ids"):
        classification_report([0, 3], [0, 1], CLASSES)


def _report(accuracy: float, joy: float) -> dict:
    return {
        "accuracy": accuracy,
        "f1_weighted": accuracy,
        "f1_macro": accuracy / 2,
        "per_class_f1": {"anger": 0.5, "joy": joy, "fear": 0.0},
    }


def test_seed_summary_gives_mean_and_sample_standard_deviation_per_head_and_metric():
    runs = [
        {"m": _report(a, j), "t": _report(a / 2, j)}
        for a, j in [(0.6, 0.1), (0.7, 0.2), (0.8, 0.6)]
    ]
    summary = summarize_seeds(runs)
    assert set(summary) == {"m", "t"}
    assert summary["m"]["accuracy"] == pytest.approx({"mean": 0.7, "std": 0.1, "n": 3})
    assert summary["t"]["f1_macro"]["mean"] == pytest.approx(0.175)
    assert summary["m"]["per_class_f1"]["joy"]["mean"] == pytest.approx(0.3)
    assert summary["m"]["per_class_f1"]["joy"]["std"] == pytest.approx(0.264575, abs=1e-6)
    assert summarize_seeds(runs[:1])["m"]["accuracy"]["std"] == 0.0


def test_table_prints_per_emotion_f1_and_says_overall_is_weighted_f1():
    report = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], CLASSES)
    table = format_table({"t": report, "m": report}, title="LFMIM per head")
    lines = table.splitlines()
    assert lines[0] == "LFMIM per head"
    assert lines[1].split() == [*CLASSES, "overall", "macro", "F1", "accuracy"]
    assert lines[3].split() == ["t", "80.00", "50.00", "66.67", "67.78", "65.56", "66.67"]
    assert "overall = support-weighted F1" in table


def test_table_of_a_seed_summary_shows_mean_plus_minus_std():
    runs = [{"m": _report(a, 0.5)} for a in (0.6, 0.8)]
    table = format_table(summarize_seeds(runs), classes=CLASSES)
    assert "70.00 ± 14.14" in table
