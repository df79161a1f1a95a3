"""Figures of the curation statistics, styled after the LFMIM paper's Figure 1.

Pure: takes the plain results of `labeling.statistics` and returns matplotlib Figures. It
builds `matplotlib.figure.Figure` objects directly and never imports pyplot, so no GUI
backend is touched and no figure lingers in a global registry of a long-running server;
files are rendered by the Agg canvas. Colours are the Okabe–Ito palette and the heatmap
uses cividis, both readable with colour-vision deficiencies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from labeling.emotions import MODALITY_NAMES
from labeling.statistics import Inconsistency

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "vermillion": "#D55E00",
    "yellow": "#F0E442",
    "black": "#000000",
}
MODALITY_COLOURS: dict[str, str] = {
    "t": OKABE_ITO["blue"],
    "a": OKABE_ITO["orange"],
    "v": OKABE_ITO["green"],
    "m": OKABE_ITO["purple"],
}
HEATMAP = "cividis"
MISSING_COLOUR = "#DDDDDD"

STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "svg.fonttype": "none",  # keep text as text in SVG
}


def modality_label(modality: str) -> str:
    name = MODALITY_NAMES.get(modality)
    return f"{name} ({modality})" if name else str(modality)


def modality_colour(modality: str, position: int) -> str:
    spare = [c for c in OKABE_ITO.values() if c not in MODALITY_COLOURS.values()]
    return MODALITY_COLOURS.get(modality, spare[position % len(spare)])


def new_figure(size: tuple[float, float]) -> Figure:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size, layout="constrained")
        FigureCanvasAgg(fig)
    return fig


def grouped_bars(
    ax,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    colours: Sequence[str],
    labels: Sequence[str],
) -> None:
    """One group of bars per category, one bar per series; NaN drawn as an empty 'n/a'."""
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(categories))
    for i, (values, colour, label) in enumerate(zip(series.values(), colours, labels, strict=True)):
        heights = np.asarray(values, dtype=float)
        offset = (i - (n - 1) / 2) * width
        ax.bar(x + offset, np.nan_to_num(heights, nan=0.0), width, color=colour, label=label)
        for xi, h in zip(x + offset, heights, strict=True):
            if math.isnan(h):
                ax.text(
                    xi, 0, "n/a", ha="center", va="bottom", rotation=90, fontsize=7, color="#555555"
                )
    ax.set_xticks(x, list(categories))
    ax.tick_params(axis="x", length=0)


def plot_label_distribution(
    distribution: Mapping[str, Mapping[str, int]],
    title: str = "(a) Distributions of uni-modal and multi-modal labels",
) -> Figure:
    """Figure 1a: utterances per label, one bar per modality in each label's group.

    `distribution` is `statistics.label_distribution(...)`; labels are taken in its order.
    """
    modalities = list(distribution)
    classes = list(next(iter(distribution.values()), {}))
    fig = new_figure((max(6.0, 1.1 * len(classes) + 1.5), 4.2))
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        grouped_bars(
            ax,
            classes,
            {u: [distribution[u].get(c, 0) for c in classes] for u in modalities},
            [modality_colour(u, i) for i, u in enumerate(modalities)],
            [modality_label(u) for u in modalities],
        )
        ax.set_ylabel("utterances")
        ax.set_title(title)
        ax.legend(ncols=min(len(modalities), 4), loc="upper center", bbox_to_anchor=(0.5, -0.08))
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return fig


def plot_inconsistency_matrix(
    inconsistency: Inconsistency | pd.DataFrame,
    pairs: pd.DataFrame | None = None,
    title: str = "(b) Overall modality inconsistency",
) -> Figure:
    """Figure 1b: Incon(u1, u2) as a heatmap, each cell annotated with its value (and n).

    Takes `statistics.inconsistency_matrix(...)` or a bare matrix (optionally with `pairs`).
    The colour scale is fixed to 0–1 so figures of different datasets compare; NaN cells
    (no utterance decided in both) are grey and marked "n/a".
    """
    if isinstance(inconsistency, Inconsistency):
        matrix, pairs = inconsistency.matrix, inconsistency.pairs
    else:
        matrix = inconsistency
    rows, cols = list(matrix.index), list(matrix.columns)
    fig = new_figure((1.1 * len(cols) + 2.2, 1.0 * len(rows) + 1.4))
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        image = draw_heatmap(ax, matrix, pairs, modality_label)
        fig.colorbar(image, ax=ax, label="inconsistency", shrink=0.85)
        ax.set_title(title)
    return fig


def draw_heatmap(
    ax,
    matrix: pd.DataFrame,
    pairs: pd.DataFrame | None = None,
    tick_label=str,
    vmax: float = 1.0,
    digits: int = 2,
):
    """`matrix` as a cividis heatmap on `ax` (scale 0–`vmax`), each cell annotated with its
    value (and, off the diagonal, its n from `pairs`); NaN cells grey, marked "n/a". Returns
    the image, for a colour bar."""
    values = matrix.to_numpy(dtype=float)
    rows, cols = list(matrix.index), list(matrix.columns)
    cmap = matplotlib.colormaps[HEATMAP].with_extremes(bad=MISSING_COLOUR)
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=vmax)
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = values[i, j]
            if math.isnan(v):
                text, colour = "n/a", "#333333"
            else:
                text = f"{v:.{digits}f}"
                colour = "white" if v < 0.6 * vmax else "black"  # cividis is dark at the low end
            if pairs is not None and i != j:
                text += f"\nn={int(pairs.iloc[i, j]):,}"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)
    ax.set_xticks(range(len(cols)), [tick_label(c) for c in cols])
    ax.set_yticks(range(len(rows)), [tick_label(r) for r in rows])
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    return image


def plot_per_emotion_inconsistency(
    table: pd.DataFrame,
    against: str = "m",
    title: str = "(c) Inconsistency between uni-modal and multi-modal labels",
) -> Figure:
    """Figure 1c: Incon(u, m; y) per label y, one bar per uni-modal modality u.

    `table` is `statistics.per_emotion_inconsistency(...)` (rows t, a, v; columns labels).
    Lower is better: the share of what m calls y that u misses. NaN (m never says y) shows
    as "n/a".
    """
    modalities, classes = list(table.index), list(table.columns)
    fig = new_figure((max(6.0, 1.1 * len(classes) + 1.5), 4.2))
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        grouped_bars(
            ax,
            classes,
            {u: table.loc[u].to_numpy(dtype=float) for u in modalities},
            [modality_colour(u, i) for i, u in enumerate(modalities)],
            [f"{modality_label(u)} vs {against}" for u in modalities],
        )
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"Incon(u, {against}; y)")
        ax.set_title(title)
        ax.legend(ncols=len(modalities), loc="upper center", bbox_to_anchor=(0.5, -0.08))
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return fig


def plot_agreement(
    kappa: Mapping[str, tuple[float, int]],
    alpha: Mapping[str, tuple[float, int]],
    title: str = "Inter-annotator agreement per modality",
) -> Figure:
    """Fleiss' κ and Krippendorff's α of each modality, each bar annotated with its n jobs.

    Takes `statistics.fleiss_kappa_by_modality(...)` and `krippendorff_alpha_by_modality(...)`.
    """
    modalities = list(dict.fromkeys([*kappa, *alpha]))
    measures = {
        "Fleiss' κ (first 3 votes)": kappa,
        "Krippendorff's α (all votes)": alpha,
    }
    colours = [OKABE_ITO["sky"], OKABE_ITO["vermillion"]]
    fig = new_figure((max(5.5, 1.4 * len(modalities) + 2.0), 4.2))
    with matplotlib.rc_context(STYLE):
        ax = fig.add_subplot()
        series = {
            name: [m.get(u, (math.nan, 0))[0] for u in modalities] for name, m in measures.items()
        }
        grouped_bars(ax, [modality_label(u) for u in modalities], series, colours, list(series))
        width = 0.8 / len(measures)
        for i, m in enumerate(measures.values()):
            for j, u in enumerate(modalities):
                value, n = m.get(u, (math.nan, 0))
                if math.isnan(value):
                    continue
                x = j + (i - (len(measures) - 1) / 2) * width
                va = "bottom" if value >= 0 else "top"
                ax.text(x, value, f"n={n:,}", ha="center", va=va, fontsize=7)
        finite = [v for s in series.values() for v in s if not math.isnan(v)]
        low = min([0.0, *finite])
        ax.set_ylim(low - 0.1 if low < 0 else 0.0, 1.05)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("agreement")
        ax.set_title(title)
        ax.legend(ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.08))
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return fig


def save_figure(
    fig: Figure, path_without_suffix: str | Path, formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Write `fig` once per format next to each other (`<path>.png`, `<path>.svg`, ...).

    Creates the folder if needed and returns the paths written.
    """
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        with matplotlib.rc_context(STYLE):
            fig.savefig(path, format=fmt, dpi=150)
        written.append(path)
    return written


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#5b6472")


