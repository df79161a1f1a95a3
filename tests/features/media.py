"""Small media files written with PyAV for the feature tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def tone(seconds: float, rate: int = 44100, freq: float = 440.0) -> np.ndarray:
    """A stereo sine (2, n) float32 at amplitude 0.5."""
    t = np.arange(int(round(seconds * rate))) / rate
    wave = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([wave, wave])


def _write_audio(container, samples: np.ndarray, rate: int) -> None:
    stream = container.add_stream("aac", rate=rate, layout="stereo")
    frame_size = 1024
    for start in range(0, samples.shape[1], frame_size):
        chunk = np.ascontiguousarray(samples[:, start : start + frame_size])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_tone(path: Path, seconds: float = 1.0, rate: int = 44100, freq: float = 440.0) -> Path:
    """An AAC stereo tone in an mp4/m4a container."""
    with av.open(str(path), "w") as container:
        _write_audio(container, tone(seconds, rate, freq), rate)
    return path


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 25,
    with_audio: bool = False,
) -> Path:
    """An H.264 (lossless) mp4 of RGB frames, optionally with a 440 Hz AAC track."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"qp": "0"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if with_audio:
            _write_audio(container, tone(len(frames) / fps), 44100)
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def grey_ramp(count: int, width: int = 64, height: int = 48) -> list[np.ndarray]:
    """Frames that tell their index i: 8 vertical stripes, stripe k white if bit k of i is set."""
    frames = []
    for i in range(count):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        for bit in range(8):
            if i >> bit & 1:
                frame[:, bit * width // 8 : (bit + 1) * width // 8] = 255
        frames.append(frame)
    return frames


def frame_index(rgb: np.ndarray) -> int:
    """Recover the index written by ``grey_ramp``."""
    width = rgb.shape[1]
    stripes = [rgb[:, bit * width // 8 + 2 : (bit + 1) * width // 8 - 2].mean() for bit in range(8)]
    return sum(1 << bit for bit, level in enumerate(stripes) if level > 128)
