import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from transformers import ResNetConfig

from training.features import (
    FaceDetector,
    HaarFaceDetector,
    VideoDecodeError,
    VisionFeatureExtractor,
    crop_face,
    sample_frames,
)
from training.features.haar import area
from training.features.vision import sample_frame_indices

from .conftest import save_resnet
from .media import frame_index, grey_ramp, write_tone, write_video

# haarcascade_frontalface_default.xml as shipped in the OpenCV 4 wheels (cv2.data).
OPENCV_CASCADE_SHA256 = "0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0"


def grace_hopper() -> np.ndarray:
    """A real portrait shipped with matplotlib (its sample data): RGB (600, 512, 3)."""
    matplotlib = pytest.importorskip("matplotlib")
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        pytest.skip("matplotlib's sample data (grace_hopper.jpg) is not installed")
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


class FixedBoxes:
    """A stub detector returning the same boxes for every frame."""

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, rgb):
        return list(self.boxes)


def test_sample_frames_gives_64_frames_in_time_order_from_the_right_segments(tmp_path):
    path = write_video(tmp_path / "ramp.mp4", grey_ramp(100))
    frames = sample_frames(path, segments=8, per_segment=8, seed=3)
    assert len(frames) == 64 and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    indices = [frame_index(f) for f in frames]
    assert indices == sample_frame_indices(100, 8, 8, seed=3).tolist()
    assert indices == sorted(indices)
    for segment in range(8):  # 8 distinct frames from each eighth of the clip
        chunk = indices[segment * 8 : (segment + 1) * 8]
        assert len(set(chunk)) == 8
        assert all(segment * 100 // 8 <= i < (segment + 1) * 100 // 8 for i in chunk)


def test_sample_frames_is_deterministic_for_a_seed(tmp_path):
    path = write_video(tmp_path / "ramp.mp4", grey_ramp(100))
    first = [frame_index(f) for f in sample_frames(path, seed=7)]
    again = [frame_index(f) for f in sample_frames(path, seed=7)]
    other = [frame_index(f) for f in sample_frames(path, seed=8)]
    assert first == again
    assert first != other


def test_short_clips_reuse_frames_instead_of_failing(tmp_path):
    path = write_video(tmp_path / "short.mp4", grey_ramp(5))
    indices = [frame_index(f) for f in sample_frames(path)]
    assert len(indices) == 64
    assert indices == sorted(indices)
    assert set(indices) == {0, 1, 2, 3, 4}


def test_sample_frame_indices_uses_every_frame_of_a_segment_shorter_than_per_segment():
    indices = sample_frame_indices(20, segments=8, per_segment=8, seed=0)
    assert len(indices) == 64 and (np.diff(indices) >= 0).all()
    assert set(indices.tolist()) == set(range(20))


def test_released_code_frame_count_is_an_option(tmp_path):
    path = write_video(tmp_path / "ramp.mp4", grey_ramp(40))
    assert len(sample_frames(path, segments=2, per_segment=8)) == 16


def test_video_errors_say_what_is_wrong(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        sample_frames(broken)
    with pytest.raises(VideoDecodeError, match="no video stream"):
        sample_frames(write_tone(tmp_path / "tone.m4a"))


def test_crop_face_falls_back_to_a_centre_crop_when_no_face_is_found():
    frame = np.zeros((100, 200, 3), dtype=np.uint8)
    frame[:, 50:150] = 255  # the centred 100 × 100 square is white, the sides black
    crop, found = crop_face(frame, HaarFaceDetector(), size=224)
    assert not found
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    assert crop.min() == 255


def test_crop_face_takes_a_square_with_margin_around_the_largest_face():
    frame = np.zeros((200, 300, 3), dtype=np.uint8)
    frame[80:120, 180:220] = 255  # the "large face" at (180, 80, 40, 40)
    detector = FixedBoxes([(10, 10, 20, 20), (180, 80, 40, 40)])
    crop, found = crop_face(frame, detector, size=60, margin=0.25)
    assert found
    # side 40 · 1.5 = 60 pixels centred on the box: the box fills the middle 40 × 40.
    assert crop[10:50, 10:50].min() == 255
    assert crop[:10].max() == 0 and crop[50:].max() == 0


def test_crop_face_pads_with_black_where_the_square_leaves_the_frame():
    frame = np.full((100, 100, 3), 255, dtype=np.uint8)
    crop, found = crop_face(frame, FixedBoxes([(0, 0, 40, 40)]), size=80, margin=0.5)
    assert found
    assert crop[:20, :20].max() == 0 and crop[40:, 40:].min() == 255


def test_haar_detector_is_a_face_detector_and_finds_a_real_face():
    detector = HaarFaceDetector()
    assert isinstance(detector, FaceDetector)
    boxes = detector.detect(grace_hopper())
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    # OpenCV 4.14's CascadeClassifier finds (155, 105, 222, 222) on this photo.
    assert abs(x - 155) <= 4 and abs(y - 105) <= 4 and abs(w - 222) <= 8 and w == h


def test_haar_detector_finds_the_face_on_a_downsized_frame_and_maps_it_back():
    photo = grace_hopper()
    small = HaarFaceDetector(max_side=300).detect(photo)
    assert len(small) == 1
    x, y, w, _ = small[0]
    assert abs(x - 155) <= 12 and abs(y - 105) <= 12 and abs(w - 222) <= 24


def test_haar_detector_finds_nothing_on_blank_or_flat_frames():
    detector = HaarFaceDetector()
    assert detector.detect(np.zeros((240, 320, 3), np.uint8)) == []
    assert detector.detect(np.full((240, 320, 3), 128, np.uint8)) == []


def test_haar_detector_records_opencvs_bundled_cascade_for_the_datasheet():
    info = HaarFaceDetector().describe()
    assert info["cascade"] == "haarcascade_frontalface_default.xml"
    assert info["cascade_sha256"] == OPENCV_CASCADE_SHA256
    assert info["opencv"] == cv2.__version__


def test_haar_detector_with_an_unreadable_cascade_says_what_to_pass(tmp_path):
    bad = tmp_path / "not_a_cascade.xml"
    bad.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(ValueError, match="not_a_cascade.xml"):
        HaarFaceDetector(cascade_path=bad)


def test_largest_face_is_found_when_far_smaller_than_the_neighbouring_frames_face():
    photo = grace_hopper()
    small = np.zeros_like(photo)
    small[200:350, 180:308] = cv2.resize(photo, (128, 150), interpolation=cv2.INTER_AREA)
    detector = HaarFaceDetector()
    expected = max(detector.detect(small), key=area)
    assert expected[2] < 100  # a third of the big face's side or less: the full search runs
    assert detector.largest(small, near=(150, 100, 300, 300)) == expected
    assert detector.largest(small) == expected
    assert detector.largest(np.zeros_like(photo), near=expected) is None


def zooming_portrait(count: int) -> list[np.ndarray]:
    """A 320 × 240 clip of the portrait shrinking from filling the frame to a quarter of it,
    drifting right, then a few blank frames."""
    photo = grace_hopper()
    frames = []
    for i in range(count):
        height = int(240 - 150 * i / count)
        width = height * photo.shape[1] // photo.shape[0]
        frame = np.zeros((240, 320, 3), np.uint8)
        left = min(i * 2, 320 - width)
        frame[:height, left : left + width] = cv2.resize(
            photo, (width, height), interpolation=cv2.INTER_AREA
        )
        frames.append(frame)
    return frames + [np.zeros((240, 320, 3), np.uint8)] * 6


def test_extracted_features_are_the_bytes_of_a_full_face_search_on_every_frame(
    tiny_resnet_path, tmp_path
):
    """Searching faces from the previous frame's face (HaarFaceDetector.largest) is a speed-up
    only: features and face flags equal those of the full search, frame by frame."""
    from labeling.synthetic import plan_corpus, write_media

    clips = [write_video(tmp_path / "zoom.mp4", zooming_portrait(90))]
    for i, (item, faces) in enumerate(zip(plan_corpus(3, seed=5), (1, 2, 1), strict=True)):
        clips.append(tmp_path / f"synthetic{i}.mp4")
        write_media(dataclasses.replace(item, seconds=2.0), clips[-1], faces=faces)
    clips.append(write_video(tmp_path / "short.mp4", zooming_portrait(12)))  # repeats frames
    extractor = VisionFeatureExtractor(str(tiny_resnet_path), precision="fp32")
    detector = HaarFaceDetector()
    found_any = 0
    for clip in clips:
        got = extractor.extract_file(clip)
        cropped = [crop_face(f, detector, extractor.crop_size) for f in sample_frames(clip)]
        found = np.array([ok for _, ok in cropped])
        np.testing.assert_array_equal(got.face_found, found, err_msg=clip.name)
        expected = extractor.encode(np.stack([c for c, _ in cropped]))
        assert got.features.tobytes() == expected.tobytes(), clip.name
        found_any += found.sum()
    assert 0 < found_any < 64 * len(clips)  # faces found, and frames without one


def test_resnet18_features_are_64_by_512_and_record_where_faces_were_found(resnet18_path, tmp_path):
    face = cv2.resize(grace_hopper(), (128, 150), interpolation=cv2.INTER_AREA)
    blank = np.zeros_like(face)
    path = write_video(tmp_path / "half_face.mp4", [face] * 20 + [blank] * 20)
    extractor = VisionFeatureExtractor(str(resnet18_path), batch_size=16)
    result = extractor.extract_file(path)
    assert result.features.shape == (64, 512) and result.features.dtype == np.float32
    assert result.face_found.shape == (64,) and result.face_found.dtype == bool
    np.testing.assert_array_equal(result.face_found, result.frame_indices < 20)
    assert np.isfinite(result.features).all()
    info = extractor.describe()
    assert info["hidden_size"] == 512 and info["num_frames"] == 64 and info["crop_size"] == 224
    assert info["normalisation"] == "imagenet"
    assert info["face_detector"]["cascade_sha256"] == OPENCV_CASCADE_SHA256
    json.dumps(info)  # goes into the datasheet as is


def test_released_code_shapes_16_frames_of_2048_from_a_bottleneck_resnet(tmp_path):
    config = ResNetConfig(
        layer_type="bottleneck",
        depths=[1, 1, 1, 1],
        hidden_sizes=[16, 32, 64, 2048],
        embedding_size=8,
    )
    model = save_resnet(tmp_path / "resnet_bottleneck", config)
    path = write_video(tmp_path / "ramp.mp4", grey_ramp(30))
    extractor = VisionFeatureExtractor(str(model), segments=2, per_segment=8, crop_size=64)
    result = extractor.extract_file(path)
    assert result.features.shape == (16, 2048)
    assert not result.face_found.any()


def test_batching_does_not_change_vision_features(tiny_resnet_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (40, 50, 3), dtype=np.uint8) for _ in range(5)]
    detector = FixedBoxes([])
    one = VisionFeatureExtractor(
        str(tiny_resnet_path), batch_size=1, crop_size=32, detector=detector
    )
    many = VisionFeatureExtractor(
        str(tiny_resnet_path), batch_size=4, crop_size=32, detector=detector
    )
    np.testing.assert_allclose(
        one.extract_frames(frames)[0], many.extract_frames(frames)[0], atol=1e-5
    )


def test_image_processor_mean_and_std_are_used_when_the_model_has_one(tiny_resnet_path):
    extractor = VisionFeatureExtractor(str(tiny_resnet_path), crop_size=32)
    info = extractor.describe()
    assert info["normalisation"] == "image_processor"
    assert info["image_mean"] == [0.5, 0.5, 0.5] and info["image_std"] == [0.25, 0.25, 0.25]
    assert info["hidden_size"] == 16


def test_the_demo_random_resnet_normalises_with_imagenet_and_asks_for_no_torchvision(
    tmp_path, capfd
):
    """The demo's tiny vision model is saved with ImageNet's mean and std (what an export
    with microsoft/resnet-18 uses), by a processor that does not tell the user to install
    torchvision (which would pull a second torch)."""
    from training.features.random_models import save_random_models
    from training.features.vision import IMAGENET_MEAN, IMAGENET_STD

    path = save_random_models(tmp_path, "tiny")["vision"]
    info = VisionFeatureExtractor(path, crop_size=32).describe()
    assert info["normalisation"] == "image_processor"
    assert info["image_mean"] == pytest.approx(list(IMAGENET_MEAN))
    assert info["image_std"] == pytest.approx(list(IMAGENET_STD))
    out, err = capfd.readouterr()
    assert "torchvision" not in out + err


def test_vision_weights_hash_changes_when_the_weights_change(tiny_resnet_path, tmp_path):
    config = ResNetConfig(
        layer_type="basic", depths=[1, 1, 1, 1], hidden_sizes=[8, 8, 16, 16], embedding_size=8
    )
    other = save_resnet(tmp_path / "other", config)
    model = VisionFeatureExtractor(str(other)).model
    with_changed = tmp_path / "changed"
    for p in model.parameters():
        p.data.add_(1.0)
    model.save_pretrained(with_changed)
    first = VisionFeatureExtractor(str(other)).describe()["weights_sha256"]
    assert VisionFeatureExtractor(str(with_changed)).describe()["weights_sha256"] != first


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_compiled_resnet_gives_the_eager_features_within_rounding(
    tiny_resnet_path, tmp_path, precision
):
    """compile=True folds batch norm into the convolutions: the same features up to float
    rounding in fp32, and within bf16's documented tolerance of fp32 in bf16."""
    from .test_precision import TOLERANCE, relative_difference

    clip = write_video(tmp_path / "ramp.mp4", grey_ramp(40))
    options = {"crop_size": 64, "segments": 2, "per_segment": 12}
    eager = VisionFeatureExtractor(str(tiny_resnet_path), precision="fp32", **options)
    compiled = VisionFeatureExtractor(
        str(tiny_resnet_path), precision=precision, compile=True, **options
    )
    assert compiled.batch_size == 24 and compiled.describe()["compiled"]
    frames = sample_frames(clip, segments=2, per_segment=12)
    want, _ = eager.extract_frames(frames)
    got, _ = compiled.extract_frames(frames)
    assert got.shape == (24, 16) and got.dtype == np.float32
    assert relative_difference(want, got) < (1e-5 if precision == "fp32" else TOLERANCE)
    # A short batch is padded to the compiled shape and gives its rows' features.
    part, _ = compiled.extract_frames(frames[:5])
    np.testing.assert_allclose(part, got[:5], rtol=0, atol=1e-5 * np.ptp(got))
