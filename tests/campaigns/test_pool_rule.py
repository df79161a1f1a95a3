"""The pool versus the rule, on hand-computed cases (pure: no database)."""

from labeling.pool import check_pool, pool_need, shortfall
from labeling.verdicts import VotingRule

PAPER = VotingRule(3, 3, 4)


def test_with_the_guard_four_modalities_of_three_three_four_need_sixteen_twelve_to_start():
    need = pool_need(PAPER, "tavm", independence_guard=True)
    assert (need.to_finish, need.to_start, need.per_utterance) == (16, 12, True)


def test_without_the_guard_each_modality_needs_max_votes_annotators():
    need = pool_need(PAPER, "tavm", independence_guard=False)
    assert (need.to_finish, need.to_start, need.per_utterance) == (4, 3, False)


def test_the_need_follows_the_rule_and_the_modalities():
    assert pool_need(VotingRule(2, 2, 3), "ta", True).to_finish == 6
    assert pool_need(VotingRule(2, 2, 3), "ta", True).to_start == 4
    assert pool_need(VotingRule(1, 1, 1), "tavm", True).to_finish == 4


def test_the_demo_pool_of_six_is_ten_short_with_the_guard_and_enough_without():
    check = check_pool(PAPER, "tavm", True, ["tavm"] * 6, name="Demo")
    assert (check.short_to_start, check.short_to_finish, check.short_without_guard) == (6, 10, 0)
    assert not check.enough
    assert check.warning == (
        "Demo cannot finish with its pool: with the independence guard on, every utterance "
        "needs 16 different annotators (4 modalities × 4 votes; 12 to start, 4 × 3), and the "
        "pool has 6 annotators. Add 10 annotators to the pool, or turn the independence guard "
        "off (then 4 per modality suffice)."
    )
    assert check_pool(PAPER, "tavm", False, ["tavm"] * 6).warning == ""
    assert check_pool(PAPER, "tavm", True, ["tavm"] * 16).enough


def test_a_pool_short_even_without_the_guard_is_not_told_to_turn_it_off():
    check = check_pool(PAPER, "tavm", False, ["tavm"] * 3)
    assert check.short_to_finish == 1 and check.short_to_start == 0
    assert "every job needs 4 different annotators (3 to start)" in check.warning
    assert check.warning.endswith("Add 1 annotator to the pool.")
    assert "guard" not in check.warning


def test_members_who_passed_few_exams_count_by_halls_condition():
    # Ten may vote everywhere, eight only on text: a, v and m together need 12 and have 10.
    members = ["tavm"] * 10 + ["t"] * 8
    assert shortfall(4, "tavm", members, guard=True) == 2
    check = check_pool(PAPER, "tavm", True, members)
    assert check.members == 18 and check.per_modality == {"t": 18, "a": 10, "v": 10, "m": 10}
    assert "until more of its pool pass the exams" in check.warning
    assert "10 in audio" in check.warning and "Add 2 annotators" in check.warning
    # Without the guard each modality counts alone.
    assert shortfall(4, "tavm", members, guard=False) == 0


def test_a_member_who_passed_no_exam_yet_counts_in_the_pool_but_votes_nowhere():
    check = check_pool(VotingRule(1, 1, 1), "ta", True, ["", "", "t"])
    assert check.members == 3 and check.per_modality == {"t": 1, "a": 0}
    assert check.short_to_finish == 1
