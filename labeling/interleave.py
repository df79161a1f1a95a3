"""The order in which a campaign's jobs are handed out, among jobs of equal priority.

Pure (no Django): `interleaved_turns` gives each (utterance, modality) a *turn*. Utterances
are shuffled with the campaign's seed; the jobs then come in rounds, one job per utterance
in each round, with the modality rotating from one utterance to the next:

    round 0:  u3·t  u1·a  u4·v  u0·m  u2·t ...
    round 1:  u3·a  u1·v  u4·m  u0·t  u2·a ...

So any run of consecutive jobs covers the modalities evenly, and an utterance comes back
(in another modality) only after every other utterance had its turn in the round: what the
independence guard wants anyway. Design note: services/assignment.md.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

ROUND = 2**28  # turn = round × ROUND + position: room for 268 M utterances, fits int32


def interleaved_turns(
    utterance_ids: Iterable[int], modalities: str, seed: int, start: int = 0
) -> dict[tuple[int, str], int]:
    """(utterance id, modality) → turn for these utterances, placed after the `start` ones
    a campaign already has (utterances added later join the end of each round)."""
    order = sorted(utterance_ids)
    random.Random(f"{seed}:{start}").shuffle(order)
    n = len(modalities)
    turns = {}
    for offset, utterance_id in enumerate(order):
        position = (start + offset) % ROUND
        for index, modality in enumerate(modalities):
            turns[utterance_id, modality] = ((index + position + seed) % n) * ROUND + position
    return turns
