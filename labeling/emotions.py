"""Emotion and modality vocabularies of CHERMA (LFMIM paper, ACL 2023, §1 of SPEC.md).

Pure Python: the Django models, the exporter and the training code all import these names,
so there is exactly one spelling of every label.
"""

from __future__ import annotations

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
