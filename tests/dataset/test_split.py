from collections import Counter

import pytest

from training.dataset import split_sizes, split_utterances


def test_sizes_are_6_2_2_rounded_on_cumulative_boundaries_and_sum_to_n():
    assert split_sizes(10) == (6, 2, 2)
    assert split_sizes(12) == (7, 3, 2)
    assert split_sizes(7) == (4, 2, 1)
    assert split_sizes(28717) == (17230, 5744, 5743)
    for n in range(200):
        sizes = split_sizes(n)
        assert sum(sizes) == n and min(sizes) >= 0
        assert abs(sizes[0] - 0.6 * n) <= 0.5 and abs(sizes[0] + sizes[1] - 0.8 * n) <= 0.5


def test_exact_sizes_assign_every_id_with_6_2_2_sizes():
    ids = [f"u{i}" for i in range(50)]
    split = split_utterances(ids, seed=3, exact_sizes=True)
    assert set(split) == set(ids)
    assert Counter(split.values()) == {"train": 30, "validation": 10, "test": 10}


def test_same_seed_gives_the_same_split_whatever_the_input_order():
    ids = [f"u{i}" for i in range(40)]
    assert split_utterances(ids, seed=5) == split_utterances(list(reversed(ids)), seed=5)
    assert split_utterances(ids, seed=5) == split_utterances(set(ids), seed=5)


def test_different_seeds_shuffle_differently():
    ids = [f"u{i}" for i in range(40)]
    assert split_utterances(ids, seed=1) != split_utterances(ids, seed=2)


def test_split_is_shuffled_not_in_id_order():
    ids = [f"u{i:03d}" for i in range(100)]
    train = [i for i, s in split_utterances(ids, seed=0).items() if s == "train"]
    assert sorted(train) != ids[:60]


def test_stratified_split_cuts_every_class_6_2_2_on_its_own():
    labels = {f"u{i}": ("anger", "fear", "sadness")[i % 3] for i in range(30)}  # 10 each
    labels.update({f"x{i}": "surprise" for i in range(5)})  # 5 -> 3/1/1
    split = split_utterances(labels, seed=11, stratify_by=labels, exact_sizes=True)
    per_class = Counter((labels[i], s) for i, s in split.items())
    for label in ("anger", "fear", "sadness"):
        assert [per_class[label, s] for s in ("train", "validation", "test")] == [6, 2, 2]
    assert [per_class["surprise", s] for s in ("train", "validation", "test")] == [3, 1, 1]


def test_stratification_needs_a_label_for_every_id():
    with pytest.raises(ValueError, match="no label"):
        split_utterances(["a", "b"], seed=0, stratify_by={"a": "fear"}, exact_sizes=True)


def test_repeated_ids_are_refused():
    with pytest.raises(ValueError, match="repeated: a"):
        split_utterances(["a", "b", "a"], seed=0)


def test_other_ratios_are_normalised():
    split = split_utterances(range(20), seed=0, ratio=(8, 1, 1), exact_sizes=True)
    assert Counter(split.values()) == {
        "train": 16,
        "validation": 2,
        "test": 2,
    }


def test_adding_utterances_never_moves_an_existing_one():
    first = split_utterances([f"u{i}" for i in range(1000)], seed=3)
    grown = split_utterances([f"u{i}" for i in range(1200)], seed=3)
    assert {i: grown[i] for i in first} == first


def test_each_id_gets_its_split_from_its_own_hash_close_to_6_2_2():
    ids = [f"u{i}" for i in range(20000)]
    shares = Counter(split_utterances(ids, seed=0).values())
    for name, ratio in zip(("train", "validation", "test"), (0.6, 0.2, 0.2), strict=True):
        assert abs(shares[name] / len(ids) - ratio) < 0.015
    alone = {i: split_utterances([i], seed=0)[i] for i in ids[:200]}
    assert alone == {i: s for i, s in split_utterances(ids, seed=0).items() if i in alone}


def test_exact_sizes_may_move_an_existing_id_when_the_corpus_grows():
    first = split_utterances([f"u{i}" for i in range(1000)], seed=3, exact_sizes=True)
    grown = split_utterances([f"u{i}" for i in range(1200)], seed=3, exact_sizes=True)
    assert {i: grown[i] for i in first} != first  # why exact sizes is only an option


def test_stratifying_needs_exact_sizes():
    with pytest.raises(ValueError, match="exact_sizes"):
        split_utterances(["a", "b"], seed=0, stratify_by={"a": "fear", "b": "fear"})
