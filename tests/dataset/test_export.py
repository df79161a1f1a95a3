import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from labeling.emotions import EMOTIONS, MODALITIES, RELEASED_CODE_ORDER
from training.dataset import (
    MANIFEST_COLUMNS,
    ExportCancelled,
    ExportError,
    ExportRecord,
    Extractors,
    export_dataset,
    partial_path,
    split_sizes,
    split_utterances,
    verify_checksums,
)

from .conftest import CORRUPT_ID


def load(path):
    return np.load(path, allow_pickle=False)


def test_files_and_shapes_are_those_of_dataset_md(exported, records):
    sheet = json.loads((exported / "datasheet.json").read_text(encoding="utf-8"))
    for key in (
        "format_version",
        "name",
        "created_at",
        "classes",
        "class_order",
        "seed",
        "split_ratio",
        "stratified",
        "sizes",
        "label_distribution",
        "failed",
        "extractors",
        "shapes",
        "dtype",
        "shard_size",
        "statistics",
    ):
        assert key in sheet
    assert sheet["shapes"] == {"text": [16, 32], "audio": [None, 32], "vision": [4, 16]}
    assert sheet["split_ratio"] == [0.6, 0.2, 0.2] and sheet["dtype"] == "float16"
    for name in ("manifest.parquet", "manifest.csv", "DATASHEET.md", "SHA256SUMS"):
        assert (exported / name).is_file()
    manifest = pd.read_parquet(exported / "manifest.parquet")
    assert tuple(manifest.columns) == MANIFEST_COLUMNS
    assert len(manifest) == len(records)
    ok = manifest[manifest.status == "ok"]
    for k in range(sheet["num_shards"]):
        rows = ok[ok.shard == k].sort_values("index")
        n = len(rows)
        assert rows["index"].tolist() == list(range(n))
        f = exported / "features"
        text = load(f / f"text/shard-{k:05d}.npy")
        assert text.shape == (n, 16, 32) and text.dtype == np.float16
        assert load(f / f"text/shard-{k:05d}.mask.npy").shape == (n, 16)
        assert load(f / f"text/shard-{k:05d}.mask.npy").dtype == bool
        offsets = load(f / f"audio/shard-{k:05d}.offsets.npy")
        frames = load(f / f"audio/shard-{k:05d}.npy")
        assert offsets.shape == (n + 1,) and offsets.dtype == np.int64 and offsets[0] == 0
        assert frames.shape == (offsets[-1], 32) and frames.dtype == np.float16
        assert np.all(np.diff(offsets) > 0)
        assert load(f / f"vision/shard-{k:05d}.npy").shape == (n, 4, 16)
        face = load(f / f"vision/shard-{k:05d}.face.npy")
        assert face.shape == (n, 4) and face.dtype == bool


def test_audio_is_stored_at_full_length(exported):
    manifest = pd.read_parquet(exported / "manifest.parquet").set_index("utterance_id")
    row = manifest.loc["u11"]  # 1.7 s of sound: about 50 frames per second
    offsets = load(exported / f"features/audio/shard-{row['shard']:05d}.offsets.npy")
    assert 80 <= offsets[row["index"] + 1] - offsets[row["index"]] <= 86


def test_manifest_follows_split_then_id_order_and_shards_hold_consecutive_rows(exported):
    manifest = pd.read_parquet(exported / "manifest.parquet")
    split_rank = manifest["split"].map({"train": 0, "validation": 1, "test": 2})
    keys = list(zip(split_rank, manifest["utterance_id"], strict=True))
    assert keys == sorted(keys)
    positions = manifest.index.to_numpy()
    ok = manifest.status == "ok"
    assert (manifest.loc[ok, "shard"] == positions[ok] // 4).all()


@pytest.mark.parametrize("order, classes", [("paper", EMOTIONS), ("released", RELEASED_CODE_ORDER)])
def test_label_ids_follow_the_class_order(tmp_path, records, extractors, order, classes):
    export_dataset(
        records,
        tmp_path / "d",
        extractors=extractors,
        seed=1,
        name="x",
        class_order=order,
        shard_size=16,
    )
    sheet = json.loads((tmp_path / "d/datasheet.json").read_text(encoding="utf-8"))
    assert sheet["classes"] == list(classes) and sheet["class_order"] == order
    manifest = pd.read_parquet(tmp_path / "d/manifest.parquet")
    for m in MODALITIES:
        assert (manifest[f"label_{m}_id"] == manifest[f"label_{m}"].map(classes.index)).all()


def test_same_records_and_seed_give_byte_identical_manifests(tmp_path, records, extractors):
    for name in ("a", "b"):
        export_dataset(
            reversed(records) if name == "b" else records,
            tmp_path / name,
            extractors=extractors,
            seed=3,
            name=name,
            shard_size=5,
        )
    assert (tmp_path / "a/manifest.csv").read_bytes() == (tmp_path / "b/manifest.csv").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a/manifest.parquet"),
        pd.read_parquet(tmp_path / "b/manifest.parquet"),
    )
    for k in range(3):
        for kind in ("text", "vision"):
            path = f"features/{kind}/shard-{k:05d}.npy"
            assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()


