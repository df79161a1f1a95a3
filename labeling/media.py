"""Probe media files and make the per-modality renditions annotators see.

CHERMA annotates each modality on its own (SPEC §1–2): `a` from sound only, `v` from the face
video without sound, `m` from the original video. This module turns one imported clip into
those renditions with PyAV (no system ffmpeg), re-encoded so every browser plays them:
H.264 (yuv420p) video and AAC audio in MP4 / M4A.

Pure Python, no Django: services and Celery tasks call these functions with paths.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AAC_SAMPLE_RATES = (
    96000,
    88200,
    64000,
    48000,
    44100,
    32000,
    24000,
    22050,
    16000,
    12000,
    11025,
    8000,
    7350,
)
VIDEO_CODEC = "libx264"
VIDEO_OPTIONS = {"crf": "23", "preset": "veryfast"}
AUDIO_CODEC = "aac"
AAC_FRAME_SIZE = 1024
# Index ("moov") first, so browsers start playing before the download ends.
MP4_OPTIONS = {"movflags": "+faststart"}

# Demuxers that "open" almost any bytes (a text file becomes an ANSI-art video); never real media.
_IMPLAUSIBLE_FORMATS = {
    "tty",
    "image2",
    "image2pipe",
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "gif",
    "srt",
    "ass",
    "webvtt",
}
_IMPLAUSIBLE_CODECS = {"ansi", "text", "bintext", "xbin", "idf"}


class MediaError(Exception):
    """A media file can't be used. str(e) is a sentence a user can act on."""


@dataclass(frozen=True)
class MediaProbe:
    duration: float  # seconds
    has_video: bool
    has_audio: bool
    frame_rate: float | None
    width: int | None
    height: int | None
    video_codec: str | None
    audio_codec: str | None
    sample_rate: int | None


# --------------------------------------------------------------------------------------------
# Probing


