"""Segment tables and .srt files: each cue or row becomes one range of one episode, and every
bad one is named by its line."""

import json

import pytest

from labeling.manifest import ManifestError
from labeling.segments import SegmentRow, Span, check_ranges, read_segment_table, read_srt


def write(path, content: str | bytes):
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_a_csv_table_gives_ranges_transcripts_and_speaker_metadata(tmp_path):
    table = read_segment_table(
        write(
            tmp_path / "t.csv",
            "source,start,end,transcript,id,speaker_gender,age_group,programme,scenario\n"
            "ep1.mp4,12.5,00:00:15,250,你好,u1,Female,middle age,剧,office\n"
            'ep1.mp4,"00:00:16,000",17,再见,,,,,\n',
        )
    )
    # The unquoted comma of line 2 shifts the columns: it is reported, not misread.
    assert [p.line for p in table.problems] == [2]
    assert table.rows == [SegmentRow(3, "ep1.mp4", 16.0, 17.0, "再见")]


def test_meld_column_names_are_read_as_start_end_and_transcript(tmp_path):
    table = read_segment_table(
        write(
            tmp_path / "meld.csv",
            "Sr No.,Utterance,Speaker,Emotion,source,StartTime,EndTime\n"
            '1,"Oh my God!",Ross,surprise,friends/s01e01.mp4,"00:16:16,059","00:16:21,731"\n',
        )
    )
    assert table.problems == []
    row = table.rows[0]
    assert (row.source, row.start, row.end, row.transcript) == (
        "friends/s01e01.mp4",
        976.059,
        981.731,
        "Oh my God!",
    )
    assert set(table.ignored_columns) == {"Sr No.", "Speaker", "Emotion"}


def test_a_table_with_both_a_column_and_its_meld_alias_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="both 'start' and 'StartTime'"):
        read_segment_table(
            write(tmp_path / "t.csv", "source,start,StartTime,end,transcript\na,1,1,2,x\n")
        )


def test_bad_rows_of_a_table_are_reported_by_line(tmp_path):
    lines = [
        {"source": "e.mp4", "start": 1, "end": 2.5, "transcript": "好", "id": 7},
        {"source": "e.mp4", "start": "-1", "end": 2, "transcript": "好"},
        {"source": "e.mp4", "start": "1,5", "end": 2, "transcript": "好"},
        {"source": "e.mp4", "start": 3, "end": 3, "transcript": "好"},
        {"source": "e.mp4", "start": 4, "end": "soon", "transcript": "好"},
        {"source": "", "start": 1, "end": 2, "transcript": "好"},
        {"source": "e.mp4", "start": 1, "end": 2, "transcript": " "},
        {"source": "e.mp4", "start": 1, "end": 2, "transcript": "好", "age_group": "baby"},
        {"source": "e.mp4", "end": 2, "transcript": "好"},
    ]
    table = read_segment_table(
        write(tmp_path / "t.jsonl", "\n".join(json.dumps(line) for line in lines))
    )
    assert [(row.line, row.external_id, row.start, row.end) for row in table.rows] == [
        (1, "7", 1.0, 2.5)
    ]
    reasons = {p.line: p.reason for p in table.problems}
    assert "start '-1' is negative" in reasons[2]
    assert "start '1,5' is ambiguous" in reasons[3]
    assert reasons[4] == "end 00:00:03,000 is not after start 00:00:03,000"
    assert "end 'soon' is not a time" in reasons[5]
    assert reasons[6].startswith("source is empty")
    assert reasons[7] == "transcript is empty"
    assert reasons[8].startswith("unknown age_group")
    assert reasons[9].startswith("start is empty")


SRT = (
    "\ufeff1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    "<i>Hello</i> there,\r\n"
    "{\\an8}general Kenobi.\r\n"
    "\r\n"
    "2\r\n"
    "00:00:03.000 --> 00:00:04,200 X1:10 X2:20 Y1:5 Y2:9\r\n"
    '<font color="#ffff00">今天</font>\r\n'
    "天气很好\r\n"
    "\r\n"
    "\r\n"
    "3\r\n"
    "00:00:05,000-->00:00:06,000\r\n"
    "- Yes?\r\n"
    "- No.\r\n"
)


