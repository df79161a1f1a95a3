"""Train / validation / test assignment (§3.1: shuffled, then split 6:2:2).

Each id gets its split from its own keyed hash, ``sha256(f"{seed}\\0{id}")`` read as a number
in [0, 1): below 0.6 → train, below 0.8 → validation, else test. An id's split depends only
on the seed and the id (not on the other ids, their order, nor the Python or NumPy
version), so adding utterances to a corpus never moves one already there and a re-export
never leaks test items into training. The sizes are 6:2:2 up to sampling noise (about
±1.5 % of n at n = 1,000).

``exact_sizes`` cuts the ids, in the same hash order, at exactly ⌊0.6·n + ½⌋ and
⌊0.8·n + ½⌋ instead (``split_sizes``); adding ids then shifts the cut points, so existing
ids may move between splits. Stratifying by a label is such a cut per label.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction

SPLITS: tuple[str, ...] = ("train", "validation", "test")
POOL = "pool"  # a pool export's one split: utterances without final labels (writer, pool=True)
PAPER_RATIO: tuple[float, float, float] = (0.6, 0.2, 0.2)


def split_sizes(n: int, ratio: Sequence[float] = PAPER_RATIO) -> tuple[int, int, int]:
    """Sizes of train, validation and test for ``n`` utterances; they always sum to ``n``.

    Rounding is on the cumulative boundaries, half up: train = ⌊r₀·n + ½⌋,
    train + validation = ⌊(r₀ + r₁)·n + ½⌋, test = the rest (ratios normalised to sum 1,
    computed exactly with fractions). 10 → 6/2/2, 12 → 7/3/2, 7 → 4/2/1, 3 → 2/0/1.
    """
    fractions = _normalised(ratio)
    if n < 0:
        raise ValueError("n must not be negative.")
    first = math.floor(fractions[0] * n + Fraction(1, 2))
    second = math.floor((fractions[0] + fractions[1]) * n + Fraction(1, 2))
    return first, second - first, n - second


def split_utterances(
    ids: Iterable[Hashable],
    *,
    seed: int | str,
    ratio: Sequence[float] = PAPER_RATIO,
    stratify_by: Mapping[Hashable, Hashable] | None = None,
    exact_sizes: bool = False,
) -> dict[Hashable, str]:
    """Assign every id to ``train``, ``validation`` or ``test``.

    By default each id by its own hash threshold, so growing the corpus moves no id. With
    ``exact_sizes`` the ids are put in the seed's hash order and cut with ``split_sizes``
    (exact sizes; ids may move when others are added); ``stratify_by`` (id → label, needs
    ``exact_sizes``) cuts each label's ids separately, so every class is split 6:2:2 on its
    own (the totals may then differ by a few from the unstratified sizes).
    """
    ids = list(ids)
    if len(set(ids)) != len(ids):
        duplicates = sorted(str(i) for i, count in Counter(ids).items() if count > 1)
        raise ValueError(f"Utterance ids must be unique; repeated: {', '.join(duplicates[:5])}.")
    fractions = _normalised(ratio)
    if not exact_sizes:
        if stratify_by is not None:
            raise ValueError(
                "Stratifying cuts each class to exact sizes: pass exact_sizes=True (ids may "
                "then move between splits when the corpus grows)."
            )
        bounds = (fractions[0], fractions[0] + fractions[1])
        return {i: _by_threshold(_shuffle_key(seed, i), bounds) for i in ids}
    if stratify_by is None:
        groups = {None: ids}
    else:
        missing = [i for i in ids if i not in stratify_by]
        if missing:
            raise ValueError(
                f"stratify_by has no label for {len(missing)} ids (e.g. {missing[0]!r}); "
                "give every id a label or split without stratification."
            )
        groups = {}
        for i in ids:
            groups.setdefault(stratify_by[i], []).append(i)
    assignment: dict[Hashable, str] = {}
    for label in sorted(groups, key=str):
        ordered = sorted(groups[label], key=lambda i: (_shuffle_key(seed, i), str(i)))
        train, validation, _ = split_sizes(len(ordered), ratio)
        for position, i in enumerate(ordered):
            if position < train:
                assignment[i] = "train"
            elif position < train + validation:
                assignment[i] = "validation"
            else:
                assignment[i] = "test"
    return assignment


def _by_threshold(key: bytes, bounds: tuple[Fraction, Fraction]) -> str:
    """The split of the id whose hash is `key`: its place in [0, 1) against the bounds."""
    place = Fraction(int.from_bytes(key, "big"), 1 << (8 * len(key)))
    return "train" if place < bounds[0] else "validation" if place < bounds[1] else "test"


def _shuffle_key(seed: int | str, utterance_id: Hashable) -> bytes:
    return hashlib.sha256(f"{seed}\0{utterance_id}".encode()).digest()


def _normalised(ratio: Sequence[float]) -> tuple[Fraction, Fraction, Fraction]:
    if len(ratio) != 3:
        raise ValueError(f"ratio needs three parts (train, validation, test); got {ratio!r}.")
    parts = [Fraction(r).limit_denominator(10**6) for r in ratio]
    if any(p < 0 for p in parts) or sum(parts) == 0:
        raise ValueError(f"ratio parts must be non-negative and not all zero; got {ratio!r}.")
    total = sum(parts)
    return tuple(p / total for p in parts)  # type: ignore[return-value]
