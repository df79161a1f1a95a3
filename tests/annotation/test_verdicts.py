"""The paper's voting rule, case by case and over every vote multiset."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeling.verdicts import PAPER_RULE, State, VotingRule, require_majority, verdict

LABELS = ["happiness", "sadness", "fear", "anger", "surprise", "disgust", "neutrality"]


@pytest.mark.parametrize(
    ("votes", "state", "label"),
    [
        ([], State.OPEN, None),
        (["anger"], State.OPEN, None),
        (["anger", "anger"], State.OPEN, None),
        (["anger", "anger", "anger"], State.DECIDED, "anger"),
        (["anger", "anger", "fear"], State.NEEDS_VOTE, None),
        (["anger", "fear", "sadness"], State.DISCARDED, None),
        (["anger", "anger", "fear", "anger"], State.DECIDED, "anger"),
        (["anger", "anger", "fear", "fear"], State.DISCARDED, None),
        (["anger", "anger", "fear", "sadness"], State.DISCARDED, None),
    ],
)
def test_paper_rule_cases(votes, state, label):
    result = verdict(votes)
    assert (result.state, result.label) == (state, label)


def test_fourth_vote_requested_on_two_one_split():
    assert verdict(["fear", "fear", "anger"]).state == State.NEEDS_VOTE


def test_more_votes_than_the_rule_allows_is_an_error():
    with pytest.raises(ValueError, match="exceed"):
        verdict(["anger"] * 5)


vote_lists = st.lists(st.sampled_from(LABELS), min_size=0, max_size=4)


@given(vote_lists)
def test_verdict_depends_only_on_the_multiset_of_votes(votes):
    assert verdict(votes) == verdict(list(reversed(votes))) == verdict(sorted(votes))


def collect(stream, rule=PAPER_RULE):
    """Votes as the workflow gathers them: one at a time until the verdict is final."""
    votes = []
    for label in stream:
        if verdict(votes, rule).is_final:
            break
        votes.append(label)
    return votes


streams = st.lists(st.sampled_from(LABELS), min_size=4, max_size=4)


@given(streams)
def test_every_kept_label_has_three_of_three_or_three_of_four(stream):
    votes = collect(stream)
    result = verdict(votes)
    assert result.is_final
    if result.state == State.DECIDED:
        assert Counter(votes)[result.label] == 3 and len(votes) in (3, 4)


@given(streams)
def test_paper_rule_matches_its_plain_statement(stream):
    votes = collect(stream)
    shape = tuple(sorted(Counter(votes).values(), reverse=True))
    expected = {
        (3,): State.DECIDED,
        (1, 1, 1): State.DISCARDED,
        (3, 1): State.DECIDED,
        (2, 2): State.DISCARDED,
        (2, 1, 1): State.DISCARDED,
    }
    assert verdict(votes).state == expected[shape]


@given(st.lists(st.sampled_from(LABELS), min_size=3, max_size=3))
def test_a_fourth_vote_is_only_ever_asked_after_a_two_one_split(votes):
    asks = verdict(votes).state == State.NEEDS_VOTE
    assert asks == (sorted(Counter(votes).values()) == [1, 2])


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.data())
def test_any_rule_never_decides_without_agreement_and_final_verdicts_stay_final(
    initial, agreement, max_votes, data
):
    if not (agreement <= max_votes and initial <= max_votes):
        with pytest.raises(ValueError):
            VotingRule(initial, agreement, max_votes)
        return
    rule = VotingRule(initial, agreement, max_votes)
    votes = data.draw(st.lists(st.sampled_from(LABELS[:3]), max_size=max_votes))
    result = verdict(votes, rule)
    if result.state == State.DECIDED:
        assert Counter(votes)[result.label] >= agreement
    if len(votes) == max_votes:
        assert result.is_final
    # A job that wants votes can always take one more.
    if result.wants_votes:
        assert len(votes) < max_votes


def test_paper_rule_is_the_default():
    assert PAPER_RULE == VotingRule(initial_votes=3, agreement=3, max_votes=4)


@given(st.lists(st.sampled_from(LABELS[:3]), min_size=4, max_size=4), st.randoms())
def test_a_tie_is_never_decided_by_the_order_of_the_votes(votes, random):
    rule = VotingRule(4, 2, 4)  # a rule a campaign may no longer have, still read the same way
    shuffled = random.sample(votes, len(votes))
    assert verdict(votes, rule) == verdict(shuffled, rule)
    leaders = [n for n in Counter(votes).values() if n == max(Counter(votes).values())]
    if len(leaders) > 1:
        assert verdict(votes, rule).state != State.DECIDED


@pytest.mark.parametrize(("agreement", "max_votes"), [(2, 4), (3, 6), (1, 2)])
def test_a_rule_whose_agreement_is_not_a_majority_of_max_votes_is_refused(agreement, max_votes):
    with pytest.raises(ValueError, match="more than half"):
        require_majority(VotingRule(1, agreement, max_votes))
    require_majority(VotingRule(1, agreement + 1, max_votes))
