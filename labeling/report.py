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


def flatten_statistics(stats: dict) -> Iterator[tuple[str, str, str, object]]:
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
    for key, value in stats["dataset"].items():
        if isinstance(value, dict):
            for column, count in value.items():
                yield "dataset", key, column, count
        else:
            yield "dataset", key, "value", value


def figure_from_statistics(stats: dict, name: str) -> Figure:
    """One of the dashboard's matplotlib figures from the JSON-able statistics."""
    from labeling import plots  # matplotlib only when a figure is drawn, not at web start-up

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
        as_pairs = {
            key: {m: (math.nan if v is None else v, n) for m, (v, n) in stats[key].items()}
            for key in ("fleiss_kappa", "krippendorff_alpha")
        }
        return plots.plot_agreement(as_pairs["fleiss_kappa"], as_pairs["krippendorff_alpha"])
    raise KeyError(name)


FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def table_lines(columns: Sequence[str], rows: Iterable[dict], fmt: str) -> Iterator[str]:
    """`rows` as lines of a CSV with a header, or of JSONL (one object per line), so a long
    table can be streamed. Times are ISO 8601; missing values are empty (CSV) or null."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: use {' or '.join(FORMATS)}.")
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(to_jsonable({c: row[c] for c in columns}), ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        values = to_jsonable([row[c] for c in columns])
        writer.writerow(["" if value is None else value for value in values])
        yield buffer.getvalue()
