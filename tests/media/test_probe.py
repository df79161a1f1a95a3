"""probe(): what the import service learns about a file, and how it refuses bad ones."""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from labeling.media import MediaError, probe
from tests.media.clips import make_clip


def test_probe_reports_duration_streams_and_frame_rate_of_a_clip(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=2.0, fps=25, sample_rate=16000)

    info = probe(clip)

    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.has_video and info.has_audio
    assert info.frame_rate == pytest.approx(25.0)
    assert (info.width, info.height) == (320, 240)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.sample_rate == 16000


def test_probe_accepts_a_string_path_and_a_webm_source(tmp_path):
    clip = make_clip(
        tmp_path / "clip.webm",
        container="webm",
        video_codec="libvpx",
        audio_codec="libopus",
        sample_rate=48000,
    )

    info = probe(str(clip))

    assert (info.video_codec, info.audio_codec) == ("vp8", "opus")
    assert info.duration == pytest.approx(2.0, abs=0.1)


def test_probe_of_a_clip_without_sound_reports_no_audio(tmp_path):
    info = probe(make_clip(tmp_path / "mute.mp4", audio=False))

    assert info.has_video and not info.has_audio
    assert info.audio_codec is None and info.sample_rate is None


def test_probe_of_a_sound_file_reports_no_video(tmp_path):
    info = probe(
        make_clip(tmp_path / "voice.wav", video=False, container="wav", audio_codec="pcm_s16le")
    )

    assert info.has_audio and not info.has_video
    assert info.width is None and info.frame_rate is None
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_of_a_missing_file_says_there_is_no_file(tmp_path):
    with pytest.raises(MediaError, match=r"There is no file at .*nothing\.mp4\. Check the path"):
        probe(tmp_path / "nothing.mp4")


def test_probe_of_an_empty_file_says_it_is_empty(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()

    with pytest.raises(MediaError, match=r"empty\.mp4 is empty"):
        probe(empty)


def test_probe_of_a_text_file_named_mp4_says_it_is_not_media(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("Episode 3, scene 2: she laughs.\n" * 40, encoding="utf-8")

    with pytest.raises(MediaError, match=r"notes\.mp4 .*not a (video or audio|media) file"):
        probe(fake)


@pytest.mark.parametrize("name", ["notes.txt", "still.png"])
def test_probe_refuses_text_and_still_images_that_ffmpeg_can_open(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".png"):
        from PIL import Image

        Image.new("RGB", (64, 48), "white").save(path)
    else:
        path.write_text("这不是视频。\n" * 40, encoding="utf-8")

    with pytest.raises(MediaError, match=rf"{name} .*not a (video or audio|media) file"):
        probe(path)


def test_probe_of_random_bytes_says_it_cannot_be_read(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(64_000))

    with pytest.raises(MediaError, match=r"junk\.mp4 can't be read as video or audio"):
        probe(junk)


@pytest.mark.parametrize("faststart", [False, True], ids=["index-at-end", "index-first"])
def test_probe_of_an_mp4_cut_in_half_fails_clearly(tmp_path, faststart):
    whole = make_clip(tmp_path / "whole.mp4", seconds=3.0, faststart=faststart)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(MediaError) as error:
        probe(cut)

    message = str(error.value)
    assert "cut.mp4" in message
    assert "again" in message  # says what to do next


def test_probe_errors_are_sentences_with_a_next_step(tmp_path):
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"\x00\x01garbage" * 1000)

    with pytest.raises(MediaError) as error:
        probe(junk)

    message = str(error.value)
    assert message.startswith("junk.mov ") and message.endswith(".")
    assert "import it again" in message
    assert "Traceback" not in message and "av." not in message


def test_probe_does_not_count_cover_art_as_video(tmp_path):
    song = tmp_path / "with-cover.m4a"
    with av.open(str(song), "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=16000)
        sound.layout = "mono"
        cover = out.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        picture.pts, picture.time_base = 0, Fraction(1, 1)
        tone = np.sin(np.arange(32000) / 16000 * 2 * np.pi * 220).astype(np.float32)[None]
        frame = av.AudioFrame.from_ndarray(0.3 * tone, format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 16000, 0, Fraction(1, 16000)
        out.mux(sound.encode(frame) + sound.encode(None))
        out.mux(cover.encode(picture) + cover.encode(None))

    info = probe(song)

    assert info.has_audio and not info.has_video
