"""The pool versus the voting rule: how many different annotators a campaign needs.

With the independence guard on, an annotator votes on one modality of an utterance at most
(labeling/services/assignment.md, 3), so an utterance collected in n modalities needs
n × max_votes different annotators to take every vote the rule may ask for, and
n × initial_votes to start (the paper's 3/3/4 over t, a, v, m: 16, 12 to start). Without
the guard, max_votes per modality (4; 3 to start).

Who may vote is the caller's to say (labeling/selectors/pool.py): one entry per pool member
who may vote (not paused, say), listing the modalities they may vote in now ("" for one who
has passed no exam yet). When exams make those lists
differ, "enough people" is Hall's condition: every set S of modalities needs |S| × votes
members who may vote in at least one of S, since each serves one modality per utterance.
The shortfall is the largest deficit over those sets; that many new members who may vote
everywhere close it. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from labeling.emotions import MODALITY_NAMES
from labeling.verdicts import VotingRule


@dataclass(frozen=True)
class PoolNeed:
    """Different annotators one utterance (guard on) or one modality (guard off) needs."""

    to_start: int  # for the initial votes
    to_finish: int  # for every vote the rule may ask for (splits take more)
    per_utterance: bool  # True with the independence guard


def pool_need(rule: VotingRule, modalities: str, independence_guard: bool) -> PoolNeed:
    """|modalities| × votes with the guard on, votes per modality without it."""
    spread = len(modalities) if independence_guard else 1
    return PoolNeed(spread * rule.initial_votes, spread * rule.max_votes, independence_guard)


def shortfall(votes: int, modalities: str, members: Sequence[str], guard: bool) -> int:
    """Members who may vote everywhere that must join so each modality of an utterance can
    get `votes` votes from different annotators (Hall's condition over sets of modalities)."""
    sizes = range(1, len(modalities) + 1) if guard else (1,)
    deficits = [
        len(group) * votes - sum(1 for allowed in members if set(allowed) & set(group))
        for size in sizes
        for group in combinations(modalities, size)
    ]
    return max([0, *deficits])


def annotators(n: int) -> str:
    return f"{n} annotator{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class PoolCheck:
    """The campaign's need beside its pool, and the warning when the pool is too small."""

    name: str
    rule: VotingRule
    modalities: str
    independence_guard: bool
    need: PoolNeed
    members: int  # pool members counted (not paused, not screening)
    per_modality: dict[str, int]  # of them, those who may vote in each modality now
    short_to_start: int
    short_to_finish: int
    short_without_guard: int  # to finish if the guard were off

    @property
    def enough(self) -> bool:
        return self.short_to_finish == 0

    def as_dict(self) -> dict:
        return {
            "independence_guard": self.independence_guard,
            "modalities": self.modalities,
            "needed": {
                "to_start": self.need.to_start,
                "to_finish": self.need.to_finish,
                "per": "utterance" if self.need.per_utterance else "modality",
            },
            "available": self.members,
            "available_per_modality": self.per_modality,
            "short_to_start": self.short_to_start,
            "short_to_finish": self.short_to_finish,
            "warning": self.warning,
        }

    @property
    def warning(self) -> str:
        """A sentence naming the numbers and the fix, or "" when the pool is large enough."""
        if self.enough:
            return ""
        rule, n = self.rule, len(self.modalities)
        if self.independence_guard:
            need = (
                f"with the independence guard on, every utterance needs {self.need.to_finish} "
                f"different annotators ({n} modalities × {rule.max_votes} votes; "
                f"{self.need.to_start} to start, {n} × {rule.initial_votes})"
            )
        else:
            need = (
                f"every job needs {self.need.to_finish} different annotators "
                f"({self.need.to_start} to start)"
            )
        have = f"the pool has {annotators(self.members)}"
        limited = [m for m in self.modalities if self.per_modality[m] < self.members]
        if limited:
            counts = ", ".join(f"{self.per_modality[m]} in {MODALITY_NAMES[m]}" for m in limited)
            have += f" ({counts}: the others have not passed that exam)"
        short_of_people = self.members < self.need.to_finish
        fix = f"Add {annotators(self.short_to_finish)} to the pool"
        if not short_of_people:
            fix += " who pass every exam, or let more of the pool pass them"
        if self.independence_guard and self.short_without_guard == 0:
            fix += (
                f", or turn the independence guard off (then {rule.max_votes} per modality suffice)"
            )
        cause = "with its pool" if short_of_people else "until more of its pool pass the exams"
        return f"{self.name} cannot finish {cause}: {need}, and {have}. {fix}."


def check_pool(
    rule: VotingRule,
    modalities: str,
    independence_guard: bool,
    members: Sequence[str],
    name: str = "This campaign",
) -> PoolCheck:
    """The pool check for these members (each: the modalities they may vote in now)."""
    return PoolCheck(
        name=name,
        rule=rule,
        modalities=modalities,
        independence_guard=independence_guard,
        need=pool_need(rule, modalities, independence_guard),
        members=len(members),
        per_modality={m: sum(1 for allowed in members if m in allowed) for m in modalities},
        short_to_start=shortfall(rule.initial_votes, modalities, members, independence_guard),
        short_to_finish=shortfall(rule.max_votes, modalities, members, independence_guard),
        short_without_guard=shortfall(rule.max_votes, modalities, members, False),
    )
