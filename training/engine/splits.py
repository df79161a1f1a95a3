"""The three splits of an exported dataset (training/DATASET.md), read as a run's config says,
or of a CMU-MOSEI-style feature file (`training.dataset.mosei`: `.pkl`/`.pt`).

For the CLI and the Django side alike: `open_splits(directory, config)` then
`train(config, splits.train, splits.validation, splits.test, out, classes=splits.classes)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from .config import TrainConfig


@dataclass
class Splits:
    train: Dataset
    validation: Dataset | None  # None when the export has no utterance in that split
    test: Dataset | None
    classes: list[str]
    datasheet: dict[str, Any]


def open_splits(directory: str | Path, config: TrainConfig) -> Splits:
    """CHERMASplit train/validation/test with `config.audio_len` and `config.audio_how`; with
    `config.standardize`, every split standardised with the training split's statistics.
    A feature file (aligned, fixed length) is read as it is: audio settings do not apply."""
    from training.dataset.mosei import is_feature_file

    if is_feature_file(directory):
        return _feature_file_splits(directory, config)
    from training.dataset import CHERMASplit, open_dataset  # pandas/pyarrow only when needed
    from training.dataset.reader import feature_statistics

    dataset = open_dataset(directory)
    if dataset.datasheet.get("pool"):
        raise ValueError(
            f"{directory} is a pool (utterances without labels, to score with a trained run); "
            "train on a labelled export."
        )
    splits = {
        name: CHERMASplit(directory, name, audio_len=config.audio_len, audio_how=config.audio_how)
        for name in ("train", "validation", "test")
    }
    if len(splits["train"]) == 0:
        raise ValueError(
            f"{directory} has no training utterances; export a dataset with more utterances."
        )
    if config.standardize:
        statistics = feature_statistics(splits["train"])
        for split in splits.values():
            split.standardize = statistics
    return _splits(splits, dataset.classes, dataset.datasheet)


def _feature_file_splits(path: str | Path, config: TrainConfig) -> Splits:
    from training.dataset.mosei import FeatureSplit, feature_file_statistics, open_feature_file

    source = open_feature_file(path)
    splits = {name: FeatureSplit(source, name) for name in ("train", "validation", "test")}
    if config.standardize:
        statistics = feature_file_statistics(splits["train"])
        splits = {name: FeatureSplit(source, name, standardize=statistics) for name in splits}
    return _splits(splits, source.classes, source.datasheet)


def _splits(splits: dict[str, Any], classes, datasheet: dict[str, Any]) -> Splits:
    """Splits with an empty validation or test split as None."""
    return Splits(
        train=splits["train"],
        validation=splits["validation"] if len(splits["validation"]) else None,
        test=splits["test"] if len(splits["test"]) else None,
        classes=list(classes),
        datasheet=datasheet,
    )
