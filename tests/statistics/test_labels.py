"""Label distribution (Figure 1a), overall inconsistency (1b) and per-emotion inconsistency (1c)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.statistics import (
    inconsistency_matrix,
    label_distribution,
    per_emotion_inconsistency,
)

CLASSES = ("happiness", "sadness", "anger")


def table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=[f"u{i}" for i in range(n)], dtype=object)


# --- label_distribution ---


def test_distribution_counts_decided_labels_and_zero_fills_unused_classes():
    labels = table(
        t=["happiness", "happiness", None, "anger"],
        a=["sadness", np.nan, "sadness", ""],
        v=[None, None, None, None],
        m=["happiness", "sadness", "anger", "anger"],
    )
    assert label_distribution(labels, CLASSES) == {
        "t": {"happiness": 2, "sadness": 0, "anger": 1},
        "a": {"happiness": 0, "sadness": 2, "anger": 0},
        "v": {"happiness": 0, "sadness": 0, "anger": 0},
        "m": {"happiness": 1, "sadness": 1, "anger": 2},
    }


def test_distribution_keeps_class_order_and_fills_missing_modality_columns():
    labels = table(m=["anger"])
    result = label_distribution(labels, CLASSES)
    assert list(result) == list(MODALITIES)
    assert list(result["m"]) == list(CLASSES)
    assert result["t"] == {"happiness": 0, "sadness": 0, "anger": 0}


def test_distribution_of_empty_table_is_all_zero():
    result = label_distribution(pd.DataFrame(columns=list(MODALITIES)), EMOTIONS)
    assert all(n == 0 for counts in result.values() for n in counts.values())
    assert all(len(counts) == 7 for counts in result.values())


def test_distribution_refuses_label_outside_classes():
    with pytest.raises(ValueError, match="not among the classes"):
        label_distribution(table(t=["joy"]), CLASSES)


# --- inconsistency_matrix ---


def test_inconsistency_counts_only_utterances_decided_in_both():
    labels = table(
        t=["happiness", "sadness", None, "anger"],
        a=["happiness", "anger", "anger", None],
        v=["happiness", "happiness", "happiness", "happiness"],
        m=["happiness", "sadness", "anger", "anger"],
    )
    result = inconsistency_matrix(labels)
    m, n = result.matrix, result.pairs
    # t/a: both decided on u0, u1 -> differ on u1 only.
    assert (m.loc["t", "a"], n.loc["t", "a"]) == (0.5, 2)
    # t/v: u0, u1, u3 -> differ on u1, u3.
    assert m.loc["t", "v"] == pytest.approx(2 / 3) and n.loc["t", "v"] == 3
    # t/m: u0, u1, u3 -> all equal.
    assert (m.loc["t", "m"], n.loc["t", "m"]) == (0.0, 3)
    # a/m: u0, u1, u2 -> differ on u1.
    assert m.loc["a", "m"] == pytest.approx(1 / 3)
    # v/m: all four -> differ on u1, u2, u3.
    assert (m.loc["v", "m"], n.loc["v", "m"]) == (0.75, 4)
    assert n.loc["v", "v"] == 4 and n.loc["t", "t"] == 3


def test_inconsistency_is_nan_where_no_utterance_is_decided_in_both():
    labels = table(t=["happiness", None], a=[None, "sadness"], v=[None, None], m=["anger", "anger"])
    result = inconsistency_matrix(labels)
    assert np.isnan(result.matrix.loc["t", "a"]) and result.pairs.loc["t", "a"] == 0
    assert np.isnan(result.matrix.loc["v", "v"])  # v never decided
    assert result.matrix.loc["t", "m"] == 1.0


def test_inconsistency_of_empty_table_is_all_nan_with_zero_pairs():
    result = inconsistency_matrix(pd.DataFrame(columns=list(MODALITIES)))
    assert result.matrix.shape == (4, 4) and result.matrix.isna().all().all()
    assert (result.pairs == 0).all().all()


label_cells = st.one_of(st.none(), st.sampled_from(CLASSES))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(label_cells, label_cells, label_cells, label_cells), max_size=25))
def test_inconsistency_matrix_is_symmetric_with_zero_diagonal(rows):
    labels = pd.DataFrame(rows, columns=list(MODALITIES), dtype=object)
    result = inconsistency_matrix(labels)
    m, n = result.matrix.to_numpy(), result.pairs.to_numpy()
    assert np.array_equal(m, m.T, equal_nan=True)
    assert np.array_equal(n, n.T)
    assert np.all(np.isnan(m) == (n == 0))
    assert np.all(np.diag(m)[np.diag(n) > 0] == 0)
    assert np.all((m[~np.isnan(m)] >= 0) & (m[~np.isnan(m)] <= 1))
    # Brute force over the definition for one pair.
    both = [(r[0], r[3]) for r in rows if r[0] is not None and r[3] is not None]
    if both:
        assert m[0, 3] == pytest.approx(sum(x != y for x, y in both) / len(both))


# --- per_emotion_inconsistency ---


def test_per_emotion_uses_the_reading_not_the_typeset_formula():
    # m says happiness once and sadness twice; t agrees with m everywhere.
    labels = table(
        t=["happiness", "sadness", "sadness"],
        a=["sadness", "sadness", "happiness"],
        v=["happiness", "happiness", "happiness"],
        m=["happiness", "sadness", "sadness"],
    )
    result = per_emotion_inconsistency(labels, CLASSES)
    # Typeset formula for (t, happiness): #{t != happiness} / #{m == happiness} = 2 / 1.
    t_not_y = sum(y != "happiness" for y in labels["t"])
    m_is_y = sum(y == "happiness" for y in labels["m"])
    typeset = t_not_y / m_is_y
    assert typeset == 2.0
    assert result.loc["t", "happiness"] == 0.0  # t misses none of m's happiness
    assert result.loc["a", "happiness"] == 1.0  # a misses m's one happiness
    assert result.loc["a", "sadness"] == 0.5  # of m's two sadness, a misses one
    assert result.loc["v", "sadness"] == 1.0
    assert result.loc["v", "happiness"] == 0.0
    assert list(result.index) == ["t", "a", "v"] and list(result.columns) == list(CLASSES)


def test_per_emotion_is_nan_where_m_never_says_the_label():
    labels = table(t=["anger"], a=["anger"], v=["anger"], m=["happiness"])
    result = per_emotion_inconsistency(labels, CLASSES)
    assert result[["sadness", "anger"]].isna().all().all()
    assert (result["happiness"] == 1.0).all()


def test_per_emotion_skips_utterances_undecided_in_the_unimodal_label():
    labels = table(
        t=[None, "happiness"],
        a=["happiness", "happiness"],
        v=["sadness", None],
        m=["happiness", "happiness"],
    )
    result = per_emotion_inconsistency(labels, CLASSES)
    assert result.loc["t", "happiness"] == 0.0  # u0 not counted: t undecided there
    assert result.loc["v", "happiness"] == 1.0  # only u0 counts, where v said sadness


def test_per_emotion_of_empty_table_is_all_nan():
    result = per_emotion_inconsistency(pd.DataFrame(columns=list(MODALITIES)), EMOTIONS)
    assert result.shape == (3, 7) and result.isna().all().all()
