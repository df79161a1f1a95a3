"""Curation statistics of a multi-label campaign (issue #13): several emotions may hold at once.

The multi-label counterparts of ``labeling.statistics`` (LFMIM paper §3.2, SPEC.md §3). Pure:
plain Python, NumPy and pandas in, plain dicts and DataFrames out; no Django. The selectors
hand it (ML_INTERFACE.md):

- ``verdicts``: ``{utterance_id: {modality: frozenset[str]}}``, the decided present emotions
  of each utterance in each modality; a modality missing from an utterance's dict is not
  decided there (open, discarded, excluded). ``frozenset()`` is a decided "none of these".
- ``votes``: ``{(utterance_id, modality): [frozenset[str], ...]}``, every vote on a job in
  the order it was cast (one per annotator).
- ``undecided`` (optional): ``{(utterance_id, modality): frozenset[str]}``, the emotions a
  verdict left undecided (a 2:2 split under the campaign's "mark" policy). Such an
  emotion is neither present nor absent: per-emotion figures leave that utterance out for
  that emotion, and figures over whole label sets leave the utterance out in that modality.

Every figure says which utterances it covers (its ``pairs``/``support``/``n_jobs``).
``labeling.statistics.to_jsonable`` writes every result to JSON.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeling.emotions import MODALITIES

UNIMODAL: tuple[str, ...] = ("t", "a", "v")

LabelSet = frozenset[str]
Verdicts = Mapping[Hashable, Mapping[str, LabelSet]]
Votes = Mapping[tuple[Hashable, str], Sequence[LabelSet]]
Undecided = Mapping[tuple[Hashable, str], LabelSet]


# --- helpers ---------------------------------------------------------------------------------


def _check_known(sets: Iterable[Iterable[str]], classes: Sequence[str], what: str) -> None:
    unknown = sorted({str(label) for s in sets for label in s} - {str(c) for c in classes})
    if unknown:
        raise ValueError(
            f"{what} {unknown} are not among the classes {list(classes)}; "
            "pass the label set the campaign was made with."
        )


def _sets_of(
    verdicts: Verdicts, modality: str, undecided: Undecided | None
) -> dict[Hashable, LabelSet]:
    """One modality's fully decided label sets: utterances with an undecided emotion there are
    left out (their set is not known)."""
    undecided = undecided or {}
    return {
        uid: frozenset(by_modality[modality])
        for uid, by_modality in verdicts.items()
        if modality in by_modality and not undecided.get((uid, modality))
    }


def jaccard_distance(a: LabelSet, b: LabelSet) -> float:
    """1 − |a ∩ b| / |a ∪ b|; for two empty sets ("none of these" twice) it is 0, because
    the two label sets are identical: two modalities that both say "no emotion" agree."""
    union = a | b
    return 0.0 if not union else 1.0 - len(a & b) / len(union)


def masi_distance(a: LabelSet, b: LabelSet) -> float:
    """MASI distance (Passonneau 2006) as nltk computes it, with d(∅, ∅) = 0 (identical sets;
    nltk divides by the empty union there)."""
    from nltk.metrics.distance import masi_distance as nltk_masi  # nltk loads slowly

    return 0.0 if a == b else float(nltk_masi(set(a), set(b)))


# --- label frequencies and co-occurrence -----------------------------------------------------


def label_frequencies(
    verdicts: Verdicts,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    undecided: Undecided | None = None,
) -> dict[str, dict[str, int]]:
    """Per modality, how many utterances have each emotion present (the multi-label Figure 1a).

    An utterance with several emotions counts once for each, so a modality's counts may add
    up to more than its utterances (`label_set_sizes` gives those). An emotion left undecided
    in a verdict is not counted; the others of that verdict are.
    """
    undecided = undecided or {}
    result: dict[str, dict[str, int]] = {}
    for modality in modalities:
        counts: Counter[str] = Counter()
        for uid, by_modality in verdicts.items():
            if modality in by_modality:
                present = frozenset(by_modality[modality]) - undecided.get((uid, modality), set())
                _check_known([present], classes, f"Labels of modality {modality!r}")
                counts.update(present)
        result[modality] = {c: counts[c] for c in classes}
    return result


def label_set_sizes(
    verdicts: Verdicts,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    undecided: Undecided | None = None,
) -> dict[str, dict[int, int]]:
    """Per modality, how many fully decided utterances have 0, 1, ..., C emotions present
    (0 = "none of these"); zero-filled up to the number of classes."""
    result = {}
    for modality in modalities:
        sets = _sets_of(verdicts, modality, undecided)
        _check_known(sets.values(), classes, f"Labels of modality {modality!r}")
        counts = Counter(len(s) for s in sets.values())
        result[modality] = {k: counts.get(k, 0) for k in range(len(classes) + 1)}
    return result


def co_occurrence(
    verdicts: Verdicts,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    undecided: Undecided | None = None,
) -> dict[str, pd.DataFrame]:
    """Per modality, a classes × classes matrix: cell (y1, y2) counts the utterances where
    both y1 and y2 are present; the diagonal is each emotion's frequency. Symmetric. Built as
    XᵀX of the multi-hot matrix X of decided emotions (undecided ones count as absent)."""
    undecided = undecided or {}
    index = {c: i for i, c in enumerate(classes)}
    result: dict[str, pd.DataFrame] = {}
    for modality in modalities:
        rows = []
        for uid, by_modality in verdicts.items():
            if modality not in by_modality:
                continue
            present = frozenset(by_modality[modality]) - undecided.get((uid, modality), set())
            _check_known([present], classes, f"Labels of modality {modality!r}")
            row = np.zeros(len(classes), dtype=np.int64)
            row[[index[c] for c in present]] = 1
            rows.append(row)
        x = np.array(rows, dtype=np.int64).reshape(-1, len(classes))
        result[modality] = pd.DataFrame(x.T @ x, index=list(classes), columns=list(classes))
    return result


# --- inconsistency between modalities --------------------------------------------------------


@dataclass(frozen=True)
class SetInconsistency:
    """Inconsistency between the label sets of every pair of modalities.

    `differ`: share of utterances whose two label sets are not identical (Incon(u1, u2) of
    the paper with sets for labels); `jaccard`: mean Jaccard distance of the two sets (partial
    agreement counts); `pairs`: utterances behind each cell (decided in both modalities).
    Square DataFrames indexed and columned by modality; NaN where no utterance is decided in
    both.
    """

    differ: pd.DataFrame
    jaccard: pd.DataFrame
    pairs: pd.DataFrame


def inconsistency_matrix(
    verdicts: Verdicts,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    undecided: Undecided | None = None,
) -> SetInconsistency:
    """Incon(u1, u2) over label sets, two ways (see `SetInconsistency`).

    Over the utterances whose label sets are fully decided in both u1 and u2. With one label
    per utterance (singleton sets) `differ` is exactly the single-label Incon(u1, u2) and the
    Jaccard distance of two singletons is 1 when they differ, so both equal it.
    Jaccard distance of two empty sets is defined as 0 (`jaccard_distance`).
    """
    sets = {u: _sets_of(verdicts, u, undecided) for u in modalities}
    for u, of_u in sets.items():
        _check_known(of_u.values(), classes, f"Labels of modality {u!r}")
    names = list(modalities)
    differ = pd.DataFrame(np.nan, index=names, columns=names, dtype=float)
    jaccard = pd.DataFrame(np.nan, index=names, columns=names, dtype=float)
    pairs = pd.DataFrame(0, index=names, columns=names, dtype=int)
    for i, u1 in enumerate(names):
        for u2 in names[i:]:
            both = sets[u1].keys() & sets[u2].keys()
            n = len(both)
            if n:
                share = sum(sets[u1][k] != sets[u2][k] for k in both) / n
                mean_distance = sum(jaccard_distance(sets[u1][k], sets[u2][k]) for k in both) / n
            else:
                share = mean_distance = np.nan
            for x, y in ((u1, u2), (u2, u1)):
                differ.loc[x, y], jaccard.loc[x, y], pairs.loc[x, y] = share, mean_distance, n
    return SetInconsistency(differ=differ, jaccard=jaccard, pairs=pairs)


@dataclass(frozen=True)
class PerEmotionInconsistency:
    """Incon(u, m; y) per modality u (rows) and emotion y (columns), and its support: the
    number of utterances m labels y among those decided for y in both u and m (the
    denominator). NaN where the support is 0."""

    values: pd.DataFrame
    support: pd.DataFrame


def per_emotion_inconsistency(
    verdicts: Verdicts,
    classes: Sequence[str],
    against: str = "m",
    modalities: Sequence[str] = UNIMODAL,
    undecided: Undecided | None = None,
) -> PerEmotionInconsistency:
    """Per-emotion inconsistency of each modality against `against`, for multi-label data.

    Single-label (SPEC.md §3): Incon(u, m; y) = #{n : y_u ≠ y ∧ y_m = y} / #{n : y_m = y},
    the share of samples that m labels y which u does not label y. With label sets Y_u, Y_m
    "labels y" becomes "y ∈ Y", so

        Incon(u, m; y) = #{n : y ∉ Y_u^n ∧ y ∈ Y_m^n} / #{n : y ∈ Y_m^n},

    the miss rate of u on emotion y taking m as reference. Each emotion is its own
    present/absent question, so the sum runs over the utterances where y is decided in both
    u and m (an utterance with some other emotion undecided still counts for y). With
    singleton sets this is the single-label figure exactly.
    """
    undecided = undecided or {}
    values = pd.DataFrame(np.nan, index=list(modalities), columns=list(classes), dtype=float)
    support = pd.DataFrame(0, index=list(modalities), columns=list(classes), dtype=int)
    for u in modalities:
        missed: Counter[str] = Counter()
        labelled: Counter[str] = Counter()
        for uid, by_modality in verdicts.items():
            if u not in by_modality or against not in by_modality:
                continue
            y_u, y_m = frozenset(by_modality[u]), frozenset(by_modality[against])
            _check_known([y_u, y_m], classes, f"Labels of modalities {u!r}/{against!r}")
            open_ = undecided.get((uid, u), frozenset()) | undecided.get((uid, against), set())
            for y in y_m - open_:
                labelled[y] += 1
                missed[y] += y not in y_u
        for y in classes:
            support.loc[u, y] = labelled[y]
            if labelled[y]:
                values.loc[u, y] = missed[y] / labelled[y]
    return PerEmotionInconsistency(values=values, support=support)


# --- inter-annotator agreement ---------------------------------------------------------------


def _jobs_of(votes: Votes, modality: str, classes: Sequence[str]) -> list[list[LabelSet]]:
    """One modality's jobs, each the list of its votes (label sets) in casting order."""
    jobs = [[frozenset(s) for s in sets] for (_, m), sets in votes.items() if m == modality]
    _check_known(
        (s for sets in jobs for s in sets), classes, f"Vote labels on modality {modality!r}"
    )
    return jobs


