"""Importing a manifest: bad rows are reported by line, good rows land in one transaction,
and importing the same manifest twice changes nothing."""

import csv
import os

import pytest

from labeling.models import Corpus, ImportBatch, Rendition, Utterance
from labeling.services.imports import ImportFailed, import_manifest
from labeling.storage import media_path

pytestmark = pytest.mark.django_db

HEADER = ["media", "transcript", "id", "speaker_gender", "age_group", "programme", "scenario"]


def write_manifest(folder, rows, name="manifest.csv"):
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: row.get(key, "") for key in HEADER})
    return path


def row(media, transcript="今天天气很好", **fields):
    return {"media": media, "transcript": transcript, **fields}


@pytest.fixture
def corpus():
    return Corpus.objects.create(name="test corpus")


def run_import(corpus, clip_dir, rows, **options):
    return import_manifest(
        corpus=corpus, manifest_path=write_manifest(clip_dir, rows), media_root=clip_dir, **options
    )


def test_good_rows_become_utterances_with_probed_metadata_and_pending_renditions(
    corpus, media_root, clip_dir, make_clip
):
    make_clip("a.mp4", seconds=1.2)
    make_clip("sub/b.mp4", seconds=2.0, shade=80)
    batch = run_import(
        corpus,
        clip_dir,
        [
            row(
                "a.mp4",
                id="u1",
                speaker_gender="female",
                age_group="teen",
                programme="剧",
                scenario="office",
            ),
            row("sub/b.mp4", "我很难过", id="u2"),
        ],
    )
    assert (batch.status, batch.rows_imported, batch.rows_rejected) == ("done", 2, 0)
    first = Utterance.objects.get(external_id="u1")
    assert first.duration_seconds == pytest.approx(1.2, abs=0.1)
    assert first.frame_rate == pytest.approx(25)
    assert (first.speaker_gender, first.age_group, first.programme) == ("female", "teen", "剧")
    assert len(first.content_hash) == 64
    assert media_path(first.source_file).read_bytes() == (clip_dir / "a.mp4").read_bytes()
    assert sorted(first.renditions.values_list("modality", "status")) == [
        ("a", "pending"),
        ("m", "pending"),
        ("t", "pending"),
        ("v", "pending"),
    ]


def test_reimporting_the_same_manifest_changes_nothing(corpus, media_root, clip_dir, make_clip):
    make_clip("a.mp4")
    make_clip("b.mp4", shade=90)
    rows = [row("a.mp4", id="u1"), row("b.mp4", "好的", id="u2")]
    run_import(corpus, clip_dir, rows)
    before = list(Utterance.objects.values())
    renditions_before = list(Rendition.objects.values())
    again = run_import(corpus, clip_dir, rows)
    assert (again.rows_imported, again.rows_unchanged, again.rows_rejected) == (0, 2, 0)
    assert list(Utterance.objects.values()) == before
    assert list(Rendition.objects.values()) == renditions_before


def test_each_kind_of_bad_row_is_reported_with_line_and_reason(
    corpus, media_root, clip_dir, make_clip, tmp_path, settings
):
    settings.IMPORT_MAX_DURATION_SECONDS = 3
    make_clip("good.mp4")
    make_clip("silent.mp4", audio=False)
    make_clip("voice.m4a", video=False)
    make_clip("long.mp4", seconds=4)
    (clip_dir / "garbage.mp4").write_bytes(os.urandom(4000))
    (clip_dir / "notes.mp4").write_text("this is not a video")
    outside = make_clip("../outside.mp4")
    (clip_dir / "link.mp4").symlink_to(outside)
    batch = run_import(
        corpus,
        clip_dir,
        [
            row("good.mp4", id="u1"),  # 2
            row("missing.mp4"),  # 3
            row("garbage.mp4"),  # 4
            row("notes.mp4"),  # 5
            row("silent.mp4"),  # 6
            row("voice.m4a"),  # 7
            row("long.mp4"),  # 8
            row("../outside.mp4"),  # 9
            row(str(outside)),  # 10
            row("link.mp4"),  # 11
            row("good.mp4", id="u9"),  # 12 same clip again
            row("good.mp4", ""),  # 13 empty transcript
            row("good.mp4", speaker_gender="robot"),  # 14
            row("good.mp4", age_group="infant"),  # 15
        ],
    )
    reasons = {problem["line"]: problem["reason"] for problem in batch.rejected}
    assert (batch.rows_imported, batch.rows_rejected) == (1, 13)
    assert "not found" in reasons[3]
    assert "cannot be used" in reasons[4]
    assert "cannot be used" in reasons[5]
    assert "no audio stream" in reasons[6]
    assert "no video stream" in reasons[7]
    assert "outside 0.5–3 s" in reasons[8]
    for line in (9, 10, 11):
        assert "outside the media root" in reasons[line]
    assert reasons[12] == "duplicate media: same clip as line 2"
    assert reasons[13] == "transcript is empty"
    assert reasons[14].startswith("unknown speaker_gender")
    assert reasons[15].startswith("unknown age_group")
    assert Utterance.objects.get().external_id == "u1"


