"""Read an exported dataset: its description, and each split as a ``torch`` Dataset.

Shards are memory-mapped (``np.load(mmap_mode="r")``), opened lazily in each process that
reads them (DataLoader workers included), so only the rows a batch touches are read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from labeling.emotions import MODALITIES
from training.features import fixed_length

from .datasheet import FORMAT_VERSION
from .shards import shard_paths
from .split import POOL, SPLITS

LABEL_ID_COLUMNS = [f"label_{m}_id" for m in MODALITIES]
LABEL_MODES = ("single-label", "multi-label")
LABELS_FILE = "labels.npy"  # multi-label: (manifest rows, 4, C) uint8 multi-hot


def _label_mode(root: Path, sheet: dict) -> str:
    """The datasheet's label mode (exports written before multi-label are single-label)."""
    mode = sheet.get("label_mode", "single-label")
    if mode not in LABEL_MODES:
        raise ValueError(
            f"{root} has label_mode {mode!r}; this code reads 'single-label' or 'multi-label'."
        )
    return mode


def _multi_hot(root: Path, rows: int, classes: Sequence[str]) -> np.ndarray:
    """labels.npy of a multi-label export, checked against the manifest and classes."""
    path = root / LABELS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{root} is a multi-label export without {LABELS_FILE}; re-export it."
        )
    labels = np.load(path, mmap_mode="r")
    wanted = (rows, len(MODALITIES), len(classes))
    if labels.shape != wanted:
        raise ValueError(
            f"{path} has shape {labels.shape}, not {wanted} (manifest rows, t/a/v/m, classes); "
            "the export is inconsistent: re-export it."
        )
    return labels


def _read_datasheet(root: Path) -> dict:
    path = root / "datasheet.json"
    if not path.is_file():
        partial = root.parent / f".{root.name}.partial"
        hint = f" ({partial} holds an unfinished export: run it again)" if partial.exists() else ""
        raise FileNotFoundError(f"{root} is not an exported dataset: no datasheet.json{hint}.")
    sheet = json.loads(path.read_text(encoding="utf-8"))
    if sheet.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{root} has dataset format version {sheet.get('format_version')}; this code reads "
            f"version {FORMAT_VERSION}. Re-export it or use a matching version of the code."
        )
    return sheet


