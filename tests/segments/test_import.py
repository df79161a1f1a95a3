"""Segment import: whole episodes and a table of ranges become one utterance per range, cut
from the right place within the documented tolerance; bad rows are reported, never clipped."""

import csv
import math
import shutil

import av
import numpy as np
import pytest

from labeling import media
from labeling.models import Corpus, ImportBatch, Rendition, Utterance
from labeling.services.imports import ImportFailed
from labeling.services.segments import import_segments
from labeling.storage import media_path
from tests.clips import (
    TIMECODE_FPS,
    TIMECODE_RATE,
    dominant_tone,
    frame_number,
    second_tone,
    write_timecoded_episode,
)
from training.hashing import sha256_file

pytestmark = pytest.mark.django_db

COLUMNS = ["source", "start", "end", "transcript", "id", "speaker_gender", "age_group"]
FRAME = 1 / TIMECODE_FPS


@pytest.fixture(scope="session")
def episode_file(tmp_path_factory):
    """A 24 s timecoded episode, made once: tests copy it where they need it."""
    return write_timecoded_episode(tmp_path_factory.mktemp("episodes") / "episode.mp4", 24.0)


@pytest.fixture(scope="session")
def short_episode_file(tmp_path_factory):
    """Another episode (other bytes): 8 s."""
    return write_timecoded_episode(tmp_path_factory.mktemp("episodes") / "short.mp4", 8.0)


@pytest.fixture
def episode(clip_dir, episode_file):
    """The episode under the import's media root, as `shows/ep1.mp4`."""
    target = clip_dir / "shows" / "ep1.mp4"
    target.parent.mkdir()
    shutil.copyfile(episode_file, target)
    return target


@pytest.fixture
def corpus():
    return Corpus.objects.create(name="episodes")


def write_table(folder, rows, name="segments.csv"):
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def segment(start, end, transcript="我们走吧", source="shows/ep1.mp4", **fields):
    return {"source": source, "start": start, "end": end, "transcript": transcript, **fields}


def run_import(corpus, clip_dir, rows, **options):
    return import_segments(
        corpus=corpus, table_path=write_table(clip_dir, rows), media_root=clip_dir, **options
    )


def first_frame_and_sound(path):
    """The frame number of a cut's first picture, and the tone of its first 200 ms."""
    with av.open(str(path)) as container:
        first = next(container.decode(video=0))
    with av.open(str(path)) as container:
        samples = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)])
    opening = samples[round(0.02 * TIMECODE_RATE) : round(0.22 * TIMECODE_RATE)]
    return frame_number(first), dominant_tone(opening, TIMECODE_RATE)


RANGES = [(0.0, 2.5), (3.013, 5.987), ("00:00:06,500", "00:00:10.250"), (12.34, 14.0), (20, 24)]


def test_each_range_is_cut_from_the_right_place_within_one_frame(
    corpus, media_root, clip_dir, episode
):
    batch = run_import(
        corpus, clip_dir, [segment(s, e, id=f"u{i}") for i, (s, e) in enumerate(RANGES)]
    )
    assert (batch.kind, batch.status, batch.rows_imported, batch.rows_rejected) == (
        "segments",
        "done",
        5,
        0,
    )
    episode_hash = sha256_file(episode)
    for utterance in Utterance.objects.order_by("segment_start"):
        start, end = utterance.segment_start, utterance.segment_end
        cut = media_path(utterance.source_file)
        # Documented tolerance: the cut lasts end − start plus less than one frame period.
        # (Durations are probed to the millisecond.)
        assert 0 <= round(utterance.duration_seconds - (end - start), 3) < FRAME
        assert media.probe(cut).duration == utterance.duration_seconds
        frame, tone = first_frame_and_sound(cut)
        assert frame == math.ceil(start * TIMECODE_FPS - 1e-9)  # the first frame at or after start
        assert tone == pytest.approx(second_tone(int(start)), abs=10)
        assert utterance.source_video == "shows/ep1.mp4"
        assert utterance.source_video_hash == episode_hash
        assert utterance.original_name == f"shows/ep1.mp4@{start:.3f}-{end:.3f}"
        assert utterance.renditions.filter(status=Rendition.Status.PENDING).count() == 4
    assert sorted(Utterance.objects.values_list("segment_start", "segment_end")) == [
        (0.0, 2.5),
        (3.013, 5.987),
        (6.5, 10.25),
        (12.34, 14.0),
        (20.0, 24.0),
    ]


