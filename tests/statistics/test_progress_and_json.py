"""Job progress counts and the JSON dump of every statistic."""

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.statistics import (
    agreement_progress,
    dataset_table,
    fleiss_kappa_by_modality,
    inconsistency_matrix,
    krippendorff_alpha_by_modality,
    label_distribution,
    per_emotion_inconsistency,
    to_jsonable,
)


def test_progress_counts_each_state_per_modality_zero_filled():
    result = agreement_progress(
        [("t", "open"), ("t", "decided"), ("t", "decided"), ("m", "discarded"), ("a", "needs_vote")]
    )
    assert result["t"] == {"open": 1, "needs_vote": 0, "decided": 2, "discarded": 0, "total": 3}
    assert result["v"]["total"] == 0
    assert list(result) == list(MODALITIES)


def test_progress_accepts_a_frame_and_refuses_unknown_states():
    frame = pd.DataFrame({"modality": ["v", "v"], "state": ["decided", "open"]})
    assert agreement_progress(frame)["v"]["total"] == 2
    with pytest.raises(ValueError):
        agreement_progress([("t", "finished")])


def test_json_dump_of_every_statistic_has_no_nan():
    labels = pd.DataFrame(
        {"t": ["anger", None], "a": [None, None], "v": ["fear", "fear"], "m": ["anger", "fear"]},
        dtype=object,
    )
    votes = pd.DataFrame(
        {"job": [1, 1, 1], "modality": "t", "annotator": ["a", "b", "c"], "label": "anger"}
    )
    utterances = pd.DataFrame(
        {"duration_seconds": [], "transcript": [], "speaker_gender": [], "age_group": []}
    )
    everything = {
        "distribution": label_distribution(labels, EMOTIONS),
        "inconsistency": inconsistency_matrix(labels),
        "per_emotion": per_emotion_inconsistency(labels, EMOTIONS),
        "kappa": fleiss_kappa_by_modality(votes, EMOTIONS),
        "alpha": krippendorff_alpha_by_modality(votes, EMOTIONS),
        "table": dataset_table(utterances),
    }
    text = json.dumps(to_jsonable(everything), allow_nan=False)
    back = json.loads(text)
    assert back["inconsistency"]["matrix"]["t"]["a"] is None
    assert back["inconsistency"]["pairs"]["v"]["m"] == 2
    assert back["per_emotion"]["t"]["happiness"] is None
    assert back["kappa"]["t"] == [None, 1]


def test_to_jsonable_converts_numpy_and_missing_values():
    @dataclass
    class Box:
        n: np.int64
        x: float

    value = {
        1: np.float32(0.5),
        "inf": float("inf"),
        "na": pd.NA,
        "arr": np.array([1, np.nan]),
        "box": Box(np.int64(3), float("nan")),
        "series": pd.Series({"a": np.nan}),
    }
    assert to_jsonable(value) == {
        "1": 0.5,
        "inf": None,
        "na": None,
        "arr": [1.0, None],
        "box": {"n": 3, "x": None},
        "series": {"a": None},
    }
