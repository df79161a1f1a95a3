"""Timestamps of segment tables: every format subtitle files and MELD tables use, to the
millisecond, and a clear reason for anything else."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeling.segments import TimestampError, format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("83", 83.0),
        ("12.5", 12.5),
        (" 12.5 ", 12.5),
        ("00:01:23,450", 83.45),
        ("00:01:23.450", 83.45),
        ("1:23.4", 83.4),
        ("1:02:03", 3723.0),
        ("0:00:00,000", 0.0),
        ("12:00:00,001", 43200.001),
        ("12.34567", 12.346),  # kept to the millisecond
        (12.5, 12.5),
        (83, 83.0),
    ],
)
def test_every_accepted_format_reads_as_seconds(text, seconds):
    assert parse_timestamp(text) == seconds


def test_a_clock_and_the_same_seconds_are_the_same_float():
    # Equal floats matter: the unique constraint compares segment_start exactly.
    assert parse_timestamp("00:01:23,450") == parse_timestamp("83.45") == 83.45


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is empty"),
        ("-1", "negative"),
        ("-00:00:01,000", "negative"),
        (-0.5, "negative"),
        ("12,5", "ambiguous"),
        ("abc", "not a time"),
        ("1:2:3", "HH:MM:SS"),
        ("00:61:00,000", "below 60"),
        ("00:00:75", "below 60"),
        ("1:2:3:4", "HH:MM:SS"),
        ("12.", "not a time"),
        (float("nan"), "not a time"),
        (True, "not a time"),
    ],
)
def test_garbage_and_negative_times_are_refused_with_a_reason(text, reason):
    with pytest.raises(TimestampError, match=reason):
        parse_timestamp(text)


@given(st.integers(min_value=0, max_value=99 * 3_600_000 - 1))
def test_formatted_times_read_back_to_the_same_millisecond(milliseconds):
    seconds = milliseconds / 1000
    text = format_timestamp(seconds)
    assert parse_timestamp(text) == seconds
    assert parse_timestamp(text.replace(",", ".")) == seconds
    assert parse_timestamp(f"{seconds:.3f}") == seconds
