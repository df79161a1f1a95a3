"""Viola-Jones (Haar cascade) face detection that needs no download and no particular OpenCV.

OpenCV 5 dropped ``cv2.CascadeClassifier`` and stopped shipping the cascade files, so this
module carries OpenCV's own ``haarcascade_frontalface_default.xml`` (Intel License, kept
verbatim inside the gzip) and evaluates it with numpy, following ``cascadedetect.cpp``:
an image pyramid, a 24×24 window scanned with step 2 (1 above scale 2), variance
normalisation over the inner 22×22 window, stump stages, then ``groupRectangles``.
Where OpenCV 4 is installed, its C++ implementation is used instead (same cascade, faster).
"""

from __future__ import annotations

import gzip
import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

DEFAULT_CASCADE = Path(__file__).parent / "data" / "haarcascade_frontalface_default.xml.gz"

Box = tuple[int, int, int, int]

# Evaluate a stage on the whole window grid while more than this share of windows is alive.
DENSE_FRACTION = 0.1


@dataclass(frozen=True)
class Cascade:
    """A stump-based Haar cascade as flat arrays (W weak classifiers, F features)."""

    window: tuple[int, int]  # (width, height)
    stage_ends: np.ndarray  # (S,) end index into the weak arrays of each stage
    stage_thresholds: np.ndarray  # (S,)
    weak_feature: np.ndarray  # (W,) feature index
    weak_threshold: np.ndarray  # (W,)
    weak_left: np.ndarray  # (W,) vote when value < threshold
    weak_right: np.ndarray  # (W,)
    rects: np.ndarray  # (F, 3, 4) x, y, w, h; unused slots are zero
    rect_weights: np.ndarray  # (F, 3); unused slots are zero
    sha256: str


def read_cascade_text(path: str | Path) -> str:
    """Return the XML text of a cascade file, gzipped or not."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8")


@cache
def load_cascade(path: str | Path = DEFAULT_CASCADE) -> Cascade:
    """Parse an OpenCV (new-format, stump, HAAR) cascade XML into arrays."""
    text = read_cascade_text(path)
    root = ET.fromstring(text).find("cascade")
    if root is None or (root.findtext("featureType") or "").strip() != "HAAR":
        raise ValueError(f"{path} is not an OpenCV Haar cascade in the current XML format.")
    window = (int(root.findtext("width")), int(root.findtext("height")))
    stage_ends, stage_thresholds = [], []
    weak_feature, weak_threshold, weak_left, weak_right = [], [], [], []
    for stage in root.find("stages"):
        for weak in stage.find("weakClassifiers"):
            nodes = weak.findtext("internalNodes").split()
            leaves = weak.findtext("leafValues").split()
            if len(nodes) != 4 or len(leaves) != 2:
                raise ValueError(f"{path}: only stump cascades are supported.")
            weak_feature.append(int(nodes[2]))
            weak_threshold.append(float(nodes[3]))
            weak_left.append(float(leaves[0]))
            weak_right.append(float(leaves[1]))
        stage_ends.append(len(weak_feature))
        # OpenCV subtracts THRESHOLD_EPS = 1e-5 when reading the stage threshold.
        stage_thresholds.append(float(stage.findtext("stageThreshold")) - 1e-5)
    features = list(root.find("features"))
    rects = np.zeros((len(features), 3, 4), dtype=np.int64)
    weights = np.zeros((len(features), 3), dtype=np.float64)
    for f, feature in enumerate(features):
        if (feature.findtext("tilted") or "0").strip() == "1":
            raise ValueError(f"{path}: tilted Haar features are not supported.")
        for r, rect in enumerate(feature.find("rects")):
            x, y, w, h, weight = rect.text.split()
            rects[f, r] = (int(x), int(y), int(w), int(h))
            weights[f, r] = float(weight)
    return Cascade(
        window=window,
        stage_ends=np.array(stage_ends),
        stage_thresholds=np.array(stage_thresholds),
        weak_feature=np.array(weak_feature),
        weak_threshold=np.array(weak_threshold),
        weak_left=np.array(weak_left),
        weak_right=np.array(weak_right),
        rects=rects,
        rect_weights=weights,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _integral(image: np.ndarray) -> np.ndarray:
    """(h+1, w+1) integral image with a zero first row and column."""
    out = np.zeros((image.shape[0] + 1, image.shape[1] + 1), dtype=np.int64)
    out[1:, 1:] = image.cumsum(0).cumsum(1)
    return out


def _rect_sums(flat: np.ndarray, stride: int, offsets: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Sums of rectangles ``rects`` (..., 4) placed at window offsets (C,) of a flat integral."""
    x, y, w, h = (rects[..., i] for i in range(4))
    tl = y * stride + x
    a = tl
    b = tl + w
    c = tl + h * stride
    d = c + w
    base = offsets.reshape((-1,) + (1,) * tl.ndim)
    return flat[base + a] - flat[base + b] - flat[base + c] + flat[base + d]


