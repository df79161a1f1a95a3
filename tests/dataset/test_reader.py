import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from labeling.emotions import EMOTIONS, MODALITIES
from training.dataset import CHERMASplit, collate, open_dataset
from training.features import fixed_length

from .conftest import CORRUPT_ID


def stored_audio(root, utterance_id):
    manifest = pd.read_parquet(root / "manifest.parquet").set_index("utterance_id")
    row = manifest.loc[utterance_id]
    offsets = np.load(root / f"features/audio/shard-{row['shard']:05d}.offsets.npy")
    frames = np.load(root / f"features/audio/shard-{row['shard']:05d}.npy")
    return frames[offsets[row["index"]] : offsets[row["index"] + 1]].astype(np.float32)


def test_open_dataset_gives_datasheet_classes_and_manifest(exported):
    dataset = open_dataset(exported)
    assert dataset.classes == EMOTIONS and dataset.class_order == "paper"
    assert isinstance(dataset.manifest, pd.DataFrame) and len(dataset.manifest) == 13
    assert dataset.sizes == {"train": 6, "validation": 4, "test": 2}  # each id by its hash
    assert [f["utterance_id"] for f in dataset.failed] == [CORRUPT_ID]
    assert len(dataset.split("test")) == 2


def test_items_have_the_documented_shapes_dtypes_masks_and_labels(exported):
    split = CHERMASplit(exported, "train")
    assert len(split) == 6 and CORRUPT_ID not in split.utterance_ids
    manifest = pd.read_parquet(exported / "manifest.parquet").set_index("utterance_id")
    for i in range(len(split)):
        item = split[i]
        assert item["text"].shape == (16, 32) and item["text"].dtype == torch.float32
        assert item["text_mask"].shape == (16,) and item["text_mask"].dtype == torch.bool
        assert item["audio"].shape == (100, 32) and item["audio_mask"].shape == (100,)
        assert item["vision"].shape == (4, 16) and item["vision_mask"].all()
        assert item["vision_face"].shape == (4,) and item["vision_face"].dtype == torch.bool
        row = manifest.loc[item["utterance_id"]]
        assert item["labels"].dtype == torch.long
        assert item["labels"].tolist() == [row[f"label_{m}_id"] for m in MODALITIES]
        real = int(item["text_mask"].sum())  # CLS + characters + SEP
        assert real == len(row["transcript"]) + 2
        assert item["text_mask"][:real].all() and not item["text_mask"][real:].any()


def test_shards_are_memory_mapped_not_loaded(exported):
    split = CHERMASplit(exported, "train")
    _ = split[0]
    arrays = split.shard_arrays(int(split.shards[0]))
    assert all(isinstance(a, np.memmap) for a in arrays.values())
    assert not isinstance(split[0]["text"].numpy(), np.memmap)  # items are copies


def test_audio_view_matches_fixed_length_of_the_stored_frames(exported):
    for how in ("sample", "cut"):
        split = CHERMASplit(exported, "validation", audio_len=10, audio_how=how)
        item = split[0]
        expected, mask = fixed_length(stored_audio(exported, item["utterance_id"]), 10, how)
        np.testing.assert_array_equal(item["audio"].numpy(), expected)
        assert item["audio_mask"].all() and mask.all()


def test_short_audio_is_zero_padded_with_mask_false(exported):
    item = CHERMASplit(exported, "validation", audio_len=200)[0]
    frames = stored_audio(exported, item["utterance_id"])
    n = len(frames)
    assert 0 < n < 200
    assert item["audio_mask"][:n].all() and not item["audio_mask"][n:].any()
    np.testing.assert_array_equal(item["audio"][:n].numpy(), frames)
    assert not item["audio"][n:].any()


def test_full_length_audio_is_padded_per_batch_by_collate(exported):
    split = CHERMASplit(exported, "train", audio_len=None)
    lengths = [len(split[i]["audio"]) for i in range(len(split))]
    assert len(set(lengths)) > 1
    batch = collate([split[i] for i in range(len(split))])
    assert batch["audio"].shape == (6, max(lengths), 32)
    assert batch["audio_mask"].sum(dim=1).tolist() == lengths


def test_text_and_vision_lengths_can_be_changed_at_load_time(exported):
    split = CHERMASplit(exported, "test", text_len=4, vision_len=8)
    item = split[0]
    assert item["text"].shape == (4, 32) and item["text_mask"].all()
    assert item["vision"].shape == (8, 16) and item["vision_mask"][:4].all()
    assert not item["vision_mask"][4:].any() and not item["vision_face"][4:].any()
    full = CHERMASplit(exported, "test")[0]
    torch.testing.assert_close(item["text"], full["text"][:4])
    torch.testing.assert_close(item["vision"][:4], full["vision"])


def test_dataloader_workers_read_the_split_after_the_parent_opened_maps(exported):
    split = CHERMASplit(exported, "train")
    split[0]  # the parent has maps open; a worker opens its own
    assert pickle.loads(pickle.dumps(split))._arrays == {}
    # Not fork: the test process has threads (live servers, Celery workers) by now, and
    # forking a threaded process can deadlock.
    loader = DataLoader(
        split,
        batch_size=4,
        num_workers=2,
        collate_fn=collate,
        multiprocessing_context="forkserver",
    )
    batches = list(loader)
    assert [uid for b in batches for uid in b["utterance_id"]] == split.utterance_ids
    assert [b["labels"].shape for b in batches] == [(4, 4), (2, 4)]


def test_unknown_split_and_unfinished_export_are_explained(tmp_path, exported):
    with pytest.raises(ValueError, match="train, validation, test"):
        CHERMASplit(exported, "dev")
    (tmp_path / ".gone.partial").mkdir()
    with pytest.raises(FileNotFoundError, match="unfinished export"):
        open_dataset(tmp_path / "gone")


def test_a_newer_format_version_is_refused(tmp_path, exported):
    sheet = json.loads((exported / "datasheet.json").read_text(encoding="utf-8"))
    (tmp_path / "datasheet.json").write_text(json.dumps({**sheet, "format_version": 2}))
    with pytest.raises(ValueError, match="format version 2"):
        open_dataset(tmp_path)


def test_standardised_features_have_zero_mean_unit_std_on_train_and_padding_stays_zero(exported):
    from training.dataset.reader import feature_statistics

    train = CHERMASplit(exported, "train", audio_len=None)
    statistics = feature_statistics(train)
    standardised = CHERMASplit(exported, "train", audio_len=None, standardize=statistics)
    items = [standardised[i] for i in range(len(standardised))]
    for name in ("text", "audio", "vision"):
        real = torch.cat([item[name][item[f"{name}_mask"]] for item in items]).double()
        assert torch.allclose(
            real.mean(0), torch.zeros(real.shape[1], dtype=torch.float64), atol=2e-3
        )
        spread = real.std(0, unbiased=False)
        varying = spread > 1e-3  # a dimension constant over the split stays constant
        assert torch.allclose(spread[varying], torch.ones_like(spread[varying]), atol=2e-3)
    padded = [item["text"][~item["text_mask"]] for item in items]
    assert all(bool((p == 0).all()) for p in padded)
    # Other splits are standardised with the training statistics, not their own.
    test = CHERMASplit(exported, "test", audio_len=None, standardize=statistics)
    raw = CHERMASplit(exported, "test", audio_len=None)
    expected = statistics.apply("vision", raw[0]["vision"].numpy())
    assert np.allclose(test[0]["vision"].numpy(), expected)