def probe(path: str | Path) -> MediaProbe:
    """Describe a media file after really decoding a frame of each stream.

    The whole file is demuxed (cheap, no decoding) so a file cut short is noticed too.
    Raises MediaError, never a raw PyAV exception.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"There is no file at {path}. Check the path, or upload the file again.")
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes). Upload the file again.")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(
            f"{path.name} can't be read as video or audio ({_reason(exc)}): it is not a media "
            "file, or it is damaged or incomplete. Export it as MP4 (H.264 video, AAC audio) "
            "and import it again."
        ) from exc
    with container:
        return _probe_open(container, path.name)


def _probe_open(container: av.container.InputContainer, name: str) -> MediaProbe:
    video, audio = _main_streams(container)
    if _IMPLAUSIBLE_FORMATS & set(container.format.name.split(",")) or (
        video is not None and video.codec_context.name in _IMPLAUSIBLE_CODECS
    ):
        raise MediaError(
            f"{name} is not a video or audio file (it looks like text or a still image). "
            "Import the video clip itself, as MP4 with H.264 video and AAC audio."
        )
    if video is None and audio is None:
        raise MediaError(
            f"{name} has neither a video nor an audio stream. Import a clip with picture and sound."
        )
    streams = [s for s in (video, audio) if s is not None]
    decoded = {s.index: False for s in streams}
    quarter_turns = 0  # display rotation of the video, as phones record it
    packets_end = 0.0
    try:
        for packet in container.demux(streams):
            if packet.pts is not None and packet.time_base is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                packets_end = max(packets_end, end - _start_seconds(packet.stream))
            if not decoded[packet.stream.index]:  # the empty packets at the end drain decoders
                frames = packet.decode()
                decoded[packet.stream.index] = bool(frames)
                if frames and packet.stream is video:
                    quarter_turns = round((frames[0].rotation or 0) / 90) % 4
    except av.FFmpegError as exc:
        raise MediaError(
            f"{name} is damaged or incomplete: reading it failed ({_reason(exc)}). "
            "Download or export the complete file and import it again."
        ) from exc
    for stream in streams:
        if not decoded[stream.index]:
            raise MediaError(
                f"The {stream.type} stream of {name} could not be decoded; the file is damaged, "
                "cut short, or uses an unsupported codec. Export it as MP4 (H.264 + AAC) and "
                "import it again."
            )

    declared = _declared_duration(container, streams)
    if declared and packets_end < 0.9 * declared - 0.25:
        raise MediaError(
            f"{name} is cut short: it should last {declared:.1f} s but its data ends at "
            f"{packets_end:.1f} s. Download or export the complete file and import it again."
        )
    duration = declared or packets_end
    if duration <= 0:
        raise MediaError(f"{name} has no playable content (duration 0 s). Import a longer clip.")

    rate = (video.average_rate or video.guessed_rate) if video is not None else None
    width = video.codec_context.width if video is not None else None
    height = video.codec_context.height if video is not None else None
    if quarter_turns % 2:
        width, height = height, width
    return MediaProbe(
        duration=round(duration, 3),
        has_video=video is not None,
        has_audio=audio is not None,
        frame_rate=float(rate) if rate else None,
        width=width,  # as displayed, after any rotation
        height=height,
        video_codec=video.codec_context.name if video is not None else None,
        audio_codec=audio.codec_context.name if audio is not None else None,
        sample_rate=audio.codec_context.sample_rate if audio is not None else None,
    )


def _main_streams(container: av.container.InputContainer) -> tuple:
    """The first real video stream (cover art is not video) and the first audio stream."""
    attached = av.stream.Disposition.attached_pic
    videos = [s for s in container.streams.video if not s.disposition & attached]
    audios = list(container.streams.audio)
    return (videos[0] if videos else None), (audios[0] if audios else None)


def _declared_duration(container: av.container.InputContainer, streams: list) -> float | None:
    """Duration the container or its streams announce, in seconds (None when unknown)."""
    if container.duration and container.duration > 0:  # already excludes the start time
        return container.duration / av.time_base
    ends = [
        float(s.duration * s.time_base)
        for s in streams
        if s.duration and s.duration > 0 and s.time_base is not None
    ]
    return max(ends) if ends else None


def _start_seconds(stream: av.stream.Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).rstrip(".").lower()


# --------------------------------------------------------------------------------------------
# Renditions


def render_audio_only(src: str | Path, dst: str | Path) -> MediaProbe:
    """Write the sound of `src` as an M4A (AAC, no video stream): what `a` annotators hear."""
    return _render(src, dst, "audio-only", keep_video=False, keep_audio=True, fmt="ipod")


def render_silent_video(src: str | Path, dst: str | Path) -> MediaProbe:
    """Write the picture of `src` as an MP4 (H.264, no audio stream): what `v` annotators see."""
    return _render(src, dst, "silent-video", keep_video=True, keep_audio=False, fmt="mp4")


def render_original(src: str | Path, dst: str | Path) -> MediaProbe:
    """Write `src` as a browser-playable MP4 (H.264 + AAC, faststart): what `m` annotators see."""
    return _render(src, dst, "original", keep_video=True, keep_audio=True, fmt="mp4")


def _render(src, dst, kind: str, *, keep_video: bool, keep_audio: bool, fmt: str) -> MediaProbe:
    """Decode `src`, re-encode the kept streams into a temp file beside `dst`, verify, move;
    then check the rendition has exactly the streams it should (no sound in a silent video)."""
    src, dst = Path(src), Path(dst)
    source = probe(src)
    if keep_video and not source.has_video:
        raise MediaError(
            f"{src.name} has no video stream, so it has no picture to show. "
            "Import the clip with its video."
        )
    if keep_audio and not source.has_audio:
        raise MediaError(
            f"{src.name} has no audio stream, so it has no sound to play. "
            "Import the clip with its sound track."
        )
    result = _write_atomically(
        src, dst, lambda tmp: _transcode(src, tmp, keep_video, keep_audio, fmt)
    )
    if (result.has_video, result.has_audio) != (keep_video, keep_audio):
        raise MediaError(
            f"The {kind} rendition of {src.name} came out wrong; "
            "report this file to the maintainers."
        )
    return result


def _write_atomically(src: Path, dst: Path, write: Callable[[Path], object]) -> MediaProbe:
    """Let `write` fill a temp file beside `dst`, probe it, and only then rename it to `dst`,
    so a crash or a bad result never leaves a half-written file under the real name."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.stem}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            write(tmp)
        except (av.FFmpegError, ValueError) as exc:
            raise MediaError(
                f"Converting {src.name} failed ({_reason(exc)}). "
                "Export it as MP4 (H.264 + AAC) and import it again."
            ) from exc
        try:
            result = probe(tmp)
        except MediaError as exc:
            raise MediaError(
                f"Converting {src.name} produced an unreadable file ({exc}) "
                "Report this file to the maintainers."
            ) from exc
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _transcode(src: Path, dst: Path, keep_video: bool, keep_audio: bool, fmt: str) -> None:
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt, options=MP4_OPTIONS) as out:
        vin, ain = _main_streams(inp)
        vin, ain = (vin if keep_video else None), (ain if keep_audio else None)
        kept = [s for s in (vin, ain) if s is not None]
        # Shift timestamps so the rendition starts at 0 even if the source does not.
        offset = min(_start_seconds(s) for s in kept)
        video = _VideoEncoder(out, vin, offset, _upright_size(src)) if vin is not None else None
        audio = _AudioEncoder(out, ain, offset) if ain is not None else None
        for packet in inp.demux(kept):
            encoder = video if packet.stream is vin else audio
            for frame in packet.decode():
                out.mux(encoder.encode(frame))
        for encoder in (video, audio):
            if encoder is not None:
                out.mux(encoder.flush())


