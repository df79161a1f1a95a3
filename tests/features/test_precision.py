"""The extractors' arithmetic: fp32, or bf16 autocast where it is faster (CUDA; CPUs with AMX,
or AMD ones with AVX512-BF16).

bf16 keeps 8 bits of mantissa, so features move by about 1 % of their range; the export
records which arithmetic made them (the datasheet's `compute_precision`).
"""

import numpy as np
import pytest

from training.features import (
    AudioFeatureExtractor,
    TextFeatureExtractor,
    VisionFeatureExtractor,
    common,
)

from .media import grey_ramp, write_video

# Largest difference bf16 may make, as a share of the fp32 features' range (measured 0.6 %
# on base-size models; the tiny ones here differ by less).
TOLERANCE = 0.03


def relative_difference(fp32: np.ndarray, bf16: np.ndarray) -> float:
    return float(np.abs(fp32 - bf16).max() / (fp32.max() - fp32.min()))


def test_auto_is_bf16_only_where_it_is_faster(monkeypatch):
    from training.engine import precision

    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert common.resolve_precision("auto", "cpu") == "bf16"
    assert common.resolve_precision("auto", "cuda:1") == "bf16"
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert common.resolve_precision("auto", "cpu") == "fp32"
    assert common.resolve_precision("auto", "cuda:1") == "bf16"
    assert common.resolve_precision("bf16", "cpu") == "bf16"  # asked for, even if slower
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        common.resolve_precision("fp16", "cpu")


def test_text_features_in_bf16_are_within_tolerance_and_say_so(bert_path):
    texts = ["今天很开心", "我不知道", "为什么会这样呢"]
    fp32 = TextFeatureExtractor(str(bert_path), device="cpu", precision="fp32")
    bf16 = TextFeatureExtractor(str(bert_path), device="cpu", precision="bf16")
    a, b = fp32.extract(texts), bf16.extract(texts)
    assert b.features.dtype == np.float32 and np.array_equal(a.mask, b.mask)
    assert 0 < relative_difference(a.features, b.features) < TOLERANCE
    assert fp32.describe()["compute_precision"] == "fp32"
    assert bf16.describe()["compute_precision"] == "bf16"


def test_audio_features_in_bf16_are_within_tolerance(wav2vec2_layer_path):
    waves = [np.sin(np.linspace(0, 400 * n, 16000 * n)).astype(np.float32) for n in (1, 2)]
    fp32 = AudioFeatureExtractor(str(wav2vec2_layer_path), device="cpu", precision="fp32")
    bf16 = AudioFeatureExtractor(str(wav2vec2_layer_path), device="cpu", precision="bf16")
    for a, b in zip(fp32.extract(waves), bf16.extract(waves), strict=True):
        assert a.shape == b.shape and b.dtype == np.float32
        assert relative_difference(a, b) < TOLERANCE


def test_vision_features_in_bf16_are_within_tolerance(resnet18_path, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=grey_ramp(24))
    fp32 = VisionFeatureExtractor(str(resnet18_path), device="cpu", precision="fp32")
    bf16 = VisionFeatureExtractor(str(resnet18_path), device="cpu", precision="bf16")
    a, b = fp32.extract_file(clip), bf16.extract_file(clip)
    assert np.array_equal(a.frame_indices, b.frame_indices)
    assert np.array_equal(a.face_found, b.face_found)
    assert b.features.dtype == np.float32
    assert 0 < relative_difference(a.features, b.features) < TOLERANCE
