"""A real Celery worker over the real Redis renders what an import queues."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from annotator.celery import app
from labeling import media
from labeling.models import Corpus, Rendition, Utterance
from labeling.services.imports import import_manifest
from labeling.storage import media_path

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_worker(settings):
    assert app.conf.broker_url.startswith("redis://"), (
        "run the tests with CELERY_BROKER_URL on Redis"
    )
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["cpu"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def test_worker_renders_every_modality_of_an_imported_utterance(
    redis_worker, media_root, clip_dir, make_clip
):
    make_clip("a.mp4", seconds=1.0)
    (clip_dir / "m.csv").write_text("media,transcript\na.mp4,你为什么这样做\n", encoding="utf-8")
    corpus = Corpus.objects.create(name="worker corpus")
    import_manifest(corpus=corpus, manifest_path=clip_dir / "m.csv", media_root=clip_dir)
    utterance = Utterance.objects.get()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statuses = set(utterance.renditions.values_list("status", flat=True))
        if statuses <= {"done", "failed"}:
            break
        time.sleep(0.2)
    renditions = {r.modality: r for r in Rendition.objects.filter(utterance=utterance)}
    assert {m: r.status for m, r in renditions.items()} == {
        "t": "done",
        "a": "done",
        "v": "done",
        "m": "done",
    }
    silent = media.probe(media_path(renditions["v"].file))
    assert silent.has_video and not silent.has_audio
    audio_only = media.probe(media_path(renditions["a"].file))
    assert audio_only.has_audio and not audio_only.has_video