def _grid_rect_sums(integral: np.ndarray, step: int, shape: tuple[int, int], rect) -> np.ndarray:
    """Sums of one rectangle (x, y, w, h) at every window of a (ny, nx) grid with ``step``."""
    ny, nx = shape
    x, y, w, h = (int(v) for v in rect)

    def corner(top: int, left: int) -> np.ndarray:
        return integral[
            top : top + (ny - 1) * step + 1 : step, left : left + (nx - 1) * step + 1 : step
        ]

    return corner(y, x) - corner(y, x + w) - corner(y + h, x) + corner(y + h, x + w)


def _dense_stage(
    cascade: Cascade, stage: int, integral: np.ndarray, step: int, inv: np.ndarray
) -> np.ndarray:
    """One stage on every window of the grid at once: slices instead of gathers, faster
    while most windows are still alive."""
    votes = np.zeros(inv.shape, dtype=np.float64)
    inv32 = inv.astype(np.float32)
    start = cascade.stage_ends[stage - 1] if stage else 0
    for k in range(start, cascade.stage_ends[stage]):
        feature = cascade.weak_feature[k]
        value = np.zeros(inv.shape, dtype=np.float64)
        for rect, weight in zip(cascade.rects[feature], cascade.rect_weights[feature], strict=True):
            if weight != 0:
                value += weight * _grid_rect_sums(integral, step, inv.shape, rect)
        value = value.astype(np.float32) * inv32
        votes += np.where(
            value < cascade.weak_threshold[k], cascade.weak_left[k], cascade.weak_right[k]
        )
    return votes >= cascade.stage_thresholds[stage]


def _stage_passes(
    cascade: Cascade,
    stage: int,
    flat: np.ndarray,
    stride: int,
    offsets: np.ndarray,
    inv: np.ndarray,
) -> np.ndarray:
    """Which windows (C,) pass one boosted stage; feature values in float32 as in OpenCV."""
    start = cascade.stage_ends[stage - 1] if stage else 0
    end = cascade.stage_ends[stage]
    feats = cascade.weak_feature[start:end]
    sums = _rect_sums(flat, stride, offsets, cascade.rects[feats])  # (C, K, 3)
    values = (sums * cascade.rect_weights[feats]).sum(-1).astype(np.float32)
    values *= inv[:, None].astype(np.float32)  # (C, K)
    votes = np.where(
        values < cascade.weak_threshold[start:end],
        cascade.weak_left[start:end],
        cascade.weak_right[start:end],
    ).sum(-1)
    return votes >= cascade.stage_thresholds[stage]