def plot_training_curves(
    series: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]],
    kind: str,
    *,
    seeds: int = 1,
) -> Figure:
    """Like the paper's Figures 3a/3b and 4a/4b: `kind` (loss or accuracy) per head and epoch.

    `series[(head, split)]` is (epochs, mean, std over seeds); training solid, validation
    dashed; with several seeds a ±1 std band.
    """
    with matplotlib.rc_context(STYLE):
        fig = new_figure((6.4, 3.8))
        ax = fig.add_subplot()
        drawn = False
        for (head, split), (x, mean, std) in series.items():
            if not len(x):
                continue
            colour = MODALITY_COLOURS[head]
            style = "-" if split == "train" else "--"
            ax.plot(x, mean, style, color=colour, marker="o", ms=3, label=f"{head} {split}")
            if (std > 0).any():
                ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.15, lw=0)
            drawn = True
        if drawn:
            ax.legend(ncol=4, fontsize=8, loc="best")
        else:
            _empty(ax, "No epoch has finished yet.")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(kind)
        band = f", mean ± 1 std over {seeds} seeds" if seeds > 1 else ""
        ax.set_title(f"{kind.capitalize()} per head (train solid, validation dashed{band})")
    return fig


def plot_run_comparison(lines: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Figure:
    """Like the paper's Figure 3c: validation accuracy of the m head per epoch, one line per
    run (label, epochs, mean over its seeds)."""
    colours = list(OKABE_ITO.values())
    with matplotlib.rc_context(STYLE):
        fig = new_figure((6.4, 3.6))
        ax = fig.add_subplot()
        drawn = False
        for i, (label, x, mean) in enumerate(lines):
            if len(x):
                ax.plot(
                    x, mean, "-", marker="o", ms=3, color=colours[i % len(colours)], label=label
                )
                drawn = True
        if drawn:
            ax.legend(fontsize=8)
        else:
            _empty(ax, "No epochs recorded for these runs.")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.set_title("Validation accuracy of the m head (mean over seeds)")
    return fig
