"""Tiny extractors (the feature tests' save_pretrained models), a dozen short clips and one
corrupt file, and records labelling them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import ResNetConfig

from labeling.emotions import EMOTIONS, MODALITIES
from tests.clips import write_clip
from tests.features.conftest import save_resnet, save_tiny_bert, save_tiny_wav2vec2
from training.dataset import ExportRecord, Extractors, export_dataset
from training.features import AudioFeatureExtractor, TextFeatureExtractor, VisionFeatureExtractor

GOOD_CLIPS = 12
CORRUPT_ID = "u-corrupt"
TRANSCRIPTS = ("我今天很高兴", "你说什么", "他不想去了", "我们明天来看你", "这个人好吗", "天啊")


@pytest.fixture(autouse=True, scope="package")
def _single_torch_thread():
    """Tiny models: one intra-op thread is faster than two fighting other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Counting:
    """An extractor whose extract calls are counted (to see which shards were recomputed)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if name not in ("extract", "extract_file"):
            return attribute

        def counted(arg, *args, **kwargs):
            self.calls[name] += 1
            self.items[name] += len(arg) if name == "extract" else 1
            return attribute(arg, *args, **kwargs)

        return counted


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory) -> dict[str, Path]:
    tiny_resnet = ResNetConfig(
        layer_type="basic", depths=[1, 1, 1, 1], hidden_sizes=[8, 8, 16, 16], embedding_size=8
    )
    return {
        "text": save_tiny_bert(tmp_path_factory.mktemp("bert")),
        "audio": save_tiny_wav2vec2(tmp_path_factory.mktemp("w2v"), "layer", processor=True),
        "vision": save_resnet(tmp_path_factory.mktemp("resnet"), tiny_resnet, processor=True),
    }


@pytest.fixture(scope="session")
def session_extractors(model_dirs) -> Extractors:
    # fp32: features compared across batchings (pools against exports) agree to fp16 rounding;
    # bf16, auto on some CPUs, rounds each batch shape its own way (tests/features).
    options = {"device": "cpu", "precision": "fp32"}
    return Extractors(
        text=TextFeatureExtractor(str(model_dirs["text"]), max_words=14, **options),
        audio=AudioFeatureExtractor(str(model_dirs["audio"]), **options),
        vision=VisionFeatureExtractor(
            str(model_dirs["vision"]), segments=2, per_segment=2, crop_size=32, **options
        ),
    )


@pytest.fixture
def extractors(session_extractors) -> Extractors:
    """The session's extractors behind fresh call counters."""
    return Extractors(
        text=Counting(session_extractors.text),
        audio=Counting(session_extractors.audio),
        vision=Counting(session_extractors.vision),
    )


@pytest.fixture(scope="session")
def clip_paths(tmp_path_factory) -> dict[str, Path]:
    """12 clips of 0.6 to 1.7 s with sound, and one file of random bytes."""
    folder = tmp_path_factory.mktemp("clips")
    paths = {
        f"u{i:02d}": write_clip(
            folder / f"u{i:02d}.mp4", seconds=0.6 + 0.1 * i, size=(64, 48), shade=20 * i
        )
        for i in range(GOOD_CLIPS)
    }
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
    paths[CORRUPT_ID] = corrupt
    return paths


def make_records(clip_paths: dict[str, Path]) -> list[ExportRecord]:
    """Every emotion appears; labels of t, a, v, m differ as CHERMA's do."""
    records = []
    for i, (uid, path) in enumerate(sorted(clip_paths.items())):
        labels = {m: EMOTIONS[(i + 2 * j) % len(EMOTIONS)] for j, m in enumerate(MODALITIES)}
        records.append(
            ExportRecord(
                utterance_id=uid,
                labels=labels,
                transcript=TRANSCRIPTS[i % len(TRANSCRIPTS)],
                media_path=path,
                duration_seconds=round(0.6 + 0.1 * i, 3),
                speaker_gender=("female", "male")[i % 2],
                age_group="teen",
                programme="合成剧 1",
                scenario="household",
            )
        )
    return records


@pytest.fixture(scope="session")
def records(clip_paths) -> list[ExportRecord]:
    return make_records(clip_paths)


@pytest.fixture(scope="session")
def exported(tmp_path_factory, records, session_extractors) -> Path:
    """One export (shards of 4, released layout) that read-only tests share."""
    out = tmp_path_factory.mktemp("exports") / "cherma-tiny"
    export_dataset(
        records,
        out,
        extractors=session_extractors,
        seed=7,
        name="tiny",
        shard_size=4,
        released_layout=True,
    )
    return out