def _set_order(s: LabelSet, classes: Sequence[str]) -> tuple[int, list[int]]:
    return len(s), sorted(classes.index(label) for label in s)


def _coincidences(jobs: list[list[int]], values: int) -> np.ndarray:
    """Krippendorff's coincidence matrix: every ordered pair of two different votes on a job
    with m votes adds 1/(m − 1) to o[value of one, value of the other]."""
    o = np.zeros((values, values))
    by_size: dict[int, list[list[int]]] = {}
    for job in jobs:
        by_size.setdefault(len(job), []).append(job)
    for m, same in by_size.items():
        table = np.array(same, dtype=np.int64)
        for p in range(m):
            for q in range(m):
                if p != q:
                    np.add.at(o, (table[:, p], table[:, q]), 1.0 / (m - 1))
    return o


def krippendorff_alpha_masi(
    votes: Votes,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
) -> dict[str, tuple[float, int]]:
    """Krippendorff's α of each modality's label sets with MASI distance: {m: (α, n_jobs)}.

    MASI (Passonneau 2006, nltk's `masi_distance`): partial agreement ({anger, disgust}
    against {anger}) counts as partly agreeing. α takes any number of votes per job, so every
    vote counts; `n_jobs` counts the jobs with at least two votes, the only ones α can use.
    NaN when no job has two votes or all those votes are the same set (α undefined: no
    disagreement is expected by chance; nltk returns 1 there).

    The value is nltk's `AnnotationTask(distance=masi_distance).alpha()` (a test checks they
    agree), computed from the coincidence matrix of the distinct label sets (α = 1 − (n − 1)
    Σ o·δ / Σ n_c n_k δ) because nltk's per-item Python loop takes ~10 s at CHERMA scale.
    """
    result: dict[str, tuple[float, int]] = {}
    for modality in modalities:
        usable = [sets for sets in _jobs_of(votes, modality, classes) if len(sets) >= 2]
        distinct = sorted(
            {s for sets in usable for s in sets}, key=lambda s: _set_order(s, classes)
        )
        if not usable or len(distinct) < 2:
            result[modality] = (math.nan, len(usable))
            continue
        index = {s: i for i, s in enumerate(distinct)}
        o = _coincidences([[index[s] for s in sets] for sets in usable], len(distinct))
        distance = np.array([[masi_distance(a, b) for b in distinct] for a in distinct])
        n_v = o.sum(axis=0)
        expected = (np.outer(n_v, n_v) * distance).sum() / (n_v.sum() - 1)
        result[modality] = (float(1.0 - (o * distance).sum() / expected), len(usable))
    return result


