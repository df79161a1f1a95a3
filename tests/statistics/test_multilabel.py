"""Multi-label curation statistics on hand-computed cases (the numbers are worked out by hand in
the comments, not by calling the code under test)."""

import math

import numpy as np
import pandas as pd
import pytest

from labeling import statistics
from labeling.multilabel_statistics import (
    co_occurrence,
    fleiss_kappa_per_emotion,
    inconsistency_matrix,
    jaccard_distance,
    krippendorff_alpha_masi,
    krippendorff_alpha_per_emotion,
    label_frequencies,
    label_set_sizes,
    masi_distance,
    per_emotion_inconsistency,
)

A, D, F = "anger", "disgust", "fear"
CLASSES = (A, D, F)


def s(*labels: str) -> frozenset[str]:
    return frozenset(labels)


# u1..u4; a modality missing from an utterance is not decided there.
VERDICTS = {
    "u1": {"t": s(A), "a": s(A, D), "v": s(), "m": s(A, D)},
    "u2": {"t": s(), "a": s(), "v": s(F), "m": s()},
    "u3": {"t": s(A, F), "a": s(F), "m": s(A)},
    "u4": {"t": s(D), "m": s(D)},
}


# --- distances ---


def test_jaccard_distance_of_two_empty_sets_is_zero_and_partial_overlap_counts_half():
    assert jaccard_distance(s(), s()) == 0.0
    assert jaccard_distance(s(A), s(A, D)) == 0.5  # 1 - 1/2
    assert jaccard_distance(s(), s(A)) == 1.0
    assert jaccard_distance(s(A), s(D)) == 1.0


def test_masi_distance_of_subset_and_of_empty_sets():
    # MASI = 1 - J * M; {A} ⊂ {A, D}: J = 1/2, M = 2/3 -> 1 - 1/3.
    assert masi_distance(s(A), s(A, D)) == pytest.approx(2 / 3)
    # {A, D} vs {A, F}: overlap, neither a subset: J = 1/3, M = 1/3 -> 1 - 1/9.
    assert masi_distance(s(A, D), s(A, F)) == pytest.approx(8 / 9)
    assert masi_distance(s(), s()) == 0.0
    assert masi_distance(s(), s(A)) == 1.0


# --- frequencies and co-occurrence ---


def test_label_frequencies_count_every_present_emotion_of_each_modality():
    result = label_frequencies(VERDICTS, CLASSES)
    assert result["t"] == {A: 2, D: 1, F: 1}  # u1 A, u3 A F, u4 D
    assert result["a"] == {A: 1, D: 1, F: 1}  # u1 A D, u3 F
    assert result["v"] == {A: 0, D: 0, F: 1}  # u2 F
    assert result["m"] == {A: 2, D: 2, F: 0}  # u1 A D, u3 A, u4 D


def test_label_set_sizes_count_none_of_these_as_zero():
    result = label_set_sizes(VERDICTS, CLASSES)
    assert result["t"] == {0: 1, 1: 2, 2: 1, 3: 0}  # u2 | u1, u4 | u3
    assert result["v"] == {0: 1, 1: 1, 2: 0, 3: 0}  # u1 | u2


def test_co_occurrence_counts_pairs_present_together_with_frequencies_on_the_diagonal():
    result = co_occurrence(VERDICTS, CLASSES)
    expected_t = pd.DataFrame(
        [[2, 0, 1], [0, 1, 0], [1, 0, 1]], index=list(CLASSES), columns=list(CLASSES)
    )
    pd.testing.assert_frame_equal(result["t"], expected_t, check_dtype=False)
    assert result["m"].loc[A, D] == result["m"].loc[D, A] == 1  # u1
    assert result["m"].loc[F, F] == 0
    assert result["v"].to_numpy().sum() == 1  # u1's empty set adds nothing


def test_unknown_label_is_refused_with_the_classes_named():
    with pytest.raises(ValueError, match="surprise"):
        label_frequencies({"u1": {"t": s("surprise")}}, CLASSES)


# --- inconsistency between modalities ---


def test_set_inconsistency_share_differing_and_mean_jaccard_by_hand():
    result = inconsistency_matrix(VERDICTS, CLASSES)
    # t vs m over u1..u4: u1 {A}/{A,D} differ (J 1/2), u2 same (∅/∅: 0), u3 {A,F}/{A} differ
    # (J 1/2), u4 same -> share 2/4, mean Jaccard 1/4.
    assert result.differ.loc["t", "m"] == 0.5
    assert result.jaccard.loc["t", "m"] == 0.25
    assert result.pairs.loc["t", "m"] == 4
    # t vs a over u1..u3: u1 differ (1/2), u2 same, u3 {A,F}/{F} differ (1/2).
    assert result.differ.loc["a", "t"] == pytest.approx(2 / 3)
    assert result.jaccard.loc["a", "t"] == pytest.approx(1 / 3)
    # a vs v over u1, u2: {A,D}/∅ and ∅/{F}: both differ completely.
    assert result.differ.loc["a", "v"] == result.jaccard.loc["a", "v"] == 1.0
    assert result.pairs.loc["v", "v"] == 2 and result.differ.loc["v", "v"] == 0.0


