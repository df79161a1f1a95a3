"""Curation statistics of a CHERMA-style dataset: label distributions, modality inconsistency,
inter-annotator agreement and the paper's Table 1 (LFMIM paper §3, SPEC.md §2–3).

Pure: plain Python, NumPy and pandas in, plain dicts and DataFrames out; no Django. The
selectors read votes and verdicts from the database and hand them here as:

- ``labels``: DataFrame indexed by utterance id, columns among ``t, a, v, m``, each cell a
  decided label name or NaN/None (an empty string also counts as undecided); or one row per
  distinct combination of labels with ``weights``, a Series (same index) saying how many
  utterances each row stands for (a database groups utterances so, `label_combinations`);
- ``votes``: DataFrame with columns ``job``, ``modality``, ``annotator``, ``label`` and,
  optionally, ``cast_at`` (otherwise row order is taken as the order votes were cast);
- ``classes``: the ordered label names (e.g. ``emotions.EMOTIONS``).

Every result can be written to JSON with ``to_jsonable`` (NaN becomes null).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from labeling.emotions import MODALITIES
from labeling.verdicts import State

UNIMODAL: tuple[str, ...] = ("t", "a", "v")

# Table 1's rows, in the paper's order; other values found in the data follow these.
GENDERS: tuple[str, ...] = ("male", "female")
AGE_GROUPS: tuple[str, ...] = ("preteen", "teen", "middle-age", "old")
SPLITS: tuple[str, ...] = ("train", "validation", "test")
UNKNOWN = "unknown"


# --- helpers ---------------------------------------------------------------------------------


def _decided(column: pd.Series) -> pd.Series:
    """True where a label was decided: not NaN/None and not an empty string."""
    return column.notna() & (column.astype(object) != "")


def _column(labels: pd.DataFrame, modality: str) -> pd.Series:
    """The labels of one modality; all undecided if the frame has no such column."""
    if modality in labels.columns:
        return labels[modality]
    return pd.Series([None] * len(labels), index=labels.index, dtype=object)


def _weights(labels: pd.DataFrame, weights: pd.Series | None) -> np.ndarray:
    """How many utterances each row of `labels` stands for: `weights`, else one each."""
    if weights is None:
        return np.ones(len(labels), dtype=np.int64)
    return weights.reindex(labels.index).to_numpy(dtype=np.int64)


def _check_known(values: Iterable[Any], classes: Sequence[str], what: str) -> None:
    unknown = sorted({str(v) for v in values} - {str(c) for c in classes})
    if unknown:
        raise ValueError(
            f"{what} {unknown} are not among the classes {list(classes)}; "
            "pass the label set the labels were made with."
        )


def _ordered_keys(found: Iterable[str], known: Sequence[str]) -> list[str]:
    """`known` first in its order, then any other value found, sorted, `unknown` last."""
    extra = sorted(set(found) - set(known) - {UNKNOWN})
    tail = [UNKNOWN] if UNKNOWN in set(found) else []
    return [*known, *extra, *tail]


# --- Figure 1a -------------------------------------------------------------------------------


def label_distribution(
    labels: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    weights: pd.Series | None = None,
) -> dict[str, dict[str, int]]:
    """How many utterances each modality labels with each class (Figure 1a).

    Zero-filled, in `classes` order, so every modality's bars line up; undecided cells are
    not counted. A label outside `classes` is an error rather than a silent miscount.
    """
    result: dict[str, dict[str, int]] = {}
    each = _weights(labels, weights)
    for modality in modalities:
        column = _column(labels, modality)
        chosen = _decided(column).to_numpy()
        decided = column[chosen]
        _check_known(decided.unique(), classes, f"Labels of modality {modality!r}")
        counts = pd.Series(each[chosen]).groupby(decided.to_numpy()).sum()
        result[modality] = {c: int(counts.get(c, 0)) for c in classes}
    return result


# --- Figure 1b -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inconsistency:
    """Incon(u1, u2) for every pair of modalities and the number of utterances behind each.

    `matrix` and `pairs` are square DataFrames indexed and columned by modality.
    """

    matrix: pd.DataFrame
    pairs: pd.DataFrame


def inconsistency_matrix(
    labels: pd.DataFrame,
    modalities: Sequence[str] = MODALITIES,
    weights: pd.Series | None = None,
) -> Inconsistency:
    """Overall modality inconsistency (paper §3.2, Figure 1b).

    Incon(u1, u2) = share of utterances, among those decided in both u1 and u2, whose two
    labels differ. Only utterances labelled in both count, because a label discarded in one
    modality says nothing about agreement. Symmetric; the diagonal is 0 (NaN only for a
    modality with no decided label); NaN where no utterance is decided in both.
    """
    decided = {u: _decided(_column(labels, u)) for u in modalities}
    each = _weights(labels, weights)
    matrix = pd.DataFrame(np.nan, index=list(modalities), columns=list(modalities), dtype=float)
    pairs = pd.DataFrame(0, index=list(modalities), columns=list(modalities), dtype=int)
    for i, u1 in enumerate(modalities):
        for u2 in modalities[i:]:
            both = (decided[u1] & decided[u2]).to_numpy()
            n = int(each[both].sum())
            if n:
                a = _column(labels, u1)[both].astype(object)
                b = _column(labels, u2)[both].astype(object)
                value = float(each[both][a.to_numpy() != b.to_numpy()].sum()) / n
            else:
                value = np.nan
            for x, y in ((u1, u2), (u2, u1)):
                matrix.loc[x, y] = value
                pairs.loc[x, y] = n
    return Inconsistency(matrix=matrix, pairs=pairs)


# --- Figure 1c -------------------------------------------------------------------------------


def per_emotion_inconsistency(
    labels: pd.DataFrame,
    classes: Sequence[str],
    against: str = "m",
    modalities: Sequence[str] = UNIMODAL,
    weights: pd.Series | None = None,
) -> pd.DataFrame:
    """Per-emotion inconsistency of each modality against `against` (Figure 1c).

    Incon(u, m; y) = #{n : y_u ≠ y and y_m = y} / #{n : y_m = y}, over utterances decided
    in both u and m: of the samples the multi-modal label calls y, the share that u does not
    call y (a per-class miss rate of u, taking m as ground truth). NaN where m never says y.

    Note (SPEC.md §3): the paper's typeset formula drops "and y_m = y" from the numerator,
    which would count every sample u does not label y, whatever m said, and can exceed 1.
    This reading is the one consistent with the paper's text and with Figure 1c.

    Rows are `modalities` (t, a, v), columns `classes`.
    """
    reference = _column(labels, against)
    each = _weights(labels, weights)
    result = pd.DataFrame(np.nan, index=list(modalities), columns=list(classes), dtype=float)
    for u in modalities:
        column = _column(labels, u)
        both = (_decided(column) & _decided(reference)).to_numpy()
        y_u = column[both].astype(object).to_numpy()
        y_m = reference[both].astype(object).to_numpy()
        mine = each[both]
        _check_known(set(y_u) | set(y_m), classes, f"Labels of modalities {u!r}/{against!r}")
        for y in classes:
            is_y = y_m == y
            denominator = int(mine[is_y].sum())
            if denominator:
                result.loc[u, y] = float(mine[(y_u != y) & is_y].sum()) / denominator
    return result


# --- inter-annotator agreement ---------------------------------------------------------------


def _votes_of(votes: pd.DataFrame, modality: str, classes: Sequence[str]) -> pd.DataFrame:
    """The votes on one modality's jobs in casting order, labels checked against `classes`."""
    missing = {"job", "modality", "annotator", "label"} - set(votes.columns)
    if missing:
        raise ValueError(f"The votes table lacks the columns {sorted(missing)}.")
    mine = votes[votes["modality"] == modality]
    if "cast_at" in mine.columns:
        mine = mine.sort_values("cast_at", kind="stable")
    _check_known(mine["label"].unique(), classes, f"Vote labels on modality {modality!r}")
    return mine


