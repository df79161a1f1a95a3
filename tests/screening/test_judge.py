"""judge() on hand-written measures: each check, its sentence, and thresholds changed later."""

import pytest

from labeling.screening import FLOOR_DB, Thresholds, judge, voiced_share, window_histogram


def measures(**changes) -> dict:
    """A clip that passes the default thresholds: 3 s, loud, one face in every frame."""
    base = {
        "duration_seconds": 3.0,
        "has_audio": True,
        "has_video": True,
        "loudness_db": -20.0,
        "windows": 60,
        "window_db_histogram": window_histogram([-20.0] * 50 + [-70.0] * 10),
        "faces": [1] * 16,
    }
    return base | changes


def test_a_clip_meeting_every_threshold_passes_without_reasons():
    assert judge(measures(), Thresholds()) == (True, [])


def test_too_short_and_too_long_clips_say_their_length():
    assert judge(measures(duration_seconds=0.6), Thresholds()) == (
        False,
        ["lasts 0.6 s, shorter than 1 s"],
    )
    assert judge(measures(duration_seconds=42.25), Thresholds(max_seconds=30)) == (
        False,
        ["lasts 42.2 s, longer than 30 s"],
    )


def test_silent_audio_is_refused_with_its_level():
    silent = measures(loudness_db=-80.0, window_db_histogram=window_histogram([-80.0] * 60))
    passed, reasons = judge(silent, Thresholds())
    assert not passed
    assert reasons == ["audio is silent (\u221280 dBFS, quieter than \u221245 dBFS)"]


def test_a_clip_without_audio_track_is_refused():
    passed, reasons = judge(
        measures(has_audio=False, loudness_db=None, window_db_histogram=[]), Thresholds()
    )
    assert (passed, reasons) == (False, ["has no audio track"])


def test_loud_but_mostly_quiet_audio_fails_the_voiced_share():
    # One loud burst, then quiet: loud enough overall, but sound in only 10 % of windows.
    sparse = measures(
        loudness_db=-30.0, window_db_histogram=window_histogram([-10.0] * 6 + [-90.0] * 54)
    )
    passed, reasons = judge(sparse, Thresholds(min_voiced_share=0.2))
    assert not passed
    assert reasons == ["sound above \u221245 dBFS in 10 % of the clip, need 20 %"]
    assert judge(sparse, Thresholds(min_voiced_share=0.1))[0]


def test_face_share_counts_frames_with_exactly_one_face():
    faces = [1, 1] + [0] * 10 + [2] * 4
    passed, reasons = judge(measures(faces=faces), Thresholds())
    assert not passed
    assert reasons == [
        "exactly one face in 2 of 16 sampled frames (12 %; two or more in 4), need 60 %"
    ]
    no_face = judge(measures(faces=[0] * 16), Thresholds())[1]
    assert no_face == ["exactly one face in 0 of 16 sampled frames (0 %), need 60 %"]
    assert judge(measures(faces=[1] * 10 + [0] * 6), Thresholds(min_face_share=0.6))[0]


def test_every_failed_check_is_reported():
    bad = measures(duration_seconds=0.5, has_audio=False, loudness_db=None, faces=[2] * 16)
    passed, reasons = judge(bad, Thresholds())
    assert not passed and len(reasons) == 3


def test_changing_the_silence_level_needs_no_new_measurement():
    m = measures(window_db_histogram=window_histogram([-50.0] * 30 + [-30.0] * 30))
    assert voiced_share(m, -45.0) == 0.5
    assert voiced_share(m, -55.0) == 1.0
    assert voiced_share(m, -30.0) == 0.5
    assert voiced_share(m, -29.5) == 0.0
    assert voiced_share(m, 0.0) == 0.0


def test_levels_below_the_floor_count_in_the_lowest_bin():
    histogram = window_histogram([-300.0, FLOOR_DB, -0.0, 3.0])
    assert histogram[0] == 2 and histogram[-1] == 2 and sum(histogram) == 4


def test_thresholds_are_read_from_a_campaign():
    class Campaign:
        screen_min_seconds, screen_max_seconds = 0.5, 10.0
        screen_min_loudness_db, screen_min_voiced_share, screen_min_face_share = -50.0, 0.1, 0.8

    assert Thresholds.of(Campaign()) == Thresholds(0.5, 10.0, -50.0, 0.1, 0.8)


@pytest.mark.parametrize(
    "bad",
    [
        {"min_seconds": 5, "max_seconds": 2},
        {"min_seconds": -1},
        {"min_loudness_db": 3},
        {"min_voiced_share": 1.5},
        {"min_face_share": -0.1},
    ],
)
def test_inconsistent_thresholds_are_refused(bad):
    with pytest.raises(ValueError):
        Thresholds(**bad)
