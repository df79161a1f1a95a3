"""Figures of a multi-label campaign's statistics, in the style of `labeling.plots`.

Pure: takes the plain results of `labeling.multilabel_statistics` and returns matplotlib
Figures built without pyplot (see `labeling.plots`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labeling import plots
from labeling.multilabel_statistics import PerEmotionInconsistency, SetInconsistency


def plot_label_frequencies(frequencies: Mapping[str, Mapping[str, int]]) -> Figure:
    """Like Figure 1a: utterances with each emotion present, one bar per modality. An
    utterance with several emotions counts in each of their groups."""
    return plots.plot_label_distribution(
        frequencies, title="(a) Utterances with each emotion present, per modality"
    )


def plot_co_occurrence(co_occurrence: Mapping[str, pd.DataFrame]) -> Figure:
    """One heatmap per modality: utterances in which both emotions are present (the diagonal:
    each emotion's frequency). Each panel is scaled to its own largest count."""
    modalities = list(co_occurrence)
    classes = len(next(iter(co_occurrence.values())).index) if modalities else 0
    side = 0.55 * classes + 1.6
    fig = plots.new_figure((side * max(len(modalities), 1) + 0.5, side + 0.9))
    with matplotlib.rc_context(plots.STYLE):
        axes = fig.subplots(1, max(len(modalities), 1), squeeze=False)[0]
        for ax, modality in zip(axes, modalities, strict=False):
            matrix = co_occurrence[modality].astype(float)
            top = float(np.nanmax(matrix.to_numpy())) if matrix.size else 0.0
            plots.draw_heatmap(ax, matrix, vmax=max(top, 1.0), digits=0)
            ax.tick_params(axis="x", labelrotation=60)
            ax.set_title(plots.modality_label(modality))
        fig.suptitle("Co-occurrence of emotions: utterances with both present")
    return fig


def plot_set_inconsistency(inconsistency: SetInconsistency) -> Figure:
    """Like Figure 1b, twice: the share of utterances whose label sets differ, and the mean
    Jaccard distance of the sets (partial agreement counts), each cell with its n."""
    rows = list(inconsistency.differ.index)
    fig = plots.new_figure((2 * (1.1 * len(rows) + 1.6) + 1.0, 1.0 * len(rows) + 1.6))
    with matplotlib.rc_context(plots.STYLE):
        axes = fig.subplots(1, 2, squeeze=False)[0]
        panels = (
            (inconsistency.differ, "share of utterances whose label sets differ"),
            (inconsistency.jaccard, "mean Jaccard distance (∅ vs ∅ = 0)"),
        )
        for ax, (matrix, title) in zip(axes, panels, strict=True):
            image = plots.draw_heatmap(ax, matrix, inconsistency.pairs, plots.modality_label)
            ax.set_title(title)
        fig.colorbar(image, ax=list(axes), label="inconsistency", shrink=0.85)
        fig.suptitle("(b) Modality inconsistency over label sets")
    return fig


def plot_per_emotion_inconsistency(table: PerEmotionInconsistency | pd.DataFrame) -> Figure:
    """Like Figure 1c: Incon(u, m; y) per emotion, the share of utterances m labels y whose
    u label set lacks y."""
    values = table.values if isinstance(table, PerEmotionInconsistency) else table
    return plots.plot_per_emotion_inconsistency(
        values, title="(c) Per-emotion inconsistency against m (label sets)"
    )


def plot_agreement(
    alpha_masi: Mapping[str, tuple[float, int]],
    kappa_per_emotion: Mapping[str, Mapping[str, tuple[float, int]]],
) -> Figure:
    """Left: Krippendorff's α with MASI distance per modality (n jobs on each bar). Right:
    Fleiss' κ of each emotion as a present/absent question, one bar per modality."""
    modalities = list(dict.fromkeys([*alpha_masi, *kappa_per_emotion]))
    classes = list(dict.fromkeys(y for m in kappa_per_emotion.values() for y in m))
    fig = plots.new_figure((max(9.0, 0.9 * len(classes) + 5.0), 4.4))
    with matplotlib.rc_context(plots.STYLE):
        left, right = fig.subplots(1, 2, width_ratios=[1, max(len(classes), 2) / 2])
        alphas = [alpha_masi.get(u, (math.nan, 0)) for u in modalities]
        plots.grouped_bars(
            left,
            [plots.modality_label(u) for u in modalities],
            {"α": [a for a, _ in alphas]},
            [plots.OKABE_ITO["vermillion"]],
            ["Krippendorff's α (MASI)"],
        )
        for x, (value, n) in enumerate(alphas):
            if not math.isnan(value):
                va = "bottom" if value >= 0 else "top"
                left.text(x, value, f"n={n:,}", ha="center", va=va, fontsize=7)
        left.set_title("Label sets: Krippendorff's α (MASI)")
        left.tick_params(axis="x", labelrotation=30)
        plots.grouped_bars(
            right,
            classes,
            {
                u: [kappa_per_emotion.get(u, {}).get(y, (math.nan, 0))[0] for y in classes]
                for u in modalities
            },
            [plots.modality_colour(u, i) for i, u in enumerate(modalities)],
            [plots.modality_label(u) for u in modalities],
        )
        right.set_title("Per emotion (present/absent): Fleiss' κ, first votes")
        right.legend(ncols=min(len(modalities), 4), loc="upper center", bbox_to_anchor=(0.5, -0.1))
        finite = [a for a, _ in alphas if not math.isnan(a)] + [
            v for m in kappa_per_emotion.values() for v, _ in m.values() if not math.isnan(v)
        ]
        low = min([0.0, *finite])
        for ax in (left, right):
            ax.set_ylim(low - 0.1 if low < 0 else 0.0, 1.05)
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_ylabel("agreement")
            ax.grid(axis="y", alpha=0.3)
            ax.set_axisbelow(True)
    return fig