def _detect_at_scale(gray: np.ndarray, cascade: Cascade, factor: float) -> np.ndarray:
    """Raw detections (N, 4) in original-image coordinates for one pyramid level."""
    win_w, win_h = cascade.window
    height, width = gray.shape
    size = (int(np.rint(width / factor)), int(np.rint(height / factor)))
    if size != (width, height):
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR_EXACT)
    step = 1 if factor > 2 else 2
    xs = np.arange(0, size[0] - win_w + 1, step)
    ys = np.arange(0, size[1] - win_h + 1, step)
    if xs.size == 0 or ys.size == 0:
        return np.zeros((0, 4), dtype=np.int64)
    stride = size[0] + 1
    integral = _integral(gray)
    integral_sq = _integral(gray.astype(np.int64) ** 2)
    shape = (len(ys), len(xs))
    gx, gy = np.meshgrid(xs, ys)
    offsets = (gy * stride + gx).ravel()

    norm = (1, 1, win_w - 2, win_h - 2)
    area = float(norm[2] * norm[3])
    total = _grid_rect_sums(integral, step, shape, norm).astype(np.float64)
    total_sq = _grid_rect_sums(integral_sq, step, shape, norm).astype(np.float64)
    nf = area * total_sq - total * total
    valid = nf > 0
    inv = np.zeros_like(nf)
    inv[valid] = 1.0 / np.sqrt(nf[valid])
    valid &= area * inv < 0.1  # windows with a grey-level std of 10 or less are skipped

    # Stage 0 on every window; OpenCV skips the next window in a row after a stage-0 reject.
    passed = valid & _dense_stage(cascade, 0, integral, step, inv)
    failed0 = valid & ~passed
    tried = np.ones_like(failed0)
    for j in range(1, len(xs)):
        tried[:, j] = ~(tried[:, j - 1] & failed0[:, j - 1])
    alive = passed & tried
    first_sparse = 1
    while first_sparse < len(cascade.stage_ends) and alive.mean() > DENSE_FRACTION:
        alive &= _dense_stage(cascade, first_sparse, integral, step, inv)
        first_sparse += 1
    keep = alive.ravel()
    flat = integral.ravel()
    offsets, inv = offsets[keep], inv.ravel()[keep]
    for stage in range(first_sparse, len(cascade.stage_ends)):
        if offsets.size == 0:
            break
        keep = _stage_passes(cascade, stage, flat, stride, offsets, inv)
        offsets, inv = offsets[keep], inv[keep]
    ys_found, xs_found = np.divmod(offsets, stride)
    n = offsets.size
    return np.stack(
        [
            np.rint(xs_found * factor),
            np.rint(ys_found * factor),
            np.full(n, np.rint(win_w * factor)),
            np.full(n, np.rint(win_h * factor)),
        ],
        axis=1,
    ).astype(np.int64)


def group_rectangles(rects: np.ndarray, min_neighbors: int, eps: float = 0.2) -> list[Box]:
    """OpenCV's ``groupRectangles``: cluster similar boxes, average, drop weak and nested ones."""
    if len(rects) == 0:
        return []
    if min_neighbors <= 0:
        return [tuple(int(v) for v in r) for r in rects]
    r = rects.astype(np.float64)
    delta = eps * (
        np.minimum(r[:, None, 2], r[None, :, 2]) + np.minimum(r[:, None, 3], r[None, :, 3])
    )
    delta *= 0.5
    right, bottom = r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]
    similar = (
        (np.abs(r[:, None, 0] - r[None, :, 0]) <= delta)
        & (np.abs(r[:, None, 1] - r[None, :, 1]) <= delta)
        & (np.abs(right[:, None] - right[None, :]) <= delta)
        & (np.abs(bottom[:, None] - bottom[None, :]) <= delta)
    )
    labels = np.arange(len(r))
    while True:  # connected components by label propagation
        new = np.where(similar, labels[None, :], len(r)).min(1)
        if np.array_equal(new, labels):
            break
        labels = new
    classes, labels = np.unique(labels, return_inverse=True)
    counts = np.bincount(labels, minlength=len(classes))
    means = np.stack([np.bincount(labels, r[:, i]) for i in range(4)], axis=1) / counts[:, None]
    boxes = np.rint(means).astype(np.int64)
    kept: list[Box] = []
    for i, (b1, n1) in enumerate(zip(boxes, counts, strict=True)):
        if n1 <= min_neighbors:
            continue
        nested = False
        for j, (b2, n2) in enumerate(zip(boxes, counts, strict=True)):
            if j == i or n2 <= min_neighbors:
                continue
            dx, dy = int(np.rint(b2[2] * eps)), int(np.rint(b2[3] * eps))
            if (
                b1[0] >= b2[0] - dx
                and b1[1] >= b2[1] - dy
                and b1[0] + b1[2] <= b2[0] + b2[2] + dx
                and b1[1] + b1[3] <= b2[1] + b2[3] + dy
                and (n2 > max(3, n1) or n1 < 3)
            ):
                nested = True
                break
        if not nested:
            kept.append(tuple(int(v) for v in b1))
    return kept


