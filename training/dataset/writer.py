"""Export selected utterances as a dataset in the layout of ``training/DATASET.md``.

Atomic: everything is built in ``.<name>.partial`` beside the target and renamed into place
only when complete. Resumable: every shard is followed by a done-file; a re-run with the same
inputs keeps the shards whose done-file still verifies and computes the rest. Utterances whose
media does not decode are listed as failed, never dropped or zero-filled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.emotions import MODALITIES
from training.features import MediaDecodeError, load_audio

from .checksums import write_sha256sums
from .datasheet import FORMAT_VERSION, label_distribution, label_frequencies, render_markdown
from .records import (
    MULTI_LABEL,
    SINGLE_LABEL,
    ExportCancelled,
    ExportError,
    ExportLocked,
    ExportRecord,
    ExportResult,
    Extractors,
    NothingDecoded,
    check_label_mode,
    check_records,
    resolve_classes,
)
from .released import check_released_names, write_released
from .shards import (
    PROGRESS_DIR,
    SHARD_FILES,
    done_path,
    read_done,
    save_npy,
    shard_paths,
    write_json_atomic,
)
from .split import PAPER_RATIO, POOL, SPLITS, split_utterances

DTYPES = ("float16", "float32")
LABELS_FILE = "labels.npy"  # multi-label exports: (manifest rows, 4, C) uint8 multi-hot
LABEL_SEPARATOR = ";"  # multi-label manifest: label_<m> = present names joined, in class order
MANIFEST_COLUMNS = (
    "utterance_id",
    "split",
    "shard",
    "index",
    *(f"label_{m}" for m in MODALITIES),
    *(f"label_{m}_id" for m in MODALITIES),
    "transcript",
    "duration_seconds",
    "speaker_gender",
    "age_group",
    "programme",
    "scenario",
    "status",
    "error",
)


def partial_path(out_dir: str | Path) -> Path:
    """Where an export to ``out_dir`` is built (and left, if it stops, for a re-run)."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.partial"