def test_non_utf8_row_is_rejected_and_the_rest_imported(corpus, media_root, clip_dir, make_clip):
    make_clip("a.mp4")
    make_clip("b.mp4", shade=60)
    manifest = clip_dir / "m.csv"
    manifest.write_bytes("media,transcript\na.mp4,你好\n".encode() + b"b.mp4,\xc3\x28oops\n")
    batch = import_manifest(corpus=corpus, manifest_path=manifest, media_root=clip_dir)
    assert batch.rows_imported == 1
    assert batch.rejected == [{"line": 3, "reason": "transcript is not valid UTF-8 text"}]


def test_same_clip_with_a_changed_transcript_is_rejected_not_overwritten(
    corpus, media_root, clip_dir, make_clip
):
    make_clip("a.mp4")
    run_import(corpus, clip_dir, [row("a.mp4", "原来的话", id="u1")])
    batch = run_import(corpus, clip_dir, [row("a.mp4", "改过的话", id="u1")])
    assert batch.rows_rejected == 1
    assert "already utterance" in batch.rejected[0]["reason"]
    assert Utterance.objects.get().transcript == "原来的话"


def test_an_id_reused_for_other_media_is_rejected(corpus, media_root, clip_dir, make_clip):
    make_clip("a.mp4")
    make_clip("b.mp4", shade=70)
    run_import(corpus, clip_dir, [row("a.mp4", id="u1")])
    batch = run_import(corpus, clip_dir, [row("b.mp4", id="u1")])
    assert "duplicate id 'u1'" in batch.rejected[0]["reason"]
    assert Utterance.objects.count() == 1


def test_strict_import_writes_nothing_when_any_row_is_bad(corpus, media_root, clip_dir, make_clip):
    make_clip("a.mp4")
    batch = run_import(corpus, clip_dir, [row("a.mp4"), row("missing.mp4")], strict=True)
    assert batch.status == ImportBatch.Status.FAILED
    assert "Strict import" in batch.error
    assert not Utterance.objects.exists()


def test_a_failure_while_writing_rolls_back_every_row(
    corpus, media_root, clip_dir, make_clip, monkeypatch
):
    make_clip("a.mp4")
    make_clip("b.mp4", shade=50)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Rendition.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError):
        run_import(corpus, clip_dir, [row("a.mp4"), row("b.mp4")])
    assert not Utterance.objects.exists()


def test_an_unreadable_manifest_fails_the_batch_with_the_reason(corpus, media_root, clip_dir):
    (clip_dir / "m.csv").write_text("media,words\na.mp4,hi\n")
    with pytest.raises(ImportFailed, match="required column"):
        import_manifest(corpus=corpus, manifest_path=clip_dir / "m.csv", media_root=clip_dir)
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and "transcript" in batch.error


def test_progress_is_reported_for_every_row(corpus, media_root, clip_dir, make_clip):
    make_clip("a.mp4")
    seen = []
    run_import(
        corpus,
        clip_dir,
        [row("a.mp4"), row("missing.mp4")],
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (2, 2)
