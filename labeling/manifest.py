"""Reading utterance manifests (CSV or JSONL). Pure Python: no Django, no media access.

Columns (CSV header / JSON keys):
    media           required  path of the clip, relative to the media root
    transcript      required  the spoken words, UTF-8, not empty
    id              optional  your own id for the utterance (unique within the corpus)
    speaker_gender  optional  female | male
    age_group       optional  preteen | teen | middle-age | old
    programme       optional  source TV series, show or film
    scenario        optional  household, hospital, restaurant, office, outdoor, telephone, ...

A problem with one row never stops the others: it is returned as a `RowProblem` with
the line number, so the user can fix exactly that row.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

REQUIRED_COLUMNS = ("media", "transcript")
OPTIONAL_COLUMNS = ("id", "speaker_gender", "age_group", "programme", "scenario")
GENDERS = ("female", "male")
AGE_GROUPS = ("preteen", "teen", "middle-age", "old")


class ManifestError(Exception):
    """The manifest as a whole cannot be read (format, header). The message says why."""


@dataclass(frozen=True)
class ManifestRow:
    line: int
    media: str
    transcript: str
    external_id: str = ""
    speaker_gender: str = ""
    age_group: str = ""
    programme: str = ""
    scenario: str = ""


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str
    file: str = ""  # which table, when one import reads several (subtitle files of a folder)

    def as_dict(self) -> dict:
        where = {"file": self.file} if self.file else {}
        return {**where, "line": self.line, "reason": self.reason}


@dataclass
class Manifest:
    rows: list[ManifestRow]
    problems: list[RowProblem]
    ignored_columns: list[str]


def read_manifest(path: Path, data: bytes | None = None) -> Manifest:
    """Parse a `.csv` or `.jsonl` manifest into valid rows and per-line problems."""
    records, ignored = read_records(path, data, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    manifest = Manifest(rows=[], problems=[], ignored_columns=ignored)
    for line, record in records:
        if isinstance(record, RowProblem):
            manifest.problems.append(record)
            continue
        row_or_problem = _validate(line, record)
        target = manifest.problems if isinstance(row_or_problem, RowProblem) else manifest.rows
        target.append(row_or_problem)
    return manifest


Records = list[tuple[int, "dict | RowProblem"]]


def read_records(
    path: Path,
    data: bytes | None,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    aliases: dict[str, str] | None = None,
) -> tuple[Records, list[str]]:
    """Records of a CSV or JSONL file by line number, and the columns it has that are ignored.

    Shared by every table users upload (media manifests, label files, segment tables).
    `aliases` renames other tools' column names to ours (MELD's `StartTime` → `start`).
    """
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ManifestError(f"Cannot read {path}: {exc.strerror}.") from exc
    # Bytes that are not UTF-8 become lone surrogates, so the rest of the file still
    # parses and only the rows that hold them are rejected.
    text = data.decode("utf-8-sig", errors="surrogateescape")
    suffix = path.suffix.lower()
    aliases = aliases or {}
    if suffix == ".csv":
        records, columns = _csv_records(text, required, aliases)
    elif suffix in (".jsonl", ".ndjson"):
        records, columns = _jsonl_records(text, aliases)
    else:
        raise ManifestError(
            f"Unknown file format {suffix or '(no extension)'}: use a .csv or .jsonl file."
        )
    known = set(required) | set(optional)
    return records, [column for column in columns if column not in known]


def _csv_records(
    text: str, required: tuple[str, ...], aliases: dict[str, str]
) -> tuple[Records, list[str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = _renamed([name.strip() for name in (reader.fieldnames or [])], aliases)
    missing = [column for column in required if column not in header]
    if missing:
        raise ManifestError(
            f"The CSV header lacks the required column(s) {', '.join(missing)}; "
            f"it has: {', '.join(header) or 'nothing'}."
        )
    reader.fieldnames = header
    records: list[tuple[int, dict | RowProblem]] = []
    try:
        for record in reader:
            if None in record:
                records.append(
                    (reader.line_num, RowProblem(reader.line_num, "more fields than the header"))
                )
                continue
            if not any((value or "").strip() for value in record.values()):
                continue  # blank line
            records.append((reader.line_num, record))
    except csv.Error as exc:
        raise ManifestError(f"The CSV is malformed at line {reader.line_num}: {exc}.") from exc
    return records, header


def _renamed(columns: list[str], aliases: dict[str, str]) -> list[str]:
    renamed = [aliases.get(column, column) for column in columns]
    for alias, column in aliases.items():
        if alias in columns and column in columns:
            raise ManifestError(
                f"The table has both {column!r} and {alias!r}, which mean the same; "
                "keep only one of them."
            )
    return renamed


def _jsonl_records(text: str, aliases: dict[str, str]) -> tuple[Records, list[str]]:
    records: list[tuple[int, dict | RowProblem]] = []
    seen_keys: set[str] = set()
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            records.append((line_number, RowProblem(line_number, f"not valid JSON ({exc.msg})")))
            continue
        if not isinstance(record, dict):
            records.append((line_number, RowProblem(line_number, "not a JSON object")))
            continue
        try:
            keys = _renamed(list(record), aliases)
        except ManifestError as exc:
            records.append((line_number, RowProblem(line_number, str(exc))))
            continue
        record = dict(zip(keys, record.values(), strict=True))
        seen_keys.update(record)
        records.append((line_number, record))
    return records, sorted(seen_keys)


def _validate(line: int, record: dict) -> ManifestRow | RowProblem:
    values = text_fields(line, record, REQUIRED_COLUMNS)
    if isinstance(values, RowProblem):
        return values
    if not values["media"]:
        return RowProblem(line, "media is empty: give the clip's path")
    if not values["transcript"]:
        return RowProblem(line, "transcript is empty")
    metadata = speaker_metadata(line, record)
    if isinstance(metadata, RowProblem):
        return metadata
    return ManifestRow(
        line=line, media=values["media"], transcript=values["transcript"], **metadata
    )


def text_fields(line: int, record: dict, columns: tuple[str, ...]) -> dict[str, str] | RowProblem:
    """The record's `columns` as stripped text ("" when absent), or why one is not text."""
    values: dict[str, str] = {}
    for column in columns:
        value = record.get(column)
        if value is None:
            value = ""
        if not isinstance(value, str | int | float):
            return RowProblem(line, f"{column} must be text")
        value = str(value).strip()
        if has_undecodable_bytes(value):
            return RowProblem(line, f"{column} is not valid UTF-8 text")
        values[column] = value
    return values


def speaker_metadata(line: int, record: dict) -> dict[str, str] | RowProblem:
    """The optional columns every utterance table shares (id, speaker_gender, age_group,
    programme, scenario), checked and normalised, keyed by ManifestRow's field names."""
    values = text_fields(line, record, OPTIONAL_COLUMNS)
    if isinstance(values, RowProblem):
        return values
    gender = values["speaker_gender"].lower()
    if gender and gender not in GENDERS:
        return RowProblem(
            line, f"unknown speaker_gender {values['speaker_gender']!r}: use {' or '.join(GENDERS)}"
        )
    age = values["age_group"].lower().replace("_", "-").replace(" ", "-")
    if age and age not in AGE_GROUPS:
        return RowProblem(
            line, f"unknown age_group {values['age_group']!r}: use one of {', '.join(AGE_GROUPS)}"
        )
    return {
        "external_id": values["id"],
        "speaker_gender": gender,
        "age_group": age,
        "programme": values["programme"],
        "scenario": values["scenario"],
    }


def has_undecodable_bytes(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)
