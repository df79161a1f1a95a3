"""Small media files made with PyAV for the media tests (all written under tmp_path)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(
    path: Path,
    *,
    seconds: float = 2.0,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    sample_rate: int = 16000,
    video: bool = True,
    audio: bool = True,
    container: str = "mp4",
    video_codec: str = "libx264",
    audio_codec: str = "aac",
    faststart: bool = False,
) -> Path:
    """A clip with a moving grey ramp and a 220 Hz tone at amplitude 0.3."""
    width, height = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container, options=options) as out:
        # Every stream must exist before the first packet is muxed.
        vstream = out.add_stream(video_codec, rate=fps) if video else None
        astream = out.add_stream(audio_codec, rate=sample_rate) if audio else None
        if astream is not None:
            astream.layout = "mono"
        if vstream is not None:
            vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
            ramp = np.linspace(0, 200, width, dtype=np.uint8)[None, :, None]
            for i in range(round(seconds * fps)):
                image = np.broadcast_to((ramp + 2 * i) % 255, (height, width, 3))
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode(None))
        if astream is not None:
            t = np.arange(round(seconds * sample_rate)) / sample_rate
            tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
            sample_format = "s16" if audio_codec.startswith("pcm_s16") else "flt"
            if sample_format == "s16":
                tone = (tone * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(tone[None, :], format=sample_format, layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, 0, Fraction(1, sample_rate)
            out.mux(astream.encode(frame))
            out.mux(astream.encode(None))
    return path


def streams_of(path: Path) -> dict[str, list]:
    """Stream types present in a file, each with its codec name and duration in seconds."""
    found: dict[str, list] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for stream in container.streams:
            seconds = float(stream.duration * stream.time_base) if stream.duration else None
            found.setdefault(stream.type, []).append((stream.codec_context.name, seconds))
    return found


def audio_samples(path: Path) -> np.ndarray:
    """All audio samples of the first audio stream, mono float."""
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
    samples = np.concatenate(chunks, axis=1)
    if samples.dtype.kind == "i":
        return samples.astype(np.float64).reshape(-1) / 32768
    return samples.astype(np.float64).mean(axis=0)


def video_frames(path: Path, *, format: str = "rgb24") -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format=format) for frame in container.decode(video=0)]
