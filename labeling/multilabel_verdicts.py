"""The voting rule of a multi-label campaign: "choose all emotions that apply".

Each vote is the set of emotions one annotator saw (the empty set is "none of these").
Every emotion of the campaign is a present/absent question decided by the campaign's own
`VotingRule` applied to that emotion's binary votes (present when the emotion is in a vote,
absent when not), exactly as `labeling.verdicts.verdict` decides a single-label job. With
the paper's rule 3/3/4 per emotion: 3:0 decides, 2:1 brings a fourth vote for the whole
item, 3:1 decides, 2:2 leaves that emotion undecided.

The item (one job) then is:
    open        fewer than the rule's initial votes;
    needs_vote  some emotion can still be decided by a further vote (and, under the
                "discard" policy, no emotion is already undecidable);
    discarded   "discard" policy: some emotion can no longer be decided;
                "mark" policy: no emotion at all could be decided;
    decided     every emotion decided, or ("mark") decided except those marked undecided.

A job's state keeps the single-label meaning, so `labeling.verdicts.open_slots` and the
assignment guarantees apply unchanged. Design note: multilabel_verdicts.md. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from labeling.verdicts import PAPER_RULE, Settles, State, Verdict, VotingRule, verdict

PRESENT, ABSENT = "present", "absent"


class UndecidedPolicy(StrEnum):
    DISCARD = "discard"  # an item with any undecidable emotion is discarded
    MARK = "mark"  # that emotion alone is marked undecided; the others stand


@dataclass(frozen=True)
class MultiLabelVerdict(Settles):
    state: State
    present: frozenset[str] = frozenset()  # decided present (only when decided)
    undecided: frozenset[str] = frozenset()  # marked undecided ("mark" policy, decided only)


def emotion_votes(votes: Iterable[frozenset[str]], label: str) -> list[str]:
    """One emotion's binary votes: present where the vote names it, absent elsewhere."""
    return [PRESENT if label in vote else ABSENT for vote in votes]


def emotion_verdicts(
    votes: Sequence[frozenset[str]], labels: Sequence[str], rule: VotingRule = PAPER_RULE
) -> dict[str, Verdict]:
    """Each emotion's own verdict under the rule (labels in the campaign's order)."""
    return {label: verdict(emotion_votes(votes, label), rule) for label in labels}


def multilabel_verdict(
    votes: Sequence[frozenset[str]],
    labels: Sequence[str],
    rule: VotingRule = PAPER_RULE,
    undecided: str = UndecidedPolicy.DISCARD,
) -> MultiLabelVerdict:
    """The verdict for these votes (one set of emotions per annotator) under `rule`."""
    policy = UndecidedPolicy(undecided)
    if not labels:
        raise ValueError("a multi-label verdict needs at least one label")
    votes = [frozenset(vote) for vote in votes]
    unknown = set().union(*votes) - set(labels)
    if unknown:
        raise ValueError(f"votes name labels outside the label set: {', '.join(sorted(unknown))}")
    if len(votes) > rule.max_votes:
        raise ValueError(f"{len(votes)} votes exceed the rule's maximum of {rule.max_votes}")
    if len(votes) < rule.initial_votes:
        return MultiLabelVerdict(State.OPEN)
    per_emotion = emotion_verdicts(votes, labels, rule)
    lost = frozenset(label for label, v in per_emotion.items() if v.state == State.DISCARDED)
    if lost and policy == UndecidedPolicy.DISCARD:
        return MultiLabelVerdict(State.DISCARDED)
    if any(v.state == State.NEEDS_VOTE for v in per_emotion.values()):
        return MultiLabelVerdict(State.NEEDS_VOTE)
    if len(lost) == len(per_emotion):
        return MultiLabelVerdict(State.DISCARDED)
    present = frozenset(label for label, v in per_emotion.items() if v.label == PRESENT)
    return MultiLabelVerdict(State.DECIDED, present, lost)


def in_label_order(chosen: Iterable[str], labels: Sequence[str]) -> list[str]:
    """A set of emotions as stored: a list in the campaign's label order."""
    chosen = set(chosen)
    return [label for label in labels if label in chosen]
