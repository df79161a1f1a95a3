"""The multi-label figures have the expected panels, cells and bars, and save to PNG and SVG."""

import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.image import AxesImage

from labeling import multilabel_statistics as ml
from labeling.emotions import MODALITIES, MOSEI_EMOTIONS
from labeling.multilabel_plots import (
    plot_agreement,
    plot_co_occurrence,
    plot_label_frequencies,
    plot_per_emotion_inconsistency,
    plot_set_inconsistency,
)
from tests.statistics.test_plots import assert_saves

C = MOSEI_EMOTIONS


@pytest.fixture(scope="module")
def data():
    """60 utterances: a true set each, every modality and vote flipping each emotion at times."""
    rng = np.random.default_rng(0)

    def flip(truth: set, p: float) -> frozenset:
        return frozenset(c for c in C if (c in truth) != (rng.random() < p))

    verdicts, votes = {}, {}
    for n in range(60):
        truth = {c for c in C if rng.random() < 0.25}
        verdicts[n] = {m: flip(truth, 0.1) for m in MODALITIES}
        for m in MODALITIES:
            votes[(n, m)] = [flip(truth, 0.15) for _ in range(3)]
    return verdicts, votes


def images(fig) -> list:
    return [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)]


def bar_count(ax) -> int:
    return sum(len(c) for c in ax.containers if isinstance(c, BarContainer))


def test_co_occurrence_has_one_heatmap_per_modality_with_counts_annotated(data, tmp_path):
    verdicts, _ = data
    co = ml.co_occurrence(verdicts, C)
    fig = plot_co_occurrence(co)
    assert len(images(fig)) == 4
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(C) ** 2 and str(int(co["t"].iloc[0, 0])) == texts[0]
    assert_saves(fig, tmp_path, "co_occurrence")


def test_set_inconsistency_shows_share_differing_and_jaccard_side_by_side(data, tmp_path):
    verdicts, _ = data
    fig = plot_set_inconsistency(ml.inconsistency_matrix(verdicts, C))
    assert len(images(fig)) == 2
    titles = [ax.get_title() for ax in fig.axes]
    assert any("differ" in t for t in titles) and any("Jaccard" in t for t in titles)
    assert_saves(fig, tmp_path, "inconsistency")


def test_frequencies_per_emotion_and_agreement_bars(data, tmp_path):
    verdicts, votes = data
    fig = plot_label_frequencies(ml.label_frequencies(verdicts, C))
    assert bar_count(fig.axes[0]) == len(C) * 4
    fig = plot_per_emotion_inconsistency(ml.per_emotion_inconsistency(verdicts, C))
    assert bar_count(fig.axes[0]) == len(C) * 3
    fig = plot_agreement(
        ml.krippendorff_alpha_masi(votes, C), ml.fleiss_kappa_per_emotion(votes, C)
    )
    left, right = fig.axes[:2]
    assert bar_count(left) == 4 and bar_count(right) == len(C) * 4
    assert_saves(fig, tmp_path, "agreement")
