"""The job orders' turn values on hand-made predictions (labeling/job_order.py, pure)."""

import pytest

from labeling.interleave import interleaved_turns
from labeling.job_order import (
    JobKey,
    disagreement,
    disagreement_scores,
    job_turns,
    modality_discard_rates,
)

# utterances 10, 11, 12 × modalities t, m; job ids deliberately not in utterance order
JOBS = [
    JobKey(5, 10, "t"), JobKey(2, 10, "m"),
    JobKey(9, 11, "t"), JobKey(1, 11, "m"),
    JobKey(7, 12, "t"), JobKey(3, 12, "m"),
]  # fmt: skip


def in_order(turns):
    return [job_id for job_id, _ in sorted(turns.items(), key=lambda kv: kv[1])]


def test_id_order_hands_out_by_job_id():
    assert in_order(job_turns("id", JOBS, "tm", seed=1)) == [1, 2, 3, 5, 7, 9]


def test_shuffled_order_is_todays_interleaving_with_the_campaign_seed():
    turns = job_turns("shuffled", JOBS, "tm", seed=4)
    expected = interleaved_turns({10, 11, 12}, "tm", 4)
    assert turns == {j.id: expected[j.utterance_id, j.modality] for j in JOBS}
    assert turns == job_turns("shuffled", list(reversed(JOBS)), "tm", seed=4)


def test_uncertainty_puts_highest_entropy_first_and_unpredicted_jobs_last_shuffled():
    entropy = {(10, "t"): 0.2, (11, "t"): 1.5, (12, "t"): 0.9, (10, "m"): 1.1, (12, "m"): 0.1}
    turns = job_turns("uncertainty", JOBS, "tm", seed=4, entropy=entropy)
    assert sorted(turns.values()) == list(range(len(JOBS)))
    assert in_order(turns)[:5] == [9, 2, 7, 5, 3]
    assert in_order(turns)[5] == 1  # utterance 11's m head was never predicted


def test_unpredicted_jobs_keep_their_shuffled_order_among_themselves():
    turns = job_turns("uncertainty", JOBS, "tm", seed=4, entropy={(11, "t"): 1.0})
    shuffled = job_turns("shuffled", JOBS, "tm", seed=4)
    rest = [j for j in in_order(turns) if j != 9]
    assert in_order(turns)[0] == 9
    assert rest == [j for j in in_order(shuffled) if j != 9]


def test_single_label_disagreement_is_one_minus_m_probability_of_the_uni_modal_label():
    assert disagreement([0.7, 0.2, 0.1], [0.1, 0.6, 0.3]) == pytest.approx(0.9)
    assert disagreement([0.2, 0.7, 0.1], [0.1, 0.6, 0.3]) == pytest.approx(0.4)


def test_multi_label_disagreement_is_the_mean_per_emotion_difference():
    assert disagreement([0.9, 0.1], [0.3, 0.5], multi_label=True) == pytest.approx(0.5)


def test_disagreement_refuses_heads_over_different_classes():
    with pytest.raises(ValueError, match="same classes"):
        disagreement([0.5, 0.5], [1.0])


def test_m_job_scores_its_most_disagreeing_uni_modal_head():
    p = {
        (1, "t"): [0.9, 0.1], (1, "a"): [0.2, 0.8], (1, "v"): [0.6, 0.4],
        (1, "m"): [0.7, 0.3],
    }  # fmt: skip
    scores = disagreement_scores([JobKey(1, 1, "m"), JobKey(2, 1, "a")], p)
    assert scores[1] == pytest.approx(0.7)  # a says class 1, m gives it 0.3
    assert scores[2] == pytest.approx(0.7)


def test_disagreement_order_ranks_jobs_and_leaves_jobs_without_both_heads_last():
    p = {
        (10, "t"): [0.9, 0.1], (10, "m"): [0.8, 0.2],  # agree: 0.2
        (11, "t"): [0.1, 0.9], (11, "m"): [0.95, 0.05],  # disagree: 0.95
        (12, "t"): [0.5, 0.5],  # no m head for utterance 12
    }  # fmt: skip
    turns = job_turns("disagreement", JOBS, "tm", seed=4, probabilities=p)
    order = in_order(turns)
    shuffled = job_turns("shuffled", JOBS, "tm", seed=4)
    by_shuffle = lambda ids: sorted(ids, key=shuffled.get)  # noqa: E731
    # 11·t and 11·m score 0.95 (an m job with only t predicted: that head), 10·t and 10·m 0.2;
    # equal scores keep the shuffled order, and utterance 12 (no m head) comes last
    assert order == by_shuffle([9, 1]) + by_shuffle([5, 2]) + by_shuffle([7, 3])


