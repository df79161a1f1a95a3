"""A campaign's statistics report as the dashboard and `cherma_stats` share it.

Works on the JSON-able dict of `selectors.statistics.campaign_statistics`: turns it into
the paper's figures and into long-format CSV rows. Pure: no Django.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from labeling.statistics import Inconsistency, to_jsonable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURES = ("label_distribution", "inconsistency", "per_emotion_inconsistency", "agreement")
# A multi-label campaign's figures (labeling/multilabel_plots.py).
MULTILABEL_FIGURES = (
    "label_frequencies",
    "co_occurrence",
    "inconsistency",
    "per_emotion_inconsistency",
    "agreement",
)


def is_multi_label(stats: dict) -> bool:
    return stats["campaign"].get("label_mode") == "multi-label"


def figures_of(stats: dict) -> tuple[str, ...]:
    """The names of the figures these statistics have (single- or multi-label)."""
    return MULTILABEL_FIGURES if is_multi_label(stats) else FIGURES


def _table(data: dict) -> pd.DataFrame:
    """A JSON {row: {column: value}} back as a DataFrame (null as NaN)."""
    return pd.DataFrame.from_dict(data, orient="index").astype(float)


def _with_nan(pairs: dict) -> dict:
    """JSON (value, n) pairs with null as NaN, as the plots want them."""
    return {key: (math.nan if v is None else v, n) for key, (v, n) in pairs.items()}


def flatten_statistics(stats: dict) -> Iterator[tuple[str, str, str, object]]:
    """Every number of the statistics as (figure, row, column, value) rows."""
    yield from (_flatten_multilabel if is_multi_label(stats) else _flatten_single)(stats)
    yield from _flatten_dataset(stats)


def _flatten_single(stats: dict) -> Iterator[tuple[str, str, str, object]]:
    for figure in ("label_distribution", "per_emotion_inconsistency", "label_sources"):
        for row, values in stats[figure].items():
            for column, value in values.items():
                yield figure, row, column, value
    for part in ("matrix", "pairs"):
        for row, values in stats["inconsistency"][part].items():
            for column, value in values.items():
                yield f"inconsistency_{part}", row, column, value
    for figure in ("fleiss_kappa", "krippendorff_alpha"):
        for modality, (value, n_jobs) in stats[figure].items():
            yield figure, modality, "value", value
            yield figure, modality, "jobs", n_jobs


def _flatten_multilabel(stats: dict) -> Iterator[tuple[str, str, str, object]]:
    tables = {
        "label_frequencies": stats["label_frequencies"],
        "label_set_sizes": stats["label_set_sizes"],
        "undecided_emotions": stats["undecided_emotions"],
        "label_sources": stats["label_sources"],
        **{f"co_occurrence_{m}": table for m, table in stats["co_occurrence"].items()},
        **{f"inconsistency_{part}": table for part, table in stats["inconsistency"].items()},
        "per_emotion_inconsistency": stats["per_emotion_inconsistency"]["values"],
        "per_emotion_support": stats["per_emotion_inconsistency"]["support"],
    }
    for figure, table in tables.items():
        for row, values in table.items():
            for column, value in values.items():
                yield figure, row, str(column), value
    for modality, (value, n_jobs) in stats["krippendorff_alpha_masi"].items():
        yield "krippendorff_alpha_masi", modality, "value", value
        yield "krippendorff_alpha_masi", modality, "jobs", n_jobs
    for figure in ("fleiss_kappa_per_emotion", "krippendorff_alpha_per_emotion"):
        for modality, per_emotion in stats[figure].items():
            for emotion, (value, n_jobs) in per_emotion.items():
                yield figure, modality, emotion, value
                yield f"{figure}_jobs", modality, emotion, n_jobs


def _flatten_dataset(stats: dict) -> Iterator[tuple[str, str, str, object]]:
    for key, value in stats["dataset"].items():
        if isinstance(value, dict):
            for column, count in value.items():
                yield "dataset", key, column, count
        else:
            yield "dataset", key, "value", value


def figure_from_statistics(stats: dict, name: str) -> Figure:
    """One of the dashboard's matplotlib figures from the JSON-able statistics."""
    from labeling import plots  # matplotlib only when a figure is drawn, not at web start-up

    if is_multi_label(stats):
        return _multilabel_figure(stats, name)
    if name == "label_distribution":
        return plots.plot_label_distribution(stats["label_distribution"])
    if name == "inconsistency":
        matrix = pd.DataFrame(stats["inconsistency"]["matrix"]).astype(float)
        pairs = pd.DataFrame(stats["inconsistency"]["pairs"]).astype(int)
        return plots.plot_inconsistency_matrix(Inconsistency(matrix.T, pairs.T))
    if name == "per_emotion_inconsistency":
        table = pd.DataFrame(stats["per_emotion_inconsistency"]).T.astype(float)
        return plots.plot_per_emotion_inconsistency(table)
    if name == "agreement":
        # JSON has null where a measure is undefined; the plot wants NaN there.
        return plots.plot_agreement(
            _with_nan(stats["fleiss_kappa"]), _with_nan(stats["krippendorff_alpha"])
        )
    raise KeyError(name)


