"""Classification metrics per head, their mean ± std over seeds, and paper-style tables.

Names used throughout (SPEC §6): `accuracy`; `f1_weighted` = F1 averaged over classes weighted
by their support — what the paper's tables most likely call "overall" (the released code prints
scikit-learn's classification report); `f1_macro` = unweighted mean of the per-class F1;
`per_class_f1` = F1 of each emotion; `confusion_matrix[i][j]` = samples of true class i
predicted as class j. Values are fractions in [0, 1]; tables print percentages.

Multi-label (several emotions per sample, `multilabel_report`; TAILOR's metrics, SPEC §8):
`accuracy` = example-based accuracy, the mean over samples of |y ∩ ŷ| / |y ∪ ŷ| (a sample with
no true and no predicted emotion counts 1: "none of these" predicted rightly); `f1_micro`,
`precision_micro`, `recall_micro` over all (sample, emotion) decisions; `f1_macro` = mean of
the per-emotion F1; `f1_weighted` = per-emotion F1 weighted by positives; `hamming_loss` =
share of wrong (sample, emotion) decisions; `subset_accuracy` = share of samples whose whole
set is right; `per_class_f1`, `support` (positives per emotion).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    jaccard_score,
    precision_score,
    recall_score,
)

from training.options import percent

SCALAR_METRICS: tuple[str, ...] = ("accuracy", "f1_weighted", "f1_macro")
MULTILABEL_METRICS: tuple[str, ...] = (
    "accuracy",
    "f1_micro",
    "precision_micro",
    "recall_micro",
    "f1_macro",
    "f1_weighted",
    "hamming_loss",
    "subset_accuracy",
)


def classification_report(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    classes: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, weighted and macro F1, per-class F1, support and confusion matrix (JSON-ready).

    Every class in `classes` counts, present or not: a class never predicted nor present gets
    F1 0 (scikit-learn's `zero_division=0`), so macro F1 is always over all classes.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D and equally long; got {y_true.shape} and "
            f"{y_pred.shape}."
        )
    if len(y_true) == 0:
        raise ValueError("Cannot score an empty set: give at least one sample.")
    labels = list(range(len(classes)))
    if not set(np.unique(np.concatenate([y_true, y_pred]))) <= set(labels):
        raise ValueError(f"Class ids must lie in 0..{len(classes) - 1} (one per class name).")
    kwargs = dict(labels=labels, zero_division=0)
    per_class = f1_score(y_true, y_pred, average=None, **kwargs)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", **kwargs)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", **kwargs)),
        "per_class_f1": {name: float(f) for name, f in zip(classes, per_class, strict=True)},
        "support": {name: int((y_true == i).sum()) for i, name in enumerate(classes)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def multilabel_report(
    y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """The multi-label metrics of the module docstring for (N, C) 0/1 arrays (JSON-ready).

    Every emotion counts, present or not (an emotion never present nor predicted gets F1 0,
    scikit-learn's `zero_division=0`), so macro F1 is always over all emotions.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != len(classes):
        raise ValueError(
            f"y_true and y_pred must both be (N, {len(classes)}) multi-hot arrays, one column "
            f"per class; got {y_true.shape} and {y_pred.shape}."
        )
    if len(y_true) == 0:
        raise ValueError("Cannot score an empty set: give at least one sample.")
    if not (np.isin(y_true, (0, 1)).all() and np.isin(y_pred, (0, 1)).all()):
        raise ValueError("Multi-label targets and predictions must be 0 or 1.")
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    kwargs = dict(zero_division=0)
    per_class = f1_score(y_true, y_pred, average=None, **kwargs)
    return {
        "n": int(len(y_true)),
        # |y ∩ ŷ| / |y ∪ ŷ| per sample; empty ∪ empty is a right "none": 1.
        "accuracy": float(jaccard_score(y_true, y_pred, average="samples", zero_division=1)),
        "f1_micro": float(f1_score(y_true, y_pred, average="micro", **kwargs)),
        "precision_micro": float(precision_score(y_true, y_pred, average="micro", **kwargs)),
        "recall_micro": float(recall_score(y_true, y_pred, average="micro", **kwargs)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", **kwargs)),
        "f1_weighted": float(f1_score(y_true, y_pred, average="weighted", **kwargs)),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class_f1": {name: float(f) for name, f in zip(classes, per_class, strict=True)},
        "support": {name: int(y_true[:, i].sum()) for i, name in enumerate(classes)},
    }


def is_multilabel(report: Mapping[str, Any]) -> bool:
    """Whether a report (or a seeds summary entry) holds multi-label metrics."""
    return "f1_micro" in report


def _mean_std(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "n": len(array)}


def summarize_seeds(results: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Mean ± sample standard deviation (ddof=1) over seeds, per head and metric.

    `results`: one `{head: classification_report}` per seed, or objects with such a `.test`
    attribute (RunResult). Returns `{head: {metric: {"mean", "std", "n"}, "per_class_f1":
    {class: {"mean", "std", "n"}}}}` for the heads every seed has; one seed gives std 0.
    """
    reports = [getattr(r, "test", r) for r in results]
    if not reports or any(r is None for r in reports):
        raise ValueError("summarize_seeds needs one test report per seed; some run had none.")
    heads = [h for h in reports[0] if all(h in r for r in reports)]
    summary: dict[str, dict[str, Any]] = {}
    for head in heads:
        per_seed = [r[head] for r in reports]
        scalars = MULTILABEL_METRICS if is_multilabel(per_seed[0]) else SCALAR_METRICS
        entry: dict[str, Any] = {m: _mean_std([r[m] for r in per_seed]) for m in scalars}
        classes = list(per_seed[0]["per_class_f1"])
        entry["per_class_f1"] = {
            c: _mean_std([r["per_class_f1"][c] for r in per_seed]) for c in classes
        }
        summary[head] = entry
    return summary


def format_table(
    rows: Mapping[str, Mapping[str, Any]],
    *,
    classes: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """A Table 2 / Table 4 style text table: per-emotion F1, then overall scores, in percent.

    `rows` maps a row name (a head, as in Table 4, or a model, as in Table 2 with its m head) to
    a `classification_report` or to one head's entry of `summarize_seeds` (cells become
    "mean ± std"). Columns: the F1 of each class in `classes` order (default: the first row's),
    then "overall" = weighted F1, "macro F1" and "accuracy". Multi-label reports get TAILOR's
    columns instead: per-emotion F1, then micro F1, precision, recall, macro F1, example-based
    accuracy and Hamming loss.
    """
    if not rows:
        raise ValueError("format_table needs at least one row.")
    first = next(iter(rows.values()))
    classes = list(classes if classes is not None else first["per_class_f1"])
    multi = is_multilabel(first)
    overall = _MULTILABEL_COLUMNS if multi else _SINGLE_LABEL_COLUMNS
    header = ["", *classes, *overall]
    body = []
    for name, report in rows.items():
        per_class = report["per_class_f1"]
        body.append(
            [
                name,
                *(percent(per_class.get(c)) for c in classes),
                *(percent(report[key]) for key in overall.values()),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first_cell = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first_cell, *rest]).rstrip()

    out = [title] if title else []
    out += [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    out.append(_MULTILABEL_NOTE if multi else _SINGLE_LABEL_NOTE)
    return "\n".join(out)


_SINGLE_LABEL_COLUMNS = {"overall": "f1_weighted", "macro F1": "f1_macro", "accuracy": "accuracy"}
_MULTILABEL_COLUMNS = {
    "micro F1": "f1_micro",
    "precision": "precision_micro",
    "recall": "recall_micro",
    "macro F1": "f1_macro",
    "accuracy": "accuracy",
    "Hamming": "hamming_loss",
}
_SINGLE_LABEL_NOTE = (
    "F1 per emotion and overall in %. overall = support-weighted F1 (the paper's 'overall'); "
    "macro F1 = unweighted mean over emotions; accuracy = share of correct predictions."
)
_MULTILABEL_NOTE = (
    "Multi-label, in %: F1 per emotion; micro F1, precision and recall over every (sample, "
    "emotion) decision; macro F1 = mean of the per-emotion F1; accuracy = example-based "
    "|y∩ŷ|/|y∪ŷ| (both empty counts 1); Hamming = share of wrong decisions (lower is better)."
)


def agreement_with_labels(
    predictions: Iterable[Mapping[str, str]],
    heads: Sequence[str] = ("t", "a", "v", "m"),
    labels: Sequence[str] = ("t", "a", "v", "m"),
) -> dict[str, dict[str, float]]:
    """Weighted F1 of every head's predictions against every modality's labels.

    `predictions` are rows of a run's `test_predictions.csv` (`pred_<head>`, `label_<u>`).
    This is the modality-independence check (SPEC §5): where the truth per modality is known,
    the t head should agree more with y_t than with y_a or y_v, and so on; a head that
    learnt the multi-modal label instead would agree most with y_m.
    """
    rows = list(predictions)
    if not rows:
        raise ValueError("No predictions to compare: the run has no test set.")
    names = sorted({row[f"label_{u}"] for row in rows for u in labels})
    names += sorted({row[f"pred_{h}"] for row in rows for h in heads} - set(names))
    index = {name: i for i, name in enumerate(names)}

    def ids(column: str) -> np.ndarray:
        return np.array([index[row[column]] for row in rows], dtype=np.int64)

    return {
        head: {
            label: float(
                f1_score(
                    ids(f"label_{label}"), ids(f"pred_{head}"), average="weighted", zero_division=0
                )
            )  # fmt: skip
            for label in labels
        }
        for head in heads
    }


def format_agreement_table(scores: Mapping[str, Mapping[str, float]], title: str = "") -> str:
    """Heads as rows, labels as columns, weighted F1 in %: the diagonal is each head's own."""
    labels = list(next(iter(scores.values())))
    header = ["head", *(f"y_{u}" for u in labels)]
    body = [[head, *(percent(row[u]) for u in labels)] for head, row in scores.items()]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [title] if title else []
    for cells in [header, ["-" * w for w in widths], *body]:
        lines.append("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    lines.append("Weighted F1 (%) of each head's test predictions against each modality's labels.")
    return "\n".join(lines)
