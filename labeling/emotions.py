"""Emotion and modality vocabularies of CHERMA (LFMIM paper, ACL 2023, §1 of SPEC.md).

Pure Python: the Django models, the exporter and the training code all import these names,
so there is exactly one spelling of every label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Ekman's six basic emotions plus neutral, in the order the paper lists them.
EMOTIONS: tuple[str, ...] = (
    "happiness",
    "sadness",
    "fear",
    "anger",
    "surprise",
    "disgust",
    "neutrality",
)

# CH-SIMS's five sentiment classes (SPEC §6: the 5-class bins of the score s in [-1, 1]).
SIMS_SENTIMENTS: tuple[str, ...] = (
    "strongly negative",
    "weakly negative",
    "neutral",
    "weakly positive",
    "strongly positive",
)

# CMU-MOSEI's six emotions in the order its releases (and TAILOR's code) number them
# (SPEC §8); a multi-label label set: any of them may hold at once.
MOSEI_EMOTIONS: tuple[str, ...] = ("happy", "sad", "anger", "surprise", "disgust", "fear")

# CMU-MOSEI's names for CHERMA's emotions (the others are spelled alike; neutrality has none:
# in a multi-label set it is the absence of every emotion).
MOSEI_NAMES: dict[str, str] = {"happiness": "happy", "sadness": "sad"}


def emotion_label_set(
    emotions: str | Iterable[str], labels: Sequence[str]
) -> frozenset[str] | None:
    """Emotions (CHERMA names, as synthetic truth gives them) as a multi-label answer over
    `labels`: the labels the set has of them (under their own or CMU-MOSEI's names); {} for
    neutrality or emotions the set lacks; None when the label set names none of CHERMA's
    emotions at all (its labels are about something else, e.g. sentiment)."""
    emotions = [emotions] if isinstance(emotions, str) else list(emotions)
    names = {name: name for name in EMOTIONS} | {MOSEI_NAMES[n]: n for n in MOSEI_NAMES}
    covered = {names[label]: label for label in labels if label in names}
    if not set(covered) - {"neutrality"}:
        return None
    return frozenset(covered[emotion] for emotion in emotions if emotion in covered)


# Label sets a campaign can start from, by name: (what it is, its labels in key order 1, 2...).
LABEL_PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cherma": ("CHERMA's 7 emotions", EMOTIONS),
    "ch-sims": ("CH-SIMS's 5 sentiment classes", SIMS_SENTIMENTS),
    "mosei": ("CMU-MOSEI's 6 emotions (for multi-label campaigns)", MOSEI_EMOTIONS),
}


def preset_labels(name: str) -> list[dict]:
    """A preset's labels as a campaign stores them, on keys 1, 2, ...; KeyError if unknown."""
    return [{"name": label, "key": str(i)} for i, label in enumerate(LABEL_PRESETS[name][1], 1)]


# Class ids as the released LFMIM code numbers them (alphabetical by its English names).
# An exported dataset records which of the two orders it uses.
RELEASED_CODE_ORDER: tuple[str, ...] = (
    "anger",
    "disgust",
    "fear",
    "happiness",
    "neutrality",
    "sadness",
    "surprise",
)

# Chinese names used by the released code and the CHERMA annotation guidelines.
CHINESE_NAMES: dict[str, str] = {
    "anger": "愤怒",
    "disgust": "厌恶",
    "fear": "恐惧",
    "happiness": "高兴",
    "neutrality": "平静",
    "sadness": "悲伤",
    "surprise": "惊奇",
}

# t: transcript, a: audio, v: face video without sound, m: the original video with sound.
MODALITIES: tuple[str, ...] = ("t", "a", "v", "m")

MODALITY_NAMES: dict[str, str] = {
    "t": "text",
    "a": "audio",
    "v": "vision",
    "m": "multimodal",
}
