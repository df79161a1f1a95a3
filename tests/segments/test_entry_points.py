"""Segment import from the terminal and from the admin (upload → worker → report)."""

import io
import shutil

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from labeling.models import Corpus, ImportBatch, Utterance
from tests.clips import write_timecoded_episode

pytestmark = pytest.mark.django_db

SRT = "1\n00:00:01,000 --> 00:00:02,500\n你好\n\n2\n00:00:02,000 --> 00:00:03,000\n重叠\n"
CLEAN_SRT = "1\n00:00:01,000 --> 00:00:02,500\n你好\n\n2\n00:00:03,000 --> 00:00:04,000\n再见\n"


@pytest.fixture(scope="module")
def episode_file(tmp_path_factory):
    return write_timecoded_episode(tmp_path_factory.mktemp("episodes") / "episode.mp4", 6.0)


def test_the_command_cuts_a_table_and_prints_each_bad_row(media_root, clip_dir, episode_file):
    shutil.copyfile(episode_file, clip_dir / "ep.mp4")
    table = clip_dir / "t.csv"
    table.write_text(
        "source,start,end,transcript\nep.mp4,0,1.5,一\nep.mp4,1,2,二\nep.mp4,3,4.5,三\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_segments",
        str(table),
        media_root=str(clip_dir),
        corpus="shows",
        stdout=out,
        stderr=err,
    )
    assert "1 cut and imported, 0 unchanged, 2 rejected" in out.getvalue()
    assert "line 2: 00:00:00,000–00:00:01,500 overlaps line 3" in err.getvalue()
    assert Utterance.objects.get().corpus.name == "shows"


def test_the_command_takes_an_srt_and_finds_its_episode_beside_it(
    media_root, clip_dir, episode_file
):
    shutil.copyfile(episode_file, clip_dir / "ep.mp4")
    (clip_dir / "ep.srt").write_text(SRT, encoding="utf-8")
    with pytest.raises(CommandError, match="Strict import"):
        call_command(
            "import_segments",
            str(clip_dir / "ep.srt"),
            strict=True,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not Utterance.objects.exists()
    assert ImportBatch.objects.get().kind == "segments"


def test_the_command_needs_a_media_root_for_a_table(clip_dir):
    (clip_dir / "t.csv").write_text("source,start,end,transcript\n")
    with pytest.raises(CommandError, match="--media-root"):
        call_command("import_segments", str(clip_dir / "t.csv"))


def test_an_episode_and_its_srt_uploaded_in_the_admin_are_cut_on_the_worker(
    client, media_root, episode_file, settings, django_capture_on_commit_callbacks
):
    from annotator.celery import app

    client.force_login(User.objects.create_superuser("boss", password="x"))
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("admin:labeling_corpus_upload_segments"),
                {
                    "new_corpus": "episodes",
                    # Named unlike the episode: the upload gives it the episode's name.
                    "table": SimpleUploadedFile("subtitles.zh.srt", CLEAN_SRT.encode()),
                    "episodes": [SimpleUploadedFile("s01e01.mp4", episode_file.read_bytes())],
                },
            )
    finally:
        app.conf.task_always_eager = False
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert (batch.kind, batch.status, batch.rows_imported) == ("segments", "done", 2)
    assert set(Utterance.objects.values_list("original_name", flat=True)) == {
        "s01e01.mp4@1.000-2.500",
        "s01e01.mp4@3.000-4.000",
    }
    assert Corpus.objects.get().name == "episodes"
    assert not (media_root / "uploads" / str(batch.pk)).exists()  # staged files cleaned up


def test_the_admin_refuses_an_srt_with_several_episodes(client, media_root):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    response = client.post(
        reverse("admin:labeling_corpus_upload_segments"),
        {
            "new_corpus": "episodes",
            "table": SimpleUploadedFile("a.srt", SRT.encode()),
            "episodes": [SimpleUploadedFile("a.mp4", b"x"), SimpleUploadedFile("b.mp4", b"y")],
        },
    )
    assert response.status_code == 200
    assert "upload exactly one" in response.content.decode()
    assert not ImportBatch.objects.exists()
