"""bench/learning_curve.py: the least votes that complete every trainable utterance, the
aim's interpolation and the padding of campaigns that finished early, on hand-made jobs."""

from __future__ import annotations

import random

import pytest

from bench import learning_curve
from labeling.verdicts import PAPER_RULE, verdict

H, S, F = "happiness", "sadness", "fear"
DECIDED_3 = [H, H, H]  # 3:0
DECIDED_4 = [H, H, S, H]  # 2:1, then 3:1
ALL_DIFFERENT = [H, S, F]  # 1:1:1, discarded at 3 votes
TIE = [H, H, S, S]  # 2:2, discarded at 4
SPLIT = [H, H, S, F]  # 2:1:1, discarded at 4


def job(utterance: int, modality: str, votes: list[str]):
    result = verdict(votes, PAPER_RULE)
    return learning_curve.Job(
        utterance, modality, H, random.Random(0), list(votes), result.state, result.label
    )


def campaign(utterances: dict[int, dict[str, list[str]]]):
    return [job(u, m, votes) for u, by_m in utterances.items() for m, votes in by_m.items()]


def test_bounds_pay_every_trainable_utterance_and_each_lost_one_until_its_first_discard():
    jobs = campaign({
        0: {"t": DECIDED_3, "a": DECIDED_3, "v": DECIDED_3, "m": DECIDED_3},  # trainable: 12
        1: {"t": DECIDED_3, "a": ALL_DIFFERENT, "v": DECIDED_4, "m": TIE},  # 14
        2: {"t": SPLIT, "a": DECIDED_3, "v": DECIDED_3, "m": DECIDED_3},  # 13
        3: {"t": DECIDED_3, "a": ALL_DIFFERENT, "v": DECIDED_3, "m": DECIDED_3},  # 12
    })  # fmt: skip
    total, foreseen, fail_fast = learning_curve.completion_bounds(jobs)
    assert total == 51
    # Foreseen: utterance 0 whole, then the cheapest discarded job of each lost one.
    assert foreseen == 12 + 3 + 4 + 3
    # Fail fast probes a (2 of 4 discarded) first, then t and m (1 of 4), v last: utterance 2
    # pays its decided a job before its t job is discarded.
    assert fail_fast == 12 + 3 + (3 + 4) + 3


def test_bounds_need_a_finished_campaign():
    jobs = campaign({0: {"t": DECIDED_3, "a": [H, S], "v": DECIDED_3, "m": DECIDED_3}})
    with pytest.raises(ValueError, match="every job final"):
        learning_curve.completion_bounds(jobs)


def test_votes_to_reach_interpolates_between_the_points_around_the_target():
    curve = [(100, 10, 0.40), (200, 20, 0.50), (300, 30, 0.60)]
    assert learning_curve.votes_to_reach(curve, 0.55) == 250
    assert learning_curve.votes_to_reach(curve, 0.30) == 100  # already there at the first point
    assert learning_curve.votes_to_reach(curve, 0.61) is None


def test_a_campaign_that_finished_early_keeps_its_last_point():
    curves = {
        "default": [[(100, 0, 0.0), (200, 5, 0.4), (300, 9, 0.5)]],
        "utterances": [[(100, 4, 0.3), (250, 9, 0.5)]],
    }
    assert learning_curve.pad_runs(curves) == 3
    assert curves["utterances"][0] == [(100, 4, 0.3), (250, 9, 0.5), (250, 9, 0.5)]
    assert len(curves["default"][0]) == 3


def test_a_set_trained_before_with_the_seed_is_scored_without_training_again(monkeypatch, tmp_path):
    import torch

    calls = []

    def train_and_score(config, train_set, pool, test, out):
        calls.append((config.seed, out.name))
        return 0.5 + config.seed / 10_000, {"m": [[1.0]]}

    monkeypatch.setattr(learning_curve, "train_and_score", train_and_score)
    args = type("Args", (), {"train_seeds": 2, "epochs": 1})()

    def items(labels):
        return learning_curve.Items(
            [{"utterance_id": "u0001", "labels": torch.tensor(labels)}], ["happiness"]
        )

    trained = {}
    first = learning_curve.score_set(items([0, 0, 0, 0]), None, None, args, 3, tmp_path, trained)
    assert first == (0.5 + (3 + 3 + 1000) / 20_000, {"m": [[1.0]]})  # mean of the 2 trainings
    assert calls == [(3, "train-seed-0"), (1003, "train-seed-1")]
    again = learning_curve.score_set(items([0, 0, 0, 0]), None, None, args, 3, tmp_path, trained)
    assert again == first and len(calls) == 2
    learning_curve.score_set(items([0, 0, 0, 1]), None, None, args, 3, tmp_path, trained)
    learning_curve.score_set(items([0, 0, 0, 0]), None, None, args, 4, tmp_path, trained)
    assert len(calls) == 6  # other labels, or another seed: trained
    assert learning_curve.score_set(learning_curve.Items([], []), None, None, args, 3,
                                    tmp_path, trained) == (0.0, {})  # fmt: skip
