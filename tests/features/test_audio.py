import json

import numpy as np
import pytest

from training.features import AudioDecodeError, AudioFeatureExtractor, fixed_length, load_audio

from .media import grey_ramp, write_tone, write_video


def dominant_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("suffix", [".mp4", ".m4a"])
def test_load_audio_gives_16k_mono_float32_of_the_clip_length(tmp_path, suffix):
    path = write_tone(tmp_path / f"tone{suffix}", seconds=1.0, rate=44100)
    audio = load_audio(path)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert abs(audio.size - 16000) <= 800  # AAC priming/padding: within 50 ms
    assert abs(dominant_frequency(audio, 16000) - 440) < 5
    assert 0.3 < np.abs(audio).max() <= 1.0


def test_load_audio_resamples_to_the_requested_rate(tmp_path):
    audio = load_audio(write_tone(tmp_path / "tone.m4a", seconds=1.0), sample_rate=8000)
    assert abs(audio.size - 8000) <= 400
    assert abs(dominant_frequency(audio, 8000) - 440) < 5


def test_load_audio_reads_the_sound_of_a_video(tmp_path):
    path = write_video(tmp_path / "clip.mp4", grey_ramp(25), with_audio=True)
    assert abs(load_audio(path).size - 16000) <= 800


def test_corrupt_file_raises_a_decode_error_that_names_the_file(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioDecodeError, match="broken.mp4"):
        load_audio(path)


def test_video_without_audio_raises_a_decode_error_saying_so(tmp_path):
    path = write_video(tmp_path / "silent.mp4", grey_ramp(10))
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        load_audio(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_audio(tmp_path / "nothing.wav")


def test_frames_come_at_about_50_per_second_and_match_the_conv_arithmetic(wav2vec2_layer_path):
    extractor = AudioFeatureExtractor(str(wav2vec2_layer_path))
    rng = np.random.default_rng(0)
    (frames,) = extractor.extract([rng.standard_normal(32000).astype(np.float32)])
    assert frames.shape == (99, 32) and frames.dtype == np.float32  # (32000 - 400) // 320 + 1
    assert extractor.frame_count(32000) == 99
    assert extractor.describe()["receptive_field_samples"] == 400  # 25 ms at 16 kHz
    assert extractor.describe()["stride_samples"] == 320  # 20 ms


def test_extract_files_reads_a_clip_and_returns_full_length_frames(wav2vec2_layer_path, tmp_path):
    extractor = AudioFeatureExtractor(str(wav2vec2_layer_path))
    (frames,) = extractor.extract_files([write_tone(tmp_path / "tone.m4a", seconds=2.0)])
    assert 97 <= frames.shape[0] <= 101 and frames.shape[1] == 32


@pytest.mark.parametrize("fixture", ["wav2vec2_layer_path", "wav2vec2_group_path"])
def test_batched_extraction_equals_one_by_one_and_is_trimmed_to_true_lengths(fixture, request):
    path = str(request.getfixturevalue(fixture))
    rng = np.random.default_rng(1)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (16000, 5000, 16000, 9000)]
    # fp32: bf16 (auto on some CPUs) rounds each batch shape its own way (test_precision.py).
    batched = AudioFeatureExtractor(path, batch_size=4, precision="fp32").extract(waves)
    single = AudioFeatureExtractor(path, batch_size=1, precision="fp32").extract(waves)
    assert [f.shape[0] for f in batched] == [49, 15, 49, 27]
    for b, s in zip(batched, single, strict=True):
        np.testing.assert_allclose(b, s, atol=1e-4)


def test_group_norm_models_batch_clips_of_any_length_unless_told_not_to(wav2vec2_group_path):
    """The front end's group norm runs clip by clip, so clips of different lengths still share
    the transformer's batches; datasets made before batched only equal lengths."""
    extractor = AudioFeatureExtractor(str(wav2vec2_group_path), batch_size=4)
    assert not extractor.supports_mask
    assert extractor._batches([100, 200, 100, 300, 200]) == [[0, 2, 1, 4], [3]]
    assert extractor.describe()["batched_with_attention_mask"]
    before = AudioFeatureExtractor(str(wav2vec2_group_path), batch_size=4, batch_any_length=False)
    assert before._batches([100, 200, 100, 300, 200]) == [[0, 2], [1, 4], [3]]
    assert not before.describe()["batched_with_attention_mask"]


