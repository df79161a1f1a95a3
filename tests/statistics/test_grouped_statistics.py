"""The dashboard's figures from grouped counts equal the same figures from every vote and
every utterance: κ and α from the sums a database groups its tallies into, against the
libraries on the raw votes, and the label figures from combinations with weights, against
one row per utterance."""

import math
from collections import Counter

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import fleiss_kappa

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.statistics import (
    TALLY_SUMS,
    agreement_sums,
    fleiss_kappa_from_sums,
    inconsistency_matrix,
    krippendorff_alpha_from_sums,
    label_distribution,
    per_emotion_inconsistency,
)
from tests.sqlite import report_on_sqlite
from tests.statistics import grouped_check

CLASSES = ("x", "y")


def grouped_tallies(jobs: dict[int, tuple[str, list[str]]]) -> pd.DataFrame:
    """What `selectors.statistics.tally_sums` reads from the database, recounted here from
    each job's (modality, labels in casting order): per job and label its votes and its
    first three, summed per modality, label and the job's totals."""
    sums: Counter = Counter()
    for modality, labels in jobs.values():
        every, first = Counter(labels), Counter(labels[:3])
        for label, n in every.items():
            key = (modality, label, len(labels))
            sums[key + ("n",)] += n
            sums[key + ("pairs",)] += n * (n - 1)
            sums[key + ("first",)] += first[label]
            sums[key + ("squares",)] += first[label] ** 2
    keys = sorted({key[:3] for key in sums})
    rows = [
        [*key, *(sums[key + (column,)] for column in ("n", "pairs", "first", "squares"))]
        for key in keys
    ]
    return pd.DataFrame(rows, columns=list(TALLY_SUMS))


def agreement(jobs, classes, modalities=("t",)):
    kappa, alpha = agreement_sums(grouped_tallies(jobs))
    return (
        fleiss_kappa_from_sums(kappa, classes, modalities),
        krippendorff_alpha_from_sums(alpha, classes, modalities),
    )


def random_jobs(seed: int, n_jobs: int = 60) -> dict[int, tuple[str, list[str]]]:
    """1 to 5 votes per job (jobs α or κ cannot use included), skewed towards a truth."""
    rng = np.random.default_rng(seed)
    jobs = {}
    for job in range(n_jobs):
        truth = rng.choice(EMOTIONS)
        n = int(rng.choice([1, 2, 3, 3, 3, 4, 5]))
        labels = [truth if rng.random() < 0.6 else str(rng.choice(EMOTIONS)) for _ in range(n)]
        jobs[job] = (MODALITIES[job % 4], [str(label) for label in labels])
    return jobs


def test_kappa_and_alpha_from_grouped_tallies_match_hand_computations():
    # κ: jobs 3:0, 0:3, 2:1 -> 22/40 (tests/statistics/test_agreement.py); the 2-vote job
    # counts for α only. α: x/x, y/y, x/y -> 4/9.
    kappa, _ = agreement(
        {0: ("t", list("xxx")), 1: ("t", list("yyy")), 2: ("t", list("xxy"))}, CLASSES
    )
    assert kappa["t"] == pytest.approx((0.55, 3))
    _, alpha = agreement(
        {0: ("t", list("xx")), 1: ("t", list("yy")), 2: ("t", list("xy"))}, CLASSES
    )
    assert alpha["t"] == pytest.approx((4 / 9, 3))


@pytest.mark.parametrize("seed", range(8))
def test_kappa_and_alpha_from_grouped_tallies_equal_the_libraries_on_raw_votes(seed):
    jobs = random_jobs(seed)
    kappa, alpha = agreement(jobs, EMOTIONS, MODALITIES)
    for modality in MODALITIES:
        mine = [labels for m, labels in jobs.values() if m == modality]
        table = np.array(
            [[labels[:3].count(c) for c in EMOTIONS] for labels in mine if len(labels) >= 3]
        )
        assert kappa[modality] == pytest.approx((fleiss_kappa(table), len(table)), rel=1e-12)
        counts = np.array([[labels.count(c) for c in EMOTIONS] for labels in mine])
        expected = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
        pairable = sum(len(labels) >= 2 for labels in mine)
        assert alpha[modality] == pytest.approx((expected, pairable), rel=1e-12)


def test_grouped_agreement_is_nan_where_undefined_and_refuses_unknown_labels():
    kappa, alpha = agreement(
        {0: ("t", list("xxx")), 1: ("t", list("xx")), 2: ("t", ["y"])}, CLASSES
    )
    assert math.isnan(kappa["t"][0]) and kappa["t"][1] == 1  # one label among full jobs
    assert math.isnan(alpha["t"][0]) and alpha["t"][1] == 2  # pairable jobs: x only
    kappa, alpha = agreement({}, CLASSES)
    assert math.isnan(kappa["t"][0]) and kappa["t"][1] == 0
    assert math.isnan(alpha["t"][0]) and alpha["t"][1] == 0
    with pytest.raises(ValueError, match="not among the classes"):
        agreement({0: ("t", list("xz"))}, CLASSES)


def random_labels(seed: int, n: int = 3000) -> pd.DataFrame:
    """One row per utterance; few labels so that combinations repeat; blanks and NaN."""
    rng = np.random.default_rng(seed)
    choices = np.array(["happiness", "sadness", "anger", None, ""], dtype=object)
    cells = {m: rng.choice(choices, size=n, p=[0.35, 0.25, 0.2, 0.15, 0.05]) for m in MODALITIES}
    labels = pd.DataFrame(cells, index=range(1000, 1000 + n), dtype=object)
    labels.loc[labels.index[::17], "v"] = np.nan
    return labels


@pytest.mark.parametrize("seed", range(5))
def test_label_figures_from_weighted_combinations_equal_those_per_utterance(seed):
    labels = random_labels(seed)
    classes = ("happiness", "sadness", "anger")
    key = labels.fillna("<none>")  # group NaN with None as a database's NULL would
    grouped = labels.assign(n=1).groupby(list(key.to_numpy().T), dropna=False)
    combinations = grouped.agg({**{m: "first" for m in MODALITIES}, "n": "sum"})
    combinations = combinations.reset_index(drop=True)
    assert len(combinations) < len(labels) / 4  # the case the weights exist for
    weights = combinations.pop("n")
    assert label_distribution(combinations, classes, weights=weights) == label_distribution(
        labels, classes
    )
    grouped_incon = inconsistency_matrix(combinations, weights=weights)
    incon = inconsistency_matrix(labels)
    pd.testing.assert_frame_equal(grouped_incon.matrix, incon.matrix)
    pd.testing.assert_frame_equal(grouped_incon.pairs, incon.pairs)
    pd.testing.assert_frame_equal(
        per_emotion_inconsistency(combinations, classes, weights=weights),
        per_emotion_inconsistency(labels, classes),
    )


@pytest.mark.django_db
def test_campaign_statistics_equal_a_recount_from_every_job_and_vote():
    report = grouped_check.report()
    assert report["kappa_jobs"] > 0 and report["pairs"] > 0  # κ and Incon(t, m) have data
    assert report["mismatches"] == [] and report["mismatches_of_two"] == []


def test_campaign_statistics_equal_a_recount_on_sqlite(tmp_path):
    report = report_on_sqlite(tmp_path, "tests.statistics.grouped_check")
    assert report["kappa_jobs"] > 0 and report["pairs"] > 0
    assert report["mismatches"] == [] and report["mismatches_of_two"] == []