def test_unknown_order_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="id, shuffled, uncertainty, disagreement or utterances"):
        job_turns("random", JOBS, "tm", seed=1)


def test_utterances_order_ranks_utterances_by_the_m_head_and_keeps_their_jobs_together():
    # The t heads would rank single jobs otherwise; only the m head's entropy counts here.
    entropy = {(10, "m"): 0.4, (11, "m"): 1.3, (12, "t"): 9.0, (10, "t"): 5.0}
    turns = job_turns("utterances", JOBS, "tm", seed=4, entropy=entropy)
    assert sorted(turns.values()) == list(range(len(JOBS)))
    utterance_of = {j.id: j.utterance_id for j in JOBS}
    assert [utterance_of[j] for j in in_order(turns)] == [11, 11, 10, 10, 12, 12]


def test_utterances_order_puts_an_utterance_with_a_discarded_job_last():
    entropy = {(10, "m"): 0.4, (11, "m"): 1.3, (12, "m"): 0.1}
    turns = job_turns("utterances", JOBS, "tm", seed=4, entropy=entropy, lost={11})
    assert sorted(turns.values()) == list(range(len(JOBS)))
    utterance_of = {j.id: j.utterance_id for j in JOBS}
    # The most uncertain utterance cannot enter the dataset any more: everything else first.
    assert [utterance_of[j] for j in in_order(turns)] == [10, 10, 12, 12, 11, 11]
    # Other orders rank jobs, not utterances: `lost` leaves them as they are.
    assert job_turns("uncertainty", JOBS, "tm", 4, entropy=entropy, lost={11}) == job_turns(
        "uncertainty", JOBS, "tm", 4, entropy=entropy
    )


def test_utterances_order_votes_first_the_modality_discarded_most_often():
    # If an utterance is going to be lost, lose it before votes go to its other jobs.
    jobs = [JobKey(10 * u + i, u, m) for u in (1, 2) for i, m in enumerate("tavm")]
    entropy = {(1, "m"): 0.9, (2, "m"): 0.2}
    rates = modality_discard_rates({"t": (1, 20), "a": (6, 20), "v": (3, 20), "m": (0, 20)})
    assert rates["a"] > rates["v"] > rates["t"] > rates["m"]
    turns = job_turns("utterances", jobs, "tavm", 3, entropy=entropy, discard_rates=rates)
    modality = {j.id: (j.utterance_id, j.modality) for j in jobs}
    assert [modality[j] for j in in_order(turns)] == [
        (1, "a"), (1, "v"), (1, "t"), (1, "m"), (2, "a"), (2, "v"), (2, "t"), (2, "m"),
    ]  # fmt: skip
    # Before any verdict every modality counts 1/2: the shuffled order within each utterance.
    unknown = modality_discard_rates({m: (0, 0) for m in "tavm"})
    assert set(unknown.values()) == {0.5}
    assert job_turns(
        "utterances", jobs, "tavm", 3, entropy=entropy, discard_rates=unknown
    ) == job_turns("utterances", jobs, "tavm", 3, entropy=entropy)


def test_utterances_order_lets_the_predicted_emotions_take_turns():
    # Entropy alone would hand out all three uncertain "anger" utterances first; a training
    # set grown that way is skewed, so each predicted emotion's most uncertain comes in turn.
    jobs = [JobKey(u, u, "m") for u in range(1, 7)]
    entropy = {(1, "m"): 1.9, (2, "m"): 1.8, (3, "m"): 1.7, (4, "m"): 1.2, (5, "m"): 0.6}
    m_labels = {1: "anger", 2: "anger", 3: "anger", 4: "sadness", 5: "happiness"}
    turns = job_turns("utterances", jobs, "m", 7, entropy=entropy, m_labels=m_labels)
    # Round 1: the most uncertain of each emotion (1, 4, 5); round 2: 2; round 3: 3; then
    # utterance 6, which has no prediction.
    assert in_order(turns) == [1, 4, 5, 2, 3, 6]
    # Without labels: plain entropy order.
    assert in_order(job_turns("utterances", jobs, "m", 7, entropy=entropy)) == [1, 2, 3, 4, 5, 6]