def _multilabel_figure(stats: dict, name: str) -> Figure:
    from labeling import multilabel_plots
    from labeling.multilabel_statistics import SetInconsistency

    if name == "label_frequencies":
        return multilabel_plots.plot_label_frequencies(stats["label_frequencies"])
    if name == "co_occurrence":
        return multilabel_plots.plot_co_occurrence(
            {m: _table(table) for m, table in stats["co_occurrence"].items()}
        )
    if name == "inconsistency":
        parts = {part: _table(table) for part, table in stats["inconsistency"].items()}
        return multilabel_plots.plot_set_inconsistency(
            SetInconsistency(parts["differ"], parts["jaccard"], parts["pairs"].astype(int))
        )
    if name == "per_emotion_inconsistency":
        return multilabel_plots.plot_per_emotion_inconsistency(
            _table(stats["per_emotion_inconsistency"]["values"])
        )
    if name == "agreement":
        return multilabel_plots.plot_agreement(
            _with_nan(stats["krippendorff_alpha_masi"]),
            {m: _with_nan(per) for m, per in stats["fleiss_kappa_per_emotion"].items()},
        )
    raise KeyError(name)


FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
PIECE = 1 << 16  # characters per piece of a streamed table


def table_lines(columns: Sequence[str], rows: Iterable[dict], fmt: str) -> Iterator[str]:
    """`rows` as lines of a CSV with a header, or of JSONL (one object per line), so a long
    table can be streamed, in pieces of about 64 KB (a write per row would be a system call
    per row on a server). Times are ISO 8601; missing values are empty (CSV) or null."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: use {' or '.join(FORMATS)}.")
    if fmt == "jsonl":
        lines = (
            json.dumps(dict(zip(columns, _cells(row, columns), strict=True)), ensure_ascii=False)
            + "\n"
            for row in rows
        )
    else:
        lines = _csv_lines(columns, rows)
    yield from _pieces(lines)


def _csv_lines(columns: Sequence[str], rows: Iterable[dict]) -> Iterator[str]:
    """The header, then one CSV line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(columns)
    for row in rows:
        yield line(["" if value is None else value for value in _cells(row, columns)])


def _cells(row: dict, columns: Sequence[str]) -> list:
    """The row's values of `columns` as JSON types; the plain ones (most cells) as they are."""
    return [
        value if value is None or type(value) in (str, int, bool) else to_jsonable(value)
        for value in (row[c] for c in columns)
    ]


def _pieces(lines: Iterable[str]) -> Iterator[str]:
    piece, size = [], 0
    for line in lines:
        piece.append(line)
        size += len(line)
        if size >= PIECE:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)
