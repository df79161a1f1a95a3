"""The suspect-vote rule on its own (labeling/suspects.py, no database)."""

from labeling.suspects import (
    ModelGuess,
    SuspectRate,
    as_answer,
    is_suspect,
    model_disagrees,
    should_pause,
    suspect_rate,
)

S = frozenset


def test_a_vote_against_the_verdict_and_a_confident_model_is_suspect():
    assert is_suspect("fear", "anger", ModelGuess("anger", 0.9), tau=0.8)


def test_a_vote_the_confident_model_backs_is_not_suspect():
    assert not is_suspect("fear", "anger", ModelGuess("fear", 0.95), tau=0.8)


def test_a_vote_against_both_is_suspect_even_when_the_model_doubts_the_verdict():
    assert is_suspect("sadness", "anger", ModelGuess("fear", 0.9), tau=0.8)


def test_an_unconfident_model_flags_nothing_and_tau_is_inclusive():
    assert not is_suspect("fear", "anger", ModelGuess("anger", 0.79), tau=0.8)
    assert is_suspect("fear", "anger", ModelGuess("anger", 0.8), tau=0.8)


def test_without_a_final_label_or_a_prediction_nothing_is_suspect():
    assert not is_suspect("fear", None, ModelGuess("anger", 0.99), tau=0.5)
    assert not is_suspect("fear", "anger", None, tau=0.5)


def test_votes_agreeing_with_the_verdict_are_never_suspect():
    assert not is_suspect("anger", "anger", ModelGuess("fear", 0.99), tau=0.5)


def test_multi_label_sets_compare_as_sets_whatever_the_order():
    assert as_answer("", ["fear", "anger"]) == as_answer("", ["anger", "fear"])
    final, model = S({"anger", "fear"}), ModelGuess(S({"fear", "anger"}), 0.9)
    assert is_suspect(S({"anger"}), final, model, tau=0.8)
    assert not is_suspect(S({"fear", "anger"}), final, model, tau=0.8)
    assert is_suspect(S(), final, model, tau=0.8)  # "none of these" against both
    assert not is_suspect(S({"joy"}), final, ModelGuess(S({"joy"}), 0.9), tau=0.8)


def test_a_prediction_of_the_other_label_mode_never_counts():
    assert not is_suspect("fear", "anger", ModelGuess(S({"anger"}), 0.99), tau=0.5)
    assert not model_disagrees("anger", ModelGuess(S({"fear"}), 0.99), tau=0.5)


def test_the_review_filter_needs_a_final_label_and_a_confident_other_prediction():
    assert model_disagrees("anger", ModelGuess("fear", 0.9), tau=0.8)
    assert not model_disagrees("anger", ModelGuess("anger", 0.9), tau=0.8)
    assert not model_disagrees("anger", ModelGuess("fear", 0.7), tau=0.8)
    assert not model_disagrees(None, ModelGuess("fear", 0.9), tau=0.8)


def test_the_rate_counts_only_decided_votes():
    rate = suspect_rate(
        [
            ("fear", "anger", ModelGuess("anger", 0.9)),  # suspect
            ("anger", "anger", ModelGuess("anger", 0.9)),
            ("fear", None, ModelGuess("anger", 0.9)),  # job not decided: not counted
            ("joy", "anger", None),  # decided, no prediction: counted, not suspect
        ],
        tau=0.8,
    )
    assert (rate.decided, rate.suspect, rate.rate) == (3, 1, 1 / 3)
    assert SuspectRate(0, 0).rate is None


def test_pausing_needs_it_switched_on_enough_votes_and_a_rate_strictly_above():
    assert not should_pause(SuspectRate(20, 20), pause_above=0, min_votes=1)
    assert not should_pause(SuspectRate(19, 19), pause_above=0.2, min_votes=20)
    assert not should_pause(SuspectRate(20, 4), pause_above=0.2, min_votes=20)
    assert should_pause(SuspectRate(20, 5), pause_above=0.2, min_votes=20)
