"""Making each utterance's modality renditions: what annotators of that modality may see.

    t  transcript as UTF-8 text, no media
    a  audio only (M4A/AAC, no video stream)
    v  silent video (MP4/H.264, no audio stream)
    m  the original, re-encoded for browsers (H.264 + AAC)

Each output is verified by probing it (media.render_* do that) and written atomically.
A `MediaError` is permanent (the clip itself is at fault) and fails the rendition at
once; any other error is treated as transient and retried up to RENDITION_MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling import media
from labeling.models import Modality, Rendition, Utterance
from labeling.storage import media_path, rendition_relpath

logger = logging.getLogger(__name__)

RENDERERS = {
    Modality.AUDIO: (media.render_audio_only, ".m4a", "audio/mp4"),
    Modality.VISION: (media.render_silent_video, ".mp4", "video/mp4"),
    Modality.MULTIMODAL: (media.render_original, ".mp4", "video/mp4"),
}


@dataclass
class RenderOutcome:
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retryable: list[str] = field(default_factory=list)


def render_utterance(utterance_id: int) -> RenderOutcome:
    """Render every modality of the utterance that is not done yet."""
    utterance = Utterance.objects.get(pk=utterance_id)
    outcome = RenderOutcome()
    pending = Rendition.objects.filter(utterance=utterance).exclude(status=Rendition.Status.DONE)
    for rendition in pending:
        if not _claim(rendition):
            continue
        try:
            relative, content_type, duration = _render(utterance, rendition.modality)
        except media.MediaError as exc:
            _finish(rendition, status=Rendition.Status.FAILED, error=str(exc))
            outcome.failed.append(rendition.modality)
        except Exception as exc:  # transient: disk, memory, killed encoder...
            logger.exception(
                "rendition %s of utterance %s failed", rendition.modality, utterance_id
            )
            _finish(rendition, status=Rendition.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            outcome.failed.append(rendition.modality)
            if rendition.attempts < settings.RENDITION_MAX_ATTEMPTS:
                outcome.retryable.append(rendition.modality)
        else:
            _finish(
                rendition,
                status=Rendition.Status.DONE,
                error="",
                file=relative,
                content_type=content_type,
                duration_seconds=duration,
            )
            outcome.done.append(rendition.modality)
    return outcome


def render_pending(corpus_id: int, progress=None) -> tuple[int, int]:
    """Render, in this process, every utterance of the corpus with renditions not done.

    Returns (utterances rendered, renditions failed). For the command line, without a worker.
    """
    utterance_ids = sorted(
        set(
            Rendition.objects.filter(utterance__corpus_id=corpus_id)
            .exclude(status=Rendition.Status.DONE)
            .values_list("utterance_id", flat=True)
        )
    )
    failed = 0
    for index, utterance_id in enumerate(utterance_ids, start=1):
        failed += len(render_utterance(utterance_id).failed)
        if progress:
            progress(index, len(utterance_ids))
    return len(utterance_ids), failed


def _claim(rendition: Rendition) -> bool:
    """Count an attempt; False once the attempts are used up, or while another worker
    renders it (a duplicate delivery must neither render twice nor use up an attempt).
    A claim older than RENDITION_RUNNING_SECONDS was left by a dead worker and is taken over."""
    with transaction.atomic():
        locked = Rendition.objects.select_for_update().get(pk=rendition.pk)
        abandoned = timezone.now() - timezone.timedelta(seconds=settings.RENDITION_RUNNING_SECONDS)
        running = locked.status == Rendition.Status.RUNNING
        if locked.status == Rendition.Status.DONE or (running and locked.updated_at > abandoned):
            return False
        if locked.attempts >= settings.RENDITION_MAX_ATTEMPTS:
            if running:  # its last attempt died with its worker: say so instead of "running"
                locked.status = Rendition.Status.FAILED
                locked.error = "The worker rendering it stopped; retry it in the admin."
                locked.save(update_fields=["status", "error", "updated_at"])
            return False
        locked.attempts += 1
        locked.status = Rendition.Status.RUNNING
        locked.save(update_fields=["attempts", "status", "updated_at"])
    rendition.attempts = locked.attempts
    return True


def _finish(rendition: Rendition, **fields) -> None:
    for name, value in fields.items():
        setattr(rendition, name, value)
    rendition.save(update_fields=[*fields, "updated_at"])


def _render(utterance: Utterance, modality: str) -> tuple[str, str, float | None]:
    if modality == Modality.TEXT:
        relative = rendition_relpath(utterance.corpus_id, utterance.pk, modality, ".txt")
        _write_text_atomically(media_path(relative), utterance.transcript)
        return relative, "text/plain; charset=utf-8", None
    render, suffix, content_type = RENDERERS[modality]
    relative = rendition_relpath(utterance.corpus_id, utterance.pk, modality, suffix)
    target = media_path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    probe = render(media_path(utterance.source_file), target)
    return relative, content_type, probe.duration


def _write_text_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, target)


def retry_failed(rendition_ids: list[int]) -> int:
    """Reset failed renditions (a fresh set of attempts) and enqueue them; returns how many."""
    with transaction.atomic():
        failed = Rendition.objects.filter(pk__in=rendition_ids, status=Rendition.Status.FAILED)
        utterance_ids = sorted(set(failed.values_list("utterance_id", flat=True)))
        count = failed.update(status=Rendition.Status.PENDING, attempts=0, error="")
        transaction.on_commit(lambda: enqueue_renditions(utterance_ids))
    return count


def enqueue_renditions(utterance_ids: list[int]) -> None:
    """Queue rendering; call from transaction.on_commit so workers see committed rows."""
    from labeling.tasks import render_utterance_task  # tasks import this module

    for utterance_id in utterance_ids:
        render_utterance_task.delay(utterance_id)
