"""``released/``: the files the released LFMIM code (``LFMIM0723v2/data_prepare.py``) reads.

That code reads ``<root>/<stage>.json`` for stage ``train`` and ``test``: a JSON list of
objects with ``audio_file`` (``<name>.wav``), ``video_file`` and four Chinese label names
``txt_label``, ``audio_label``, ``visual_label``, ``video_label`` (t, a, v, m), and per
utterance ``text/<stage>/<name>.npy``, ``audio/<stage>/<name>.npy`` and
``visual/<stage>/<name>.mp4.npy``, where ``<name>`` is ``audio_file`` without ``.wav``.
Its class ids are the index of the Chinese name in its own list (RELEASED_CODE_ORDER),
whatever class order the export uses. The validation split goes to stage ``valid`` in the same
pattern; the released code never reads it (it trains on ``train`` and evaluates on ``test``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from labeling.emotions import CHINESE_NAMES

from .records import ExportError
from .shards import save_npy

RELEASED_DIR = "released"
STAGES: dict[str, str] = {"train": "train", "validation": "valid", "test": "test"}
LABEL_KEYS: dict[str, str] = {
    "t": "txt_label",
    "a": "audio_label",
    "v": "visual_label",
    "m": "video_label",
}


def check_released_names(utterance_ids: Sequence[str]) -> None:
    """Ids become file names in ``released/``; refuse ones that cannot be."""
    for uid in utterance_ids:
        if uid in (".", "..") or any(c in uid for c in "/\\\n\0"):
            raise ExportError(
                f"Utterance id {uid!r} cannot be a file name in released/; export without "
                "released_layout or give the utterance an id without / \\ or line breaks."
            )


def write_released(
    root: Path, rows: Sequence[dict], shard: Callable[[int], dict[str, np.ndarray]]
) -> dict[str, str]:
    """Write ``root/released`` from the shards; returns {relative path: sha256}."""
    written: dict[str, str] = {}
    entries: dict[str, list[dict]] = {stage: [] for stage in STAGES.values()}
    for row in rows:
        if row["status"] != "ok":
            continue
        stage = STAGES[row["split"]]
        uid = row["utterance_id"]
        arrays = shard(row["shard"])
        i = row["index"]
        start, stop = arrays["audio_offsets"][i], arrays["audio_offsets"][i + 1]
        for relative, array in (
            (f"text/{stage}/{uid}.npy", arrays["text"][i]),
            (f"audio/{stage}/{uid}.npy", arrays["audio"][start:stop]),
            (f"visual/{stage}/{uid}.mp4.npy", arrays["vision"][i]),
        ):
            path = f"{RELEASED_DIR}/{relative}"
            written[path] = save_npy(root / path, np.asarray(array), durable=False)
        entry = {"audio_file": f"{uid}.wav", "video_file": f"{uid}.mp4"}
        entry.update({key: CHINESE_NAMES[row[f"label_{m}"]] for m, key in LABEL_KEYS.items()})
        entry["utterance_id"] = uid
        entries[stage].append(entry)
    for stage, items in entries.items():
        path = root / RELEASED_DIR / f"{stage}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return written
