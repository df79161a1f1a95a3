"""The multi-label voting rule: case by case, and its properties over random votes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeling.multilabel_verdicts import (
    ABSENT,
    PRESENT,
    MultiLabelVerdict,
    emotion_votes,
    in_label_order,
    multilabel_verdict,
)
from labeling.verdicts import PAPER_RULE, State, VotingRule, open_slots, verdict

LABELS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
H, S, A = "happy", "sad", "anger"


def ml(*sets):
    return [frozenset(s) for s in sets]


@pytest.mark.parametrize(
    ("votes", "policy", "expected"),
    [
        (ml(), "discard", MultiLabelVerdict(State.OPEN)),
        (ml({H}, {H}), "discard", MultiLabelVerdict(State.OPEN)),
        # 3:0 on every emotion: happy present, the rest absent.
        (ml({H}, {H}, {H}), "discard", MultiLabelVerdict(State.DECIDED, frozenset({H}))),
        (
            ml({H, S}, {H, S}, {S, H}),
            "discard",
            MultiLabelVerdict(State.DECIDED, frozenset({H, S})),
        ),
        # "none of these" three times: decided, nothing present.
        (ml(set(), set(), set()), "discard", MultiLabelVerdict(State.DECIDED, frozenset())),
        # sad 2:1 brings a fourth vote for the whole item.
        (ml({H, S}, {H, S}, {H}), "discard", MultiLabelVerdict(State.NEEDS_VOTE)),
        # ... after which 3:1 decides.
        (
            ml({H, S}, {H, S}, {H}, {H, S}),
            "discard",
            MultiLabelVerdict(State.DECIDED, frozenset({H, S})),
        ),
        (ml({H, S}, {H, S}, {H}, {H}), "discard", MultiLabelVerdict(State.DISCARDED)),
        # 2:2 on sad under "mark": sad alone is undecided, happy stands.
        (
            ml({H, S}, {H, S}, {H}, {H}),
            "mark",
            MultiLabelVerdict(State.DECIDED, frozenset({H}), frozenset({S})),
        ),
        # Three emotions split 2:1; anger ends 1:3 (absent), happy and sad 2:2.
        (
            ml({H, S}, {H, A}, {S}, set()),
            "mark",
            MultiLabelVerdict(State.DECIDED, frozenset(), frozenset({H, S})),
        ),
        (ml({H, S}, {H, A}, {S}, set()), "discard", MultiLabelVerdict(State.DISCARDED)),
        (ml({H, S}, {H, A}, {S}, {A}), "mark", MultiLabelVerdict(State.DISCARDED)),
    ],
)
def test_paper_rule_per_emotion_cases(votes, policy, expected):
    assert multilabel_verdict(votes, LABELS[:3], PAPER_RULE, policy) == expected


def test_fourth_vote_requested_when_any_emotion_splits_two_one():
    votes = ml({H}, {H}, {H, A})
    assert multilabel_verdict(votes, LABELS).state == State.NEEDS_VOTE
    assert open_slots(State.NEEDS_VOTE, 3) == 1


def test_mark_policy_discards_an_item_with_no_emotion_decided():
    votes = ml({H}, {H}, set(), set())
    assert multilabel_verdict(votes, [H], PAPER_RULE, "mark").state == State.DISCARDED


def test_votes_outside_the_label_set_or_beyond_the_maximum_are_errors():
    with pytest.raises(ValueError, match="outside the label set: joy"):
        multilabel_verdict(ml({"joy"}), LABELS)
    with pytest.raises(ValueError, match="exceed"):
        multilabel_verdict(ml(*[{H}] * 5), LABELS)
    with pytest.raises(ValueError):
        multilabel_verdict(ml({H}), LABELS, PAPER_RULE, "keep")


def test_label_sets_are_stored_in_the_campaigns_order():
    assert in_label_order({"fear", "happy", "anger"}, LABELS) == ["happy", "anger", "fear"]


label_sets = st.frozensets(st.sampled_from(LABELS))
vote_lists = st.lists(label_sets, min_size=0, max_size=4)
policies = st.sampled_from(["discard", "mark"])


@given(vote_lists, policies, st.randoms())
def test_verdict_depends_only_on_the_multiset_of_votes(votes, policy, random):
    shuffled = random.sample(votes, len(votes))
    assert multilabel_verdict(votes, LABELS, undecided=policy) == multilabel_verdict(
        shuffled, LABELS, undecided=policy
    )


@given(vote_lists, policies)
def test_every_decided_emotion_agrees_with_the_single_label_rule_on_its_binary_votes(votes, policy):
    result = multilabel_verdict(votes, LABELS, undecided=policy)
    binary = {label: verdict(emotion_votes(votes, label)) for label in LABELS}
    if result.state == State.DECIDED:
        for label in LABELS:
            if label in result.undecided:
                assert binary[label].state == State.DISCARDED
            else:
                assert binary[label].state == State.DECIDED
                assert (label in result.present) == (binary[label].label == PRESENT)
    wants = any(v.state == State.NEEDS_VOTE for v in binary.values())
    lost = any(v.state == State.DISCARDED for v in binary.values())
    if result.state == State.NEEDS_VOTE:
        assert wants and (policy == "mark" or not lost)
    if result.state == State.DISCARDED:
        assert lost


@given(vote_lists, policies)
def test_with_one_emotion_the_rule_is_the_single_label_rule(votes, policy):
    single = verdict(emotion_votes(votes, H))
    result = multilabel_verdict(votes, LABELS, undecided=policy)
    # Restrict to one label by projecting the votes onto it.
    projected = [vote & {H} for vote in votes]
    only = multilabel_verdict(projected, [H], undecided=policy)
    assert only.state == single.state
    if single.state == State.DECIDED:
        assert (H in only.present) == (single.label == PRESENT)
    assert (H in result.present) <= (single.label == PRESENT)


def collect(stream, rule, policy):
    """Votes as the workflow gathers them: one at a time until the verdict is final."""
    votes = []
    for vote in stream:
        if multilabel_verdict(votes, LABELS, rule, policy).is_final:
            break
        votes.append(vote)
    return votes


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), policies, st.data())
def test_any_rule_collects_between_initial_and_max_votes_and_then_is_final(
    initial, agreement, max_votes, policy, data
):
    if not (agreement <= max_votes and initial <= max_votes):
        return
    rule = VotingRule(initial, agreement, max_votes)
    stream = data.draw(st.lists(label_sets, min_size=max_votes, max_size=max_votes))
    votes = collect(stream, rule, policy)
    result = multilabel_verdict(votes, LABELS, rule, policy)
    assert result.is_final
    assert rule.initial_votes <= len(votes) <= rule.max_votes
    for k in range(len(votes)):  # never final, let alone decided, before the last vote
        early = multilabel_verdict(votes[:k], LABELS, rule, policy)
        assert not early.is_final
        if k < rule.initial_votes:
            assert early.state == State.OPEN
    if result.state == State.DECIDED:
        for label in LABELS:
            if label not in result.undecided:
                side = PRESENT if label in result.present else ABSENT
                assert emotion_votes(votes, label).count(side) >= agreement


@given(st.lists(label_sets, min_size=4, max_size=4), policies)
def test_paper_rule_keeps_every_emotion_at_three_of_three_or_three_of_four_or_more(stream, policy):
    votes = collect(stream, PAPER_RULE, policy)
    result = multilabel_verdict(votes, LABELS, PAPER_RULE, policy)
    assert len(votes) in (3, 4)
    if result.state == State.DECIDED:
        for label in set(LABELS) - result.undecided:
            side = PRESENT if label in result.present else ABSENT
            agreeing = emotion_votes(votes, label).count(side)
            # The fourth vote is for the whole item: an emotion 3:0 before it may end 4:0.
            assert agreeing == 3 or (agreeing == 4 and len(votes) == 4)
        assert result.present <= set().union(*votes)
        assert not result.present & result.undecided