def test_bad_rows_are_reported_by_line_and_the_good_ones_imported(
    corpus, media_root, clip_dir, episode, tmp_path, settings
):
    settings.IMPORT_MIN_DURATION_SECONDS = 0.5
    outside = tmp_path / "outside.mp4"
    shutil.copyfile(episode, outside)
    (clip_dir / "link.mp4").symlink_to(outside)
    (clip_dir / "notes.mp4").write_text("not a video")
    batch = run_import(
        corpus,
        clip_dir,
        [
            segment(1, 3, id="good"),  # 2
            segment(5, 7),  # 3 overlaps 4
            segment(6.5, 8),  # 4 overlaps 3
            segment(22, 25),  # 5 past the end (24 s)
            segment("00:00:30,000", "00:00:31,000"),  # 6 starts past the end
            segment("-2", 3),  # 7 negative
            segment("1:75", 3),  # 8 garbage
            segment(10, 9),  # 9 backwards
            segment(10, 10.2),  # 10 too short
            segment(1, 2, source="../outside.mp4"),  # 11
            segment(1, 2, source=str(outside)),  # 12
            segment(1, 2, source="link.mp4"),  # 13
            segment(1, 2, source="missing.mp4"),  # 14
            segment(1, 2, source="notes.mp4"),  # 15
            segment(15, 16, id="good"),  # 16 same id as line 2
        ],
    )
    reasons = {problem["line"]: problem["reason"] for problem in batch.rejected}
    assert (batch.rows_imported, batch.rows_rejected, batch.rows_total) == (1, 14, 15)
    assert "overlaps line 4" in reasons[3] and "overlaps line 3" in reasons[4]
    assert reasons[5].startswith(
        "ends at 00:00:25,000, after the end of the episode (00:00:24,000)"
    )
    assert reasons[6].startswith("starts at 00:00:30,000, after the end")
    assert "negative" in reasons[7]
    assert "below 60" in reasons[8]
    assert "is not after start" in reasons[9]
    assert "lasts 0.20 s, outside 0.5" in reasons[10]
    for line in (11, 12, 13):
        assert "points outside the media root" in reasons[line]
    assert "not found under the media root" in reasons[14]
    assert "cannot be used" in reasons[15]
    assert reasons[16] == "duplicate id 'good' (also on line 2)"
    assert Utterance.objects.get().external_id == "good"


def test_importing_the_same_table_again_cuts_nothing_and_changes_nothing(
    corpus, media_root, clip_dir, episode, monkeypatch
):
    rows = [segment(1, 3, id="u1"), segment(4, 6.5, "你好", id="u2")]
    run_import(corpus, clip_dir, rows)
    before = list(Utterance.objects.values())

    def no_cutting(*args, **kwargs):
        raise AssertionError("an imported range was cut again")

    monkeypatch.setattr(media, "cut_segment", no_cutting)
    again = run_import(corpus, clip_dir, [segment("00:00:01,000", "3.0", id="u1"), rows[1]])
    assert (again.rows_imported, again.rows_unchanged, again.rows_rejected) == (0, 2, 0)
    assert list(Utterance.objects.values()) == before


