import json

import numpy as np
import pandas as pd
import pytest

from labeling.emotions import CHINESE_NAMES, MODALITIES, RELEASED_CODE_ORDER
from training.dataset import ExportError, ExportRecord, export_dataset

from .conftest import CORRUPT_ID

RELEASED_CHINESE = ["愤怒", "厌恶", "恐惧", "高兴", "平静", "悲伤", "惊奇"]  # data_prepare.py


def test_released_layout_has_stage_json_with_chinese_labels_and_per_utterance_npy(exported):
    released = exported / "released"
    manifest = pd.read_parquet(exported / "manifest.parquet").set_index("utterance_id")
    for stage, split in (("train", "train"), ("valid", "validation"), ("test", "test")):
        entries = json.loads((released / f"{stage}.json").read_text(encoding="utf-8"))
        ok = manifest[(manifest.split == split) & (manifest.status == "ok")]
        assert [e["utterance_id"] for e in entries] == ok.index.tolist()
        for entry in entries:
            uid = entry["utterance_id"]
            name = entry["audio_file"].replace(".wav", "")  # as the released code derives it
            assert name == uid and entry["video_file"] == f"{uid}.mp4"
            keys = ("txt_label", "audio_label", "visual_label", "video_label")
            for m, key in zip(MODALITIES, keys, strict=True):
                assert entry[key] == CHINESE_NAMES[manifest.loc[uid, f"label_{m}"]]
                assert RELEASED_CHINESE.index(entry[key]) == RELEASED_CODE_ORDER.index(
                    manifest.loc[uid, f"label_{m}"]
                )
            assert np.load(released / f"text/{stage}/{name}.npy").shape == (16, 32)
            assert np.load(released / f"visual/{stage}/{name}.mp4.npy").shape == (4, 16)
            assert np.load(released / f"audio/{stage}/{name}.npy").shape[1] == 32
    assert not list(released.rglob(f"{CORRUPT_ID}*"))


def test_released_files_hold_the_same_features_as_the_shards(exported):
    manifest = pd.read_parquet(exported / "manifest.parquet").set_index("utterance_id")
    row = manifest.loc["u03"]
    stage = {"train": "train", "validation": "valid", "test": "test"}[row["split"]]
    text = np.load(exported / f"features/text/shard-{row['shard']:05d}.npy")[row["index"]]
    np.testing.assert_array_equal(np.load(exported / f"released/text/{stage}/u03.npy"), text)


def test_ids_that_cannot_be_file_names_are_refused_for_the_released_layout(tmp_path, extractors):
    bad = ExportRecord("a/b", dict.fromkeys(MODALITIES, "fear"), "好", "x.mp4", 1.0)
    with pytest.raises(ExportError, match="cannot be a file name"):
        export_dataset(
            [bad], tmp_path / "d", extractors=extractors, seed=0, name="x", released_layout=True
        )