class CHERMADataset:
    """An exported dataset's datasheet, classes and manifest (one row per utterance)."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory)
        self.datasheet = _read_datasheet(self.path)
        self.classes: tuple[str, ...] = tuple(self.datasheet["classes"])
        self.class_order: str = self.datasheet["class_order"]
        self.label_mode: str = _label_mode(self.path, self.datasheet)
        self.manifest: pd.DataFrame = pd.read_parquet(self.path / "manifest.parquet")

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.datasheet["sizes"])

    @property
    def failed(self) -> list[dict[str, str]]:
        return list(self.datasheet["failed"])

    def split(self, name: str, **options) -> CHERMASplit:
        """``CHERMASplit(self.path, name, **options)``."""
        return CHERMASplit(self.path, name, **options)

    def __repr__(self) -> str:
        return f"CHERMADataset({str(self.path)!r}, sizes={self.sizes})"


def open_dataset(directory: str | Path) -> CHERMADataset:
    return CHERMADataset(directory)


class CHERMASplit(Dataset):
    """One split as items of float32 tensors and masks (True = real), labels in t, a, v, m order:
    int64 (4,) class ids (single-label) or float32 (4, C) multi-hot (multi-label); a pool's one
    split ``pool`` has int64 (4,) of -1 (no labels).

    ``text_len``: cut or zero-pad the token sequence (None: as stored, L_t).
    ``audio_len``: fixed-length audio view (``fixed_length``: ``audio_how="sample"`` samples
    uniformly when longer, as the paper; ``"cut"`` keeps the first frames, as the released
    code; shorter is zero-padded); None keeps every frame (``collate`` pads the batch).
    ``vision_len``: frames sampled uniformly to this length (None: as stored, L_v).
    """

    def __init__(
        self,
        directory: str | Path,
        split: str,
        *,
        text_len: int | None = None,
        audio_len: int | None = 100,
        vision_len: int | None = None,
        audio_how: Literal["sample", "cut"] = "sample",
        standardize: FeatureStatistics | None = None,
    ) -> None:
        if split not in (*SPLITS, POOL):
            raise ValueError(f"split must be one of {', '.join((*SPLITS, POOL))}, not {split!r}.")
        if audio_how not in ("sample", "cut"):
            raise ValueError(f"audio_how must be 'sample' or 'cut', not {audio_how!r}.")
        for label, value in (
            ("text_len", text_len),
            ("audio_len", audio_len),
            ("vision_len", vision_len),
        ):
            if value is not None and value < 1:
                raise ValueError(f"{label} must be at least 1 (or None to keep the length).")
        self.path = Path(directory)
        self.split = split
        self.text_len, self.audio_len, self.vision_len = text_len, audio_len, vision_len
        self.audio_how = audio_how
        self.standardize = standardize
        self.datasheet = _read_datasheet(self.path)
        self.classes: tuple[str, ...] = tuple(self.datasheet["classes"])
        self.label_mode: str = _label_mode(self.path, self.datasheet)
        columns = ["utterance_id", "split", "shard", "index", "status", *LABEL_ID_COLUMNS]
        manifest = pd.read_parquet(self.path / "manifest.parquet", columns=columns)
        chosen = ((manifest["split"] == split) & (manifest["status"] == "ok")).to_numpy()
        rows = manifest[chosen]
        self.utterance_ids: list[str] = rows["utterance_id"].tolist()
        self.shards = rows["shard"].to_numpy(np.int64)
        self.rows = rows["index"].to_numpy(np.int64)
        if self.datasheet.get("pool"):  # a pool has no labels: -1 for each of t, a, v, m
            self.labels = np.full((len(rows), len(MODALITIES)), -1, dtype=np.int64)
        elif self.label_mode == "multi-label":  # (N, 4, C) float32 multi-hot: t, a, v, m
            hot = _multi_hot(self.path, len(manifest), self.classes)
            self.labels = np.asarray(hot[np.flatnonzero(chosen)], dtype=np.float32)
        else:
            self.labels = rows[LABEL_ID_COLUMNS].to_numpy(np.int64)  # (N, 4): t, a, v, m
        self._arrays: dict[int, dict[str, np.ndarray]] = {}
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.utterance_ids)

    def shard_arrays(self, k: int) -> dict[str, np.ndarray]:
        """The memory-mapped files of shard ``k``, opened once per process."""
        if self._pid != os.getpid():  # a forked worker must not share the parent's maps
            self._arrays, self._pid = {}, os.getpid()
        if k not in self._arrays:
            self._arrays[k] = {
                role: np.load(self.path / relative, mmap_mode="r")
                for role, relative in shard_paths(k).items()
            }
        return self._arrays[k]

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} is out of range for {len(self)} utterances.")
        arrays = self.shard_arrays(int(self.shards[i]))
        row = int(self.rows[i])

        text = np.array(arrays["text"][row], dtype=np.float32)
        text_mask = np.array(arrays["text_mask"][row], dtype=bool)
        start, stop = arrays["audio_offsets"][row], arrays["audio_offsets"][row + 1]
        frames = np.array(arrays["audio"][start:stop], dtype=np.float32)
        vision = np.array(arrays["vision"][row], dtype=np.float32)
        if self.standardize is not None:  # before padding, so padded positions stay zero
            text = np.where(text_mask[:, None], self.standardize.apply("text", text), 0.0)
            frames = self.standardize.apply("audio", frames)
            vision = self.standardize.apply("vision", vision)
        text, text_mask = _fit(text, text_mask, self.text_len, "cut")
        if self.audio_len is None:
            audio, audio_mask = frames, np.ones(len(frames), dtype=bool)
        else:
            audio, audio_mask = fixed_length(frames, self.audio_len, self.audio_how)
        face = np.array(arrays["vision_face"][row], dtype=bool)
        vision_mask = np.ones(len(vision), dtype=bool)
        if self.vision_len is not None:
            both, vision_mask = fixed_length(
                np.concatenate([vision, face[:, None]], axis=1), self.vision_len, "sample"
            )
            vision, face = both[:, :-1], both[:, -1] > 0.5
        return {
            "text": torch.from_numpy(text),
            "text_mask": torch.from_numpy(text_mask),
            "audio": torch.from_numpy(np.ascontiguousarray(audio)),
            "audio_mask": torch.from_numpy(audio_mask),
            "vision": torch.from_numpy(np.ascontiguousarray(vision)),
            "vision_mask": torch.from_numpy(vision_mask),
            "vision_face": torch.from_numpy(np.ascontiguousarray(face)),
            "labels": torch.from_numpy(self.labels[i].copy()),
            "utterance_id": self.utterance_ids[i],
        }

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_arrays"], state["_pid"] = {}, None  # workers open their own maps
        return state

    @staticmethod
    def collate(batch: Sequence[dict]) -> dict:
        return collate(batch)


@dataclass(frozen=True)
class FeatureStatistics:
    """Per-dimension mean and standard deviation of each modality's features (real positions
    of the training split): features from different extractors differ in scale by orders of
    magnitude (a random ResNet's pooled outputs vary by 0.04, BERT's by 1), and standardising
    them lets one learning rate suit all three streams."""

    mean: dict[str, np.ndarray]  # modality folder name -> (D,)
    std: dict[str, np.ndarray]

    def apply(self, modality: str, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean[modality]) / self.std[modality]).astype(np.float32)

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        return {
            name: {"mean": self.mean[name].tolist(), "std": self.std[name].tolist()}
            for name in self.mean
        }


def feature_statistics(split: CHERMASplit, max_items: int = 2048) -> FeatureStatistics:
    """Mean and std per dimension over real positions of up to `max_items` utterances of
    `split`, taken evenly through it (deterministic; the whole split when it is smaller)."""
    if len(split) == 0:
        raise ValueError("Cannot compute feature statistics of an empty split.")
    picks = np.unique(np.linspace(0, len(split) - 1, min(len(split), max_items)).astype(int))
    rows: dict[str, list[np.ndarray]] = {"text": [], "audio": [], "vision": []}
    for i in picks:
        arrays = split.shard_arrays(int(split.shards[i]))
        row = int(split.rows[i])
        mask = np.asarray(arrays["text_mask"][row], dtype=bool)
        rows["text"].append(np.asarray(arrays["text"][row], dtype=np.float64)[mask])
        start, stop = arrays["audio_offsets"][row], arrays["audio_offsets"][row + 1]
        rows["audio"].append(np.asarray(arrays["audio"][start:stop], dtype=np.float64))
        rows["vision"].append(np.asarray(arrays["vision"][row], dtype=np.float64))
    mean, std = {}, {}
    for name, parts in rows.items():
        values = np.concatenate(parts)
        mean[name] = values.mean(axis=0).astype(np.float32)
        std[name] = np.maximum(values.std(axis=0), 1e-6).astype(np.float32)
    return FeatureStatistics(mean, std)


def _fit(
    features: np.ndarray, mask: np.ndarray, length: int | None, how: Literal["sample", "cut"]
) -> tuple[np.ndarray, np.ndarray]:
    """Features (L, D) as float32 and their mask, cut/sampled or zero-padded to ``length``."""
    features = np.array(features, dtype=np.float32)  # a copy: never hand out the memory map
    mask = np.array(mask, dtype=bool)
    if length is None:
        return features, mask
    both, real = fixed_length(np.concatenate([features, mask[:, None]], axis=1), length, how)
    return np.ascontiguousarray(both[:, :-1]), (both[:, -1] > 0.5) & real


SEQUENCES = (("text", "text_mask"), ("audio", "audio_mask"), ("vision", "vision_mask"))


def collate(batch: Sequence[dict]) -> dict:
    """Stack items into a batch; sequences of unequal length are zero-padded (mask False)."""
    out: dict = {}
    for key, mask_key in SEQUENCES:
        longest = max(item[key].shape[0] for item in batch)
        out[key] = torch.stack([_pad(item[key], longest) for item in batch])
        out[mask_key] = torch.stack([_pad(item[mask_key], longest) for item in batch])
    longest = max(item["vision_face"].shape[0] for item in batch)
    out["vision_face"] = torch.stack([_pad(item["vision_face"], longest) for item in batch])
    out["labels"] = torch.stack([item["labels"] for item in batch])
    out["utterance_id"] = [item["utterance_id"] for item in batch]
    return out


def _pad(tensor: torch.Tensor, length: int) -> torch.Tensor:
    missing = length - tensor.shape[0]
    if missing == 0:
        return tensor
    padding = tensor.new_zeros((missing, *tensor.shape[1:]))
    return torch.cat([tensor, padding])
