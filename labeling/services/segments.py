"""Importing utterances cut out of whole episodes (segment import).

The input names ranges of episodes: a segment table (CSV/JSONL, labeling/segments.py), an
`.srt` file (its episode is the same-stem video beside it), or a folder (every video with
a same-stem `.srt` beside it). Each range becomes one utterance. Guarantees:
- Every row is checked before anything is cut: the episode's path stays inside the media
  root, the episode decodes with picture and sound (each episode probed once and hashed
  once), the range is not empty, lies inside the episode, lasts within the import bounds,
  and overlaps neither another row of that episode nor an utterance already cut from it.
  A bad row is reported with its line (and file, for folders) and reason; a range is never
  clipped to make it fit.
- A range already imported into the corpus (same episode bytes, start and end) is reported
  unchanged and not cut again.
- The cuts (media.cut_segment, tolerance in its docstring) then take the clip import's own
  path, imports.import_clips: the same checks, one transaction for all rows, after_import
  on commit, one report in the ImportBatch (kind "segments").
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from labeling import media
from labeling.manifest import ManifestError, ManifestRow, RowProblem
from labeling.models import Corpus, ImportBatch, Utterance
from labeling.segments import (
    SegmentRow,
    SegmentTable,
    Span,
    check_ranges,
    read_segment_table,
    read_srt,
)
from labeling.services.imports import (
    Clip,
    Progress,
    begin_import,
    import_clips,
    progress_reporter,
    read_or_fail,
    same_metadata,
    update_batch,
)
from labeling.storage import UnsafePath, resolve_inside
from training.hashing import sha256_file

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".m4v", ".webm", ".avi", ".ts", ".mpg", ".flv")


@dataclass(frozen=True)
class Episode:
    path: Path
    content_hash: str
    probe: media.MediaProbe


def import_segments(
    *,
    corpus: Corpus,
    table_path: Path,
    media_root: Path,
    user=None,
    strict: bool = False,
    progress: Progress | None = None,
    batch: ImportBatch | None = None,
) -> ImportBatch:
    """Cut the good rows of a segment table, `.srt` or folder into utterances of `corpus`.

    Returns the batch with its report; raises ImportFailed when the input as a whole can't
    be read. `progress(rows settled, rows total)` follows the cutting.
    """
    table_path, media_root = Path(table_path), Path(media_root)
    batch = begin_import(
        corpus, table_path.name, media_root, user, batch, kind=ImportBatch.Kind.SEGMENTS
    )
    table, digest = read_or_fail(batch, lambda: read_segments(table_path, media_root))
    update_batch(batch, manifest_sha256=digest, rows_total=len(table.rows) + len(table.problems))
    problems = list(table.problems)
    episodes = _episodes(table.rows, media_root, problems)
    to_cut, unchanged = _plan(corpus, table.rows, episodes, problems)
    report = progress_reporter(batch, progress)
    settled = batch.rows_total - len(to_cut)
    report(settled)
    outcome = {"corpus": corpus, "batch": batch, "strict": strict, "unchanged": unchanged}
    if strict and problems:  # nothing will be imported: don't spend the time cutting
        return import_clips(clips=[], media_root=media_root, problems=problems, **outcome)
    scratch = Path(settings.MEDIA_ROOT) / "uploads"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"segments-{batch.pk}-", dir=scratch) as cuts:
        clips = []
        for number, row in enumerate(to_cut, start=1):
            clip = _cut(row, episodes[row.source], Path(cuts), f"{number:06d}.mp4")
            (problems if isinstance(clip, RowProblem) else clips).append(clip)
            report(settled + number)
        return import_clips(clips=clips, media_root=Path(cuts), problems=problems, **outcome)


def read_segments(path: Path, media_root: Path) -> tuple[SegmentTable, str]:
    """The rows a table, an `.srt` or a folder names, and a SHA-256 of what was read."""
    if path.is_dir():
        return _read_folder(path, media_root)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() == ".srt":
        return read_srt(path, _source(_episode_beside(path), media_root), data), digest
    return read_segment_table(path, data), digest


def _read_folder(folder: Path, media_root: Path) -> tuple[SegmentTable, str]:
    table, digest = SegmentTable(), hashlib.sha256()
    pairs = [
        (video, video.with_suffix(".srt"))
        for video in sorted(folder.rglob("*"))
        if video.suffix.lower() in VIDEO_SUFFIXES and video.with_suffix(".srt").is_file()
    ]
    if not pairs:
        raise ManifestError(
            f"No video in {folder} has a subtitle file of the same name beside it "
            "(episode.mp4 + episode.srt); add them, or give a segment table."
        )
    for video, srt in pairs:
        data = srt.read_bytes()
        name = srt.relative_to(folder).as_posix()
        digest.update(f"{name}\0{hashlib.sha256(data).hexdigest()}\n".encode())
        part = read_srt(srt, _source(video, media_root), data, file=name)
        table.rows += part.rows
        table.problems += part.problems
    return table, digest.hexdigest()


def _episode_beside(srt: Path) -> Path:
    """The video an `.srt` belongs to: the one with the same name beside it."""
    videos = [
        path
        for path in srt.parent.glob(f"{srt.stem}.*")
        if path.stem == srt.stem and path.suffix.lower() in VIDEO_SUFFIXES
    ]
    if len(videos) != 1:
        found = "no video" if not videos else f"{len(videos)} videos"
        raise ManifestError(
            f"{srt.name} needs exactly one video of the same name beside it "
            f"({srt.stem}.mp4, .mkv, …); found {found}."
        )
    return videos[0]


def _source(video: Path, media_root: Path) -> str:
    """The episode's path relative to the media root, as a table would name it."""
    folder = video.parent.resolve()
    if not folder.is_relative_to(media_root.resolve()):
        raise ManifestError(
            f"{video} is not inside the media root {media_root}; "
            "put the episodes under it, or choose another media root."
        )
    return (folder / video.name).relative_to(media_root.resolve()).as_posix()


