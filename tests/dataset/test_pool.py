"""A pool export: utterances without labels, in one split `pool`, with the features a labelled
export gives the same utterances (a model scores them as it would score its own dataset)."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from training.dataset import CHERMASplit, ExportError, export_dataset, verify_checksums

from .conftest import CORRUPT_ID


def unlabelled(records):
    return [dataclasses.replace(r, labels={}) for r in records]


@pytest.fixture(scope="module")
def pool(tmp_path_factory, records, session_extractors):
    out = tmp_path_factory.mktemp("pools") / "pool"
    result = export_dataset(
        unlabelled(records),
        out,
        extractors=session_extractors,
        seed=7,
        name="tiny pool",
        shard_size=5,
        pool=True,
    )
    return out, result


def test_a_pool_holds_every_utterance_in_one_split_without_labels(pool, records):
    out, result = pool
    sheet = json.loads((out / "datasheet.json").read_text(encoding="utf-8"))
    assert sheet["pool"] is True and sheet["split_ratio"] is None
    assert result.sizes == sheet["sizes"] == {"pool": len(records) - 1}  # the corrupt clip
    assert [f["utterance_id"] for f in result.failed] == [CORRUPT_ID]
    assert "label_distribution" not in sheet
    manifest = pd.read_parquet(out / "manifest.parquet")
    assert set(manifest["split"]) == {"pool"}
    assert (manifest[[f"label_{m}_id" for m in "tavm"]] == -1).all().all()
    assert (manifest[[f"label_{m}" for m in "tavm"]] == "").all().all()
    assert verify_checksums(out) == []
    assert "## Pool" in (out / "DATASHEET.md").read_text(encoding="utf-8")


def test_pool_features_equal_the_labelled_exports(pool, exported):
    out, _ = pool
    split = CHERMASplit(out, "pool", audio_len=None)
    assert len(split) == 12 and (split[0]["labels"] == -1).all()
    labelled = {
        item["utterance_id"]: item
        for name in ("train", "validation", "test")
        for item in CHERMASplit(exported, name, audio_len=None)
    }
    for i in range(len(split)):
        item = split[i]
        same = labelled[item["utterance_id"]]
        for key in ("text", "text_mask", "audio", "vision", "vision_face"):
            # Batched with other utterances (shards of 5 here, 4 there): equal to fp16 rounding.
            np.testing.assert_allclose(item[key].numpy(), same[key].numpy(), atol=2e-3, rtol=2e-3)


def test_a_pool_refuses_labels_and_what_needs_them(records, session_extractors, tmp_path):
    with pytest.raises(ExportError, match="a pool holds utterances without labels"):
        export_dataset(
            records, tmp_path / "a", extractors=session_extractors, seed=0, name="x", pool=True
        )
    with pytest.raises(ExportError, match="no labels to stratify"):
        export_dataset(
            unlabelled(records),
            tmp_path / "b",
            extractors=session_extractors,
            seed=0,
            name="x",
            pool=True,
            stratify=True,
        )
