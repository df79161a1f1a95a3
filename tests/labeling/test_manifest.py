"""The manifest reader: every bad row is named by line, the good rows survive."""

import json

import pytest

from labeling.manifest import ManifestError, read_manifest


def write(path, content: bytes):
    path.write_bytes(content)
    return path


def test_csv_rows_are_read_with_their_line_numbers(tmp_path):
    manifest = write(
        tmp_path / "m.csv",
        (
            "media,transcript,id,speaker_gender,age_group,programme,scenario\n"
            "a.mp4,今天真开心,u1,Female,Middle Age,剧1,office\n"
            "b.mp4,我不知道,u2,male,teen,,\n"
        ).encode(),
    )
    result = read_manifest(manifest)
    assert result.problems == []
    assert [row.line for row in result.rows] == [2, 3]
    first = result.rows[0]
    assert (first.media, first.transcript, first.external_id) == ("a.mp4", "今天真开心", "u1")
    assert (first.speaker_gender, first.age_group, first.scenario) == (
        "female",
        "middle-age",
        "office",
    )


def test_jsonl_rows_are_read_and_bad_json_lines_reported(tmp_path):
    lines = [
        json.dumps({"media": "a.mp4", "transcript": "你好", "id": 7}, ensure_ascii=False),
        "{not json",
        "[1, 2]",
        "",
    ]
    result = read_manifest(write(tmp_path / "m.jsonl", "\n".join(lines).encode()))
    assert [(row.line, row.external_id) for row in result.rows] == [(1, "7")]
    assert [(p.line, p.reason.split(" (")[0]) for p in result.problems] == [
        (2, "not valid JSON"),
        (3, "not a JSON object"),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("a.mp4,,u1,,", "transcript is empty"),
        (",你好,u1,,", "media is empty"),
        ("a.mp4,你好,u1,robot,", "unknown speaker_gender 'robot'"),
        ("a.mp4,你好,u1,,baby", "unknown age_group 'baby'"),
    ],
)
def test_invalid_values_are_reported_by_line(tmp_path, row, reason):
    manifest = write(
        tmp_path / "m.csv", f"media,transcript,id,speaker_gender,age_group\n{row}\n".encode()
    )
    result = read_manifest(manifest)
    assert result.rows == []
    assert result.problems[0].line == 2
    assert result.problems[0].reason.startswith(reason)


def test_non_utf8_transcript_rejects_only_its_row(tmp_path):
    content = (
        "media,transcript\na.mp4,你好\n".encode()
        + b"b.mp4,\xff\xfe bad\n"
        + "c.mp4,再见\n".encode()
    )
    result = read_manifest(write(tmp_path / "m.csv", content))
    assert [row.media for row in result.rows] == ["a.mp4", "c.mp4"]
    assert [(p.line, p.reason) for p in result.problems] == [
        (3, "transcript is not valid UTF-8 text")
    ]


def test_missing_required_column_fails_the_whole_manifest(tmp_path):
    with pytest.raises(ManifestError, match="lacks the required column.*transcript"):
        read_manifest(write(tmp_path / "m.csv", b"media,text\na.mp4,hi\n"))


def test_unknown_format_is_refused_with_advice(tmp_path):
    with pytest.raises(ManifestError, match="use a .csv or .jsonl"):
        read_manifest(write(tmp_path / "m.xlsx", b"whatever"))


def test_extra_columns_are_listed_as_ignored(tmp_path):
    result = read_manifest(
        write(tmp_path / "m.csv", "media,transcript,mood\na.mp4,你好,x\n".encode())
    )
    assert result.ignored_columns == ["mood"]
    assert len(result.rows) == 1


def test_byte_order_mark_is_accepted(tmp_path):
    result = read_manifest(
        write(tmp_path / "m.csv", "\ufeffmedia,transcript\na.mp4,你好\n".encode())
    )
    assert [row.media for row in result.rows] == ["a.mp4"]