def vote_counts(
    votes: pd.DataFrame,
    classes: Sequence[str],
    first: int | None = None,
    modalities: Sequence[str] = MODALITIES,
) -> pd.DataFrame:
    """Votes per (modality, job, label) as a long table with a column `n`.

    With `first`, only each job's first `first` votes (by `cast_at`, else row order) count.
    This is all κ and α need, and what a database can aggregate without sending every vote.
    """
    parts = []
    for modality in modalities:
        mine = _votes_of(votes, modality, classes)
        if first is not None:
            mine = mine.groupby("job", sort=False).head(first)
        counted = mine.groupby(["job", "label"], observed=True).size().rename("n").reset_index()
        parts.append(counted.assign(modality=modality))
    columns = ["modality", "job", "label", "n"]
    frames = [p[columns] for p in parts if not p.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


# κ and α depend on the votes only through a few sums per modality and label (below), which
# a database aggregates over its tallies (one row per job and label) in a handful of rows
# instead of sending one per job; the functions over votes or counts reduce them to the
# same sums, so each coefficient has one formula.

TALLY_SUMS = ("modality", "label", "job_votes", "n", "pairs", "first", "squares")


def kappa_sums(counts: pd.DataFrame, raters: int = 3) -> pd.DataFrame:
    """What Fleiss' κ needs of the jobs' counts of their first `raters` votes (`vote_counts`
    with `first`): per modality and label, over the jobs with exactly `raters` such votes,
    the votes `n` (Σ n_ij) and `squares` (Σ n_ij², one square per job)."""
    counts = counts.astype({"n": "int64"})
    full = counts[counts.groupby(["modality", "job"])["n"].transform("sum") == raters]
    full = full.assign(squares=full["n"] ** 2)
    return full.groupby(["modality", "label"], as_index=False)[["n", "squares"]].sum()


def alpha_sums(counts: pd.DataFrame) -> pd.DataFrame:
    """What Krippendorff's α needs of the jobs' counts of all their votes (`vote_counts`): per
    modality, label and `job_votes` (m, a job's votes over every label), the votes `n`
    (Σ n_uc) and `pairs` (Σ n_uc (n_uc − 1), ordered pairs of votes agreeing on the label)."""
    counts = counts.astype({"n": "int64"})
    counts = counts.assign(
        job_votes=counts.groupby(["modality", "job"])["n"].transform("sum"),
        pairs=counts["n"] * (counts["n"] - 1),
    )
    return counts.groupby(["modality", "label", "job_votes"], as_index=False)[["n", "pairs"]].sum()


def agreement_sums(tally_sums: pd.DataFrame, raters: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(`kappa_sums`, `alpha_sums`) from tallies grouped by modality, label and `job_votes`
    (a job's votes over every label), with `n`, `pairs` (as in `alpha_sums`), `first` (the
    votes among the job's first `raters`) and `squares` (Σ first²). Every vote of a
    single-label campaign names a label, so a job has `raters` first votes exactly when it
    has `raters` votes or more."""
    sums = tally_sums.astype({c: "int64" for c in TALLY_SUMS[2:]})
    full = sums[sums["job_votes"] >= raters]
    kappa = full.groupby(["modality", "label"], as_index=False)[["first", "squares"]].sum()
    alpha = sums.groupby(["modality", "label", "job_votes"], as_index=False)[["n", "pairs"]].sum()
    return kappa.rename(columns={"first": "n"}), alpha


def _sums_of(sums: pd.DataFrame, modality: str, classes: Sequence[str]) -> pd.DataFrame:
    mine = sums[sums["modality"] == modality]
    _check_known(mine["label"].unique(), classes, f"Vote labels on modality {modality!r}")
    return mine


def fleiss_kappa_by_modality(
    votes: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    raters: int = 3,
) -> dict[str, tuple[float, int]]:
    """Fleiss' κ of each modality's jobs: {modality: (kappa, n_jobs)}.

    Fleiss' κ needs the same number of raters on every item, so each job contributes its
    first `raters` votes (by `cast_at`, else row order) and jobs with fewer are left out.
    With the paper's rule every job gets 3 votes before any verdict and a 4th only on a 2:1
    split; counting that 4th vote would over-sample disagreement, so the first 3 are the
    unbiased sample. κ is NaN when no job qualifies or when every counted vote is the same
    label (expected agreement 1: κ undefined).
    """
    if raters < 2:
        raise ValueError("Fleiss' kappa needs at least 2 raters per job.")
    counts = vote_counts(votes, classes, first=raters, modalities=modalities)
    return fleiss_kappa_from_counts(counts, classes, modalities, raters)


def fleiss_kappa_from_counts(
    counts: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    raters: int = 3,
) -> dict[str, tuple[float, int]]:
    """Fleiss' κ from each job's counts of its first `raters` votes (see `vote_counts`)."""
    for modality in modalities:
        _sums_of(counts, modality, classes)  # a label outside the classes, on any job
    return fleiss_kappa_from_sums(kappa_sums(counts, raters), classes, modalities, raters)


def fleiss_kappa_from_sums(
    sums: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
    raters: int = 3,
) -> dict[str, tuple[float, int]]:
    """Fleiss' κ from `kappa_sums`: with N jobs of r votes each, p_j the share of votes for
    label j, P̄ = (Σ n_ij² − N r) / (N r (r − 1)) the mean agreement within a job and
    P_e = Σ p_j² the agreement by chance, κ = (P̄ − P_e) / (1 − P_e) (statsmodels'
    `fleiss_kappa`, method "fleiss", on the jobs × labels table; tested against it)."""
    if raters < 2:
        raise ValueError("Fleiss' kappa needs at least 2 raters per job.")
    result: dict[str, tuple[float, int]] = {}
    for modality in modalities:
        mine = _sums_of(sums, modality, classes)
        votes = int(mine["n"].sum())
        n_jobs = votes // raters
        if n_jobs == 0:
            result[modality] = (math.nan, 0)
            continue
        shares = mine.groupby("label")["n"].sum().to_numpy(dtype=float) / votes
        chance = float((shares**2).sum())
        if np.isclose(chance, 1.0):  # one label only: chance agreement is 1
            result[modality] = (math.nan, n_jobs)
            continue
        within = (int(mine["squares"].sum()) - votes) / (votes * (raters - 1))
        result[modality] = ((within - chance) / (1 - chance), n_jobs)
    return result


def krippendorff_alpha_by_modality(
    votes: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
) -> dict[str, tuple[float, int]]:
    """Krippendorff's α (nominal) of each modality's jobs: {modality: (alpha, n_jobs)}.

    Unlike Fleiss' κ, α takes any number of votes per job, so every vote counts.
    `n_jobs` counts the jobs with at least two votes, the only ones α can use. α is NaN
    when no job has two votes or those jobs' votes use a single label (α undefined).
    """
    for modality in modalities:
        mine = _votes_of(votes, modality, classes)
        twice = mine.duplicated(["annotator", "job"])
        if twice.any():
            row = mine[twice].iloc[0]
            raise ValueError(
                f"Annotator {row['annotator']!r} voted more than once on job {row['job']!r}; "
                "keep one vote per annotator and job."
            )
    counts = vote_counts(votes, classes, modalities=modalities)
    return krippendorff_alpha_from_counts(counts, classes, modalities)


def krippendorff_alpha_from_counts(
    counts: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
) -> dict[str, tuple[float, int]]:
    """Krippendorff's α (nominal) from each job's label counts (see `vote_counts`)."""
    for modality in modalities:
        _sums_of(counts, modality, classes)
    return krippendorff_alpha_from_sums(alpha_sums(counts), classes, modalities)


def krippendorff_alpha_from_sums(
    sums: pd.DataFrame,
    classes: Sequence[str],
    modalities: Sequence[str] = MODALITIES,
) -> dict[str, tuple[float, int]]:
    """Krippendorff's α (nominal) from `alpha_sums`, over the jobs with two votes or more.

    For nominal data the coincidence matrix enters α only through its diagonal and its
    column sums: per label c, n_c its votes and o_cc = Σ n_uc (n_uc − 1) / (m_u − 1) over
    jobs u of m_u votes; with n = Σ n_c, α = 1 − (n − 1)(n − Σ o_cc) / (n² − Σ n_c²), the
    `krippendorff` package's α on the jobs × labels value counts (tested against it)."""
    result: dict[str, tuple[float, int]] = {}
    for modality in modalities:
        mine = _sums_of(sums, modality, classes)
        mine = mine[mine["job_votes"] >= 2]
        per_size = mine.groupby("job_votes")["n"].sum()
        n_jobs = sum(int(n) // int(m) for m, n in per_size.items())
        per_label = mine.groupby("label")["n"].sum().to_numpy(dtype=float)
        if n_jobs == 0 or np.count_nonzero(per_label) < 2:
            result[modality] = (math.nan, n_jobs)
            continue
        agreeing = float((mine["pairs"] / (mine["job_votes"] - 1)).sum())
        n = float(per_label.sum())
        alpha = 1 - (n - 1) * (n - agreeing) / (n * n - float((per_label**2).sum()))
        result[modality] = (alpha, n_jobs)
    return result


# --- Table 1 ---------------------------------------------------------------------------------

# Scripts written without spaces between words, whose characters are counted one by one:
# CJK ideographs (unified, extensions A–G, compatibility) and Japanese kana.
_CHAR_SCRIPT = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B–G
)
_CHAR_SCRIPT_RE = re.compile(f"[{_CHAR_SCRIPT}]")
# In a CJK text: one token per CJK character, or per run of other letters/digits ("iPhone").
_CJK_TOKEN_RE = re.compile(f"[{_CHAR_SCRIPT}]|[^\\W_{_CHAR_SCRIPT}]+")


# A letter or digit: exactly the characters of Unicode categories L* and N* (a word
# character that is not "_"; tests/statistics/test_dataset_table.py checks every code point).
LETTER_OR_DIGIT_RE = re.compile(r"[^\W_]")


def count_words(text: str | None) -> int:
    """Words in one transcript, the way Table 1 counts them ("4 to 63 words").

    Chinese (any CJK ideograph or kana present): every character counts, except whitespace
    and punctuation, since Chinese has no spaces and the paper's text features are one token
    per character; a run of Latin letters or digits inside it ("iPhone", "2023") counts once.
    Other scripts: whitespace-separated tokens holding at least one letter or digit, so a
    lone dash or ellipsis is not a word. None or NaN counts 0.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return 0
    text = str(text)
    if _CHAR_SCRIPT_RE.search(text):
        return len(_CJK_TOKEN_RE.findall(text))
    return sum(1 for token in text.split() if LETTER_OR_DIGIT_RE.search(token))


def transcript_words(text: str | None) -> int | None:
    """Table 1's words of an utterance: `count_words`, or None when it has no transcript
    (blank), which Table 1 leaves out of the word range. What `Utterance.words` keeps."""
    if not isinstance(text, str) or not text.strip():
        return None
    return count_words(text)


def _category_counts(values: pd.Series, known: Sequence[str]) -> dict[str, int]:
    cleaned = values.astype(object).where(_decided(values), UNKNOWN).map(str)
    counts = cleaned.value_counts()
    return {k: int(counts.get(k, 0)) for k in _ordered_keys(counts.index, known)}


def dataset_table(utterances: pd.DataFrame) -> dict[str, Any]:
    """The paper's Table 1 for these utterances.

    Needs columns `duration_seconds`, `speaker_gender`, `age_group`, and `words` (each
    utterance's `transcript_words`, as the database keeps them) or `transcript`. Gives
    the number of utterances, total minutes, mean seconds, min/max words (`count_words`),
    and counts by gender and by age group (the paper's categories zero-filled, others after
    them, blanks as "unknown"). Every row given is counted: filter failed rows beforehand.
    Lengths cover the `timed_utterances` (a positive duration: labels-only utterances have
    no media) and words the `transcribed_utterances` (a transcript that is not blank);
    numbers with nothing to cover are None, shown as n/a, never as 0.
    """
    required = {"duration_seconds", "speaker_gender", "age_group"}
    missing = required - set(utterances.columns)
    if not {"words", "transcript"} & set(utterances.columns):
        missing.add("transcript")
    if missing:
        raise ValueError(f"The utterances table lacks the columns {sorted(missing)}.")
    durations = pd.to_numeric(utterances["duration_seconds"], errors="coerce")
    timed = durations[durations > 0]
    if "words" in utterances.columns:
        counted = pd.to_numeric(utterances["words"], errors="coerce").dropna()
        words = [int(n) for n in counted]
    else:  # far faster from a list than by iterating a column
        counted = (transcript_words(t) for t in utterances["transcript"].tolist())
        words = [n for n in counted if n is not None]
    return {
        "utterances": len(utterances),
        "timed_utterances": len(timed),
        "transcribed_utterances": len(words),
        "total_minutes": float(timed.sum()) / 60.0 if len(timed) else None,
        "mean_seconds": float(timed.mean()) if len(timed) else None,
        "min_words": min(words) if words else None,
        "max_words": max(words) if words else None,
        "gender": _category_counts(utterances["speaker_gender"], GENDERS),
        "age_group": _category_counts(utterances["age_group"], AGE_GROUPS),
    }


def dataset_table_by_split(utterances: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Table 1 for each split of an exported dataset (train, validation, test, then others)."""
    if "split" not in utterances.columns:
        raise ValueError("The utterances table has no `split` column; use dataset_table.")
    found = [str(s) for s in utterances["split"].dropna().unique()]
    order = [s for s in SPLITS if s in found] + sorted(set(found) - set(SPLITS))
    return {s: dataset_table(utterances[utterances["split"].astype(str) == s]) for s in order}


# --- progress --------------------------------------------------------------------------------


def agreement_progress(
    job_states: pd.DataFrame | Iterable[tuple[str, str]],
    modalities: Sequence[str] = MODALITIES,
) -> dict[str, dict[str, int]]:
    """How many jobs of each modality are open, need a vote, are decided or discarded.

    `job_states` is a DataFrame with columns `modality` and `state`, or (modality, state)
    pairs, or (modality, state, count) triples already counted (e.g. by SQL); states are
    `verdicts.State` values. Zero-filled, with a `total` per modality.
    """
    if isinstance(job_states, pd.DataFrame):
        rows = zip(job_states["modality"], job_states["state"], strict=True)
    else:
        rows = iter(job_states)
    states = [s.value for s in State]
    result = {u: dict.fromkeys([*states, "total"], 0) for u in modalities}
    for modality, state, *count in rows:
        n = count[0] if count else 1
        state = State(state).value  # raises on an unknown state
        counts = result.setdefault(modality, dict.fromkeys([*states, "total"], 0))
        counts[state] += n
        counts["total"] += n
    return result


# --- JSON ------------------------------------------------------------------------------------


def to_jsonable(obj: Any) -> Any:
    """`obj` as plain JSON types, for `json.dumps(..., allow_nan=False)`.

    NaN, infinities, None and pandas' missing values become null; NumPy scalars and arrays
    become numbers and lists; a DataFrame becomes {row: {column: value}}, a Series
    {index: value}; dataclasses become dicts; tuples and sets become lists; keys become str.
    """
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | str):
        return obj
    if isinstance(obj, datetime | date):  # pd.Timestamp too; early: tables have many
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, pd.DataFrame):
        return {
            str(row): {str(col): to_jsonable(obj.at[row, col]) for col in obj.columns}
            for row in obj.index
        }
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if pd.isna(obj):
            return None
    raise TypeError(f"Cannot turn a {type(obj).__name__} into JSON.")