class HaarFaceDetector:
    """Frontal-face detector from OpenCV's default Haar cascade; boxes are (x, y, w, h).

    ``max_side`` downsizes large frames before detection (boxes are mapped back), which
    bounds the cost of the numpy backend; ``None`` keeps full resolution.
    """

    def __init__(
        self,
        cascade_path: str | Path | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: tuple[int, int] = (30, 30),
        max_side: int | None = 640,
        backend: Literal["auto", "opencv", "numpy"] = "auto",
    ) -> None:
        if scale_factor <= 1:
            raise ValueError("scale_factor must be greater than 1, for example 1.1.")
        self.cascade_path = Path(cascade_path) if cascade_path else DEFAULT_CASCADE
        self.cascade = load_cascade(self.cascade_path)
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        self.max_side = max_side
        has_opencv = hasattr(cv2, "CascadeClassifier")
        if backend == "opencv" and not has_opencv:
            raise RuntimeError(
                f"OpenCV {cv2.__version__} has no CascadeClassifier; use backend='numpy' "
                "(or 'auto'), or install an OpenCV 4 build."
            )
        self.backend = (
            "opencv" if backend == "opencv" or (backend == "auto" and has_opencv) else "numpy"
        )
        self._opencv = self._opencv_classifier() if self.backend == "opencv" else None

    def _opencv_classifier(self):
        text = read_cascade_text(self.cascade_path)
        storage = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
        classifier = cv2.CascadeClassifier()
        if not classifier.read(storage.getFirstTopLevelNode()):
            raise RuntimeError(f"OpenCV could not read the cascade {self.cascade_path}.")
        return classifier

    def describe(self) -> dict:
        return {
            "name": "haar-frontalface",
            "backend": self.backend,
            "cascade": self.cascade_path.name,
            "cascade_sha256": self.cascade.sha256,
            "scale_factor": self.scale_factor,
            "min_neighbors": self.min_neighbors,
            "min_size": list(self.min_size),
            "max_side": self.max_side,
        }

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Face boxes (x, y, w, h) in the pixel coordinates of ``rgb`` (H, W, 3) uint8."""
        gray = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
        shrink = 1.0
        if self.max_side and max(gray.shape) > self.max_side:
            shrink = self.max_side / max(gray.shape)
            size = (round(gray.shape[1] * shrink), round(gray.shape[0] * shrink))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        min_size = (
            int(np.ceil(self.min_size[0] * shrink)),
            int(np.ceil(self.min_size[1] * shrink)),
        )
        if self._opencv is not None:
            found = self._opencv.detectMultiScale(
                gray, self.scale_factor, self.min_neighbors, minSize=min_size
            )
            boxes = [tuple(int(v) for v in b) for b in np.asarray(found).reshape(-1, 4)]
        else:
            boxes = group_rectangles(self._raw(gray, min_size), self.min_neighbors)
        if shrink != 1.0:
            boxes = [tuple(int(round(v / shrink)) for v in b) for b in boxes]
        return boxes

    def _raw(self, gray: np.ndarray, min_size: tuple[int, int]) -> np.ndarray:
        win_w, win_h = self.cascade.window
        height, width = gray.shape
        found = []
        factor = 1.0
        while True:
            w, h = round(win_w * factor), round(win_h * factor)
            if w > width or h > height:
                break
            if w >= min_size[0] and h >= min_size[1]:
                found.append(_detect_at_scale(gray, self.cascade, factor))
            factor *= self.scale_factor
        return np.concatenate(found) if found else np.zeros((0, 4), dtype=np.int64)