# --------------------------------------------------------------------------------------------
# Cutting utterances out of episodes

# The cut becomes the utterance's source, which the renditions encode again: keep it close to
# the episode's quality.
CUT_VIDEO_OPTIONS = {"crf": "18", "preset": "veryfast"}
# Decoding starts this much before the cut (from the keyframe before that), so the AAC
# decoder has the previous frame it needs to rebuild the first kept samples cleanly.
_SEEK_MARGIN_SECONDS = 1.0
_TIME_SLACK = 1e-6  # seconds: float noise between a table's times and stream timestamps


def cut_segment(
    src: str | Path, dst: str | Path, start: float, end: float, episode: MediaProbe | None = None
) -> MediaProbe:
    """Cut seconds [start, end) of episode `src` into an MP4 at `dst` that starts at 0.

    `episode` is `probe(src)` when the caller has it: probing reads the whole episode, which
    should happen once per episode, not once per cut.

    Times are as a player shows them (from the episode's first timestamp). Decoding starts
    at the keyframe before `start`; video frames whose timestamp falls in [start, end) and
    the audio samples of [start, end) are kept and re-encoded (H.264 + AAC), in sync with
    the episode. Written to a temp name beside `dst` and renamed when complete.

    Tolerance (tests/segments/test_cut.py measures it at 24, 25 and 30 fps): the first
    frame is the first whose timestamp is ≥ `start`, so the picture starts less than one
    frame period late, and the last frame is the last before `end`, so it is shown until
    less than one frame period past `end`; the sound is cut to the sample. The cut's
    duration is therefore end − start plus 0 to one frame period (seen: up to +36 ms at
    25 fps). Decoders may add up to 1023 samples of silence at the end (AAC pads its last
    frame; MP4 players skip them). A cut further off than `cut_tolerance` raises MediaError.
    """
    src, dst = Path(src), Path(dst)
    source = episode or probe(src)
    if not (source.has_video and source.has_audio):
        raise MediaError(
            f"{src.name} needs a video and an audio stream to cut utterances from; "
            "import an episode with picture and sound."
        )
    if not 0 <= start < end <= source.duration:
        raise MediaError(
            f"Can't cut {start:.3f}–{end:.3f} s from {src.name}, which lasts "
            f"{source.duration:.3f} s: the range must lie inside the episode."
        )
    result = _write_atomically(src, dst, lambda tmp: _cut(src, tmp, start, end))
    if abs(result.duration - (end - start)) > cut_tolerance(source):
        dst.unlink(missing_ok=True)
        raise MediaError(
            f"Cutting {start:.3f}–{end:.3f} s from {src.name} gave {result.duration:.3f} s "
            "instead; the episode's timestamps are probably broken. Export it again as MP4 "
            "(H.264 + AAC) and import it again."
        )
    return result


