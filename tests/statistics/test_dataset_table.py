"""Table 1 numbers and word counting."""

import sys
import unicodedata

import pandas as pd
import pytest

from labeling.statistics import (
    LETTER_OR_DIGIT_RE,
    count_words,
    dataset_table,
    dataset_table_by_split,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("你好，世界！", 4),  # full-width punctuation is not a word
        ("“我不知道……”他说。", 6),
        ("我 用 电 脑", 4),  # spaces between characters do not count
        ("我用iPhone打了2023个电话。", 9),  # a Latin or digit run inside Chinese counts once
        ("Hello, world!", 2),
        ("Well — I don't know ...", 4),  # a lone dash or ellipsis is not a word
        ("", 0),
        (None, 0),
        (float("nan"), 0),
    ],
)
def test_count_words_by_script(text, words):
    assert count_words(text) == words


def test_a_word_needs_a_letter_or_digit_of_any_script_and_the_pattern_says_exactly_that():
    assert count_words("١٢٣ — Ελλάδα ½ _ __init__ ‿") == 4  # Arabic digits, Greek, ½, __init__
    # Table 1 counts a token holding a character of Unicode category L* or N*: the pattern
    # (a regular expression, not a call per character) matches exactly those, everywhere.
    differ = [
        hex(point)
        for point in range(sys.maxunicode + 1)
        if (unicodedata.category(chr(point))[0] in "LN")
        != bool(LETTER_OR_DIGIT_RE.match(chr(point)))
    ]
    assert differ == []


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "duration_seconds": [3.0, 6.0, 4.5, 10.5],
            "transcript": ["你好，世界！", "我今天很高兴。", "好", "这是怎么回事？你说啊！"],
            "speaker_gender": ["female", "male", "female", ""],
            "age_group": ["teen", "old", "teen", "elder"],
            "split": ["train", "test", "train", "validation"],
        }
    )


def test_dataset_table_matches_hand_counts():
    table = dataset_table(frame())
    assert table["utterances"] == 4
    assert table["total_minutes"] == pytest.approx(24.0 / 60)
    assert table["mean_seconds"] == pytest.approx(6.0)
    assert (table["min_words"], table["max_words"]) == (1, 9)
    assert table["gender"] == {"male": 1, "female": 2, "unknown": 1}
    assert table["age_group"] == {"preteen": 0, "teen": 2, "middle-age": 0, "old": 1, "elder": 1}
    assert list(table["gender"]) == ["male", "female", "unknown"]  # paper's rows first


def test_dataset_table_of_empty_frame_has_none_for_undefined_numbers():
    empty = frame().iloc[:0]
    table = dataset_table(empty)
    assert table["utterances"] == 0 and table["total_minutes"] is None
    assert table["mean_seconds"] is None and table["min_words"] is None
    assert table["gender"] == {"male": 0, "female": 0}


def test_dataset_table_names_missing_columns():
    with pytest.raises(ValueError, match="transcript"):
        dataset_table(frame().drop(columns="transcript"))


def test_dataset_table_by_split_orders_train_validation_test():
    tables = dataset_table_by_split(frame())
    assert list(tables) == ["train", "validation", "test"]
    assert tables["train"]["utterances"] == 2
    assert tables["train"]["total_minutes"] == pytest.approx(7.5 / 60)
    assert tables["validation"]["max_words"] == 9


def test_dataset_table_by_split_needs_split_column():
    with pytest.raises(ValueError, match="split"):
        dataset_table_by_split(frame().drop(columns="split"))


def test_table_1_of_utterances_without_media_has_no_length_or_words():
    labels_only = pd.DataFrame(
        {
            "duration_seconds": [0.0, 0.0],
            "transcript": ["", "  "],
            "speaker_gender": ["", ""],
            "age_group": ["", ""],
        }
    )
    table = dataset_table(labels_only)
    assert table["utterances"] == 2
    assert (table["timed_utterances"], table["transcribed_utterances"]) == (0, 0)
    assert table["total_minutes"] is None and table["mean_seconds"] is None
    assert table["min_words"] is None and table["max_words"] is None


def test_table_1_lengths_and_words_cover_only_utterances_that_have_them():
    mixed = pd.concat(
        [
            frame().drop(columns="split"),
            pd.DataFrame(
                {
                    "duration_seconds": [0.0],
                    "transcript": [""],
                    "speaker_gender": [""],
                    "age_group": [""],
                }
            ),
        ]
    )
    table = dataset_table(mixed)
    assert (table["utterances"], table["timed_utterances"], table["transcribed_utterances"]) == (
        5,
        4,
        4,
    )
    assert table["total_minutes"] == pytest.approx(24.0 / 60)
    assert table["mean_seconds"] == pytest.approx(6.0)
    assert (table["min_words"], table["max_words"]) == (1, 9)