def export_dataset(
    records: Iterable[ExportRecord],
    out_dir: str | Path,
    *,
    extractors: Extractors,
    seed: int,
    name: str,
    class_order: str = "paper",
    classes: Sequence[str] | None = None,
    label_mode: str = SINGLE_LABEL,
    dtype: str = "float16",
    shard_size: int = 512,
    stratify: bool = False,
    exact_sizes: bool = False,
    released_layout: bool = False,
    statistics: dict | Callable[[dict[str, str]], dict] | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    overwrite: bool = False,
    pool: bool = False,
) -> ExportResult:
    """Extract features of ``records`` and write the dataset to ``out_dir``.

    The split is made over all records before any media is read, each utterance by its own
    hash (``exact_sizes``: cut to exact sizes; ``stratify``: exact sizes per ``m`` label), so
    an utterance that fails to decode does not move the others.
    ``statistics`` is kept in the datasheet; given as a function, it is called with the
    exported utterances (id → split of those whose features were extracted), so figures can
    cover exactly what was exported. ``progress(done, total)`` is called per utterance;
    ``should_stop()`` is asked before each shard and raises ``ExportCancelled`` when it
    returns True.
    ``classes`` (names in id order, e.g. a campaign's own label set) overrides
    ``class_order``. ``label_mode="multi-label"``: every label is a frozenset of names; they
    are written as multi-hot ``labels.npy`` (manifest rows, 4, C) uint8, t, a, v, m order.
    ``pool=True``: the records have no labels (``labels`` empty) and all go to one split,
    ``pool``, with the same features: what a trained model scores before the votes are in.
    """
    out_dir = Path(out_dir)
    records = list(records)
    check_label_mode(label_mode)
    classes, class_order = resolve_classes(class_order, classes)
    check_records(records, classes, label_mode, labelled=not pool)
    multi = label_mode == MULTI_LABEL
    if pool and (released_layout or stratify):
        raise ExportError("A pool has no labels to stratify by or to write in the released layout.")
    if multi and released_layout:
        raise ExportError(
            "The released LFMIM layout holds one label per modality; export multi-label data "
            "without released_layout."
        )
    if dtype not in DTYPES:
        raise ExportError(f"dtype must be 'float16' or 'float32', not {dtype!r}.")
    if shard_size < 1:
        raise ExportError("shard_size must be at least 1 utterance.")
    if released_layout:
        check_released_names([r.utterance_id for r in records])
    if out_dir.exists() and not overwrite:
        raise ExportError(
            f"{out_dir} already exists; choose another directory or pass overwrite=True."
        )

    by_id = {r.utterance_id: r for r in records}
    strata = (
        {uid: _label_key(r.labels["m"], classes) for uid, r in by_id.items()} if stratify else None
    )
    exact_sizes = exact_sizes or stratify
    if pool:
        splits = dict.fromkeys(by_id, POOL)
    else:
        splits = split_utterances(by_id, seed=seed, stratify_by=strata, exact_sizes=exact_sizes)
    names = (POOL,) if pool else SPLITS
    order = sorted(by_id, key=lambda uid: (names.index(splits[uid]), uid))
    plan = [order[i : i + shard_size] for i in range(0, len(order), shard_size)]
    descriptions = {
        "text": extractors.text.describe(),
        "audio": extractors.audio.describe(),
        "vision": extractors.vision.describe(),
    }
    fingerprints = {key: _digest(value) for key, value in descriptions.items()}
    shapes = {
        "text": [int(extractors.text.sequence_length), int(extractors.text.hidden_size)],
        "audio": [None, int(extractors.audio.hidden_size)],
        "vision": [int(extractors.vision.num_frames), int(extractors.vision.hidden_size)],
    }

    partial = partial_path(out_dir)
    (partial / PROGRESS_DIR).mkdir(parents=True, exist_ok=True)
    with _exclusive(partial / PROGRESS_DIR / "lock"):
        counter = _Progress(len(records), progress)
        shards: list[dict] = []
        reused: list[int] = []
        for k, ids in enumerate(plan):
            _check_stop(should_stop, partial)
            expected = {
                "shard": k,
                "utterance_ids": ids,
                "inputs_sha256": _inputs_digest([by_id[uid] for uid in ids]),
                "extractors": fingerprints,
                "dtype": dtype,
            }
            done = read_done(partial, k, expected)
            if done is None:
                done = _compute_shard(partial, expected, by_id, extractors, shapes, counter)
            else:
                reused.append(k)
                counter.advance(len(ids))
            shards.append(done)
        _check_stop(should_stop, partial)

        rows = _manifest_rows(plan, shards, by_id, splits, classes)
        failed = [
            {"utterance_id": r["utterance_id"], "error": r["error"]}
            for r in rows
            if r["status"] == "failed"
        ]
        if len(failed) == len(rows):
            raise NothingDecoded(
                f"None of the {len(rows)} utterances could be decoded (first: "
                f"{failed[0]['error']}); check the media files before exporting again.",
                failed,
            )
        _remove_strays(partial, len(plan))
        known = {path: digest for done in shards for path, digest in done["files"].items()}
        _write_manifest(partial, rows)
        if multi and not pool:
            known[LABELS_FILE] = save_npy(partial / LABELS_FILE, _multi_hot(rows, by_id, classes))
        if released_layout:
            known.update(write_released(partial, rows, _ShardReader(partial)))
        sizes = {s: sum(r["status"] == "ok" and r["split"] == s for r in rows) for s in names}
        if callable(statistics):
            statistics = statistics(
                {r["utterance_id"]: r["split"] for r in rows if r["status"] == "ok"}
            )
        sheet = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "classes": list(classes),
            "class_order": class_order,
            "label_mode": label_mode,
            "seed": seed,
            "pool": pool,
            "split_ratio": None if pool else list(PAPER_RATIO),
            "stratified": bool(stratify),
            "exact_sizes": exact_sizes,
            "sizes": sizes,
            **(
                {}
                if pool
                else label_frequencies(rows, classes, LABEL_SEPARATOR)
                if multi
                else {"label_distribution": label_distribution(rows, classes)}
            ),
            "failed": failed,
            "extractors": descriptions,
            "shapes": shapes,
            "dtype": dtype,
            "shard_size": shard_size,
            "num_shards": len(plan),
            "released_layout": bool(released_layout),
            "statistics": statistics,
        }
        (partial / "datasheet.json").write_text(
            json.dumps(sheet, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
        )
        (partial / "DATASHEET.md").write_text(render_markdown(sheet), encoding="utf-8")
        write_sha256sums(partial, known, skip=PROGRESS_DIR)
        shutil.rmtree(partial / PROGRESS_DIR)
        _move_into_place(partial, out_dir, overwrite)
    return ExportResult(
        out_dir=out_dir,
        sizes=sizes,
        failed=failed,
        num_shards=len(plan),
        reused_shards=reused,
        datasheet=sheet,
    )


class _Progress:
    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total, self.done, self.callback = total, 0, callback

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.callback is not None:
            self.callback(self.done, self.total)


def _check_stop(should_stop: Callable[[], bool] | None, partial: Path) -> None:
    if should_stop is not None and should_stop():
        raise ExportCancelled(
            f"The export was stopped; finished shards are kept in {partial} and a re-run with "
            "the same selection, seed and models continues from them."
        )


def _compute_shard(
    root: Path,
    expected: dict,
    by_id: dict[str, ExportRecord],
    extractors: Extractors,
    shapes: dict,
    counter: _Progress,
) -> dict:
    """Decode, extract and write one shard, then its done-file.

    Features are cast to the stored dtype per utterance, so a shard is held in memory about
    once at that precision (plus its waveforms while audio is encoded).
    """
    k, dtype = expected["shard"], expected["dtype"]
    ok: list[str] = []
    failed: list[dict[str, str]] = []
    waveforms: list[np.ndarray] = []
    vision: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    for uid in expected["utterance_ids"]:
        path = by_id[uid].media_path
        try:
            waveform = load_audio(path, extractors.audio.sample_rate)
            seen = extractors.vision.extract_file(path)
        except (MediaDecodeError, FileNotFoundError) as exc:
            failed.append({"utterance_id": uid, "error": str(exc)})
        else:
            ok.append(uid)
            waveforms.append(waveform)
            vision.append(_cast(seen.features, dtype, "vision", k))
            faces.append(np.asarray(seen.face_found, dtype=bool))
        counter.advance()

    (length_t, width_t), width_a, (length_v, width_v) = (
        shapes["text"],
        shapes["audio"][1],
        shapes["vision"],
    )
    if ok:
        text, text_mask = extractors.text.extract([by_id[uid].transcript for uid in ok])
        text = _cast(text, dtype, "text", k)
        frames = [_cast(f, dtype, "audio", k) for f in extractors.audio.extract(waveforms)]
    else:
        text = np.zeros((0, length_t, width_t), dtype)
        text_mask = np.zeros((0, length_t), bool)
        frames = []
    del waveforms
    arrays = {
        "text": text,
        "text_mask": np.asarray(text_mask, dtype=bool),
        "audio": np.concatenate(frames) if frames else np.zeros((0, width_a), dtype),
        "audio_offsets": np.concatenate([[0], np.cumsum([len(f) for f in frames])]).astype(
            np.int64
        ),
        "vision": np.stack(vision) if vision else np.zeros((0, length_v, width_v), dtype),
        "vision_face": np.stack(faces) if faces else np.zeros((0, length_v), bool),
    }
    del frames, vision
    _check_shapes(arrays, len(ok), shapes, k)
    files = {
        relative: save_npy(root / relative, arrays[role])
        for role, relative in shard_paths(k).items()
    }
    done = {**expected, "ok": ok, "failed": failed, "files": files}
    write_json_atomic(done_path(root, k), done)
    return done


def _check_shapes(arrays: dict, n: int, shapes: dict, k: int) -> None:
    (length_t, width_t), width_a, (length_v, width_v) = (
        shapes["text"],
        shapes["audio"][1],
        shapes["vision"],
    )
    wanted = {
        "text": (n, length_t, width_t),
        "text_mask": (n, length_t),
        "vision": (n, length_v, width_v),
        "vision_face": (n, length_v),
    }
    for role, shape in wanted.items():
        if arrays[role].shape != shape:
            raise ExportError(
                f"The {role} extractor gave shape {arrays[role].shape} for shard {k}, not "
                f"{shape} as its settings promise; check the extractor configuration."
            )
    if arrays["audio"].ndim != 2 or arrays["audio"].shape[1] != width_a:
        raise ExportError(f"The audio extractor gave frames of width other than {width_a}.")


def _cast(array: np.ndarray, dtype: str, role: str, k: int) -> np.ndarray:
    with np.errstate(over="ignore"):  # overflow is checked right below, with advice
        cast = np.asarray(array).astype(dtype, copy=False)
    if not np.isfinite(cast).all():
        if dtype == "float16" and np.isfinite(array).all():
            raise ExportError(
                f"The {role} features of shard {k} exceed float16's range; "
                "export with dtype='float32'."
            )
        raise ExportError(
            f"The {role} model gave NaN or infinite features in shard {k}; check the model."
        )
    return cast


def _manifest_rows(
    plan: list[list[str]],
    shards: list[dict],
    by_id: dict[str, ExportRecord],
    splits: dict[str, str],
    classes: tuple[str, ...],
) -> list[dict]:
    rows = []
    for k, (ids, done) in enumerate(zip(plan, shards, strict=True)):
        index = {uid: i for i, uid in enumerate(done["ok"])}
        errors = {f["utterance_id"]: f["error"] for f in done["failed"]}
        for uid in ids:
            record = by_id[uid]
            row = {"utterance_id": uid, "split": splits[uid]}
            row["shard"], row["index"] = (k, index[uid]) if uid in index else (-1, -1)
            for m in MODALITIES:  # a pool's records have no labels: "" and -1
                label = record.labels.get(m)
                row[f"label_{m}"] = "" if label is None else _label_text(label, classes)
            for m in MODALITIES:  # multi-label: no single id (-1); labels.npy has the sets
                label = record.labels.get(m)
                row[f"label_{m}_id"] = classes.index(label) if isinstance(label, str) else -1
            row.update(
                transcript=record.transcript,
                duration_seconds=float(record.duration_seconds),
                speaker_gender=record.speaker_gender or "",
                age_group=record.age_group or "",
                programme=record.programme or "",
                scenario=record.scenario or "",
                status="ok" if uid in index else "failed",
                error=errors.get(uid, ""),
            )
            rows.append(row)
    return rows


def _label_key(label: str | frozenset[str], classes: tuple[str, ...]) -> str | tuple[str, ...]:
    """A label as a stable, sortable value: the name, or the set's names in class order."""
    return label if isinstance(label, str) else tuple(c for c in classes if c in label)


def _label_text(label: str | frozenset[str], classes: tuple[str, ...]) -> str:
    key = _label_key(label, classes)
    return key if isinstance(key, str) else LABEL_SEPARATOR.join(key)


def _multi_hot(
    rows: list[dict], by_id: dict[str, ExportRecord], classes: tuple[str, ...]
) -> np.ndarray:
    """(rows, 4, C) uint8 in manifest row order: 1 where the emotion is present."""
    hot = np.zeros((len(rows), len(MODALITIES), len(classes)), dtype=np.uint8)
    column = {name: c for c, name in enumerate(classes)}
    for i, row in enumerate(rows):
        labels = by_id[row["utterance_id"]].labels
        for j, m in enumerate(MODALITIES):
            hot[i, j, [column[name] for name in labels[m]]] = 1
    return hot


def _write_manifest(root: Path, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    ints = ["shard", "index", *(f"label_{m}_id" for m in MODALITIES)]
    frame[ints] = frame[ints].astype("int64")
    frame["duration_seconds"] = frame["duration_seconds"].astype("float64")
    text = [c for c in MANIFEST_COLUMNS if c not in ints and c != "duration_seconds"]
    frame[text] = frame[text].astype(str)
    frame.to_parquet(root / "manifest.parquet", index=False)
    frame.to_csv(root / "manifest.csv", index=False, lineterminator="\n", encoding="utf-8")


class _ShardReader:
    """Memory-mapped shards of the partial directory, for writing ``released/``."""

    def __init__(self, root: Path) -> None:
        self.root, self.cache = root, {}

    def __call__(self, k: int) -> dict[str, np.ndarray]:
        if k not in self.cache:
            self.cache = {
                k: {
                    role: np.load(self.root / rel, mmap_mode="r")
                    for role, rel in shard_paths(k).items()
                }
            }
        return self.cache[k]


def _remove_strays(root: Path, num_shards: int) -> None:
    """Drop what an earlier, different or interrupted run left that this export does not own."""
    keep = {rel for k in range(num_shards) for rel in shard_paths(k).values()}
    for entry in root.iterdir():
        if entry.name not in ("features", PROGRESS_DIR):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for modality in {Path(p).parent for p in SHARD_FILES.values()}:
        folder = root / modality
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.relative_to(root).as_posix() not in keep:
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def _move_into_place(partial: Path, out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists():
        if not overwrite:
            raise ExportError(
                f"{out_dir} appeared while exporting; the finished export is in {partial}."
            )
        old = out_dir.parent / f".{out_dir.name}.old"
        if old.exists():
            shutil.rmtree(old)
        os.replace(out_dir, old)
        os.replace(partial, out_dir)
        shutil.rmtree(old)
    else:
        os.replace(partial, out_dir)
    with contextlib.suppress(OSError):  # make the rename durable where the OS allows it
        handle = os.open(out_dir.parent, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


@contextlib.contextmanager
def _exclusive(lock_file: Path):
    """Hold an advisory lock so two exports never build the same partial directory."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    handle = open(lock_file, "a")  # noqa: SIM115 - held for the duration of the export
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportLocked(
                f"Another export is writing {lock_file.parent.parent}; wait for it to finish."
            ) from None
        yield
    finally:
        handle.close()


def _inputs_digest(records: list[ExportRecord]) -> str:
    """What a shard's features depend on: ids, transcripts and the media files' identity."""
    items = []
    for r in records:
        try:
            stat = os.stat(r.media_path)
            identity = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            identity = None
        items.append([r.utterance_id, r.transcript, str(r.media_path), identity])
    return _digest(items)


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
