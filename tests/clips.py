"""Small media files generated with PyAV for tests (no fixtures on disk, no system ffmpeg)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_clip(
    path: Path,
    seconds: float = 1.0,
    *,
    video: bool = True,
    audio: bool = True,
    fps: int = 25,
    size: tuple[int, int] = (96, 64),
    sample_rate: int = 16000,
    tone_hz: float = 440.0,
    shade: int = 0,
) -> Path:
    """An MP4 (or M4A when video=False) with a moving gradient and/or a sine tone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        # All streams must exist before the first packet is muxed.
        vstream = container.add_stream("libx264", rate=fps) if video else None
        astream = container.add_stream("aac", rate=sample_rate) if audio else None
        if vstream is not None:
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuv420p"
        if astream is not None:
            astream.layout = "mono"
        if vstream is not None:
            for index in range(int(seconds * fps)):
                frame = np.zeros((size[1], size[0], 3), dtype=np.uint8)
                frame[..., 0] = (np.arange(size[0]) * 2 + index * 4 + shade) % 256
                frame[..., 1] = shade
                picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
                container.mux(vstream.encode(picture))
            container.mux(vstream.encode())
        if astream is not None:
            samples = np.sin(
                2 * np.pi * tone_hz * np.arange(int(seconds * sample_rate)) / sample_rate
            )
            samples = (0.3 * samples).astype(np.float32)
            chunk = 1024
            for start in range(0, len(samples), chunk):
                piece = samples[start : start + chunk]
                frame = av.AudioFrame.from_ndarray(piece[None, :], format="flt", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                container.mux(astream.encode(frame))
            container.mux(astream.encode())
    return path
