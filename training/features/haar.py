"""Frontal-face detection with OpenCV's Haar cascade (``cv2.CascadeClassifier``).

The cascade file ships inside the opencv-python wheels (``cv2.data.haarcascades``), so
there is nothing to download or vendor.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

DEFAULT_CASCADE = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"

Box = tuple[int, int, int, int]


# ``largest`` first searches faces down to 1/NEAR_SHARE of a neighbouring frame's face side.
# OpenCV averages each face over windows down to about half its side, so a cut at half moved
# 13 % of the boxes of bench/extract.py's clips; at a third none moved.
NEAR_SHARE = 3


def area(box: Box) -> int:
    return box[2] * box[3]


class HaarFaceDetector:
    """Frontal-face detector from OpenCV's default Haar cascade; boxes are (x, y, w, h).

    ``max_side`` downsizes large frames before detection (boxes are mapped back), which
    bounds the cost per frame; ``None`` keeps full resolution.
    """

    def __init__(
        self,
        cascade_path: str | Path | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: tuple[int, int] = (30, 30),
        max_side: int | None = 640,
    ) -> None:
        if scale_factor <= 1:
            raise ValueError("scale_factor must be greater than 1, for example 1.1.")
        self.cascade_path = Path(cascade_path) if cascade_path else DEFAULT_CASCADE
        try:  # a missing file gives an empty classifier, a malformed one raises
            self.classifier = cv2.CascadeClassifier(str(self.cascade_path))
        except (cv2.error, SystemError):
            self.classifier = cv2.CascadeClassifier()
        if self.classifier.empty():
            raise ValueError(
                f"OpenCV could not load a cascade from {self.cascade_path}; pass the path of "
                "an OpenCV cascade XML file, or None for the bundled frontal-face cascade."
            )
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.max_side = max_side

    def describe(self) -> dict:
        """Detector provenance and settings, for the dataset datasheet."""
        return {
            "name": "haar-frontalface",
            "opencv": cv2.__version__,
            "cascade": self.cascade_path.name,
            "cascade_sha256": hashlib.sha256(self.cascade_path.read_bytes()).hexdigest(),
            "scale_factor": self.scale_factor,
            "min_neighbors": self.min_neighbors,
            "min_size": list(self.min_size),
            "max_side": self.max_side,
        }

    def detect(self, rgb: np.ndarray, min_side: int = 0) -> list[Box]:
        """Face boxes (x, y, w, h) in the pixel coordinates of ``rgb`` (H, W, 3) uint8;
        ``min_side`` (pixels of ``rgb``) raises ``min_size`` for this call."""
        gray = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
        shrink = 1.0
        if self.max_side and max(gray.shape) > self.max_side:
            shrink = self.max_side / max(gray.shape)
            size = (round(gray.shape[1] * shrink), round(gray.shape[0] * shrink))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        min_size = (
            int(np.ceil(max(self.min_size[0], min_side) * shrink)),
            int(np.ceil(max(self.min_size[1], min_side) * shrink)),
        )
        found = self.classifier.detectMultiScale(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=min_size,
        )
        return [
            tuple(int(round(v / shrink)) for v in box) for box in np.asarray(found).reshape(-1, 4)
        ]

    def largest(self, rgb: np.ndarray, near: Box | None = None) -> Box | None:
        """The largest face box of ``rgb``, or None when there is no face.

        ``near`` is the largest face of a neighbouring frame: faces of at least a third of its
        side are searched first. The cascade spends most of its time on small windows, and a
        face found among the large ones is larger than any it skipped, so the answer is the
        full search's (tests/features/test_vision.py compares them); only when no face that
        large is found does the full search run.
        """
        if near is not None:
            boxes = self.detect(rgb, min_side=max(near[2], near[3]) // NEAR_SHARE)
            if boxes:
                return max(boxes, key=area)
        return max(self.detect(rgb), key=area, default=None)
