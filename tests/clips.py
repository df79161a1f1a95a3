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


# A long "episode" whose every frame and every second can be recognised after a cut.
TIMECODE_BITS = 12  # frame numbers up to 4095: 163 s at 25 fps
TIMECODE_FPS = 25
TIMECODE_RATE = 16000


def second_tone(second: int) -> float:
    """The tone of second `second` of a timecoded episode: 300, 400, … 1000 Hz, repeating."""
    return 300.0 + 100.0 * (second % 8)


def write_timecoded_episode(
    path: Path,
    seconds: float = 24.0,
    *,
    fps: int = TIMECODE_FPS,
    size: tuple[int, int] = (96, 64),
    sample_rate: int = TIMECODE_RATE,
    gop: int = 50,
) -> Path:
    """An MP4 whose frame n shows n in binary as black and white bars, and whose second s
    sounds a `second_tone(s)` sine, so a cut can be checked to start where it should.

    Keyframes every `gop` frames, as broadcast episodes have, so cuts must decode from a seek.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    bar = width // TIMECODE_BITS
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libx264", rate=fps, options={"g": str(gop)})
        vstream.width, vstream.height = size
        vstream.pix_fmt = "yuv420p"
        astream = container.add_stream("aac", rate=sample_rate)
        astream.layout = "mono"
        for index in range(round(seconds * fps)):
            frame = np.zeros((height, width, 3), dtype=np.uint8)
            for bit in range(TIMECODE_BITS):
                if index >> bit & 1:
                    frame[:, bit * bar : (bit + 1) * bar] = 255
            container.mux(vstream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(vstream.encode())
        t = np.arange(round(seconds * sample_rate)) / sample_rate
        tones = np.array([second_tone(int(s)) for s in range(int(np.ceil(seconds)) + 1)])
        # Phase-continuous across the second boundaries, so no click is mistaken for a tone.
        phase = 2 * np.pi * np.cumsum(tones[t.astype(int)]) / sample_rate
        samples = (0.3 * np.sin(phase)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            piece = samples[start : start + 1024]
            frame = av.AudioFrame.from_ndarray(piece[None, :], format="flt", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, start
            frame.time_base = Fraction(1, sample_rate)
            container.mux(astream.encode(frame))
        container.mux(astream.encode())
    return path


def frame_number(frame: av.VideoFrame) -> int:
    """The frame number a `write_timecoded_episode` frame shows (read from its bars)."""
    gray = frame.to_ndarray(format="gray")
    bar = gray.shape[1] // TIMECODE_BITS
    # Each bar is read at its centre, away from the blur compression leaves at its edges.
    return sum(
        1 << bit
        for bit in range(TIMECODE_BITS)
        if gray[:, bit * bar + bar // 4 : (bit + 1) * bar - bar // 4].mean() > 128
    )


def dominant_tone(samples: np.ndarray, sample_rate: int) -> float:
    """The strongest frequency of a mono signal, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / sample_rate)[int(np.argmax(spectrum))])