def test_set_inconsistency_is_nan_where_no_utterance_is_decided_in_both():
    result = inconsistency_matrix({"u1": {"t": s(A)}, "u2": {"v": s(D)}}, CLASSES)
    assert math.isnan(result.differ.loc["t", "v"]) and result.pairs.loc["t", "v"] == 0


def test_per_emotion_inconsistency_by_hand():
    result = per_emotion_inconsistency(VERDICTS, CLASSES)
    # t vs m: m says A in u1, u3 (t has A in both) -> 0/2; D in u1, u4 (t misses u1) -> 1/2.
    assert result.values.loc["t", A] == 0.0
    assert result.values.loc["t", D] == 0.5
    assert math.isnan(result.values.loc["t", F]) and result.support.loc["t", F] == 0
    # a vs m over u1..u3: A in u1, u3 (a misses u3) -> 1/2; D in u1 (a has it) -> 0/1.
    assert result.values.loc["a", A] == 0.5 and result.support.loc["a", A] == 2
    assert result.values.loc["a", D] == 0.0 and result.support.loc["a", D] == 1
    # v vs m over u1, u2: m says A and D in u1, v says none -> 1/1 each.
    assert result.values.loc["v", A] == result.values.loc["v", D] == 1.0


def test_undecided_emotion_leaves_the_utterance_out_of_that_emotion_and_of_set_figures():
    undecided = {("u1", "t"): s(D)}  # t's verdict on u1: A present, D undecided (2:2)
    incon = per_emotion_inconsistency(VERDICTS, CLASSES, undecided=undecided)
    # D against m: u1 is left out, only u4 (t has D) -> 0/1; A still counts u1 -> 0/2.
    assert incon.values.loc["t", D] == 0.0 and incon.support.loc["t", D] == 1
    assert incon.support.loc["t", A] == 2
    sets = inconsistency_matrix(VERDICTS, CLASSES, undecided=undecided)
    # t vs m without u1: u2 same, u3 differ (J 1/2), u4 same -> 1/3 and 1/6.
    assert sets.pairs.loc["t", "m"] == 3
    assert sets.differ.loc["t", "m"] == pytest.approx(1 / 3)
    assert sets.jaccard.loc["t", "m"] == pytest.approx(1 / 6)
    assert label_frequencies(VERDICTS, CLASSES, undecided=undecided)["t"][A] == 2
    assert label_set_sizes(VERDICTS, CLASSES, undecided=undecided)["t"] == {0: 1, 1: 1, 2: 1, 3: 0}


def test_singleton_sets_give_the_single_label_figures():
    rng = np.random.default_rng(3)
    single = {
        f"u{n}": {m: str(rng.choice(CLASSES)) for m in "tavm" if rng.random() < 0.85}
        for n in range(60)
    }
    as_sets = {uid: {m: s(label) for m, label in row.items()} for uid, row in single.items()}
    frame = pd.DataFrame.from_dict(single, orient="index").reindex(columns=list("tavm"))
    expected = statistics.inconsistency_matrix(frame)
    result = inconsistency_matrix(as_sets, CLASSES)
    pd.testing.assert_frame_equal(result.differ, expected.matrix)
    pd.testing.assert_frame_equal(result.jaccard, expected.matrix)
    pd.testing.assert_frame_equal(result.pairs, expected.pairs)
    pd.testing.assert_frame_equal(
        per_emotion_inconsistency(as_sets, CLASSES).values,
        statistics.per_emotion_inconsistency(frame, CLASSES),
    )


# --- agreement ---

# Three jobs of t, three votes each.
VOTES = {
    ("j1", "t"): [s(A), s(A), s(A)],
    ("j2", "t"): [s(A, D), s(A), s(A)],
    ("j3", "t"): [s(D), s(D), s(F)],
    ("j9", "t"): [s(F)],  # one vote: α cannot use it
}


def test_krippendorff_alpha_with_masi_by_hand():
    # Values: {A} 5, {A,D} 1, {D} 2, {F} 1; n = 9. δ({A,D},{A}) = δ({A,D},{D}) = 2/3, others 1.
    # Do = (1/n) Σ_u Σ_{c≠k} n_uc n_uk δ / (m_u - 1):
    #   j2: 2·(1·2·2/3)/2 = 4/3; j3: 2·(2·1·1)/2 = 2 -> Do = (10/3)/9 = 10/27.
    # De = Σ_{c≠k} n_c n_k δ / (n(n-1)) = 2·(5·1·2/3 + 5·2 + 5·1 + 1·2·2/3 + 1·1 + 2·1)/72
    #    = 2·(68/3)/72 = 17/27.  α = 1 - (10/27)/(17/27) = 7/17.
    alpha, n_jobs = krippendorff_alpha_masi(VOTES, CLASSES, modalities=("t",))["t"]
    assert alpha == pytest.approx(7 / 17) and n_jobs == 3


