"""media.cut_segment on its own: frame-accurate cuts at common frame and sample rates, within
the tolerance its docstring and the README state."""

import math

import av
import pytest

from labeling import media
from tests.clips import dominant_tone, frame_number, second_tone, write_timecoded_episode

RANGES = [(0.0, 2.5), (1.013, 3.987), (5.5, 9.25), (3.333, 4.444), (10.0, 12.0)]


@pytest.mark.parametrize(("fps", "sample_rate"), [(24, 44100), (25, 16000), (30, 48000)])
def test_cuts_start_at_the_right_frame_and_last_end_minus_start_plus_under_a_frame(
    tmp_path, fps, sample_rate
):
    episode = write_timecoded_episode(
        tmp_path / "episode.mp4", 12.0, fps=fps, sample_rate=sample_rate, gop=2 * fps
    )
    probe = media.probe(episode)
    for start, end in RANGES:
        cut = media.cut_segment(episode, tmp_path / "cut.mp4", start, end, probe)
        assert 0 <= round(cut.duration - (end - start), 3) < 1 / fps
        with av.open(str(tmp_path / "cut.mp4")) as container:
            audio = container.streams.audio[0]
            # The sound is cut to the sample (the MP4 hides the AAC padding).
            assert float(audio.duration * audio.time_base) == pytest.approx(end - start, abs=1e-3)
            frames = list(container.decode(video=0))
        assert frame_number(frames[0]) == math.ceil(start * fps - 1e-9)
        assert frame_number(frames[-1]) == math.ceil(end * fps - 1e-9) - 1
        with av.open(str(tmp_path / "cut.mp4")) as container:
            first = next(f for f in container.decode(audio=0) if f.time >= 0.02)
        opening = first.to_ndarray()[0]
        assert dominant_tone(opening, sample_rate) == pytest.approx(
            second_tone(int(start)), abs=sample_rate / len(opening)
        )


def test_a_range_outside_the_episode_is_refused_and_leaves_no_file(tmp_path):
    episode = write_timecoded_episode(tmp_path / "episode.mp4", 4.0)
    with pytest.raises(media.MediaError, match="must lie inside the episode"):
        media.cut_segment(episode, tmp_path / "cut.mp4", 3.0, 4.5)
    assert [path.name for path in tmp_path.iterdir()] == ["episode.mp4"]