def _binary_tables(
    votes: Votes, classes: Sequence[str], modality: str, first: int | None
) -> dict[str, np.ndarray]:
    """Per emotion, a jobs × 2 table of (absent, present) vote counts of one modality's jobs,
    each job's first `first` votes only when given (jobs with fewer left out)."""
    jobs = _jobs_of(votes, modality, classes)
    if first is not None:
        jobs = [sets[:first] for sets in jobs if len(sets) >= first]
    column = {c: i for i, c in enumerate(classes)}
    present = np.zeros((len(jobs), len(classes)))
    chosen = [(j, column[label]) for j, sets in enumerate(jobs) for s in sets for label in s]
    pairs = np.array(chosen, dtype=np.int64).reshape(-1, 2)
    np.add.at(present, (pairs[:, 0], pairs[:, 1]), 1)
    total = np.array([len(sets) for sets in jobs], dtype=float)
    return {
        y: np.column_stack([total - present[:, i], present[:, i]]).reshape(-1, 2)
        for i, y in enumerate(classes)
    }


def fleiss_kappa_per_emotion(
    votes: Votes,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    raters: int = 3,
) -> dict[str, dict[str, tuple[float, int]]]:
    """Fleiss' κ of each emotion as a present/absent question: {m: {y: (κ, n_jobs)}}.

    statsmodels' `fleiss_kappa` over a jobs × (absent, present) table. Like the single-label
    κ, each job contributes its first `raters` votes (the multi-label rule asks for a 4th vote
    only on a 2:1 split, which would over-sample disagreement) and jobs with fewer are left
    out. NaN when no job qualifies or every counted vote says the same (κ undefined).
    """
    if raters < 2:
        raise ValueError("Fleiss' kappa needs at least 2 raters per job.")
    from statsmodels.stats.inter_rater import fleiss_kappa  # slow import: only when used

    result: dict[str, dict[str, tuple[float, int]]] = {}
    for modality in modalities:
        result[modality] = {}
        for y, table in _binary_tables(votes, classes, modality, raters).items():
            n_jobs = int(table.shape[0])
            if n_jobs == 0 or np.count_nonzero(table.sum(axis=0)) < 2:
                result[modality][y] = (math.nan, n_jobs)
            else:
                result[modality][y] = (float(fleiss_kappa(table, method="fleiss")), n_jobs)
    return result


def krippendorff_alpha_per_emotion(
    votes: Votes,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
) -> dict[str, dict[str, tuple[float, int]]]:
    """Krippendorff's α (nominal) of each emotion as a present/absent question, from every
    vote: {m: {y: (α, n_jobs)}}, by the `krippendorff` package over each job's counts.
    `n_jobs` counts jobs with at least two votes; NaN when none or all votes agree."""
    import krippendorff  # here, not at the top: the web process imports this module

    result: dict[str, dict[str, tuple[float, int]]] = {}
    for modality in modalities:
        result[modality] = {}
        for y, table in _binary_tables(votes, classes, modality, None).items():
            table = table[table.sum(axis=1) >= 2]
            n_jobs = int(table.shape[0])
            if n_jobs == 0 or np.count_nonzero(table.sum(axis=0)) < 2:
                result[modality][y] = (math.nan, n_jobs)
                continue
            alpha = krippendorff.alpha(
                value_counts=table, value_domain=[0, 1], level_of_measurement="nominal"
            )
            result[modality][y] = (float(alpha), n_jobs)
    return result