def test_corrupt_clip_is_listed_as_failed_with_its_error_and_has_no_features(exported):
    manifest = pd.read_parquet(exported / "manifest.parquet").set_index("utterance_id")
    row = manifest.loc[CORRUPT_ID]
    assert row["status"] == "failed" and row["shard"] == -1 and row["index"] == -1
    assert "corrupt.mp4" in row["error"] and "could not be opened" in row["error"]
    sheet = json.loads((exported / "datasheet.json").read_text(encoding="utf-8"))
    assert sheet["failed"] == [{"utterance_id": CORRUPT_ID, "error": row["error"]}]
    assert (manifest.status == "ok").sum() == 12 == sum(sheet["sizes"].values())
    stored = sum(
        len(load(exported / f"features/text/shard-{k:05d}.npy")) for k in range(sheet["num_shards"])
    )
    assert stored == 12
    assert CORRUPT_ID in (exported / "DATASHEET.md").read_text(encoding="utf-8")


def test_split_is_made_over_all_selected_utterances_before_failures(exported, records):
    manifest = pd.read_parquet(exported / "manifest.parquet").set_index("utterance_id")
    expected = split_utterances([r.utterance_id for r in records], seed=7)
    assert manifest["split"].to_dict() == expected


def test_stratified_export_stratifies_by_the_multimodal_label(tmp_path, records, extractors):
    result = export_dataset(
        records,
        tmp_path / "d",
        extractors=extractors,
        seed=2,
        name="x",
        stratify=True,
        shard_size=16,
    )
    manifest = pd.read_parquet(tmp_path / "d/manifest.parquet").set_index("utterance_id")
    by_m = {r.utterance_id: r.labels["m"] for r in records}
    assert manifest["split"].to_dict() == split_utterances(
        by_m, seed=2, stratify_by=by_m, exact_sizes=True
    )
    assert result.datasheet["stratified"] is True


def test_unknown_label_is_refused_before_any_work(tmp_path, records, extractors):
    bad = ExportRecord("zz", {"t": "joy", "a": "fear", "v": "fear", "m": "fear"}, "好", "x.mp4", 1)
    with pytest.raises(ExportError, match="unknown label.*'joy'.*happiness"):
        export_dataset([*records, bad], tmp_path / "d", extractors=extractors, seed=0, name="x")
    assert not (tmp_path / "d").exists() and not partial_path(tmp_path / "d").exists()
    assert not extractors.vision.calls and not extractors.text.calls


def test_a_missing_label_is_refused(tmp_path, records, extractors):
    bad = ExportRecord("zz", {"t": "fear", "a": "fear", "v": "fear"}, "好", "x.mp4", 1)
    with pytest.raises(ExportError, match="exactly one decided label"):
        export_dataset([bad], tmp_path / "d", extractors=extractors, seed=0, name="x")


def test_existing_out_dir_is_refused_unless_overwrite(tmp_path, records, extractors):
    out = tmp_path / "d"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(ExportError, match="already exists.*overwrite=True"):
        export_dataset(records[:3], out, extractors=extractors, seed=0, name="x")
    export_dataset(records[:3], out, extractors=extractors, seed=0, name="x", overwrite=True)
    assert not (out / "old.txt").exists() and (out / "manifest.csv").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["d"]


def test_sha256sums_verifies_and_detects_a_modified_file(tmp_path, exported):
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    assert verify_checksums(copy) == []
    listed = [line.split("  ", 1)[1] for line in (copy / "SHA256SUMS").read_text().splitlines()]
    assert "manifest.parquet" in listed and "features/audio/shard-00000.offsets.npy" in listed
    assert "released/train.json" in listed and "SHA256SUMS" not in listed
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=copy)
        assert check.returncode == 0
    shard = copy / "features/vision/shard-00001.npy"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    (copy / "manifest.csv").unlink()
    assert verify_checksums(copy) == ["features/vision/shard-00001.npy", "manifest.csv"]


def test_datasheet_md_tells_sizes_distribution_failures_extractors_and_seed(exported):
    text = (exported / "DATASHEET.md").read_text(encoding="utf-8")
    for expected in (
        "| train | 6 |",
        "| validation | 4 |",
        "| test | 2 |",
        "adding utterances never moves one already here",
        "seed `7`",
        "### m (multimodal)",
        "| happiness |",
        "u-corrupt",
        "BertModel",
        "Wav2Vec2Model",
        "ResNetModel",
        "weights sha256",
        "16 × 32",
        "T × 32",
        "4 × 16",
        "float16",
        "Class order `paper`",
        "高兴",
        "sha256sum -c",
    ):
        assert expected in text


def test_float32_on_request(tmp_path, records, extractors):
    export_dataset(
        records[:3], tmp_path / "d", extractors=extractors, seed=0, name="x", dtype="float32"
    )
    assert load(tmp_path / "d/features/audio/shard-00000.npy").dtype == np.float32


