"""Automatic clip screening: what a clip is measured to contain, and whether it passes.

CHERMA keeps utterances with one speaker speaking and the face clearly visible (SPEC §2).
`measure_clip` records what a clip holds — its length, its audio level in 50 ms windows,
how many faces a detector finds in sampled frames — and `judge` compares that record with
a campaign's `Thresholds`. The record keeps a histogram of the window levels rather than a
share above one level, so a campaign may change its thresholds without measuring again.

Pure: no Django. The decoders (PyAV through `training.features`) load when first measuring,
so the web process that only judges never imports PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from labeling import media

MEASURES_VERSION = 1
WINDOW_SECONDS = 0.05
SAMPLE_RATE = 16000
FLOOR_DB = -100.0  # digital silence and anything quieter count as this level
BIN_DB = 1.0


class ClipUnreadable(ValueError):
    """The clip cannot be measured (missing, damaged, no decodable frames); str says why."""


class Detector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]: ...


@dataclass(frozen=True)
class Thresholds:
    """What a clip must show to pass; Campaign.screen_* fields (see `of`)."""

    min_seconds: float = 1.0
    max_seconds: float = 30.0
    min_loudness_db: float = -45.0  # RMS over the whole clip, dBFS; also the silence level
    min_voiced_share: float = 0.2  # of 50 ms windows at or above the silence level
    min_face_share: float = 0.6  # of sampled frames with exactly one face

    def __post_init__(self) -> None:
        if not 0 <= self.min_seconds < self.max_seconds:
            raise ValueError(
                "The shortest allowed clip must be at least 0 s and shorter than the longest."
            )
        if not FLOOR_DB <= self.min_loudness_db <= 0:
            raise ValueError(f"The silence level must be between {FLOOR_DB:g} and 0 dBFS.")
        for name in ("min_voiced_share", "min_face_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share: give a number between 0 and 1.")

    @classmethod
    def of(cls, campaign) -> Thresholds:
        """The thresholds of a campaign (any object with the Campaign.screen_* attributes)."""
        return cls(
            min_seconds=campaign.screen_min_seconds,
            max_seconds=campaign.screen_max_seconds,
            min_loudness_db=campaign.screen_min_loudness_db,
            min_voiced_share=campaign.screen_min_voiced_share,
            min_face_share=campaign.screen_min_face_share,
        )


# --------------------------------------------------------------------------------------------
# Measuring


def measure_clip(path: str | Path, detector: Detector, frames: int = 16) -> dict:
    """What the clip at `path` holds, as JSON-ready data (see the module docstring).

    Raises ClipUnreadable when the file cannot be decoded.
    """
    from training.features.common import MediaDecodeError

    path = Path(path)
    try:
        probe = media.probe(path)
        measures = {
            "version": MEASURES_VERSION,
            "duration_seconds": round(probe.duration, 3),
            "has_audio": probe.has_audio,
            "has_video": probe.has_video,
            **_measure_audio(path, probe.has_audio),
            **_measure_faces(path, probe.has_video, detector, frames),
        }
    except (media.MediaError, MediaDecodeError, OSError) as exc:
        raise ClipUnreadable(str(exc)) from exc
    describe = getattr(detector, "describe", None)
    measures["detector"] = describe() if callable(describe) else type(detector).__name__
    return measures


def _measure_audio(path: Path, has_audio: bool) -> dict:
    if not has_audio:
        return {"loudness_db": None, "windows": 0, "window_db_histogram": []}
    from training.features.audio import load_audio

    samples = load_audio(path, SAMPLE_RATE).astype(np.float64)
    size = round(WINDOW_SECONDS * SAMPLE_RATE)
    count = len(samples) // size  # a last partial window is left out
    windows = samples[: count * size].reshape(count, size) if count else samples[None, :]
    levels = _db(np.sqrt(np.mean(windows**2, axis=1)))
    return {
        "loudness_db": round(float(_db(np.sqrt(np.mean(samples**2)))), 1),
        "windows": len(levels),
        "window_db_histogram": window_histogram(levels),
    }


def _db(rms):
    """RMS amplitude (full scale 1.0) in dBFS, never below FLOOR_DB."""
    return np.maximum(20 * np.log10(np.maximum(rms, 1e-12)), FLOOR_DB)


def window_histogram(levels: np.ndarray) -> list[int]:
    """Counts of window levels in 1 dB bins from FLOOR_DB up to 0 dBFS (the last bin is open)."""
    bins = int(-FLOOR_DB / BIN_DB)
    index = np.clip(np.floor((np.asarray(levels) - FLOOR_DB) / BIN_DB), 0, bins - 1).astype(int)
    return np.bincount(index, minlength=bins).tolist()


def _measure_faces(path: Path, has_video: bool, detector: Detector, frames: int) -> dict:
    if not has_video:
        return {"faces": []}
    from training.features.vision import sample_frames

    # One frame from each of `frames` equal stretches of the clip, the same ones every time.
    pictures = sample_frames(path, segments=frames, per_segment=1, seed=0)
    return {"faces": [len(detector.detect(picture)) for picture in pictures]}


# --------------------------------------------------------------------------------------------
# Judging


def voiced_share(measures: dict, level_db: float) -> float:
    """Share of 50 ms windows at or above `level_db` (rounded up to the histogram's whole dB)."""
    histogram = measures.get("window_db_histogram") or []
    total = sum(histogram)
    if not total:
        return 0.0
    first = max(0, math.ceil((level_db - FLOOR_DB) / BIN_DB))
    return sum(histogram[first:]) / total


def judge(measures: dict, thresholds: Thresholds) -> tuple[bool, list[str]]:
    """Whether the measured clip passes, and a sentence for each check it fails."""
    reasons = []
    seconds = measures["duration_seconds"]
    if seconds < thresholds.min_seconds:
        reasons.append(f"lasts {seconds:.1f} s, shorter than {thresholds.min_seconds:g} s")
    elif seconds > thresholds.max_seconds:
        reasons.append(f"lasts {seconds:.1f} s, longer than {thresholds.max_seconds:g} s")
    if not measures["has_audio"]:
        reasons.append("has no audio track")
    elif measures["loudness_db"] < thresholds.min_loudness_db:
        reasons.append(
            f"audio is silent ({_dbfs(measures['loudness_db'])}, "
            f"quieter than {_dbfs(thresholds.min_loudness_db)})"
        )
    else:
        share = voiced_share(measures, thresholds.min_loudness_db)
        if share < thresholds.min_voiced_share:
            reasons.append(
                f"sound above {_dbfs(thresholds.min_loudness_db)} in {_percent(share)} of "
                f"the clip, need {_percent(thresholds.min_voiced_share)}"
            )
    faces = measures["faces"]
    if not measures["has_video"] or not faces:
        reasons.append("has no video to find a face in")
    else:
        one = sum(1 for n in faces if n == 1)
        share = one / len(faces)
        if share < thresholds.min_face_share:
            several = sum(1 for n in faces if n > 1)
            also = f"; two or more in {several}" if several else ""
            reasons.append(
                f"exactly one face in {one} of {len(faces)} sampled frames "
                f"({_percent(share)}{also}), need {_percent(thresholds.min_face_share)}"
            )
    return not reasons, reasons


def face_share(measures: dict) -> float | None:
    """Share of sampled frames with exactly one face; None without frames."""
    faces = measures.get("faces") or []
    return sum(1 for n in faces if n == 1) / len(faces) if faces else None


def _dbfs(value: float) -> str:
    return f"{value:.0f} dBFS".replace("-", "\N{MINUS SIGN}")


def _percent(share: float) -> str:
    return f"{math.floor(share * 100 + 1e-9):.0f} %"
