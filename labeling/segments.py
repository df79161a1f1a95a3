"""Segment tables: where each utterance lies inside a whole episode. Pure Python, no Django.

A dataset team with whole episodes names each utterance by its episode, a time range and
its transcript, in a table (CSV or JSONL) or in an `.srt` subtitle file beside the episode.
This module reads both into `SegmentRow`s and per-line `RowProblem`s and checks ranges
against each other and the episode's length; media.cut_segment does the cutting.

Table columns (CSV header / JSON keys):
    source      required  the episode's path, relative to the media root
    start       required  where the utterance begins in the episode (a timestamp, below)
    end         required  where it ends
    transcript  required  the spoken words, UTF-8, not empty
    id, speaker_gender, age_group, programme, scenario   optional, as in a clip manifest
MELD's column names `StartTime`, `EndTime` and `Utterance` are read as start, end, transcript.

Timestamps, from the episode's first frame, kept to the millisecond:
    seconds      `83`, `12.5` (a dot; `12,5` is refused as ambiguous)
    a clock      `00:01:23,450` (subtitle files, MELD), `00:01:23.450`, `1:23:45`, `1:23.4`
                 (= 83.4 s): hours are optional, minutes and seconds after a colon have two
                 digits and are below 60, the fraction follows a dot or a comma.
Negative, empty or unreadable times are refused with the reason.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

from labeling.manifest import (
    OPTIONAL_COLUMNS,
    ManifestError,
    RowProblem,
    has_undecodable_bytes,
    read_records,
    speaker_metadata,
    text_fields,
)

REQUIRED_COLUMNS = ("source", "start", "end", "transcript")
MELD_ALIASES = {"StartTime": "start", "EndTime": "end", "Utterance": "transcript"}
MILLISECOND = Decimal("0.001")


class TimestampError(ValueError):
    """A timestamp can't be read; str(e) says why and how to write it."""


def parse_timestamp(value: str | int | float) -> float:
    """Seconds from the start of the episode, to the millisecond (formats: module docstring)."""
    if isinstance(value, bool):
        raise TimestampError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise TimestampError(f"{value!r} is not a time")
        return _seconds(Decimal(repr(value)), str(value))
    text = str(value).strip()
    if not text:
        raise TimestampError("is empty: give a time such as 12.5 or 00:00:12,500")
    if text.startswith("-"):
        raise TimestampError(f"{text!r} is negative: times count from the episode's start")
    *clock, last = text.split(":")
    if not clock:
        if re.fullmatch(r"\d+,\d+", text):
            raise TimestampError(
                f"{text!r} is ambiguous: write seconds with a dot (12.5) "
                "or as a clock (00:00:12,500)"
            )
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            raise TimestampError(f"{text!r} is not a time: write 12.5 or 00:00:12,500")
        return _seconds(Decimal(text), text)
    seconds = re.fullmatch(r"(\d{2})(?:[.,](\d+))?", last)
    if (
        len(clock) > 2
        or not re.fullmatch(r"\d+", clock[0])
        or not all(re.fullmatch(r"\d{2}", part) for part in clock[1:])
        or seconds is None
    ):
        raise TimestampError(f"{text!r} is not a time: write HH:MM:SS,mmm (00:01:23,450)")
    if int(seconds[1]) >= 60 or any(int(part) >= 60 for part in clock[1:]):
        raise TimestampError(f"{text!r} is not a time: minutes and seconds must be below 60")
    total = Decimal(seconds[1] + "." + (seconds[2] or "0"))
    for scale, part in zip((60, 3600), reversed(clock), strict=False):
        total += scale * int(part)
    return _seconds(total, text)