def test_group_norm_features_of_clips_batched_with_others_are_their_own(wav2vec2_group_path):
    """A clip among longer ones gives its features alone, not ones shifted by the padding: the
    group norm's statistics are the clip's (zeros in them would move every frame)."""
    rng = np.random.default_rng(2)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (16000, 5000, 9000)]
    path = str(wav2vec2_group_path)
    batched = AudioFeatureExtractor(path, batch_size=3, precision="fp32").extract(waves)
    alone = AudioFeatureExtractor(path, batch_size=1, precision="fp32")
    for wave, got in zip(waves, batched, strict=True):
        (want,) = alone.extract([wave])
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.ptp(want))
    # What the padding would do to the statistics, were the front end batched padded.
    padded = np.zeros(16000, np.float32)
    padded[:5000] = waves[1]
    (shifted,) = alone.extract([padded])
    assert np.abs(shifted[: len(batched[1])] - batched[1]).max() > 1e-3 * np.ptp(batched[1])


def test_normalisation_uses_the_saved_feature_extractor_or_zero_mean_unit_variance(
    wav2vec2_layer_path, wav2vec2_group_path
):
    with_processor = AudioFeatureExtractor(str(wav2vec2_layer_path))
    without = AudioFeatureExtractor(str(wav2vec2_group_path))
    assert with_processor.describe()["normalisation"] == "feature_extractor"
    assert without.describe()["normalisation"] == "zero_mean_unit_var"
    wave = 3 + 0.1 * np.random.default_rng(2).standard_normal(8000).astype(np.float32)
    for extractor in (with_processor, without):
        values = extractor.normalise(wave)
        assert abs(values.mean()) < 1e-3 and abs(values.std() - 1) < 1e-3


def test_clips_shorter_than_the_receptive_field_give_one_frame(wav2vec2_layer_path):
    (frames,) = AudioFeatureExtractor(str(wav2vec2_layer_path)).extract([np.ones(100, np.float32)])
    assert frames.shape == (1, 32)


def test_fixed_length_samples_long_sequences_uniformly():
    frames = np.arange(10, dtype=np.float32)[:, None] * np.array([1, 10], dtype=np.float32)
    out, mask = fixed_length(frames, length=4)
    # rint(linspace(0, 9, 4)) = rint([0, 3, 6, 9])
    np.testing.assert_array_equal(out[:, 0], [0, 3, 6, 9])
    np.testing.assert_array_equal(out[:, 1], [0, 30, 60, 90])
    assert mask.dtype == bool and mask.all()
    out, _ = fixed_length(np.arange(7, dtype=np.float32)[:, None], length=3)
    np.testing.assert_array_equal(out[:, 0], [0, 3, 6])
    out, _ = fixed_length(np.arange(6, dtype=np.float32)[:, None], length=4)
    np.testing.assert_array_equal(out[:, 0], [0, 2, 3, 5])  # rint([0, 1.67, 3.33, 5])


def test_fixed_length_pads_short_sequences_with_zeros_and_false_mask():
    frames = np.ones((3, 2), dtype=np.float32)
    out, mask = fixed_length(frames, length=5)
    assert out.shape == (5, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:3], 1)
    np.testing.assert_array_equal(out[3:], 0)
    np.testing.assert_array_equal(mask, [True, True, True, False, False])


def test_fixed_length_keeps_exact_lengths_and_handles_empty_input():
    frames = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    out, mask = fixed_length(frames, length=4)
    np.testing.assert_array_equal(out, frames)
    assert mask.all()
    out, mask = fixed_length(np.zeros((0, 3), np.float32), length=2)
    assert out.shape == (2, 3) and not mask.any()


def test_fixed_length_cut_mode_keeps_the_first_frames_like_the_released_code():
    out, mask = fixed_length(np.arange(60, dtype=np.float32)[:, None], length=50, how="cut")
    np.testing.assert_array_equal(out[:, 0], np.arange(50))
    assert mask.all()


def test_fixed_length_is_pure():
    frames = np.arange(12, dtype=np.float32).reshape(6, 2)
    before = frames.copy()
    for length in (3, 6, 8):
        out, _ = fixed_length(frames, length=length)
        out[:] = -1
    np.testing.assert_array_equal(frames, before)


def test_audio_describe_records_provenance(wav2vec2_layer_path):
    info = AudioFeatureExtractor(str(wav2vec2_layer_path)).describe()
    assert info["modality"] == "a" and info["hidden_size"] == 32
    assert info["sample_rate"] == 16000
    assert len(info["weights_sha256"]) == 64
    json.dumps(info)  # goes into the datasheet as is
