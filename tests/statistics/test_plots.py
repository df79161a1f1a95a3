"""Each figure has the expected bars or cells, and saves to PNG and SVG."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer
from matplotlib.image import AxesImage

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.plots import (
    plot_agreement,
    plot_inconsistency_matrix,
    plot_label_distribution,
    plot_per_emotion_inconsistency,
    save_figure,
)
from labeling.statistics import inconsistency_matrix, label_distribution, per_emotion_inconsistency


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    m = rng.choice(EMOTIONS[:-1], 80)  # m never says neutrality: its column is NaN in 1c
    table = {u: np.where(rng.random(80) < 0.6, m, rng.choice(EMOTIONS, 80)) for u in "tav"}
    return pd.DataFrame({**table, "m": m}, dtype=object)


def bars(fig) -> list:
    (ax,) = [a for a in fig.axes if a.containers]
    return [patch for c in ax.containers if isinstance(c, BarContainer) for patch in c]


def assert_saves(fig, tmp_path, name):
    written = save_figure(fig, tmp_path / "figures" / name)
    assert [p.name for p in written] == [f"{name}.png", f"{name}.svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in written[1].read_bytes()[:1000]


def test_label_distribution_plot_has_one_bar_per_class_and_modality(labels, tmp_path):
    fig = plot_label_distribution(label_distribution(labels, EMOTIONS))
    assert len(bars(fig)) == len(EMOTIONS) * len(MODALITIES)
    heights = [b.get_height() for b in bars(fig)]
    assert sum(heights) == 4 * 80
    assert "(a)" in fig.axes[0].get_title()
    assert_saves(fig, tmp_path, "label_distribution")


def test_inconsistency_heatmap_has_sixteen_annotated_cells(labels, tmp_path):
    result = inconsistency_matrix(labels)
    fig = plot_inconsistency_matrix(result)
    ax = fig.axes[0]
    (image,) = [c for c in ax.get_children() if isinstance(c, AxesImage)]
    assert image.get_array().shape == (4, 4)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 16
    assert texts[1].startswith(f"{result.matrix.iloc[0, 1]:.2f}\nn=")
    assert_saves(fig, tmp_path, "inconsistency")


def test_inconsistency_heatmap_marks_missing_pairs_na(tmp_path):
    matrix = pd.DataFrame(np.nan, index=list(MODALITIES), columns=list(MODALITIES))
    fig = plot_inconsistency_matrix(matrix)
    assert [t.get_text() for t in fig.axes[0].texts] == ["n/a"] * 16
    assert_saves(fig, tmp_path, "empty")


def test_per_emotion_plot_has_one_bar_per_class_and_unimodal_modality(labels, tmp_path):
    table = per_emotion_inconsistency(labels, EMOTIONS)
    fig = plot_per_emotion_inconsistency(table)
    assert len(bars(fig)) == len(EMOTIONS) * 3
    assert [t.get_text() for t in fig.axes[0].texts] == ["n/a"] * 3  # neutrality, t a v
    assert_saves(fig, tmp_path, "per_emotion")


def test_agreement_plot_has_kappa_and_alpha_bars_with_n(tmp_path):
    kappa = {"t": (0.5, 30), "a": (0.4, 31), "v": (-0.1, 29), "m": (math.nan, 0)}
    alpha = {"t": (0.45, 40), "a": (0.41, 41), "v": (0.2, 39), "m": (0.6, 12)}
    fig = plot_agreement(kappa, alpha)
    assert len(bars(fig)) == 8
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(t for t in texts if t.startswith("n=")) == sorted(
        ["n=30", "n=31", "n=29", "n=40", "n=41", "n=39", "n=12"]
    )
    assert "n/a" in texts
    assert fig.axes[0].get_ylim()[0] < -0.1
    assert_saves(fig, tmp_path, "agreement")


def test_statistics_and_plots_import_neither_django_nor_pyplot():
    code = (
        "import sys, labeling.statistics, labeling.plots; "
        "bad = [m for m in ('django', 'matplotlib.pyplot') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