def test_progress_is_reported_per_utterance(tmp_path, records, extractors):
    seen = []
    export_dataset(
        records,
        tmp_path / "d",
        extractors=extractors,
        seed=0,
        name="x",
        shard_size=5,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(i, 13) for i in range(1, 14)]


def test_should_stop_cancels_between_shards_and_keeps_the_finished_ones(
    tmp_path, records, extractors
):
    asked = []

    def stop_after_two_shards() -> bool:
        asked.append(len(asked))
        return len(asked) > 2

    out = tmp_path / "d"
    with pytest.raises(ExportCancelled, match="re-run"):
        export_dataset(
            records,
            out,
            extractors=extractors,
            seed=0,
            name="x",
            shard_size=4,
            should_stop=stop_after_two_shards,
        )
    assert not out.exists()
    assert extractors.text.calls["extract"] == 2  # one call per shard: 0 and 1, not 2
    assert len(list((partial_path(out) / "features/text").glob("shard-*.mask.npy"))) == 2


def test_an_export_where_nothing_decodes_is_an_error(tmp_path, clip_paths, extractors):
    bad = ExportRecord(
        CORRUPT_ID, dict.fromkeys(MODALITIES, "fear"), "好", clip_paths[CORRUPT_ID], 1.0
    )
    with pytest.raises(ExportError, match="None of the 1 utterances could be decoded"):
        export_dataset([bad], tmp_path / "d", extractors=extractors, seed=0, name="x")
    assert not (tmp_path / "d").exists()


def test_a_missing_media_file_is_a_failed_utterance(tmp_path, records, extractors):
    gone = ExportRecord("zz", dict.fromkeys(MODALITIES, "fear"), "好", tmp_path / "no.mp4", 1.0)
    result = export_dataset(
        [*records[1:3], gone], tmp_path / "d", extractors=extractors, seed=0, name="x"
    )
    assert [f["utterance_id"] for f in result.failed] == ["zz"]
    assert "No media file" in result.failed[0]["error"]


def test_statistics_given_as_a_function_see_only_the_utterances_with_features(
    tmp_path, records, extractors
):
    seen = {}

    def statistics(exported):
        seen.update(exported)
        return {"utterances": len(exported)}

    result = export_dataset(
        records, tmp_path / "d", extractors=extractors, seed=0, name="x", statistics=statistics
    )
    manifest = pd.read_parquet(tmp_path / "d/manifest.parquet").set_index("utterance_id")
    ok = manifest[manifest.status == "ok"]
    assert seen == ok["split"].to_dict() and CORRUPT_ID not in seen
    assert result.datasheet["statistics"] == {"utterances": len(ok)}


def test_statistics_are_kept_in_the_datasheet(tmp_path, records, extractors):
    stats = {"inconsistency": {"t-a": 0.41}}
    result = export_dataset(
        records[:2], tmp_path / "d", extractors=extractors, seed=0, name="x", statistics=stats
    )
    assert result.datasheet["statistics"] == stats
    assert '"t-a": 0.41' in (tmp_path / "d/DATASHEET.md").read_text(encoding="utf-8")


class Loud:
    """A text extractor whose features overflow float16."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def extract(self, texts):
        features, mask = self.inner.extract(texts)
        return features * 1e6, mask


def test_features_beyond_float16_range_are_an_error_not_infinities(tmp_path, records, extractors):
    extractors.text = Loud(extractors.text)
    with pytest.raises(ExportError, match="exceed float16's range.*dtype='float32'"):
        export_dataset(records[1:3], tmp_path / "d", extractors=extractors, seed=0, name="x")
    export_dataset(
        records[1:3], tmp_path / "e", extractors=extractors, seed=0, name="x", dtype="float32"
    )


def test_extractors_load_from_model_directories(model_dirs):
    loaded = Extractors.from_pretrained(
        text=str(model_dirs["text"]),
        audio=str(model_dirs["audio"]),
        vision=str(model_dirs["vision"]),
        device="cpu",
        segments=2,
        per_segment=1,
    )
    assert loaded.text.sequence_length == 80 and loaded.audio.hidden_size == 32
    assert loaded.vision.num_frames == 2
    assert set(loaded.by_modality()) == {"t", "a", "v"}


def test_exact_sizes_on_request_cut_6_2_2_and_the_datasheet_warns_items_may_move(
    tmp_path, records, extractors
):
    result = export_dataset(
        records, tmp_path / "d", extractors=extractors, seed=7, name="x", exact_sizes=True
    )
    manifest = pd.read_parquet(tmp_path / "d/manifest.parquet").set_index("utterance_id")
    ids = [r.utterance_id for r in records]
    assert manifest["split"].to_dict() == split_utterances(ids, seed=7, exact_sizes=True)
    assert manifest["split"].value_counts().to_dict() == dict(
        zip(("train", "validation", "test"), split_sizes(len(ids)), strict=True)
    )
    assert result.datasheet["exact_sizes"] is True
    assert "may move between splits" in (tmp_path / "d/DATASHEET.md").read_text(encoding="utf-8")
