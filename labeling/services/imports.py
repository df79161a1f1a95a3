"""Importing utterances from a manifest and a directory of clips.

Guarantees:
- Every row is checked before anything is written: the path stays inside the media
  root, the file exists and decodes (PyAV probe: a video stream, an audio stream,
  duration within bounds), the row is not a duplicate. Each bad row is reported with
  its line number and reason; it never blocks the good rows (unless `strict`).
- Good rows are written in one transaction, with a pending rendition per modality;
  rendering is enqueued only after commit.
- Idempotent: an utterance is identified by the SHA-256 of its media within the corpus,
  so re-importing the same manifest reports every row as unchanged and writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling import media
from labeling.manifest import ManifestError, ManifestRow, RowProblem, read_manifest
from labeling.models import Corpus, ImportBatch, Modality, Rendition, Utterance
from labeling.services.renditions import enqueue_renditions
from labeling.services.screening import enqueue_measurements
from labeling.storage import UnsafePath, resolve_inside, store_source
from training.hashing import sha256_file

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (rows checked, rows total)


class ImportFailed(Exception):
    """The import as a whole could not run; the batch records why."""


@dataclass(frozen=True)
class CheckedRow:
    row: ManifestRow
    path: Path
    content_hash: str
    probe: media.MediaProbe


def import_manifest(
    *,
    corpus: Corpus,
    manifest_path: Path,
    media_root: Path,
    user=None,
    strict: bool = False,
    progress: Progress | None = None,
    batch: ImportBatch | None = None,
) -> ImportBatch:
    """Import a manifest's good rows into `corpus`; return the batch with its report."""
    manifest_path = Path(manifest_path)
    if batch is None:
        batch = ImportBatch.objects.create(
            corpus=corpus,
            manifest_name=manifest_path.name,
            media_root=str(media_root),
            created_by=user,
        )
    _update(batch, status=ImportBatch.Status.RUNNING)
    try:
        data = manifest_path.read_bytes()
        manifest = read_manifest(manifest_path, data)
    except (OSError, ManifestError) as exc:
        message = (
            str(exc) if isinstance(exc, ManifestError) else f"Cannot read the manifest: {exc}."
        )
        _update(batch, status=ImportBatch.Status.FAILED, error=message, finished_at=timezone.now())
        raise ImportFailed(message) from exc

    total = len(manifest.rows) + len(manifest.problems)
    _update(batch, manifest_sha256=hashlib.sha256(data).hexdigest(), rows_total=total)
    problems = list(manifest.problems)
    checked, unchanged = _check_rows(
        corpus, manifest.rows, Path(media_root), problems, batch, progress
    )
    problems.sort(key=lambda problem: problem.line)
    report = {
        "rows_unchanged": unchanged,
        "rows_rejected": len(problems),
        "rejected": [problem.as_dict() for problem in problems],
        "rows_checked": total,
    }
    if strict and problems:
        _update(
            batch,
            status=ImportBatch.Status.FAILED,
            finished_at=timezone.now(),
            error="Strict import: nothing was imported because some rows are bad.",
            **report,
        )
        return batch

    stored = {item.content_hash: store_source(item.path, item.content_hash) for item in checked}
    try:
        with transaction.atomic():
            utterances = Utterance.objects.bulk_create(
                [_new_utterance(corpus, batch, item, stored[item.content_hash]) for item in checked]
            )
            Rendition.objects.bulk_create(
                [Rendition(utterance=u, modality=m) for u in utterances for m in Modality.values]
            )
            _update(
                batch,
                status=ImportBatch.Status.DONE,
                finished_at=timezone.now(),
                rows_imported=len(utterances),
                **report,
            )
            ids = [u.pk for u in utterances]
            transaction.on_commit(lambda: after_import(ids))
    except IntegrityError as exc:
        message = "Another import added some of these clips at the same time; run the import again."
        _update(batch, status=ImportBatch.Status.FAILED, error=message, finished_at=timezone.now())
        raise ImportFailed(message) from exc
    batch.refresh_from_db()
    return batch


def _check_rows(
    corpus, rows, media_root, problems, batch, progress
) -> tuple[list[CheckedRow], int]:
    existing = {
        u.content_hash: u
        for u in Utterance.objects.filter(corpus=corpus).only(
            "id",
            "content_hash",
            "external_id",
            "transcript",
            "speaker_gender",
            "age_group",
            "programme",
            "scenario",
        )
    }
    existing_ids = {u.external_id: u for u in existing.values() if u.external_id}
    seen_hashes: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    checked: list[CheckedRow] = []
    unchanged = 0
    already_checked = len(problems)  # rows the manifest reader rejected
    total = len(rows) + already_checked
    for index, row in enumerate(rows, start=1):
        outcome = _check_row(row, media_root, existing, existing_ids, seen_hashes, seen_ids)
        if isinstance(outcome, RowProblem):
            problems.append(outcome)
        elif outcome is None:
            unchanged += 1
        else:
            checked.append(outcome)
        if progress:
            progress(already_checked + index, total)
        if index % 25 == 0 or index == len(rows):
            _update(batch, rows_checked=already_checked + index)
    return checked, unchanged