def test_krippendorff_alpha_masi_counts_none_of_these_as_a_set():
    votes = {("j1", "a"): [s(), s()], ("j2", "a"): [s(A), s(A)], ("j3", "a"): [s(), s(A)]}
    # ∅ 3, {A} 3, n = 6; δ(∅, {A}) = 1. Do = (2·1·1/1)/6 = 1/3; De = 2·3·3/30 = 3/5.
    # α = 1 - (1/3)/(3/5) = 4/9.
    alpha, n_jobs = krippendorff_alpha_masi(votes, CLASSES, modalities=("a",))["a"]
    assert alpha == pytest.approx(4 / 9) and n_jobs == 3


def test_krippendorff_alpha_masi_is_nan_when_every_vote_is_the_same_set_or_no_job_has_two():
    same = {("j1", "t"): [s(A), s(A)], ("j2", "t"): [s(A), s(A), s(A)]}
    alpha, n_jobs = krippendorff_alpha_masi(same, CLASSES, modalities=("t", "v"))["t"]
    assert math.isnan(alpha) and n_jobs == 2
    alpha, n_jobs = krippendorff_alpha_masi({("j1", "v"): [s(A)]}, CLASSES, ("v",))["v"]
    assert math.isnan(alpha) and n_jobs == 0


def test_krippendorff_alpha_masi_equals_nltks_annotation_task_on_random_votes():
    from nltk.metrics.agreement import AnnotationTask

    rng = np.random.default_rng(11)
    votes = {}
    for job in range(80):
        truth = {c for c in CLASSES if rng.random() < 0.4}
        votes[(job, "t")] = [
            s(*(c for c in CLASSES if (c in truth) != (rng.random() < 0.2)))
            for _ in range(int(rng.integers(1, 5)))
        ]
    triples = [
        (k, job, labels) for (job, _), sets in votes.items() if len(sets) >= 2
        for k, labels in enumerate(sets)
    ]  # fmt: skip
    expected = AnnotationTask(data=triples, distance=masi_distance).alpha()
    alpha, n_jobs = krippendorff_alpha_masi(votes, CLASSES, modalities=("t",))["t"]
    assert alpha == pytest.approx(expected, rel=1e-12)
    assert n_jobs == sum(len(v) >= 2 for v in votes.values())


FLEISS_VOTES = {
    ("j1", "t"): [s(A), s(A), s(A)],
    ("j2", "t"): [s(A, D), s(A), s(A)],
    ("j3", "t"): [s(D), s(D), s(F)],
    ("j4", "t"): [s(A), s(D), s(A), s(A)],  # 4th vote: κ takes the first three (A D A)
    ("j5", "t"): [s(A), s(A)],  # two votes: left out of κ
}


def test_fleiss_kappa_per_emotion_as_a_binary_question_by_hand():
    result = fleiss_kappa_per_emotion(FLEISS_VOTES, CLASSES, modalities=("t",))["t"]
    # A present per job (first 3): 3, 3, 0, 2. P_i = 1, 1, 1, 1/3 -> P̄ = 5/6;
    # p(present) = 8/12 -> Pe = 4/9 + 1/9 = 5/9; κ = (5/6 - 5/9)/(4/9) = 5/8.
    assert result[A] == pytest.approx((5 / 8, 4))
    # D: 0, 1, 2, 1 -> P_i = 1, 1/3, 1/3, 1/3 -> P̄ = 1/2; p = 4/12 -> Pe = 5/9;
    # κ = (1/2 - 5/9)/(4/9) = -1/8.
    assert result[D] == pytest.approx((-1 / 8, 4))
    # F: 0, 0, 1, 0 -> P̄ = 5/6; p = 1/12 -> Pe = 122/144; κ = (120 - 122)/(144 - 122) = -1/11.
    assert result[F] == pytest.approx((-1 / 11, 4))


def test_fleiss_kappa_per_emotion_is_nan_for_an_emotion_nobody_chose():
    votes = {("j1", "t"): [s(A), s(A), s()], ("j2", "t"): [s(), s(), s()]}
    result = fleiss_kappa_per_emotion(votes, CLASSES, modalities=("t",))["t"]
    kappa, n_jobs = result[F]
    assert math.isnan(kappa) and n_jobs == 2


def test_krippendorff_alpha_per_emotion_takes_every_vote_by_hand():
    result = krippendorff_alpha_per_emotion(FLEISS_VOTES, CLASSES, modalities=("t",))["t"]
    # A (absent, present) per job, all votes: (0,3) (0,3) (3,0) (1,3) (0,2); n = 15, 11 present.
    # Do = 2·1·3/(4-1) / 15 = 2/15; De = 2·11·4/(15·14) = 88/210; α = 1 - (2/15)/(88/210) = 15/22.
    assert result[A] == pytest.approx((15 / 22, 5))
