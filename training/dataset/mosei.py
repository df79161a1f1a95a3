"""Read CMU-MOSEI-style aligned feature files (the layout the MulT/TAILOR family distributes)
as the trainer's datasets: `python -m training --dataset FILE` and `train_lfmim --dataset FILE`.

One file holds the three splits (`train`, `valid`, `test`), each a mapping of:

| role | keys accepted | shape |
|---|---|---|
| text | `text`, `src-text` | (N, L, 300) GloVe vectors |
| vision | `vision`, `src-visual`, `visual` | (N, L, 35) Facet |
| audio | `audio`, `src-audio` | (N, L, 74) COVAREP |
| labels | `labels`, `label`, `tgt` | see below |

Labels, in the order happy, sad, anger, surprise, disgust, fear:
- multi-hot (N, 6) or (N, 1, 6) of 0/1;
- CMU-MOSEI emotion intensities (N, 6) or (N, 1, 6), non-negative: an emotion is present when
  its intensity is above 0 (the usual binarisation of the averaged annotator scores);
- TAILOR's `tgt`: per sample a token sequence of label ids, where 0–3 are its label
  vocabulary's special tokens (padding, start, end, unknown) and 4–9 the six emotions in the
  order above (the released loader drops the first and last token and maps 4..9 to 0..5).
A (N, 1) or (N, 1, 1) `labels` array is CMU-MOSEI's sentiment score, not emotions: refused.

Files are read with `pickle` (`.pkl`, `.pickle`) or `torch.load` (`.pt`, `.pth`); both can run
code hidden in the file, so read only files from sources you trust.

Non-finite values: the real files hold -inf in audio (COVAREP's log energies of silence); ±inf
is set to 0, as the released TAILOR loader does, and counted in `datasheet["non_finite"]`.
NaN means a broken file and is refused. Masks: the features are aligned and zero-padded, so a
position is real for a modality when its feature vector is not all zeros (the released code
treats every position as real). CMU-MOSEI has one label set per utterance, annotated on the
video: it is y_m and is copied to t, a and v (LFMIM trained on it is therefore LFMIM-ML).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

# torch is imported where it is used: the web process imports `is_feature_file` from here.

MOSEI_EMOTIONS: tuple[str, ...] = ("happy", "sad", "anger", "surprise", "disgust", "fear")
FEATURE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth")
FILE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "validation": ("valid", "validation", "dev", "val"),
    "test": ("test",),
}
ROLE_KEYS: dict[str, tuple[str, ...]] = {
    "text": ("text", "src-text"),
    "vision": ("vision", "src-visual", "visual"),
    "audio": ("audio", "src-audio"),
    "labels": ("labels", "label", "tgt"),
}
TOKEN_OFFSET = 4  # TAILOR's label vocabulary: ids 0-3 special, 4.. the emotions


class FeatureFileError(ValueError):
    """The file is not a usable CMU-MOSEI-style feature file; the message says why."""


def is_feature_file(path: str | Path) -> bool:
    """Whether `path` names a feature file (rather than an exported dataset directory)."""
    path = Path(path)
    return path.suffix.lower() in FEATURE_SUFFIXES and not path.is_dir()


def _load(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; give a CMU-MOSEI-style feature file.")
    try:
        if path.suffix.lower() in (".pt", ".pth"):
            import torch

            return torch.load(path, map_location="cpu", weights_only=False)
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, RuntimeError, AttributeError, ImportError) as exc:
        raise FeatureFileError(
            f"{path} could not be read as a {path.suffix} file ({type(exc).__name__}: {exc})."
        ) from exc


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _pick(mapping: Mapping, keys: tuple[str, ...], what: str, where: str) -> Any:
    for key in keys:
        if key in mapping:
            return mapping[key]
    raise FeatureFileError(
        f"{where} has no {what} (looked for {', '.join(map(repr, keys))}; it has "
        f"{', '.join(map(repr, sorted(map(str, mapping)))) or 'no keys'})."
    )


def parse_labels(value: Any, n: int, where: str) -> np.ndarray:
    """Any accepted label format (module docstring) -> (n, 6) uint8 multi-hot."""
    c = len(MOSEI_EMOTIONS)
    if isinstance(value, (list, tuple)) or (
        isinstance(value, np.ndarray) and value.dtype == object
    ):
        if len(value) != n:
            raise FeatureFileError(f"{where} has {len(value)} label sequences for {n} samples.")
        hot = np.zeros((n, c), np.uint8)
        for i, tokens in enumerate(value):
            ids = [int(t) for t in _array(tokens).reshape(-1) if int(t) >= TOKEN_OFFSET]
            bad = [t for t in ids if t >= TOKEN_OFFSET + c]
            if bad:
                raise FeatureFileError(
                    f"{where}: sample {i} has label token {bad[0]}; tokens {TOKEN_OFFSET}.."
                    f"{TOKEN_OFFSET + c - 1} are the six emotions and 0..{TOKEN_OFFSET - 1} "
                    "special tokens."
                )
            hot[i, [t - TOKEN_OFFSET for t in ids]] = 1
        return hot
    labels = _array(value)
    if labels.ndim == 3 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 2 and labels.shape[1] == 1:
        raise FeatureFileError(
            f"{where} holds one number per sample (CMU-MOSEI's sentiment score), not six "
            "emotion labels; use the emotion-labelled file."
        )
    if labels.ndim != 2 or labels.shape != (n, c):
        raise FeatureFileError(
            f"{where} has labels of shape {labels.shape}; expected ({n}, {c}) for "
            f"{', '.join(MOSEI_EMOTIONS)} (multi-hot or intensities), or TAILOR's token lists."
        )
    labels = labels.astype(np.float64)
    if not np.isfinite(labels).all() or (labels < 0).any():
        raise FeatureFileError(f"{where} has negative or non-finite emotion labels.")
    return (labels > 0).astype(np.uint8)  # multi-hot stays; intensities: present when > 0


class FeatureFile:
    """A CMU-MOSEI-style feature file, read and checked once; `.split(name)` gives a split."""

    label_mode = "multi-label"
    classes = MOSEI_EMOTIONS

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        data = _load(self.path)
        if not isinstance(data, Mapping):
            raise FeatureFileError(
                f"{self.path} holds a {type(data).__name__}; expected a mapping of the splits "
                "train, valid and test."
            )
        self.arrays: dict[str, dict[str, np.ndarray]] = {}
        non_finite: dict[str, dict[str, int]] = {}
        for split, names in FILE_SPLITS.items():
            part = _pick(data, names, f"{split} split", str(self.path))
            where = f"{self.path} split {split!r}"
            if not isinstance(part, Mapping):
                raise FeatureFileError(f"{where} is a {type(part).__name__}, not a mapping.")
            features = {
                r: _array(_pick(part, ROLE_KEYS[r], r, where)) for r in ("text", "vision", "audio")
            }
            n = _check_features(features, where)
            labels = parse_labels(_pick(part, ROLE_KEYS["labels"], "labels", where), n, where)
            counts = {}
            for role, x in features.items():
                x = np.asarray(x, dtype=np.float32)
                if np.isnan(x).any():
                    raise FeatureFileError(
                        f"{where} has {int(np.isnan(x).sum())} NaN values in {role}: the file "
                        "is damaged; repair it (e.g. numpy.nan_to_num) or get a fresh copy."
                    )
                infinite = ~np.isfinite(x)
                counts[role] = int(infinite.sum())
                features[role] = np.where(infinite, np.float32(0.0), x)
            non_finite[split] = counts
            self.arrays[split] = {**features, "labels": labels}
        _check_across_splits(self.arrays, str(self.path))
        shapes = {r: list(self.arrays["train"][r].shape[1:]) for r in ("text", "audio", "vision")}
        self.datasheet: dict[str, Any] = {
            "name": self.path.name,
            "source": "cmu-mosei-style feature file",
            "classes": list(MOSEI_EMOTIONS),
            "label_mode": self.label_mode,
            "sizes": {s: len(a["labels"]) for s, a in self.arrays.items()},
            "shapes": shapes,
            "non_finite": non_finite,  # ±inf values set to 0, per split and modality
            "label_frequencies": {
                s: dict(zip(MOSEI_EMOTIONS, a["labels"].sum(axis=0).tolist(), strict=True))
                for s, a in self.arrays.items()
            },
        }

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.datasheet["sizes"])

    def split(self, name: str, **options) -> FeatureSplit:
        return FeatureSplit(self, name, **options)


def _check_features(features: dict[str, np.ndarray], where: str) -> int:
    sizes = set()
    for role, x in features.items():
        if x.ndim != 3:
            raise FeatureFileError(
                f"{where}: {role} has shape {x.shape}; expected (samples, length, features)."
            )
        if not np.issubdtype(x.dtype, np.number):
            raise FeatureFileError(f"{where}: {role} holds {x.dtype} values, not numbers.")
        sizes.add(x.shape[0])
    if len(sizes) != 1:
        shown = ", ".join(f"{r} {x.shape[0]}" for r, x in features.items())
        raise FeatureFileError(f"{where}: the modalities have different sample counts ({shown}).")
    return sizes.pop()


def _check_across_splits(arrays: dict[str, dict[str, np.ndarray]], where: str) -> None:
    for role in ("text", "vision", "audio"):
        shapes = {s: a[role].shape[1:] for s, a in arrays.items()}
        if len(set(shapes.values())) != 1:
            shown = ", ".join(f"{s} {shape}" for s, shape in shapes.items())
            raise FeatureFileError(
                f"{where}: {role} features differ in shape between splits ({shown})."
            )
    if not len(arrays["train"]["labels"]):
        raise FeatureFileError(f"{where} has no training samples.")


def open_feature_file(path: str | Path) -> FeatureFile:
    return FeatureFile(path)


class FeatureSplit:
    """One split as the trainer's items (a map-style dataset): float32 features, masks (True =
    a position whose feature vector is not all zero), labels (4, 6) float32 (y_m copied to t,
    a, v)."""

    label_mode = "multi-label"
    classes = MOSEI_EMOTIONS

    def __init__(self, source: FeatureFile, split: str, *, standardize=None) -> None:
        if split not in FILE_SPLITS:
            raise ValueError(f"split must be one of {', '.join(FILE_SPLITS)}, not {split!r}.")
        self.split = split
        arrays = source.arrays[split]
        self.features = {r: arrays[r] for r in ("text", "audio", "vision")}
        self.masks = {r: np.abs(x).sum(axis=2) > 0 for r, x in self.features.items()}
        if standardize is not None:
            self.features = {
                r: np.where(self.masks[r][..., None], standardize.apply(r, x), 0.0).astype(
                    np.float32
                )
                for r, x in self.features.items()
            }
        hot = arrays["labels"].astype(np.float32)
        self.labels = np.repeat(hot[:, None, :], 4, axis=1)  # t, a, v, m
        self.utterance_ids = [f"{split}-{i:06d}" for i in range(len(hot))]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        import torch

        item: dict[str, Any] = {}
        for role, x in self.features.items():
            item[role] = torch.from_numpy(np.ascontiguousarray(x[i]))
            item[role + "_mask"] = torch.from_numpy(self.masks[role][i].copy())
        item["labels"] = torch.from_numpy(self.labels[i].copy())
        item["utterance_id"] = self.utterance_ids[i]
        return item


def feature_file_statistics(split: FeatureSplit):
    """Mean and std per dimension over the real positions of a split (for `standardize`)."""
    from .reader import FeatureStatistics

    mean, std = {}, {}
    for role, x in split.features.items():
        real = x[split.masks[role]].astype(np.float64)
        if not len(real):
            real = np.zeros((1, x.shape[2]))
        mean[role] = real.mean(axis=0).astype(np.float32)
        std[role] = np.maximum(real.std(axis=0), 1e-6).astype(np.float32)
    return FeatureStatistics(mean, std)
