"""Shard files: written under a temporary name and renamed, hashed while written, and a
per-shard done-file that lets a re-run keep shards it can verify."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from training.hashing import sha256_file

PROGRESS_DIR = ".progress"  # inside the partial directory only; removed before the rename

# Files of shard k, relative to the dataset directory, by role.
SHARD_FILES: dict[str, str] = {
    "text": "features/text/shard-{k:05d}.npy",
    "text_mask": "features/text/shard-{k:05d}.mask.npy",
    "audio": "features/audio/shard-{k:05d}.npy",
    "audio_offsets": "features/audio/shard-{k:05d}.offsets.npy",
    "vision": "features/vision/shard-{k:05d}.npy",
    "vision_face": "features/vision/shard-{k:05d}.face.npy",
}


def shard_paths(k: int) -> dict[str, str]:
    return {role: pattern.format(k=k) for role, pattern in SHARD_FILES.items()}


def done_path(root: Path, k: int) -> Path:
    return root / PROGRESS_DIR / f"shard-{k:05d}.done.json"


class _HashingWriter:
    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        return self.handle.write(data)


def save_npy(path: Path, array: np.ndarray, *, durable: bool = True) -> str:
    """Write ``array`` to ``path`` via a temporary name and a rename; return its sha256.

    ``durable`` syncs the file to disk before the rename (shards, which a resume trusts).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        writer = _HashingWriter(handle)
        np.lib.format.write_array(writer, np.ascontiguousarray(array), allow_pickle=False)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)
    return writer.digest.hexdigest()


def write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def read_done(root: Path, k: int, expected: dict) -> dict | None:
    """The done-file of shard k if it describes ``expected`` and its files still hash right.

    ``expected`` holds the keys that must match exactly (utterance ids, input digest,
    extractor fingerprints, dtype); anything else means the shard is recomputed.
    """
    try:
        done = json.loads(done_path(root, k).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if any(done.get(key) != value for key, value in expected.items()):
        return None
    files = done.get("files", {})
    if set(files) != set(shard_paths(k).values()):
        return None
    for relative, digest in files.items():
        path = root / relative
        if not path.is_file() or sha256_file(path) != digest:
            return None
    return done
