"""Admins import clips in the admin and see every rendition there; nobody else gets the files."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling.models import Corpus, ImportBatch, Rendition, Utterance
from labeling.services.imports import import_manifest
from labeling.services.renditions import render_utterance

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


@pytest.fixture
def rendered(media_root, clip_dir, make_clip) -> Utterance:
    make_clip("a.mp4", seconds=1.0)
    (clip_dir / "m.csv").write_text("media,transcript,id\na.mp4,好久不见,u1\n", encoding="utf-8")
    import_manifest(
        corpus=Corpus.objects.create(name="c"),
        manifest_path=clip_dir / "m.csv",
        media_root=clip_dir,
    )
    utterance = Utterance.objects.get()
    render_utterance(utterance.pk)
    return utterance


def test_the_utterance_page_shows_a_player_for_each_rendition(admin_client, rendered):
    page = admin_client.get(reverse("admin:labeling_utterance_change", args=[rendered.pk]))
    html = page.content.decode()
    for modality in "avm":
        url = reverse("rendition-file", args=[rendered.renditions.get(modality=modality).pk])
        assert url in html
    assert html.count("<video") == 2 and html.count("<audio") == 1


def test_staff_can_seek_in_a_rendition_with_a_range_request(admin_client, rendered):
    video = rendered.renditions.get(modality="m")
    url = reverse("rendition-file", args=[video.pk])
    full = admin_client.get(url)
    body = b"".join(full.streaming_content)
    partial = admin_client.get(url, HTTP_RANGE="bytes=100-199")
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert b"".join(partial.streaming_content) == body[100:200]
    assert admin_client.get(url, HTTP_RANGE=f"bytes={len(body) + 5}-").status_code == 416


def test_users_without_a_lease_cannot_fetch_rendition_files(client, rendered):
    client.force_login(User.objects.create_user("annotator1", password="x"))
    url = reverse("rendition-file", args=[rendered.renditions.get(modality="a").pk])
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 403


def test_upload_in_the_admin_queues_an_import_that_lands_the_clips(
    admin_client, media_root, make_clip, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from annotator.celery import app

    app.conf.task_always_eager = True
    try:
        clip = make_clip("hello.mp4")
        manifest = SimpleUploadedFile(
            "m.csv", "media,transcript\nhello.mp4,你好\nnope.mp4,再见\n".encode()
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                reverse("admin:labeling_corpus_upload"),
                {
                    "new_corpus": "uploaded",
                    "manifest": manifest,
                    "media": [SimpleUploadedFile("hello.mp4", clip.read_bytes())],
                },
            )
    finally:
        app.conf.task_always_eager = False
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert (batch.status, batch.rows_imported, batch.rows_rejected) == ("done", 1, 1)
    assert batch.rejected[0]["line"] == 3
    assert Utterance.objects.get().corpus.name == "uploaded"
    page = admin_client.get(reverse("admin:labeling_importbatch_change", args=[batch.pk]))
    assert "line 3" in page.content.decode()
    assert not (media_root / "uploads" / str(batch.pk)).exists()  # staged files cleaned up


def test_failed_renditions_show_their_error_and_can_be_retried(admin_client, rendered):
    Rendition.objects.filter(modality="v").update(status="failed", error="decoder exploded")
    page = admin_client.get(
        reverse("admin:labeling_rendition_changelist") + "?status__exact=failed"
    )
    assert "decoder exploded" in page.content.decode()
    response = admin_client.post(
        reverse("admin:labeling_rendition_changelist"),
        {"action": "retry", "_selected_action": [rendered.renditions.get(modality="v").pk]},
    )
    assert response.status_code == 302
    assert rendered.renditions.get(modality="v").status == "pending"


def test_the_utterance_page_shows_what_screening_measured(admin_client, rendered):
    from labeling.services.screening import measure_utterance

    url = reverse("admin:labeling_utterance_change", args=[rendered.pk])
    assert "not measured yet" in admin_client.get(url).content.decode()
    measure_utterance(rendered.pk)
    html = admin_client.get(url).content.decode()
    assert "frames with exactly one face" in html and "loudness" in html