def test_srt_cues_become_rows_with_clean_joined_text(tmp_path):
    table = read_srt(write(tmp_path / "e.srt", SRT), source="shows/e.mp4")
    assert table.problems == []
    assert [(r.line, r.source, r.start, r.end, r.transcript) for r in table.rows] == [
        (1, "shows/e.mp4", 1.0, 2.5, "Hello there, general Kenobi."),
        (6, "shows/e.mp4", 3.0, 4.2, "今天天气很好"),
        (12, "shows/e.mp4", 5.0, 6.0, "- Yes? - No."),
    ]


def test_srt_cues_without_numbers_or_blank_lines_between_them_are_read(tmp_path):
    text = (
        "00:00:01,000 --> 00:00:02,000\nfirst\n"
        "2\n00:00:02,000 --> 00:00:03,000\nsecond\n"
        "00:00:04,000 --> 00:00:05,000\nthird"
    )
    table = read_srt(write(tmp_path / "e.srt", text), source="e.mp4")
    assert [(r.line, r.transcript) for r in table.rows] == [
        (1, "first"),
        (3, "second"),
        (6, "third"),
    ]


def test_malformed_srt_cues_are_reported_at_their_first_line_and_the_rest_kept(tmp_path):
    text = (
        "1\n00:00:01,000 -> 00:00:02,000\nbroken arrow\n\n"  # 1
        "2\n00:00:03,000 --> 00:00:0x,000\nbad end\n\n"  # 5
        "3\n00:00:05,000 --> 00:00:04,000\nbackwards\n\n"  # 9
        "4\n00:00:06,000 --> 00:00:07,000\n<i></i>\n\n"  # 13
        "5\n00:00:08,000 --> 00:00:09,000\nfine\n"  # 17
    )
    table = read_srt(write(tmp_path / "e.srt", text), source="e.mp4", file="e.srt")
    assert [(r.line, r.transcript) for r in table.rows] == [(17, "fine")]
    reasons = {p.line: p.reason for p in table.problems}
    assert set(reasons) == {1, 5, 9, 13}
    assert reasons[1].startswith("expected a cue number or 'start --> end' times")
    assert "cue end time '00:00:0x,000' is not a time" in reasons[5]
    assert "is not after start" in reasons[9]
    assert reasons[13] == "cue has no text"
    assert {p.file for p in table.problems} == {"e.srt"}


def test_srt_text_that_is_not_utf8_is_reported(tmp_path):
    data = b"1\n00:00:01,000 --> 00:00:02,000\n" + "你好\n".encode("gbk")
    table = read_srt(write(tmp_path / "e.srt", data), source="e.mp4")
    assert "save the .srt as UTF-8" in table.problems[0].reason


def rows(*ranges):
    return [SegmentRow(line, "e.mp4", start, end, "x") for line, start, end in ranges]


def test_overlapping_rows_are_all_reported_naming_the_lines_they_overlap():
    kept, problems = check_ranges(
        rows((2, 0, 2), (3, 2, 4), (4, 3.5, 5), (5, 6, 7), (6, 6, 7), (7, 8, 9)), duration=20
    )
    assert [row.line for row in kept] == [2, 7]  # touching ranges (2 ends where 3 starts) are fine
    reasons = {p.line: p.reason for p in problems}
    assert reasons[3] == "00:00:02,000–00:00:04,000 overlaps line 4 (00:00:03,500–00:00:05,000)"
    assert reasons[4] == "00:00:03,500–00:00:05,000 overlaps line 3 (00:00:02,000–00:00:04,000)"
    assert "has the same range as line 6" in reasons[5]
    assert "has the same range as line 5" in reasons[6]


def test_rows_past_the_end_of_the_episode_are_reported_never_clipped():
    kept, problems = check_ranges(rows((2, 1, 9.5), (3, 9, 10.5), (4, 11, 12)), duration=10)
    assert [row.line for row in kept] == [2]
    reasons = {p.line: p.reason for p in problems}
    assert reasons[3].startswith(
        "ends at 00:00:10,500, after the end of the episode (00:00:10,000)"
    )
    assert reasons[4].startswith("starts at 00:00:11,000, after the end")


def test_ranges_overlapping_utterances_already_cut_are_reported_but_the_same_range_is_not():
    taken = [Span(1, 2, "utterance 17"), Span(5, 6, "utterance 18")]
    kept, problems = check_ranges(rows((2, 1, 2), (3, 5.5, 7)), duration=10, taken=taken)
    assert [row.line for row in kept] == [2]
    assert "overlaps utterance 18 (00:00:05,000–00:00:06,000), already cut" in problems[0].reason
