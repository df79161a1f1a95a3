"""Multi-label exports: multi-hot labels written in class order, read back as (4, C) float32."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from labeling.emotions import EMOTIONS, MODALITIES, RELEASED_CODE_ORDER
from training.dataset import (
    CHERMASplit,
    ExportError,
    export_dataset,
    open_dataset,
    verify_checksums,
)

MOSEI = ("happy", "sad", "anger", "surprise", "disgust", "fear")


def multi_label(records):
    """The shared records with label sets: sizes 0 to 3, differing between modalities."""
    out = []
    for i, record in enumerate(records):
        labels = {
            m: frozenset(MOSEI[(i + j + k) % len(MOSEI)] for k in range((i + j) % 4))
            for j, m in enumerate(MODALITIES)
        }
        out.append(dataclasses.replace(record, labels=labels))
    return out


@pytest.fixture(scope="module")
def multi_records(records):
    return multi_label(records)


@pytest.fixture(scope="module")
def multi_export(tmp_path_factory, multi_records, session_extractors):
    out = tmp_path_factory.mktemp("multi") / "mosei-like"
    export_dataset(
        multi_records,
        out,
        extractors=session_extractors,
        seed=3,
        name="multi",
        shard_size=5,
        classes=MOSEI,
        label_mode="multi-label",
        stratify=True,  # by the whole m label set
    )
    return out


def test_multi_label_export_writes_multi_hot_labels_in_class_order(multi_export, multi_records):
    sheet = json.loads((multi_export / "datasheet.json").read_text(encoding="utf-8"))
    assert sheet["label_mode"] == "multi-label"
    assert sheet["classes"] == list(MOSEI) and sheet["class_order"] == "custom"
    assert "label_distribution" not in sheet
    manifest = pd.read_parquet(multi_export / "manifest.parquet")
    hot = np.load(multi_export / "labels.npy")
    assert hot.shape == (len(manifest), 4, len(MOSEI)) and hot.dtype == np.uint8
    by_id = {r.utterance_id: r for r in multi_records}
    for row, labels in zip(manifest.itertuples(), hot, strict=True):
        record = by_id[row.utterance_id]
        for j, m in enumerate(MODALITIES):
            present = {MOSEI[c] for c in np.flatnonzero(labels[j])}
            assert present == record.labels[m]
            names = [c for c in MOSEI if c in record.labels[m]]
            assert getattr(row, f"label_{m}") == ";".join(names)
            assert getattr(row, f"label_{m}_id") == -1
    assert verify_checksums(multi_export) == []
    assert "labels.npy" in (multi_export / "SHA256SUMS").read_text()


def test_multi_label_datasheet_counts_each_emotion_and_empty_sets(multi_export, multi_records):
    sheet = json.loads((multi_export / "datasheet.json").read_text(encoding="utf-8"))
    manifest = pd.read_parquet(multi_export / "manifest.parquet")
    ok = set(manifest[manifest.status == "ok"].utterance_id)
    split_of = dict(zip(manifest.utterance_id, manifest.split, strict=True))
    for m in MODALITIES:
        for name in MOSEI:
            expected = sum(
                name in r.labels[m] and split_of[r.utterance_id] == "train"
                for r in multi_records
                if r.utterance_id in ok
            )
            assert sheet["label_frequencies"]["train"][m][name] == expected
        empty = sum(not r.labels[m] for r in multi_records if r.utterance_id in ok)
        assert sum(sheet["empty_label_sets"][s][m] for s in sheet["sizes"]) == empty
    text = (multi_export / "DATASHEET.md").read_text(encoding="utf-8")
    assert "label mode `multi-label`" in text and "## Label frequencies (multi-label)" in text
    assert "| (none) |" in text and "## Label distribution" not in text
    assert "stratified by the multimodal label set `m`" in text


def test_multi_label_split_reads_float_multi_hot_labels(multi_export, multi_records):
    dataset = open_dataset(multi_export)
    assert dataset.label_mode == "multi-label" and dataset.classes == MOSEI
    by_id = {r.utterance_id: r for r in multi_records}
    seen = 0
    for name in ("train", "validation", "test"):
        split = CHERMASplit(multi_export, name)
        assert split.label_mode == "multi-label" and split.classes == MOSEI
        for i in range(len(split)):
            item = split[i]
            assert item["labels"].dtype.is_floating_point and item["labels"].shape == (4, 6)
            record = by_id[item["utterance_id"]]
            for j, m in enumerate(MODALITIES):
                expected = [float(c in record.labels[m]) for c in MOSEI]
                assert item["labels"][j].tolist() == expected
            seen += 1
        if len(split) >= 2:
            batch = split.collate([split[0], split[1]])
            assert tuple(batch["labels"].shape) == (2, 4, 6)
    assert seen == sum(dataset.sizes.values())


def test_single_label_exports_say_so_and_read_as_class_ids(exported):
    dataset = open_dataset(exported)
    assert dataset.label_mode == "single-label"
    split = CHERMASplit(exported, "train")
    assert split.label_mode == "single-label" and split[0]["labels"].shape == (4,)
    assert not (exported / "labels.npy").exists()


def test_explicit_classes_equal_to_a_named_order_record_its_name(records, extractors, tmp_path):
    result = export_dataset(
        records,
        tmp_path / "d",
        extractors=extractors,
        seed=1,
        name="x",
        classes=RELEASED_CODE_ORDER,
    )
    assert result.datasheet["class_order"] == "released"
    assert result.datasheet["classes"] == list(RELEASED_CODE_ORDER)


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (lambda r: {**r, "m": frozenset({"joy"})}, {"label_mode": "multi-label"}, "unknown"),
        (lambda r: {**r, "m": "happy"}, {"label_mode": "multi-label"}, "cannot be mixed"),
        (lambda r: {**r, "t": frozenset({"anger"})}, {}, "single-label export"),
        (lambda r: r, {"label_mode": "multi"}, "label_mode must be"),
        (lambda r: r, {"label_mode": "multi-label", "released_layout": True}, "released"),
    ],
)
def test_bad_multi_label_input_is_refused_with_a_sentence(
    multi_records, records, extractors, tmp_path, change, options, message
):
    multi = options.get("label_mode") == "multi-label" or options.get("label_mode") == "multi"
    base = multi_records if multi else records
    first = base[0]
    changed = [dataclasses.replace(first, labels=change(dict(first.labels))), *base[1:]]
    classes = MOSEI if multi else EMOTIONS
    with pytest.raises(ExportError, match=message):
        export_dataset(
            changed, tmp_path / "d", extractors=extractors, seed=1, name="x", classes=classes,
            **options,
        )  # fmt: skip
    assert not (tmp_path / "d").exists()


def test_repeated_or_empty_classes_are_refused(records, extractors, tmp_path):
    for classes, message in (([], "non-empty"), (["anger", "anger"], "more than once")):
        with pytest.raises(ExportError, match=message):
            export_dataset(
                records, tmp_path / "d", extractors=extractors, seed=1, name="x", classes=classes
            )
