"""Vision features (§3.3): face crops from 8 segments × 8 random frames through a ResNet.

The paper detects and aligns faces with MTCNN, crops 224 × 224, samples 64 frames (8 evenly
split segments, 8 random frames each) and encodes each with a ResNet-18 trained on RAF-DB
(64 × 512). The released code used 16 frames × 2048 (a ResNet-50-like encoder): both are
settings of ``VisionFeatureExtractor``. The face detector is pluggable (``FaceDetector``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import av
import cv2
import numpy as np
import torch
from transformers import AutoImageProcessor, ResNetModel

from .common import (
    MediaDecodeError,
    ModelDescription,
    autocast,
    resolve_device,
    resolve_precision,
)
from .haar import Box, HaarFaceDetector, area

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VideoDecodeError(MediaDecodeError):
    """A file has no video stream, or its frames cannot be decoded."""


@runtime_checkable
class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, w, h) in pixels of an (H, W, 3) uint8 RGB image."""
        ...


def sample_frame_indices(
    num_frames: int, segments: int = 8, per_segment: int = 8, seed: int | None = 0
) -> np.ndarray:
    """Sorted frame indices: the clip split evenly into ``segments``, ``per_segment`` each.

    Frames are drawn without replacement inside a segment; a segment shorter than
    ``per_segment`` (or a clip shorter than ``segments``) reuses frames instead of failing.
    """
    if num_frames < 1:
        raise ValueError("A clip needs at least one frame to sample from.")
    if segments < 1 or per_segment < 1:
        raise ValueError("segments and per_segment must be at least 1.")
    rng = np.random.default_rng(seed)
    chosen = []
    for s in range(segments):
        start = s * num_frames // segments
        stop = max((s + 1) * num_frames // segments, start + 1)
        frames = np.arange(start, min(stop, num_frames))
        if frames.size >= per_segment:
            picked = rng.choice(frames, per_segment, replace=False)
        else:  # every frame once, the rest drawn again at random
            extra = rng.choice(frames, per_segment - frames.size, replace=True)
            picked = np.concatenate([frames, extra])
        chosen.append(np.sort(picked))
    return np.concatenate(chosen).astype(np.int64)


def _open_video(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"No media file at {path}.")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise VideoDecodeError(
            f"{path} could not be opened as video ({exc}); "
            "check that the file is complete and in a format FFmpeg reads."
        ) from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{path} has no video stream; vision features need a video clip.")
    return container


def count_frames(path: str | Path) -> int:
    """Number of video frames, from the container when it says, else by counting packets."""
    path = Path(path)
    with _open_video(path) as container:
        stream = container.streams.video[0]
        if stream.frames and stream.frames > 0:
            return int(stream.frames)
        try:
            return sum(1 for packet in container.demux(stream) if packet.size)
        except av.error.FFmpegError as exc:
            raise VideoDecodeError(f"The video of {path} could not be read ({exc}).") from exc


def sample_frames(
    path: str | Path, segments: int = 8, per_segment: int = 8, seed: int | None = 0
) -> list[np.ndarray]:
    """``segments`` × ``per_segment`` RGB frames (H, W, 3) uint8 of a clip, in time order."""
    return _sample_frames(Path(path), segments, per_segment, seed)[0]


def _sample_frames(
    path: Path, segments: int, per_segment: int, seed: int | None
) -> tuple[list[np.ndarray], np.ndarray]:
    total = count_frames(path)
    if total < 1:
        raise VideoDecodeError(f"{path} has a video stream but no frames.")
    indices = sample_frame_indices(total, segments, per_segment, seed)
    wanted = set(indices.tolist())
    kept: dict[int, np.ndarray] = {}
    last_frame = None
    decoded = 0
    with _open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                decoded, last_frame = index + 1, frame
                if index in wanted:
                    kept[index] = frame.to_ndarray(format="rgb24")
                if index >= indices[-1]:
                    break
        except av.error.FFmpegError as exc:
            raise VideoDecodeError(
                f"The video of {path} could not be decoded ({exc}); "
                "re-encode the file or exclude this utterance."
            ) from exc
        if last_frame is None:
            raise VideoDecodeError(f"{path} has a video stream but no decodable frames.")
        # The container may announce more frames than decode: reuse the last decoded one.
        indices = np.minimum(indices, decoded - 1)
        if decoded - 1 not in kept and indices[-1] == decoded - 1:
            kept[decoded - 1] = last_frame.to_ndarray(format="rgb24")
    return [kept[i] for i in indices.tolist()], indices


def _square_crop(rgb: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    """A side × side crop at (x, y) that may overhang the image; the overhang is black."""
    height, width = rgb.shape[:2]
    out = np.zeros((side, side, 3), dtype=np.uint8)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + side, width), min(y + side, height)
    if x1 > x0 and y1 > y0:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = rgb[y0:y1, x0:x1]
    return out


def crop_face(
    rgb: np.ndarray, detector: FaceDetector | None, size: int = 224, margin: float = 0.2
) -> tuple[np.ndarray, bool]:
    """A (size, size, 3) crop of the largest face and whether a face was found.

    The crop is square, centred on the face, with ``margin`` × face size added on each side;
    without a face it is the largest centred square of the frame.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    box = max(detector.detect(rgb), key=area, default=None) if detector is not None else None
    return _crop_around(rgb, box, size, margin), box is not None


def largest_faces(frames: Sequence[np.ndarray], detector: FaceDetector) -> list[Box | None]:
    """The largest face box of each frame (None where there is none), frames in time order.

    A detector with ``largest(rgb, near)`` (``HaarFaceDetector``) is given the previous
    frame's face to search from; a frame repeated (a short clip) is detected once.
    """
    largest = getattr(detector, "largest", None)
    boxes: list[Box | None] = []
    previous, box = None, None
    for rgb in frames:
        if rgb is not previous:
            if largest is not None:
                box = largest(rgb, box)
            else:
                box = max(detector.detect(rgb), key=area, default=None)
        boxes.append(box)
        previous = rgb
    return boxes


def _crop_around(rgb: np.ndarray, box: Box | None, size: int, margin: float) -> np.ndarray:
    if box is not None:
        x, y, w, h = box
        side = max(int(round(max(w, h) * (1 + 2 * margin))), 1)
        left = int(round(x + w / 2 - side / 2))
        top = int(round(y + h / 2 - side / 2))
    else:
        height, width = rgb.shape[:2]
        side = min(height, width)
        left, top = (width - side) // 2, (height - side) // 2
    crop = _square_crop(rgb, left, top, side)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


class VisionFeatures(NamedTuple):
    features: np.ndarray  # (F, hidden) float32, F = segments × per_segment
    face_found: np.ndarray  # (F,) bool; False where the centre crop was used
    frame_indices: np.ndarray  # (F,) int64 decoded frame index of each row


class VisionFeatureExtractor:
    """ResNet pooled features of face crops of sampled frames: (segments × per_segment, C)."""

    def __init__(
        self,
        model_name_or_path: str,
        device: str | None = None,
        batch_size: int = 32,
        segments: int = 8,
        per_segment: int = 8,
        crop_size: int = 224,
        margin: float = 0.2,
        detector: FaceDetector | None = None,
        seed: int | None = 0,
        precision: str = "auto",
        compile: bool = False,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.segments = segments
        self.per_segment = per_segment
        # Compiled, every batch has one shape (short ones padded): no more than a clip's.
        self.batch_size = min(batch_size, segments * per_segment) if compile else batch_size
        self.crop_size = crop_size
        self.margin = margin
        self.seed = seed
        self.detector = detector if detector is not None else HaarFaceDetector()
        self.model = ResNetModel.from_pretrained(model_name_or_path, dtype=torch.float32)
        self.model.to(self.device).eval()
        if self.precision == "bf16":  # oneDNN's bf16 convolutions are fastest in NHWC
            self.model.to(memory_format=torch.channels_last)
        self.hidden_size = int(self.model.config.hidden_sizes[-1])
        # torch.compile with frozen weights (batch norm folded into the convolutions, fused
        # activations): about twice as fast on CPU; compiling costs 10–40 s once per process
        # (less with Inductor's on-disk cache), so it pays for exports, not for a few clips.
        self.compile = bool(compile)
        self._forward = (
            torch.compile(self.model, dynamic=False, options={"freezing": True})
            if self.compile
            else self.model
        )
        try:
            processor = AutoImageProcessor.from_pretrained(model_name_or_path)
        except (OSError, ValueError):
            processor = None
        self.normalisation = "image_processor" if processor is not None else "imagenet"
        mean = getattr(processor, "image_mean", None) or IMAGENET_MEAN
        std = getattr(processor, "image_std", None) or IMAGENET_STD
        self.rescale = float(getattr(processor, "rescale_factor", None) or 1 / 255)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 1, 1, 3)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 1, 1, 3)
        self._description = ModelDescription(model_name_or_path, self.model, self.precision)

    @property
    def num_frames(self) -> int:
        return self.segments * self.per_segment

    def describe(self) -> dict:
        """Model provenance and settings, for the dataset datasheet."""
        describe_detector = getattr(self.detector, "describe", None)
        detector = describe_detector() if describe_detector else type(self.detector).__name__
        return {
            "modality": "v",
            **self._description.base(self.hidden_size),
            "segments": self.segments,
            "per_segment": self.per_segment,
            "num_frames": self.num_frames,
            "crop_size": self.crop_size,
            "margin": self.margin,
            "seed": self.seed,
            "normalisation": self.normalisation,
            "image_mean": self.mean.ravel().tolist(),
            "image_std": self.std.ravel().tolist(),
            "face_detector": detector,
            "compiled": self.compile,
            "output": "pooler_output",
        }

    def encode(self, crops: np.ndarray) -> np.ndarray:
        """ResNet pooled features (N, C) of (N, S, S, 3) uint8 RGB crops."""
        out = np.zeros((len(crops), self.hidden_size), dtype=np.float32)
        for start in range(0, len(crops), self.batch_size):
            batch = crops[start : start + self.batch_size].astype(np.float32) * self.rescale
            batch = (batch - self.mean) / self.std
            count = len(batch)
            if self.compile and count < self.batch_size:  # one shape, compiled once
                padding = np.zeros((self.batch_size - count, *batch.shape[1:]), batch.dtype)
                batch = np.concatenate([batch, padding])
            pixels = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
            with torch.inference_mode(), autocast(self.precision, self.device):
                pooled = self._forward(pixel_values=pixels.to(self.device)).pooler_output
            out[start : start + count] = pooled[:count].flatten(1).float().cpu().numpy()
        return out

    def extract_frames(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Features (N, C) and face_found (N,) for N RGB frames (face-cropped here)."""
        frames = [np.asarray(f, dtype=np.uint8) for f in frames]
        boxes = largest_faces(frames, self.detector)
        crops = np.zeros((len(frames), self.crop_size, self.crop_size, 3), np.uint8)
        for i, (rgb, box) in enumerate(zip(frames, boxes, strict=True)):
            crops[i] = _crop_around(rgb, box, self.crop_size, self.margin)
        return self.encode(crops), np.array([b is not None for b in boxes], dtype=bool)

    def extract_file(self, path: str | Path, seed: int | None = None) -> VisionFeatures:
        """Sample, face-crop and encode one clip (``seed`` defaults to the extractor's)."""
        seed = self.seed if seed is None else seed
        frames, indices = _sample_frames(Path(path), self.segments, self.per_segment, seed)
        features, found = self.extract_frames(frames)
        return VisionFeatures(features, found, indices)

    def extract_files(self, paths: Sequence[str | Path]) -> list[VisionFeatures]:
        return [self.extract_file(p) for p in paths]
