"""Renditions: each modality gets exactly what its annotators may perceive."""

import pytest

from labeling import media
from labeling.models import Corpus, Rendition, Utterance
from labeling.services import renditions as rendition_service
from labeling.services.imports import import_manifest
from labeling.services.renditions import render_utterance, retry_failed
from labeling.storage import media_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def utterance(media_root, clip_dir, make_clip) -> Utterance:
    make_clip("a.mp4", seconds=1.5)
    (clip_dir / "m.csv").write_text("media,transcript\na.mp4,我今天特别高兴\n", encoding="utf-8")
    corpus = Corpus.objects.create(name="c")
    import_manifest(corpus=corpus, manifest_path=clip_dir / "m.csv", media_root=clip_dir)
    return Utterance.objects.get()


def rendition(utterance, modality) -> Rendition:
    return utterance.renditions.get(modality=modality)


def test_each_modality_is_rendered_with_only_what_it_may_show(utterance):
    outcome = render_utterance(utterance.pk)
    assert sorted(outcome.done) == ["a", "m", "t", "v"]
    text = rendition(utterance, "t")
    assert media_path(text.file).read_text(encoding="utf-8") == "我今天特别高兴"
    audio = media.probe(media_path(rendition(utterance, "a").file))
    assert audio.has_audio and not audio.has_video
    silent = media.probe(media_path(rendition(utterance, "v").file))
    assert silent.has_video and not silent.has_audio
    original = media.probe(media_path(rendition(utterance, "m").file))
    assert original.has_video and original.has_audio
    assert original.duration == pytest.approx(1.5, abs=0.15)
    assert {r.status for r in utterance.renditions.all()} == {"done"}
    assert rendition(utterance, "v").content_type == "video/mp4"


def test_rendering_again_does_not_redo_finished_renditions(utterance):
    render_utterance(utterance.pk)
    assert render_utterance(utterance.pk).done == []
    assert {r.attempts for r in utterance.renditions.all()} == {1}


def test_a_corrupt_source_fails_its_renditions_with_the_reason_and_no_retry(utterance):
    media_path(utterance.source_file).write_bytes(b"\x00" * 2000)
    outcome = render_utterance(utterance.pk)
    assert sorted(outcome.failed) == ["a", "m", "v"]
    assert outcome.retryable == []
    failed = rendition(utterance, "v")
    assert failed.status == "failed" and failed.error and failed.file == ""
    assert rendition(utterance, "t").status == "done"


def test_transient_errors_are_retried_a_bounded_number_of_times(utterance, settings, monkeypatch):
    settings.RENDITION_MAX_ATTEMPTS = 2

    def broken(src, dst):
        raise OSError("No space left on device")

    monkeypatch.setitem(rendition_service.RENDERERS, "a", (broken, ".m4a", "audio/mp4"))
    assert render_utterance(utterance.pk).retryable == ["a"]
    assert render_utterance(utterance.pk).retryable == []  # second and last attempt
    assert render_utterance(utterance.pk).failed == []  # attempts used up: not claimed again
    audio = rendition(utterance, "a")
    assert (audio.status, audio.attempts) == ("failed", 2)
    assert "No space left" in audio.error


def test_retry_failed_gives_failed_renditions_a_fresh_start(
    utterance, django_capture_on_commit_callbacks
):
    media_path(utterance.source_file).write_bytes(b"\x00" * 2000)
    render_utterance(utterance.pk)
    failed_ids = list(utterance.renditions.filter(status="failed").values_list("pk", flat=True))
    with django_capture_on_commit_callbacks() as callbacks:
        assert retry_failed(failed_ids) == 3
    assert len(callbacks) == 1
    assert set(
        utterance.renditions.filter(pk__in=failed_ids).values_list("status", "attempts")
    ) == {("pending", 0)}


def test_a_duplicate_delivery_skips_renditions_another_worker_is_rendering(utterance, monkeypatch):
    real, suffix, content_type = rendition_service.RENDERERS["a"]
    calls = []

    def audio_while_redelivered(src, dst):
        calls.append(dst)
        if len(calls) == 1:  # the broker redelivers the task while this one still renders
            duplicate = render_utterance(utterance.pk)
            assert "a" not in duplicate.done + duplicate.failed
        return real(src, dst)

    monkeypatch.setitem(
        rendition_service.RENDERERS, "a", (audio_while_redelivered, suffix, content_type)
    )
    assert "a" in render_utterance(utterance.pk).done
    assert len(calls) == 1
    assert set(utterance.renditions.values_list("status", "attempts")) == {("done", 1)}


def test_a_rendition_left_running_by_a_dead_worker_is_claimed_again(utterance, settings):
    from django.utils import timezone

    stale = timezone.now() - timezone.timedelta(seconds=settings.RENDITION_RUNNING_SECONDS + 1)
    utterance.renditions.filter(modality="a").update(status="running", attempts=1, updated_at=stale)
    assert "a" in render_utterance(utterance.pk).done
    assert (rendition(utterance, "a").status, rendition(utterance, "a").attempts) == ("done", 2)


def test_an_abandoned_last_attempt_is_marked_failed_not_left_running(utterance, settings):
    from django.utils import timezone

    stale = timezone.now() - timezone.timedelta(seconds=settings.RENDITION_RUNNING_SECONDS + 1)
    utterance.renditions.filter(modality="a").update(
        status="running", attempts=settings.RENDITION_MAX_ATTEMPTS, updated_at=stale
    )
    assert "a" not in render_utterance(utterance.pk).done
    audio = rendition(utterance, "a")
    assert audio.status == "failed" and "retry it in the admin" in audio.error