def _episodes(rows: list[SegmentRow], media_root: Path, problems: list) -> dict[str, Episode]:
    """Each usable episode the rows name, probed and hashed once; each row of an episode
    that can't be used is reported."""
    found: dict[str, Episode] = {}
    by_path: dict[Path, Episode | str] = {}
    unusable: dict[str, str] = {}
    for source in dict.fromkeys(row.source for row in rows):
        outcome = _episode(source, media_root, by_path)
        if isinstance(outcome, Episode):
            found[source] = outcome
        else:
            unusable[source] = outcome
    problems += [row.problem(unusable[row.source]) for row in rows if row.source in unusable]
    return found


def _episode(source: str, media_root: Path, by_path: dict) -> Episode | str:
    try:
        path = resolve_inside(media_root, source)
    except UnsafePath:
        return f"episode path {source!r} points outside the media root"
    if path not in by_path:
        by_path[path] = _probe_episode(source, path)
    return by_path[path]


def _probe_episode(source: str, path: Path) -> Episode | str:
    if not path.is_file():
        return f"episode {source!r} not found under the media root"
    try:
        probe = media.probe(path)
    except media.MediaError as exc:
        return f"episode {source!r} cannot be used: {exc}"
    for stream, present in (("video", probe.has_video), ("audio", probe.has_audio)):
        if not present:
            return f"episode {source!r} has no {stream} stream"
    return Episode(path=path, content_hash=sha256_file(path), probe=probe)


def _plan(corpus, rows, episodes, problems) -> tuple[list[SegmentRow], int]:
    """The rows to cut, and how many are already imported unchanged; reports the others."""
    hashes = {episode.content_hash for episode in episodes.values()}
    existing = Utterance.objects.filter(corpus=corpus, source_video_hash__in=hashes)
    by_range = {(u.source_video_hash, u.segment_start, u.segment_end): u for u in existing}
    taken = defaultdict(list)
    for u in by_range.values():
        taken[u.source_video_hash].append(Span(u.segment_start, u.segment_end, f"utterance {u.pk}"))
    per_episode = defaultdict(list)
    for row in rows:
        if row.source in episodes:
            per_episode[episodes[row.source].content_hash].append(row)
    low, high = settings.IMPORT_MIN_DURATION_SECONDS, settings.IMPORT_MAX_DURATION_SECONDS
    to_cut, unchanged = [], 0
    for content_hash, group in per_episode.items():
        duration = episodes[group[0].source].probe.duration
        kept, found = check_ranges(group, duration, taken[content_hash])
        problems += found
        for row in kept:
            previous = by_range.get((content_hash, row.start, row.end))
            if previous is not None and same_metadata(previous, row):
                unchanged += 1
            elif previous is not None:
                problems.append(
                    row.problem(
                        f"{row.span} is already utterance {previous.pk} of the corpus "
                        "with a different transcript or metadata"
                    )
                )
            elif not low <= row.end - row.start <= high:
                problems.append(
                    row.problem(
                        f"{row.span} lasts {row.end - row.start:.2f} s, outside {low:g}–{high:g} s"
                    )
                )
            else:
                to_cut.append(row)
    return to_cut, unchanged


def _cut(row: SegmentRow, episode: Episode, folder: Path, name: str) -> Clip | RowProblem:
    """Cut one row into `folder/name`, as a Clip for the clip import to check and write."""
    try:
        media.cut_segment(episode.path, folder / name, row.start, row.end, episode.probe)
    except media.MediaError as exc:
        return row.problem(f"cutting {row.span} from {row.source!r} failed: {exc}")
    return Clip(
        row=ManifestRow(line=row.line, media=name, transcript=row.transcript, **row.metadata),
        name=row.name,
        file=row.file,
        origin={
            "source_video": row.source,
            "source_video_hash": episode.content_hash,
            "segment_start": row.start,
            "segment_end": row.end,
        },
    )
