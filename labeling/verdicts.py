"""The voting rule that turns annotators' votes on one (utterance, modality) job into a verdict.

The paper's rule (§3.1): three annotators vote; 3:0 decides; 1:1:1 discards; 2:1 brings a
fourth, after which 3:1 decides and 2:2 or 2:1:1 discards. So every kept label has 3 of 3
or 3 of 4 votes.

Generalised with three numbers (the paper's defaults in brackets):
    initial_votes [3]  votes collected before any verdict is considered
    agreement     [3]  votes one label needs to be decided
    max_votes     [4]  votes a job may ever receive

Once `initial_votes` are in: a label with `agreement` votes is decided; if no label can
still reach `agreement` with the votes left (up to `max_votes`), the job is discarded;
otherwise it needs another vote. A campaign's agreement must be more than half of
`max_votes` (`require_majority`), so two labels can never both reach it; should a rule
allow it anyway, the tie is discarded, never broken by the order the votes came in. Pure:
no Django, so it is tested over every vote multiset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    OPEN = "open"  # fewer than the initial votes
    NEEDS_VOTE = "needs_vote"  # split, but a further vote can still decide it
    DECIDED = "decided"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class VotingRule:
    initial_votes: int = 3
    agreement: int = 3
    max_votes: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.agreement <= self.max_votes:
            raise ValueError("agreement must be between 1 and max_votes")
        if not 1 <= self.initial_votes <= self.max_votes:
            raise ValueError("initial_votes must be between 1 and max_votes")


PAPER_RULE = VotingRule()


def require_majority(rule: VotingRule) -> None:
    """Refuse a campaign rule under which two labels can tie at the agreement (2:2 of 4)."""
    if 2 * rule.agreement <= rule.max_votes:
        raise ValueError(
            f"Votes a label needs ({rule.agreement}) must be more than half of the most votes "
            f"a job may get ({rule.max_votes}), or two labels could tie at "
            f"{rule.agreement}:{rule.agreement}; raise the agreement to at least "
            f"{rule.max_votes // 2 + 1} or lower the most votes to {2 * rule.agreement - 1}."
        )


class Settles:
    """What a verdict's state says about more votes (shared with multi-label verdicts)."""

    state: State

    @property
    def is_final(self) -> bool:
        return self.state in (State.DECIDED, State.DISCARDED)

    @property
    def wants_votes(self) -> bool:
        return not self.is_final


@dataclass(frozen=True)
class Verdict(Settles):
    state: State
    label: str | None = None


def verdict(votes: Iterable[str], rule: VotingRule = PAPER_RULE) -> Verdict:
    """The verdict for these votes (labels, one per annotator) under `rule`."""
    counts = Counter(votes)
    cast = sum(counts.values())
    if cast > rule.max_votes:
        raise ValueError(f"{cast} votes exceed the rule's maximum of {rule.max_votes}")
    if cast < rule.initial_votes:
        return Verdict(State.OPEN)
    top = max(counts.values())
    leaders = [label for label, n in counts.items() if n == top]
    if top >= rule.agreement:
        return Verdict(State.DECIDED, leaders[0]) if len(leaders) == 1 else Verdict(State.DISCARDED)
    if top + (rule.max_votes - cast) < rule.agreement:
        return Verdict(State.DISCARDED)
    return Verdict(State.NEEDS_VOTE)


def open_slots(state: State, cast: int, rule: VotingRule = PAPER_RULE) -> int:
    """How many more votes a job in `state` with `cast` votes may be handed out for now.

    Open jobs take votes up to the initial count at once; a split job takes one at a time,
    since each further vote may settle it.
    """
    if state == State.OPEN:
        return max(rule.initial_votes - cast, 0)
    if state == State.NEEDS_VOTE:
        return 1
    return 0
