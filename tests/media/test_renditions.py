"""Renditions: what `a`, `v` and `m` annotators get must carry exactly the right streams
and play in every browser (H.264 yuv420p + AAC in MP4 / M4A)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from labeling.media import (
    MediaError,
    probe,
    render_audio_only,
    render_original,
    render_silent_video,
)
from tests.media.clips import audio_samples, make_clip, streams_of, video_frames

RENDERERS = {
    "audio-only": (render_audio_only, "m4a"),
    "silent-video": (render_silent_video, "mp4"),
    "original": (render_original, "mp4"),
}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("source") / "utterance.mp4", seconds=3.0)


def test_audio_only_rendition_has_aac_audio_and_no_video_stream(source, tmp_path):
    render_audio_only(source, tmp_path / "a.m4a")

    streams = streams_of(tmp_path / "a.m4a")
    assert streams["video"] == []
    assert [codec for codec, _ in streams["audio"]] == ["aac"]


def test_silent_video_rendition_has_h264_video_and_no_audio_stream(source, tmp_path):
    render_silent_video(source, tmp_path / "v.mp4")

    streams = streams_of(tmp_path / "v.mp4")
    assert streams["audio"] == []
    assert [codec for codec, _ in streams["video"]] == ["h264"]


def test_original_rendition_has_h264_video_and_aac_audio(source, tmp_path):
    render_original(source, tmp_path / "m.mp4")

    streams = streams_of(tmp_path / "m.mp4")
    assert [codec for codec, _ in streams["video"]] == ["h264"]
    assert [codec for codec, _ in streams["audio"]] == ["aac"]


@pytest.mark.parametrize("kind", RENDERERS)
def test_rendition_keeps_the_source_duration(source, tmp_path, kind):
    render, suffix = RENDERERS[kind]

    result = render(source, tmp_path / f"out.{suffix}")

    assert result.duration == pytest.approx(probe(source).duration, abs=0.1)
    for _codec, seconds in sum(streams_of(tmp_path / f"out.{suffix}").values(), []):
        assert seconds == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("kind", RENDERERS)
def test_rendition_returns_the_probe_of_the_file_it_wrote(source, tmp_path, kind):
    render, suffix = RENDERERS[kind]

    result = render(source, tmp_path / "nested" / f"out.{suffix}")

    assert result == probe(tmp_path / "nested" / f"out.{suffix}")


@pytest.mark.parametrize("kind", ["silent-video", "original"])
def test_video_renditions_are_yuv420p_and_start_with_their_index(source, tmp_path, kind):
    render, suffix = RENDERERS[kind]
    out = tmp_path / f"out.{suffix}"

    render(source, out)

    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while downloading


def test_audio_only_rendition_keeps_the_sound(source, tmp_path):
    render_audio_only(source, tmp_path / "a.m4a")

    before, after = audio_samples(source), audio_samples(tmp_path / "a.m4a")
    rms_before, rms_after = np.sqrt(np.mean(before**2)), np.sqrt(np.mean(after**2))
    assert rms_after == pytest.approx(rms_before, rel=0.05)
    assert probe(tmp_path / "a.m4a").sample_rate == 16000


def test_renditions_of_an_odd_sized_webm_are_even_sized_h264_and_aac(tmp_path):
    webm = make_clip(
        tmp_path / "odd.webm",
        size=(321, 241),
        container="webm",
        video_codec="libvpx",
        audio_codec="libopus",
        sample_rate=48000,
    )

    result = render_original(webm, tmp_path / "m.mp4")

    assert (result.video_codec, result.audio_codec) == ("h264", "aac")
    assert result.width % 2 == 0 and result.height % 2 == 0
    assert result.duration == pytest.approx(probe(webm).duration, abs=0.1)


def test_renditions_of_a_transport_stream_start_at_zero(tmp_path):
    ts = make_clip(tmp_path / "broadcast.ts", container="mpegts")  # timestamps start > 0

    result = render_original(ts, tmp_path / "m.mp4")

    assert result.duration == pytest.approx(probe(ts).duration, abs=0.1)
    with av.open(str(tmp_path / "m.mp4")) as container:
        assert container.start_time == 0


def test_audio_rendition_of_a_rate_aac_cannot_carry_uses_the_next_higher_rate(tmp_path):
    wav = make_clip(
        tmp_path / "odd-rate.wav",
        video=False,
        container="wav",
        audio_codec="pcm_s16le",
        sample_rate=37800,
    )

    result = render_audio_only(wav, tmp_path / "a.m4a")

    assert result.sample_rate == 44100
    assert result.duration == pytest.approx(2.0, abs=0.1)


def test_audio_only_rendition_of_a_clip_without_sound_fails_clearly(tmp_path):
    mute = make_clip(tmp_path / "mute.mp4", audio=False)

    with pytest.raises(MediaError, match=r"mute\.mp4 has no audio stream"):
        render_audio_only(mute, tmp_path / "out" / "a.m4a")

    assert not (tmp_path / "out" / "a.m4a").exists()


def test_original_rendition_of_a_clip_without_sound_fails_clearly(tmp_path):
    mute = make_clip(tmp_path / "mute.mp4", audio=False)

    with pytest.raises(MediaError, match="has no audio stream"):
        render_original(mute, tmp_path / "m.mp4")


def test_silent_video_of_a_sound_file_fails_clearly(tmp_path):
    wav = make_clip(tmp_path / "voice.wav", video=False, container="wav", audio_codec="pcm_s16le")

    with pytest.raises(MediaError, match=r"voice\.wav has no video stream"):
        render_silent_video(wav, tmp_path / "v.mp4")


def test_failed_rendition_leaves_the_existing_file_and_no_partial_files(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(5000))
    out_dir = tmp_path / "renditions"
    out_dir.mkdir()
    (out_dir / "m.mp4").write_bytes(b"previous rendition")

    with pytest.raises(MediaError):
        render_original(broken, out_dir / "m.mp4")

    assert (out_dir / "m.mp4").read_bytes() == b"previous rendition"
    assert [p.name for p in out_dir.iterdir()] == ["m.mp4"]


def test_phone_video_recorded_sideways_is_rendered_upright(tmp_path):
    """Phones store portrait video as landscape plus a rotation; renditions drop that
    metadata, so the picture itself must be turned."""
    phone = tmp_path / "portrait.mp4"
    with av.open(str(phone), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.set_display_rotation(-90)  # shown turned a quarter clockwise
        image = np.zeros((240, 320, 3), np.uint8)
        image[:40, :40] = 255  # marker in the stored top-left corner
        for i in range(25):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    assert (probe(phone).width, probe(phone).height) == (240, 320)
    result = render_silent_video(phone, tmp_path / "v.mp4")

    assert (result.width, result.height) == (240, 320)
    first = video_frames(tmp_path / "v.mp4")[0]
    assert first[:40, -40:].mean() > 200 and first[:40, :40].mean() < 50  # now top-right