def cut_tolerance(episode: MediaProbe) -> float:
    """How far a cut's duration may stray from end − start before it is refused, in seconds:
    one video frame period (what frame-accurate cutting costs) plus one AAC frame, so
    variable-frame-rate episodes and muxers that count the AAC padding still pass."""
    frame = 1 / episode.frame_rate if episode.frame_rate else 0.1
    sample_rate = _aac_rate(episode.sample_rate or 48000)
    return frame + AAC_FRAME_SIZE / sample_rate


def _cut(src: Path, dst: Path, start: float, end: float) -> None:
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options=MP4_OPTIONS) as out:
        vin, ain = _main_streams(inp)
        origin = min(_start_seconds(vin), _start_seconds(ain))  # where a player's clock starts
        begin, stop = origin + start, origin + end  # in the streams' own clock
        video = _VideoEncoder(out, vin, begin, _upright_size(src), CUT_VIDEO_OPTIONS)
        audio = _AudioEncoder(out, ain, begin)
        seek_to = max(begin - _SEEK_MARGIN_SECONDS, _start_seconds(vin))
        inp.seek(int(seek_to / vin.time_base), stream=vin, backward=True, any_frame=False)
        done = {vin.index: False, ain.index: False}
        audio_clock: float | None = None  # for audio frames without a timestamp
        for packet in inp.demux(vin, ain):
            if done[packet.stream.index]:
                continue
            for frame in packet.decode():
                if packet.stream is vin:
                    if frame.time is None or frame.time < begin - _TIME_SLACK:
                        continue
                    if frame.time >= stop - _TIME_SLACK:
                        done[vin.index] = True
                        break
                    out.mux(video.encode(frame))
                else:
                    at = frame.time if frame.time is not None else audio_clock
                    if at is None:
                        continue
                    audio_clock = at + frame.samples / frame.sample_rate
                    if at >= stop - _TIME_SLACK:
                        done[ain.index] = True
                        break
                    piece = _audio_between(frame, at, begin, stop)
                    if piece is not None:
                        out.mux(audio.encode(piece))
            if all(done.values()):
                break
        out.mux(video.flush())
        out.mux(audio.flush())


def _audio_between(frame: av.AudioFrame, at: float, begin: float, stop: float):
    """The samples of `frame` (starting at `at` seconds) that fall in [begin, stop), or None."""
    rate = frame.sample_rate
    first = min(max(round((begin - at) * rate), 0), frame.samples)
    last = min(max(round((stop - at) * rate), 0), frame.samples)
    if last <= first:
        return None
    if (first, last) == (0, frame.samples):
        return frame
    array = frame.to_ndarray()
    # Planar formats hold one row per channel; packed ones interleave the channels in one row.
    width = 1 if frame.format.is_planar else len(frame.layout.channels)
    piece = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(array[:, first * width : last * width]),
        format=frame.format.name,
        layout=frame.layout.name,
    )
    piece.sample_rate = rate
    piece.pts, piece.time_base = round(at * rate) + first, Fraction(1, rate)
    return piece


