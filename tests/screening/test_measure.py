"""measure_clip on generated clips, and judge()'s decision with the default thresholds."""

import pytest

from labeling.screening import ClipUnreadable, Thresholds, judge, measure_clip
from tests.screening.clips import screening_clip
from training.features.haar import HaarFaceDetector

CASES = {
    "one face, voice": {"faces": 1},
    "no face": {"faces": 0},
    "two faces": {"faces": 2},
    "silent audio": {"voice": False},
    "no audio": {"audio": False},
}


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screening-clips")
    detector = HaarFaceDetector()
    return {
        name: measure_clip(screening_clip(folder / f"{i}.mp4", **options), detector)
        for i, (name, options) in enumerate(CASES.items())
    }


def test_a_clip_with_one_face_and_a_voice_passes(measured):
    m = measured["one face, voice"]
    assert m["faces"] == [1] * 16
    assert m["has_audio"] and m["loudness_db"] > -30
    assert m["duration_seconds"] == pytest.approx(2.0, abs=0.05)
    assert judge(m, Thresholds()) == (True, [])


def test_a_clip_with_no_face_is_rejected_for_its_faces(measured):
    m = measured["no face"]
    assert m["faces"] == [0] * 16
    assert judge(m, Thresholds()) == (
        False,
        ["exactly one face in 0 of 16 sampled frames (0 %), need 60 %"],
    )


def test_a_clip_with_two_faces_is_rejected_as_several_speakers(measured):
    m = measured["two faces"]
    assert m["faces"] == [2] * 16
    assert judge(m, Thresholds()) == (
        False,
        ["exactly one face in 0 of 16 sampled frames (0 %; two or more in 16), need 60 %"],
    )


def test_a_silent_clip_is_rejected_as_silent(measured):
    m = measured["silent audio"]
    assert m["has_audio"] and m["loudness_db"] == -100.0
    assert m["faces"] == [1] * 16
    assert judge(m, Thresholds()) == (
        False,
        ["audio is silent (\u2212100 dBFS, quieter than \u221245 dBFS)"],
    )


def test_a_clip_without_audio_is_rejected_for_it(measured):
    m = measured["no audio"]
    assert not m["has_audio"] and m["window_db_histogram"] == []
    assert judge(m, Thresholds()) == (False, ["has no audio track"])


def test_measures_keep_window_levels_so_thresholds_can_change(measured):
    m = measured["one face, voice"]
    assert sum(m["window_db_histogram"]) == m["windows"] == 40  # 2 s of 50 ms windows
    # The voice pauses: a stricter voiced-share threshold refuses the same measures.
    assert judge(m, Thresholds(min_voiced_share=0.99))[0] is False


def test_measures_name_the_face_detector(measured):
    assert measured["no face"]["detector"]["name"] == "haar-frontalface"


def test_a_damaged_file_is_unreadable_not_a_crash(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(ClipUnreadable, match="broken.mp4"):
        measure_clip(broken, HaarFaceDetector())