def _check_row(row, media_root, existing, existing_ids, seen_hashes, seen_ids):
    """A CheckedRow to import, None if already imported unchanged, or a RowProblem."""
    try:
        path = resolve_inside(media_root, row.media)
    except UnsafePath:
        return RowProblem(row.line, f"media path {row.media!r} points outside the media root")
    if not path.is_file():
        return RowProblem(row.line, f"media file {row.media!r} not found under the media root")
    if row.external_id and row.external_id in seen_ids:
        return RowProblem(
            row.line, f"duplicate id {row.external_id!r} (also on line {seen_ids[row.external_id]})"
        )
    content_hash = sha256_file(path)
    if content_hash in seen_hashes:
        return RowProblem(
            row.line, f"duplicate media: same clip as line {seen_hashes[content_hash]}"
        )
    seen_hashes[content_hash] = row.line
    if row.external_id:
        seen_ids[row.external_id] = row.line
    previous = existing.get(content_hash)
    if previous is not None:
        if _same_metadata(previous, row):
            return None
        return RowProblem(
            row.line,
            f"duplicate media: this clip is already utterance {previous.pk} of the corpus "
            "with a different transcript or metadata",
        )
    if row.external_id and row.external_id in existing_ids:
        return RowProblem(
            row.line,
            f"duplicate id {row.external_id!r}: already used in this corpus by other media",
        )
    try:
        probe = media.probe(path)
    except media.MediaError as exc:
        return RowProblem(row.line, f"media file {row.media!r} cannot be used: {exc}")
    if not probe.has_video:
        return RowProblem(row.line, f"media file {row.media!r} has no video stream")
    if not probe.has_audio:
        return RowProblem(row.line, f"media file {row.media!r} has no audio stream")
    low, high = settings.IMPORT_MIN_DURATION_SECONDS, settings.IMPORT_MAX_DURATION_SECONDS
    if not low <= probe.duration <= high:
        return RowProblem(
            row.line,
            f"media file {row.media!r} lasts {probe.duration:.2f} s, outside {low:g}–{high:g} s",
        )
    return CheckedRow(row=row, path=path, content_hash=content_hash, probe=probe)


def _same_metadata(utterance: Utterance, row: ManifestRow) -> bool:
    return (
        utterance.transcript == row.transcript
        and utterance.external_id == row.external_id
        and utterance.speaker_gender == row.speaker_gender
        and utterance.age_group == row.age_group
        and utterance.programme == row.programme
        and utterance.scenario == row.scenario
    )


def _new_utterance(corpus, batch, item: CheckedRow, source_file: str) -> Utterance:
    row = item.row
    return Utterance(
        corpus=corpus,
        import_batch=batch,
        external_id=row.external_id,
        source_file=source_file,
        original_name=row.media,
        transcript=row.transcript,
        duration_seconds=item.probe.duration,
        frame_rate=item.probe.frame_rate,
        speaker_gender=row.speaker_gender,
        age_group=row.age_group,
        programme=row.programme,
        scenario=row.scenario,
        content_hash=item.content_hash,
    )


def after_import(utterance_ids: list[int]) -> None:
    """The work every newly imported utterance needs, started once the import committed."""
    enqueue_renditions(utterance_ids)
    enqueue_measurements(utterance_ids)


def _update(batch: ImportBatch, **fields) -> None:
    for name, value in fields.items():
        setattr(batch, name, value)
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)


def stage_upload(*, corpus: Corpus, manifest, media_files, user=None) -> ImportBatch:
    """Save an uploaded manifest and clips under MEDIA_ROOT/uploads/<batch>/ and queue the import.

    Uploaded clips are stored flat by file name, so the manifest's media column must
    name them by file name. The import itself runs on a worker (import_batch_task).
    """
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            corpus=corpus, manifest_name=Path(manifest.name).name, created_by=user
        )
        staging = Path(settings.MEDIA_ROOT) / "uploads" / str(batch.pk)
        media_dir = staging / "media"
        media_dir.mkdir(parents=True, exist_ok=True)
        _save_upload(manifest, staging / Path(manifest.name).name)
        for upload in media_files:
            _save_upload(upload, resolve_inside(media_dir, Path(upload.name).name))
        _update(batch, media_root=str(media_dir))
        transaction.on_commit(lambda: _enqueue_import(batch.pk))
    return batch


def run_staged_import(batch_id: int) -> ImportBatch:
    """Run an uploaded import (the worker side of stage_upload), then drop the staged files.

    The good clips are copied into content-addressed storage by the import, so nothing
    is lost; a user fixing bad rows uploads again.
    """
    batch = ImportBatch.objects.select_related("corpus", "created_by").get(pk=batch_id)
    staging = Path(batch.media_root).parent
    try:
        return import_manifest(
            corpus=batch.corpus,
            manifest_path=staging / batch.manifest_name,
            media_root=Path(batch.media_root),
            user=batch.created_by,
            batch=batch,
        )
    except ImportFailed:
        batch.refresh_from_db()
        return batch
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _save_upload(upload, target: Path) -> None:
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)


def _enqueue_import(batch_id: int) -> None:
    from labeling.tasks import import_batch_task

    import_batch_task.delay(batch_id)
