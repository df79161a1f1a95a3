"""Fleiss' kappa and Krippendorff's alpha per modality, against hand values and the libraries."""

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import fleiss_kappa

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.statistics import fleiss_kappa_by_modality, krippendorff_alpha_by_modality

CLASSES = ("x", "y")


def votes(*jobs, modality="t") -> pd.DataFrame:
    """One job per argument, its labels in casting order, annotators a0, a1, ..."""
    rows = [
        {"job": j, "modality": modality, "annotator": f"a{k}", "label": label}
        for j, labels in enumerate(jobs)
        for k, label in enumerate(labels)
    ]
    return pd.DataFrame(rows, columns=["job", "modality", "annotator", "label"])


def random_votes(seed: int, n_jobs: int = 40) -> pd.DataFrame:
    """3 or 4 votes per job, over 4 modalities, annotators drawn from a pool of 8."""
    rng = np.random.default_rng(seed)
    rows = []
    for job in range(n_jobs):
        truth = rng.choice(EMOTIONS)
        annotators = rng.choice(8, size=3 + int(rng.random() < 0.4), replace=False)
        for a in annotators:
            label = truth if rng.random() < 0.6 else rng.choice(EMOTIONS)
            rows.append(
                {"job": job, "modality": MODALITIES[job % 4], "annotator": a, "label": label}
            )
    return pd.DataFrame(rows)


# --- Fleiss ---


def test_fleiss_kappa_matches_hand_computation():
    # Jobs 3:0, 0:3, 2:1. P_i = 1, 1, 1/3 -> mean 7/9; p = (5/9, 4/9) -> P_e = 41/81.
    # kappa = (7/9 - 41/81) / (1 - 41/81) = 22/40.
    result = fleiss_kappa_by_modality(votes("xxx", "yyy", "xxy"), CLASSES)
    kappa, n = result["t"]
    assert kappa == pytest.approx(0.55) and n == 3


def test_fleiss_kappa_ignores_fourth_vote_and_jobs_with_fewer_than_three():
    with_fourth = votes("xxx", "yyy", "xxyx", "xy")
    assert fleiss_kappa_by_modality(with_fourth, CLASSES)["t"] == pytest.approx((0.55, 3))


def test_fleiss_kappa_takes_first_votes_by_cast_at_when_given():
    table = votes("xxx", "yyy", "yxxx")  # by row order the first three are y x x
    table["cast_at"] = range(len(table))
    table.loc[table["job"] == 2, "cast_at"] = [100, 50, 51, 52]  # cast order: x x x, then y
    kappa, n = fleiss_kappa_by_modality(table, CLASSES)["t"]
    assert kappa == pytest.approx(1.0) and n == 3


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_kappa_matches_statsmodels_on_random_votes(seed):
    table = random_votes(seed)
    result = fleiss_kappa_by_modality(table, EMOTIONS)
    for modality in MODALITIES:
        counts = []
        for _, job in table[table["modality"] == modality].groupby("job"):
            first = list(job["label"])[:3]
            counts.append([first.count(c) for c in EMOTIONS])
        assert result[modality] == pytest.approx((fleiss_kappa(np.array(counts)), len(counts)))


def test_fleiss_kappa_is_nan_with_zero_jobs_on_empty_votes():
    empty = pd.DataFrame(columns=["job", "modality", "annotator", "label"])
    result = fleiss_kappa_by_modality(empty, EMOTIONS)
    assert set(result) == set(MODALITIES)
    assert all(math.isnan(k) and n == 0 for k, n in result.values())


def test_fleiss_kappa_is_nan_when_every_vote_is_one_label(recwarn):
    kappa, n = fleiss_kappa_by_modality(votes("xxx", "xxx"), CLASSES)["t"]
    assert math.isnan(kappa) and n == 2
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_agreement_refuses_vote_label_outside_classes():
    with pytest.raises(ValueError, match="not among the classes"):
        fleiss_kappa_by_modality(votes("xxz"), CLASSES)
    with pytest.raises(ValueError, match="not among the classes"):
        krippendorff_alpha_by_modality(votes("xxz"), CLASSES)


# --- Krippendorff ---


def test_krippendorff_alpha_matches_hand_computation():
    # Two coders; jobs x/x, y/y, x/y. Coincidences o_xx = o_yy = 2, o_xy = o_yx = 1, so
    # n_x = n_y = 3, n = 6. D_o = 2/6, D_e = 2 * 3 * 3 / (6 * 5) = 3/5 -> alpha = 1 - 5/9.
    alpha, n = krippendorff_alpha_by_modality(votes("xx", "yy", "xy"), CLASSES)["t"]
    assert alpha == pytest.approx(4 / 9) and n == 3


@pytest.mark.parametrize("seed", range(5))
def test_krippendorff_alpha_matches_the_library_on_random_votes(seed):
    table = random_votes(seed)
    result = krippendorff_alpha_by_modality(table, EMOTIONS)
    for modality in MODALITIES:
        mine = table[table["modality"] == modality]
        annotators, jobs = sorted(mine["annotator"].unique()), sorted(mine["job"].unique())
        matrix = np.full((len(annotators), len(jobs)), np.nan)
        for row in mine.itertuples():
            matrix[annotators.index(row.annotator), jobs.index(row.job)] = EMOTIONS.index(row.label)
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        assert result[modality] == pytest.approx((expected, len(jobs)))


def test_krippendorff_alpha_counts_fourth_votes():
    three = krippendorff_alpha_by_modality(votes("xxy", "yyy", "xxx"), CLASSES)["t"][0]
    four = krippendorff_alpha_by_modality(votes("xxyx", "yyy", "xxx"), CLASSES)["t"][0]
    assert three != pytest.approx(four)


def test_krippendorff_alpha_is_nan_for_one_label_or_no_pairable_job(recwarn):
    one_label = krippendorff_alpha_by_modality(votes("xxx", "xx"), CLASSES)["t"]
    assert math.isnan(one_label[0]) and one_label[1] == 2
    single_votes = krippendorff_alpha_by_modality(votes("x", "y"), CLASSES)["t"]
    assert math.isnan(single_votes[0]) and single_votes[1] == 0
    empty = pd.DataFrame(columns=["job", "modality", "annotator", "label"])
    assert all(
        math.isnan(a) and n == 0
        for a, n in krippendorff_alpha_by_modality(empty, EMOTIONS).values()
    )
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_krippendorff_alpha_refuses_two_votes_by_one_annotator_on_one_job():
    table = votes("xy")
    table["annotator"] = "a0"
    with pytest.raises(ValueError, match="voted more than once"):
        krippendorff_alpha_by_modality(table, CLASSES)