class _VideoEncoder:
    """Decoded frames → yuv420p, even size, upright → H.264, source timestamps kept."""

    def __init__(
        self,
        out: av.container.OutputContainer,
        source: av.video.stream.VideoStream,
        offset: float,
        size: tuple[int, int],
        options: dict[str, str] = VIDEO_OPTIONS,
    ) -> None:
        self.time_base = source.time_base or Fraction(1, 90000)
        self.rate = source.average_rate or source.guessed_rate or Fraction(25)
        self.offset = round(offset / self.time_base)
        self.stream = out.add_stream(VIDEO_CODEC, rate=self.rate, options=dict(options))
        self.stream.codec_context.time_base = self.time_base
        self.stream.pix_fmt = "yuv420p"
        # Set before any packet is muxed (audio may come first): H.264 yuv420p needs even sizes.
        self.size = size[0] - size[0] % 2, size[1] - size[1] % 2
        self.stream.width, self.stream.height = self.size
        if source.sample_aspect_ratio:
            self.stream.codec_context.sample_aspect_ratio = source.sample_aspect_ratio
        self.count = 0
        self.last_pts = -1

    def encode(self, frame: av.VideoFrame) -> list[av.Packet]:
        frame = _upright(frame)
        pts = frame.pts
        frame = frame.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
        if pts is None:
            pts = round(self.count / self.rate / self.time_base)
        else:
            pts -= self.offset
        self.count += 1
        if pts <= self.last_pts:  # duplicate or backwards timestamps: drop the frame
            return []
        self.last_pts = pts
        frame.pts, frame.time_base = pts, self.time_base
        frame.pict_type = av.video.frame.PictureType.NONE
        return self.stream.encode(frame)

    def flush(self) -> list[av.Packet]:
        return self.stream.encode(None)


class _AudioEncoder:
    """Decoded audio → fltp, mono/stereo, AAC-legal rate, 1024-sample frames → AAC."""

    def __init__(
        self, out: av.container.OutputContainer, source: av.audio.stream.AudioStream, offset: float
    ) -> None:
        channels = source.codec_context.channels or 2
        self.layout = "mono" if channels == 1 else "stereo"
        self.rate = _aac_rate(source.codec_context.sample_rate or 48000)
        self.stream = out.add_stream(AUDIO_CODEC, rate=self.rate)
        self.stream.layout = self.layout
        self.stream.bit_rate = 96_000 if self.layout == "mono" else 128_000
        self.resampler = av.AudioResampler(
            format="fltp", layout=self.layout, rate=self.rate, frame_size=AAC_FRAME_SIZE
        )
        self.offset = offset
        self.next_sample: int | None = None

    def encode(self, frame: av.AudioFrame | None) -> list[av.Packet]:
        if self.next_sample is None and frame is not None:
            start = frame.time - self.offset if frame.time is not None else 0.0
            self.next_sample = max(0, round(start * self.rate))
        packets = []
        for chunk in self.resampler.resample(frame):
            # Contiguous timestamps: players expect gap-free AAC.
            chunk.pts, chunk.time_base = self.next_sample or 0, Fraction(1, self.rate)
            self.next_sample = (self.next_sample or 0) + chunk.samples
            packets += self.stream.encode(chunk)
        return packets

    def flush(self) -> list[av.Packet]:
        return self.encode(None) + self.stream.encode(None)


def _aac_rate(rate: int) -> int:
    """Keep the source rate when AAC allows it, else the nearest higher legal rate."""
    if rate in AAC_SAMPLE_RATES:
        return rate
    higher = [r for r in AAC_SAMPLE_RATES if r >= rate]
    return min(higher) if higher else max(AAC_SAMPLE_RATES)


def _upright_size(src: Path) -> tuple[int, int]:
    """Width and height of the first video frame once rotated upright."""
    with av.open(str(src)) as container:
        frame = next(container.decode(_main_streams(container)[0]))
        if round((frame.rotation or 0) / 90) % 2:
            return frame.height, frame.width
        return frame.width, frame.height


def _upright(frame: av.VideoFrame) -> av.VideoFrame:
    """Apply the display-matrix rotation (phone videos) since the rendition drops it."""
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    if not quarter_turns:
        return frame
    rgb = np.rot90(frame.to_ndarray(format="rgb24"), k=quarter_turns)
    upright = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    upright.pts, upright.time_base = frame.pts, frame.time_base
    return upright