def test_an_imported_range_with_a_new_transcript_or_an_overlapping_range_is_reported(
    corpus, media_root, clip_dir, episode
):
    run_import(corpus, clip_dir, [segment(1, 3, "原来的话")])
    utterance = Utterance.objects.get()
    changed = run_import(corpus, clip_dir, [segment(1, 3, "改过的话"), segment(5, 6)])
    overlapping = run_import(corpus, clip_dir, [segment(2.5, 4)])
    assert changed.rows_imported == 1 and overlapping.rows_imported == 0
    assert changed.rejected[0]["reason"] == (
        f"00:00:01,000–00:00:03,000 is already utterance {utterance.pk} of the corpus "
        "with a different transcript or metadata"
    )
    assert overlapping.rejected[0]["reason"] == (
        f"00:00:02,500–00:00:04,000 overlaps utterance {utterance.pk} "
        "(00:00:01,000–00:00:03,000), already cut from this episode"
    )
    assert Utterance.objects.get(pk=utterance.pk).transcript == "原来的话"


def test_strict_import_cuts_and_writes_nothing_when_any_row_is_bad(
    corpus, media_root, clip_dir, episode
):
    batch = run_import(corpus, clip_dir, [segment(1, 3), segment(2, 4)], strict=True)
    assert batch.status == ImportBatch.Status.FAILED and "Strict import" in batch.error
    assert batch.rows_rejected == 2
    assert not Utterance.objects.exists()
    assert not list(media_root.rglob("*.mp4"))  # nothing was cut


def test_an_srt_beside_its_episode_is_the_table(corpus, media_root, clip_dir, episode):
    srt = episode.with_suffix(".srt")
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:03,200\n<i>你好，</i>\n小明\n\n"
        "2\n00:00:05,000 --> 00:00:07,000\n\n\n"
        "3\n00:00:08,040 --> 00:00:09,000\n再见\n",
        encoding="utf-8",
    )
    batch = import_segments(corpus=corpus, table_path=srt, media_root=clip_dir)
    assert (batch.manifest_name, batch.rows_imported, batch.rows_total) == ("ep1.srt", 2, 3)
    assert batch.rejected == [{"line": 6, "reason": "cue has no text"}]
    first, last = Utterance.objects.order_by("segment_start")
    assert (first.transcript, first.source_video) == ("你好，小明", "shows/ep1.mp4")
    assert first_frame_and_sound(media_path(last.source_file))[0] == 201  # 8.04 s × 25


def test_a_folder_imports_every_episode_with_an_srt_beside_it(
    corpus, media_root, clip_dir, episode_file, short_episode_file
):
    for name, source in (
        ("a/ep1.mp4", episode_file),
        ("a/ep2.mp4", short_episode_file),
        ("b/no_subtitles.mp4", episode_file),
    ):
        (clip_dir / name).parent.mkdir(exist_ok=True)
        shutil.copyfile(source, clip_dir / name)
    (clip_dir / "a/ep1.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n一\n")
    (clip_dir / "a/ep2.srt").write_text(
        "1\n00:00:01,000 --> 00:00:03,000\n二\n\n2\n00:00:02,000 --> 00:00:04,000\n三\n"
    )
    batch = import_segments(corpus=corpus, table_path=clip_dir, media_root=clip_dir)
    assert (batch.manifest_name, batch.rows_total, batch.rows_imported) == ("clips", 3, 1)
    assert [(p["file"], p["line"]) for p in batch.rejected] == [("a/ep2.srt", 1), ("a/ep2.srt", 5)]
    assert "overlaps line 5" in batch.rejected[0]["reason"]
    assert Utterance.objects.get().source_video == "a/ep1.mp4"


def test_an_srt_without_its_episode_fails_the_import_with_the_reason(corpus, media_root, clip_dir):
    (clip_dir / "lonely.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n一\n")
    with pytest.raises(ImportFailed, match="exactly one video of the same name"):
        import_segments(corpus=corpus, table_path=clip_dir / "lonely.srt", media_root=clip_dir)
    assert ImportBatch.objects.get().status == "failed"