def _seconds(value: Decimal, text: str) -> float:
    try:
        value = value.quantize(MILLISECOND, rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise TimestampError(f"{text!r} is too large to be a time") from exc
    if value < 0:
        raise TimestampError(f"{text!r} is negative: times count from the episode's start")
    return float(value)


def format_timestamp(seconds: float) -> str:
    """`HH:MM:SS,mmm`, as subtitle files write times (parse_timestamp reads it back)."""
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


@dataclass(frozen=True)
class SegmentRow:
    """One utterance to cut: [start, end) seconds of episode `source`."""

    line: int
    source: str
    start: float
    end: float
    transcript: str
    external_id: str = ""
    speaker_gender: str = ""
    age_group: str = ""
    programme: str = ""
    scenario: str = ""
    file: str = ""  # the subtitle file it came from, when one import reads several

    @property
    def name(self) -> str:
        """How the utterance's original_name records it: `episode.mp4@12.500-15.250`."""
        return f"{self.source}@{self.start:.3f}-{self.end:.3f}"

    @property
    def metadata(self) -> dict[str, str]:
        """The speaker and source fields, as ManifestRow and Utterance name them."""
        return {
            "external_id": self.external_id,
            "speaker_gender": self.speaker_gender,
            "age_group": self.age_group,
            "programme": self.programme,
            "scenario": self.scenario,
        }

    @property
    def span(self) -> str:
        return f"{format_timestamp(self.start)}–{format_timestamp(self.end)}"

    def problem(self, reason: str) -> RowProblem:
        return RowProblem(self.line, reason, self.file)


@dataclass
class SegmentTable:
    rows: list[SegmentRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Tables (CSV / JSONL)


def read_segment_table(path: Path, data: bytes | None = None) -> SegmentTable:
    """Parse a `.csv` or `.jsonl` segment table into rows and per-line problems.

    Raises ManifestError when the file as a whole can't be read (format, header).
    """
    records, ignored = read_records(
        path, data, REQUIRED_COLUMNS, OPTIONAL_COLUMNS, aliases=MELD_ALIASES
    )
    table = SegmentTable(ignored_columns=ignored)
    for line, record in records:
        outcome = record if isinstance(record, RowProblem) else _table_row(line, record)
        if isinstance(outcome, RowProblem):
            table.problems.append(outcome)
        else:
            table.rows.append(outcome)
    return table


def _table_row(line: int, record: dict) -> SegmentRow | RowProblem:
    values = text_fields(line, record, ("source", "transcript"))
    if isinstance(values, RowProblem):
        return values
    if not values["source"]:
        return RowProblem(line, "source is empty: give the episode's path")
    if not values["transcript"]:
        return RowProblem(line, "transcript is empty")
    times = {}
    for column in ("start", "end"):
        value = record.get(column)
        if isinstance(value, str) and has_undecodable_bytes(value):
            return RowProblem(line, f"{column} is not valid UTF-8 text")
        try:
            times[column] = parse_timestamp("" if value is None else value)
        except TimestampError as exc:
            return RowProblem(line, f"{column} {exc}")
    metadata = speaker_metadata(line, record)
    if isinstance(metadata, RowProblem):
        return metadata
    return _segment_row(
        line, values["source"], times["start"], times["end"], values["transcript"], **metadata
    )


def _segment_row(line, source, start, end, transcript, file="", **metadata):
    """A SegmentRow, or a RowProblem when the range is empty or backwards."""
    if end <= start:
        return RowProblem(
            line, f"end {format_timestamp(end)} is not after start {format_timestamp(start)}", file
        )
    return SegmentRow(line, source, start, end, transcript, file=file, **metadata)


# --------------------------------------------------------------------------------------------
# Subtitle files (.srt)

_CUE_TIMES = re.compile(r"\s*(\S+?)\s*-->\s*(\S+)(?:\s.*)?")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # <i>, </i>, <font color="…">
_ASS_CODE = re.compile(r"\{\\[^{}]*\}")  # {\an8}, {\i1}


def read_srt(path: Path, source: str, data: bytes | None = None, file: str = "") -> SegmentTable:
    """The cues of an `.srt` file as rows of episode `source`, one row per cue.

    Accepts a BOM, CRLF or CR line ends, cues without a number, a missing blank line before
    the next cue, and position hints after the times. Text lines are joined (a space between
    words, none between Chinese characters) after `<i>`-style tags and `{\\an8}`-style codes
    are removed. A cue that can't be read is a RowProblem at its first line.
    """
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ManifestError(f"Cannot read {path}: {exc.strerror}.") from exc
    text = data.decode("utf-8-sig", errors="surrogateescape")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    table = SegmentTable()
    index = 0
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        first = index + 1  # line numbers count from 1
        header = _cue_header(lines, index)
        if header is None:
            table.problems.append(
                RowProblem(
                    first,
                    f"expected a cue number or 'start --> end' times, found {lines[index]!r}",
                    file,
                )
            )
            while index < len(lines) and lines[index].strip():
                index += 1
            continue
        index += header
        times = _CUE_TIMES.fullmatch(lines[index - 1])
        body = []
        while index < len(lines) and lines[index].strip() and _cue_header(lines, index) is None:
            body.append(lines[index])
            index += 1
        cue = _cue(first, times[1], times[2], body, source, file)
        (table.problems if isinstance(cue, RowProblem) else table.rows).append(cue)
    return table


def _cue_header(lines: list[str], index: int) -> int | None:
    """How many lines a cue's header takes at `index` (number + times: 2, times only: 1)."""
    if lines[index].strip().isdigit() and index + 1 < len(lines):
        if _CUE_TIMES.fullmatch(lines[index + 1]):
            return 2
    return 1 if _CUE_TIMES.fullmatch(lines[index]) else None


def _cue(line, start_text, end_text, body, source, file) -> SegmentRow | RowProblem:
    times = []
    for column, value in (("start", start_text), ("end", end_text)):
        try:
            times.append(parse_timestamp(value))
        except TimestampError as exc:
            return RowProblem(line, f"cue {column} time {exc}", file)
    words = [_plain(text) for text in body]
    transcript = _join([text for text in words if text])
    if not transcript:
        return RowProblem(line, "cue has no text", file)
    if has_undecodable_bytes(transcript):
        return RowProblem(line, "cue text is not valid UTF-8: save the .srt as UTF-8", file)
    return _segment_row(line, source, times[0], times[1], transcript, file)


def _plain(text: str) -> str:
    text = _ASS_CODE.sub("", _TAG.sub("", text)).replace("\\N", " ")
    return " ".join(text.split())


def _join(lines: Sequence[str]) -> str:
    """Subtitle lines as one sentence: Chinese and Japanese text has no spaces between words."""
    joined = ""
    for text in lines:
        wide = joined and _is_wide(joined[-1]) and _is_wide(text[0])
        joined += text if not joined or wide else " " + text
    return joined


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


# --------------------------------------------------------------------------------------------
# Ranges


@dataclass(frozen=True)
class Span:
    """A range of the episode that is already taken, and how a report calls it."""

    start: float
    end: float
    name: str  # "utterance 17"


def check_ranges(
    rows: Sequence[SegmentRow], duration: float | None, taken: Sequence[Span] = ()
) -> tuple[list[SegmentRow], list[RowProblem]]:
    """The rows of ONE episode whose ranges can be cut, and a problem for each other row.

    Never clips a range: a row that starts or ends past `duration` is reported; rows that
    overlap each other are all reported, each naming the lines it overlaps (ranges that only
    touch, one ending where the next starts, are fine); a row overlapping a `taken` span
    (an utterance already cut from this episode) is reported. A row whose range is exactly
    a taken span is not an overlap — it is that utterance again, for the caller to judge.
    """
    problems: list[RowProblem] = []
    inside = []
    for row in rows:
        if duration is not None and row.end > duration:
            edge = "starts" if row.start >= duration else "ends"
            moment = row.start if edge == "starts" else row.end
            problems.append(
                row.problem(
                    f"{edge} at {format_timestamp(moment)}, after the end of the episode "
                    f"({format_timestamp(duration)}); check the times or the episode"
                )
            )
        else:
            inside.append(row)
    clashes: dict[SegmentRow, list[str]] = {}
    ordered = sorted(inside, key=lambda row: (row.start, row.end, row.line))
    for position, row in enumerate(ordered):
        for other in ordered[position + 1 :]:
            if other.start >= row.end:
                break
            for one, two in ((row, other), (other, row)):
                same = (one.start, one.end) == (two.start, two.end)
                clashes.setdefault(one, []).append(
                    f"{'has the same range as' if same else 'overlaps'} line {two.line} "
                    f"({two.span})"
                )
        for span in taken:
            exact = (span.start, span.end) == (row.start, row.end)
            if span.start < row.end and row.start < span.end and not exact:
                clashes.setdefault(row, []).append(
                    f"overlaps {span.name} "
                    f"({format_timestamp(span.start)}–{format_timestamp(span.end)}), "
                    "already cut from this episode"
                )
    kept = []
    for row in inside:
        if row in clashes:
            problems.append(row.problem(f"{row.span} " + "; ".join(clashes[row])))
        else:
            kept.append(row)
    return kept, problems
