"""Importing utterances from a manifest and a directory of clips.

`import_clips` is the one path every import ends in (clip manifests here, segments cut
from episodes in services/segments.py). Guarantees:
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

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
T = TypeVar("T")


class ImportFailed(Exception):
    """The import as a whole could not run; the batch records why."""


@dataclass(frozen=True)
class Clip:
    """A clip file to import as one utterance, and the row that describes it.

    `row.media` is the file's path under the import's media root. Clips cut from an episode
    add the name reports and `original_name` use (`episode.mp4@12.500-15.250`), the subtitle
    file the row came from, and the Utterance fields that say where in the episode it lies.
    """

    row: ManifestRow
    name: str = ""
    file: str = ""
    origin: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name or self.row.media

    def problem(self, reason: str) -> RowProblem:
        return RowProblem(self.row.line, reason, self.file)


@dataclass(frozen=True)
class CheckedRow:
    clip: Clip
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
    batch = begin_import(corpus, manifest_path.name, media_root, user, batch)
    data = read_or_fail(batch, manifest_path.read_bytes)
    manifest = read_or_fail(batch, lambda: read_manifest(manifest_path, data))
    total = len(manifest.rows) + len(manifest.problems)
    update_batch(batch, manifest_sha256=hashlib.sha256(data).hexdigest(), rows_total=total)
    return import_clips(
        corpus=corpus,
        batch=batch,
        clips=[Clip(row) for row in manifest.rows],
        media_root=Path(media_root),
        problems=list(manifest.problems),
        strict=strict,
        progress=progress_reporter(batch, progress),
    )


def begin_import(
    corpus: Corpus,
    name: str,
    media_root: Path,
    user=None,
    batch: ImportBatch | None = None,
    kind: str = ImportBatch.Kind.CLIPS,
) -> ImportBatch:
    """The batch that records this import (a new one unless the upload staged it), running."""
    if batch is None:
        batch = ImportBatch.objects.create(
            corpus=corpus,
            manifest_name=name,
            media_root=str(media_root),
            created_by=user,
            kind=kind,
        )
    update_batch(batch, status=ImportBatch.Status.RUNNING)
    return batch


def fail_import(batch: ImportBatch, message: str, cause: BaseException | None = None):
    """Record why the import as a whole could not run, and raise ImportFailed."""
    update_batch(batch, status=ImportBatch.Status.FAILED, error=message, finished_at=timezone.now())
    raise ImportFailed(message) from cause


def read_or_fail(batch: ImportBatch, read: Callable[[], T]) -> T:
    """What `read` returns; if the input can't be read at all, fail the import saying why."""
    try:
        return read()
    except ManifestError as exc:
        fail_import(batch, str(exc), exc)
    except OSError as exc:
        fail_import(batch, f"Cannot read {exc.filename or 'the input'}: {exc.strerror}.", exc)


def progress_reporter(batch: ImportBatch, progress: Progress | None) -> Callable[[int], None]:
    """Report `done` rows of the batch's rows_total to `progress`, and to the batch (its
    admin page) every 25 rows."""

    def report(done: int) -> None:
        if progress:
            progress(done, batch.rows_total)
        if done % 25 == 0 or done == batch.rows_total:
            update_batch(batch, rows_checked=done)

    return report


