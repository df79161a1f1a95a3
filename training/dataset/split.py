"""Train / validation / test assignment (§3.1: shuffled, then split 6:2:2).

The shuffle is a keyed hash, not a random generator: each id's place is
``sha256(f"{seed}\\0{id}")``, so the split depends only on the seed and the set of ids (not on
their input order, nor on the Python or NumPy version), and adding utterances to a corpus
never reorders the ones already there.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction

SPLITS: tuple[str, ...] = ("train", "validation", "test")
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
) -> dict[Hashable, str]:
    """Assign every id to ``train``, ``validation`` or ``test``.

    Ids are put in the seed's keyed-hash order and cut with ``split_sizes``. With
    ``stratify_by`` (id → label), each label's ids are cut separately, so every class is
    split 6:2:2 on its own (the totals may then differ by a few from the unstratified sizes).
    """
    ids = list(ids)
    if len(set(ids)) != len(ids):
        duplicates = sorted(str(i) for i, count in Counter(ids).items() if count > 1)
        raise ValueError(f"Utterance ids must be unique; repeated: {', '.join(duplicates[:5])}.")
    _normalised(ratio)
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