def import_clips(
    *,
    corpus: Corpus,
    batch: ImportBatch,
    clips: list[Clip],
    media_root: Path,
    problems: list[RowProblem],
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    unchanged: int = 0,
) -> ImportBatch:
    """Check `clips` and write the good ones into `corpus` (module docstring: guarantees).

    `problems` are the rows the caller already refused and `unchanged` the rows it found
    already imported; with the clips they make up `batch.rows_total`. `progress` is called
    with the number of rows settled so far. Returns the batch with its report.
    """
    problems = list(problems)
    checked, same = _check_rows(corpus, clips, media_root, problems, batch, progress)
    problems.sort(key=lambda problem: (problem.file, problem.line))
    report = {
        "rows_unchanged": unchanged + same,
        "rows_rejected": len(problems),
        "rejected": [problem.as_dict() for problem in problems],
        "rows_checked": batch.rows_total,
    }
    if strict and problems:
        update_batch(
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
            update_batch(
                batch,
                status=ImportBatch.Status.DONE,
                finished_at=timezone.now(),
                rows_imported=len(utterances),
                **report,
            )
            ids = [u.pk for u in utterances]
            transaction.on_commit(lambda: after_import(ids))
    except IntegrityError as exc:
        fail_import(
            batch,
            "Another import added some of these clips at the same time; run the import again.",
            exc,
        )
    batch.refresh_from_db()
    return batch


def _check_rows(
    corpus, clips: list[Clip], media_root, problems, batch, progress
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
    settled = batch.rows_total - len(clips)  # rows the caller already settled
    for index, clip in enumerate(clips, start=1):
        outcome = _check_row(clip, media_root, existing, existing_ids, seen_hashes, seen_ids)
        if isinstance(outcome, RowProblem):
            problems.append(outcome)
        elif outcome is None:
            unchanged += 1
        else:
            checked.append(outcome)
        if progress:
            progress(settled + index)
    return checked, unchanged


def _check_row(clip: Clip, media_root, existing, existing_ids, seen_hashes, seen_ids):
    """A CheckedRow to import, None if already imported unchanged, or a RowProblem."""
    row, name = clip.row, clip.label
    try:
        path = resolve_inside(media_root, row.media)
    except UnsafePath:
        return clip.problem(f"media path {name!r} points outside the media root")
    if not path.is_file():
        return clip.problem(f"media file {name!r} not found under the media root")
    if row.external_id and row.external_id in seen_ids:
        return clip.problem(
            f"duplicate id {row.external_id!r} (also on line {seen_ids[row.external_id]})"
        )
    content_hash = sha256_file(path)
    if content_hash in seen_hashes:
        return clip.problem(f"duplicate media: same clip as line {seen_hashes[content_hash]}")
    seen_hashes[content_hash] = row.line
    if row.external_id:
        seen_ids[row.external_id] = row.line
    previous = existing.get(content_hash)
    if previous is not None:
        if same_metadata(previous, row):
            return None
        return clip.problem(
            f"duplicate media: this clip is already utterance {previous.pk} of the corpus "
            "with a different transcript or metadata",
        )
    if row.external_id and row.external_id in existing_ids:
        return clip.problem(
            f"duplicate id {row.external_id!r}: already used in this corpus by other media",
        )
    try:
        probe = media.probe(path)
    except media.MediaError as exc:
        return clip.problem(f"media file {name!r} cannot be used: {exc}")
    if not probe.has_video:
        return clip.problem(f"media file {name!r} has no video stream")
    if not probe.has_audio:
        return clip.problem(f"media file {name!r} has no audio stream")
    low, high = settings.IMPORT_MIN_DURATION_SECONDS, settings.IMPORT_MAX_DURATION_SECONDS
    if not low <= probe.duration <= high:
        return clip.problem(
            f"media file {name!r} lasts {probe.duration:.2f} s, outside {low:g}–{high:g} s",
        )
    return CheckedRow(clip=clip, path=path, content_hash=content_hash, probe=probe)


def same_metadata(utterance: Utterance, row) -> bool:
    """Whether `row` (a manifest or segment row) says what `utterance` already records."""
    return (
        utterance.transcript == row.transcript
        and utterance.external_id == row.external_id
        and utterance.speaker_gender == row.speaker_gender
        and utterance.age_group == row.age_group
        and utterance.programme == row.programme
        and utterance.scenario == row.scenario
    )


def _new_utterance(corpus, batch, item: CheckedRow, source_file: str) -> Utterance:
    row = item.clip.row
    return Utterance(
        corpus=corpus,
        import_batch=batch,
        external_id=row.external_id,
        source_file=source_file,
        original_name=item.clip.label,
        transcript=row.transcript,
        duration_seconds=item.probe.duration,
        frame_rate=item.probe.frame_rate,
        speaker_gender=row.speaker_gender,
        age_group=row.age_group,
        programme=row.programme,
        scenario=row.scenario,
        content_hash=item.content_hash,
        **item.clip.origin,
    )


def after_import(utterance_ids: list[int]) -> None:
    """The work every newly imported utterance needs, started once the import committed."""
    enqueue_renditions(utterance_ids)
    enqueue_measurements(utterance_ids)


def update_batch(batch: ImportBatch, **fields) -> None:
    """Write `fields` to the batch row now (its admin page shows progress while we run)."""
    for name, value in fields.items():
        setattr(batch, name, value)
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)


def stage_upload(
    *,
    corpus: Corpus,
    manifest,
    media_files,
    user=None,
    kind: str = ImportBatch.Kind.CLIPS,
    manifest_name: str = "",
) -> ImportBatch:
    """Save an uploaded manifest and clips under MEDIA_ROOT/uploads/<batch>/ and queue the import.

    Uploaded clips are stored flat by file name, so the manifest's media column must
    name them by file name. The import itself runs on a worker (import_batch_task).
    Segment imports (kind=segments: episodes and their table or .srt) keep the table beside
    the episodes, where an .srt finds its same-stem episode; `manifest_name` renames it.
    """
    name = Path(manifest_name or manifest.name).name
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            corpus=corpus, manifest_name=name, created_by=user, kind=kind
        )
        staging = Path(settings.MEDIA_ROOT) / "uploads" / str(batch.pk)
        media_dir = staging / "media"
        media_dir.mkdir(parents=True, exist_ok=True)
        table_dir = media_dir if kind == ImportBatch.Kind.SEGMENTS else staging
        _save_upload(manifest, resolve_inside(table_dir, name))
        for upload in media_files:
            _save_upload(upload, resolve_inside(media_dir, Path(upload.name).name))
        update_batch(batch, media_root=str(media_dir))
        transaction.on_commit(lambda: _enqueue_import(batch.pk))
    return batch


def run_staged_import(batch_id: int) -> ImportBatch:
    """Run an uploaded import (the worker side of stage_upload), then drop the staged files.

    The good clips are copied into content-addressed storage by the import, so nothing
    is lost; a user fixing bad rows uploads again.
    """
    batch = ImportBatch.objects.select_related("corpus", "created_by").get(pk=batch_id)
    media_root = Path(batch.media_root)
    staging = media_root.parent
    run = {"corpus": batch.corpus, "media_root": media_root, "user": batch.created_by}
    try:
        if batch.kind == ImportBatch.Kind.SEGMENTS:
            from labeling.services.segments import import_segments  # builds on this module

            return import_segments(table_path=media_root / batch.manifest_name, batch=batch, **run)
        return import_manifest(manifest_path=staging / batch.manifest_name, batch=batch, **run)
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
