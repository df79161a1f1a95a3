"""Generated demo utterances whose modalities express emotions independently.

The demo corpus (`manage.py make_demo`) needs clips where text, voice and face may disagree,
as they do in CHERMA (SPEC §3: every pair of modalities disagrees on more than 30 % of
samples), and where the truth is known. Each planned utterance has an underlying emotion (the
`m` label); each of `t`, `a`, `v` shows it with probability 1 - inconsistency, otherwise a
different emotion. Everything is synthetic and labelled so: programmes are called "合成剧 N".

Multi-label corpora (`co_occurrence` > 0): a modality may also express a second emotion, as
a compound expression: the face's and the voice's parameters are the mean of the two
emotions' (compound facial expressions combine both emotions' action units), and the
transcript adds a sentence of the second emotion. So each modality's content carries the
signal of its own set of emotions. With `co_occurrence` 0 every plan and clip is exactly as
before.

Pure Python, no Django. Deterministic for a seed.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from dataclasses import astuple, dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from labeling.emotions import EMOTIONS

GENDERS = ("female", "male")
AGE_GROUPS = ("preteen", "teen", "middle-age", "old")
SCENARIOS = ("household", "hospital", "restaurant", "office", "outdoor", "telephone")
PROGRAMMES = tuple(f"合成剧 {k}" for k in range(1, 6))
MAX_CHARS = 63  # CHERMA utterances have 4 to 63 words; every template has at least 4
# x264's macroblock-tree rate control made the bytes differ from run to run; without it the
# same seed gives the same file.
X264_OPTIONS = {"crf": "23", "preset": "veryfast", "x264-params": "mbtree=0"}


@dataclass(frozen=True)
class SyntheticUtterance:
    underlying: str  # the utterance's "true" (multimodal) emotion, ground truth for m
    text_emotion: str  # emotion the transcript expresses (ground truth for t)
    voice_emotion: str  # emotion the voice-like audio expresses (ground truth for a)
    face_emotion: str  # emotion the drawn face expresses (ground truth for v)
    transcript: str  # Chinese, from templates, 4..63 characters
    seconds: float
    speaker_gender: str  # "female" | "male"
    age_group: str  # "preteen" | "teen" | "middle-age" | "old"
    programme: str  # e.g. "合成剧 1" — clearly synthetic
    scenario: str  # household, hospital, restaurant, office, outdoor, telephone
    seed: int
    # Multi-label corpora: a second emotion the modality expresses as well ("" when none).
    underlying_also: str = ""
    text_also: str = ""
    voice_also: str = ""
    face_also: str = ""

    def emotions(self, modality: str) -> tuple[str, ...]:
        """Every emotion the modality was made to express (m: the underlying ones)."""
        field = {"t": "text", "a": "voice", "v": "face", "m": "underlying"}[modality]
        first = getattr(self, "underlying" if modality == "m" else f"{field}_emotion")
        second = getattr(self, f"{field}_also")
        return (first, second) if second else (first,)


# --------------------------------------------------------------------------------------------
# Planning


def plan_corpus(
    n: int, *, inconsistency: float = 0.35, seed: int = 0, co_occurrence: float = 0.0
) -> list[SyntheticUtterance]:
    """Plan `n` utterances; each of t, a, v deviates from the underlying emotion with
    probability `inconsistency` (to a uniformly chosen other emotion). With `co_occurrence`
    an utterance also has a second emotion with that probability (`_add_second_emotions`).
    Deterministic."""
    if not 0.0 <= inconsistency <= 1.0:
        raise ValueError(f"inconsistency must be between 0 and 1, got {inconsistency}.")
    if not 0.0 <= co_occurrence <= 1.0:
        raise ValueError(f"co_occurrence must be between 0 and 1, got {co_occurrence}.")
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        underlying = rng.choice(EMOTIONS)
        shown = [_maybe_deviate(rng, underlying, inconsistency) for _ in "tav"]
        scenario = rng.choice(SCENARIOS)
        item_seed = rng.randrange(2**31)
        transcript = make_transcript(shown[0], scenario, random.Random(item_seed))
        items.append(
            SyntheticUtterance(
                underlying=underlying,
                text_emotion=shown[0],
                voice_emotion=shown[1],
                face_emotion=shown[2],
                transcript=transcript,
                seconds=_timeline(transcript, shown[1], item_seed)[1],
                speaker_gender=rng.choice(GENDERS),
                age_group=rng.choice(AGE_GROUPS),
                programme=rng.choice(PROGRAMMES),
                scenario=scenario,
                seed=item_seed,
            )
        )
    if co_occurrence:
        second = random.Random(f"{seed}:co-occurrence")  # the single-label plan stays as it is
        items = [_add_second_emotions(i, second, inconsistency, co_occurrence) for i in items]
    return items


def _add_second_emotions(
    item: SyntheticUtterance, rng: random.Random, inconsistency: float, co_occurrence: float
) -> SyntheticUtterance:
    """The underlying second emotion comes with probability `co_occurrence`; each of t, a, v
    shows it with probability 1 - inconsistency, else (with `co_occurrence`) another one.
    Neutrality is never half of a pair, and a second emotion differs from the first."""

    def other(first: str) -> str:
        return rng.choice([e for e in EMOTIONS if e not in (first, "neutrality")])

    def usable(first: str, second: str) -> str:
        return second if "neutrality" not in (first, second) and second != first else ""

    underlying = (
        usable(item.underlying, other(item.underlying)) if rng.random() < co_occurrence else ""
    )
    shown = []
    for first in (item.text_emotion, item.voice_emotion, item.face_emotion):
        if rng.random() >= inconsistency:
            second = underlying
        else:
            second = other(first) if rng.random() < co_occurrence else ""
        shown.append(usable(first, second))
    transcript = item.transcript
    if shown[0]:
        transcript = _with_sentence_of(transcript, shown[0], item.scenario, item.seed)
        shown[0] = shown[0] if transcript != item.transcript else ""
    planned = replace(
        item,
        transcript=transcript,
        underlying_also=underlying,
        text_also=shown[0],
        voice_also=shown[1],
        face_also=shown[2],
    )
    return replace(planned, seconds=_timeline(transcript, _voice_of(planned), item.seed)[1])


def _with_sentence_of(text: str, emotion: str, scenario: str, seed: int) -> str:
    """`text` followed by a sentence expressing `emotion`, if one fits in MAX_CHARS."""
    rng = random.Random(seed ^ 0x5EC0)
    slots = {name: rng.choice(words) for name, words in _SLOTS.items()}
    slots["place"] = rng.choice(_PLACES[scenario])
    sentences = [template.format(**slots) for template in _TEMPLATES[emotion]]
    fitting = [s for s in sentences if len(text) + len(s) <= MAX_CHARS]
    return text + rng.choice(fitting) if fitting else text


def _maybe_deviate(rng: random.Random, emotion: str, inconsistency: float) -> str:
    if rng.random() < inconsistency:
        return rng.choice([e for e in EMOTIONS if e != emotion])
    return emotion


# --------------------------------------------------------------------------------------------
# Transcripts: per emotion, templates with slots; the emotion is in the words.

# One template per line; slots in braces are filled from _SLOTS and _PLACES.
_TEMPLATE_TEXT = {
    "happiness": """
        今天{event}真是太好了！
        太棒了，{person}终于{good}了！
        我好开心啊，{event}这么顺利。
        哈哈，{person}你看，我们{good}了！
        真高兴能和{person}一起去{place}。
        这是我最幸福的一天，谢谢{person}！
        听说{person}{good}了，我高兴得睡不着。
        太好了！
        真开心啊！
    """,
    "sadness": """
        {person}走了以后，{place}好冷清。
        我真的好难过，{event}就这样没了。
        对不起，我再也见不到{person}了……
        为什么{event}偏偏是这样的结果，我好伤心。
        一个人待在{place}，心里空落落的。
        我努力了这么久，最后还是{bad}了。
        想起{person}，我就忍不住想哭。
        我好难过。
    """,
    "fear": """
        别过来！{place}里好像有人……
        我好害怕，{event}会不会出事？
        你听，外面是什么声音？我不敢一个人待在{place}。
        天哪，{person}怎么还没回来，我怕极了。
        求求你，别把我一个人留在{place}。
        我心里直发慌，{event}要是失败了可怎么办？
        救命啊！
    """,
    "anger": """
        你到底有完没完！{event}又被你搞砸了！
        气死我了，{person}竟然敢骗我！
        我说了多少遍了，不许再乱动我的{thing}！
        滚出去！我不想再看到你！
        凭什么{event}要我一个人扛？太过分了！
        {person}，你给我站住！把话说清楚！
        你给我滚！
    """,
    "surprise": """
        什么？{person}居然{good}了？
        天哪，真没想到{event}会是这样！
        咦，你怎么会在{place}？
        不会吧，{person}竟然一直都知道？
        哇，这么快就{good}了？我还以为要等好几年呢！
        真的假的？
    """,
    "disgust": """
        真恶心，{place}里全是{filth}。
        呸，这种{thing}谁吃得下去？
        离我远点，你身上什么味道，太难闻了。
        我最讨厌{person}那副虚伪的样子，看着就反胃。
        这么脏的{thing}，你也好意思拿出来？
        真恶心！
    """,
    "neutrality": """
        {time}在{place}开会。
        {person}说{time}到。
        这份文件放在{place}的桌子上了。
        我们坐地铁去{place}，大概要四十分钟。
        请把{thing}递给我一下。
        今天的天气预报说有小雨。
        好的，知道了。
    """,
}
_TEMPLATES = {emotion: tuple(text.split()) for emotion, text in _TEMPLATE_TEXT.items()}
_INTERJECTIONS = {
    "happiness": "哈哈，",
    "sadness": "唉，",
    "fear": "啊，",
    "anger": "喂！",
    "surprise": "啊？",
    "disgust": "呃，",
    "neutrality": "嗯，",
}
_PLACES = {
    "household": "家里 厨房 客厅 卧室".split(),
    "hospital": "医院 病房 急诊室 走廊".split(),
    "restaurant": "餐厅 饭馆 包间 后厨".split(),
    "office": "办公室 会议室 公司 茶水间".split(),
    "outdoor": "公园 街上 停车场 河边".split(),
    "telephone": "车站 机场 家里 宿舍".split(),
}
_SLOTS = {
    "person": "妈妈 爸爸 小王 李老师 王医生 老张 姐姐 哥哥 张经理 小丽".split(),
    "event": "这次考试 面试 比赛 搬家的事 这个项目 体检结果 年夜饭 婚礼".split(),
    "good": "考上大学 找到工作 康复出院 拿到奖金 订婚 升职".split(),
    "bad": "被裁员 落选 没考上 输了比赛".split(),
    "thing": "饭菜 汤 外卖 剩菜 文件 衣服 钥匙".split(),
    "filth": "垃圾 苍蝇 蟑螂 剩饭 烟头".split(),
    "time": "明天上午九点 下午三点 周五晚上 下个月初".split(),
}


def make_transcript(emotion: str, scenario: str, rng: random.Random) -> str:
    """A Chinese line (4..63 characters) whose words express `emotion`."""
    slots = {name: rng.choice(words) for name, words in _SLOTS.items()}
    slots["place"] = rng.choice(_PLACES[scenario])
    templates = _TEMPLATES[emotion]
    text = rng.choice(templates).format(**slots)
    if rng.random() < 0.3:
        text = _INTERJECTIONS[emotion] + text
    if rng.random() < 0.3:  # a second sentence of the same emotion
        longer = text + rng.choice(templates).format(**slots)
        if len(longer) <= MAX_CHARS:
            text = longer
    return text[:MAX_CHARS]


# --------------------------------------------------------------------------------------------
# Voice: one syllable per Chinese character, pauses at punctuation; prosody by emotion.


@dataclass(frozen=True)
class _Voice:
    pitch: float  # factor on the speaker's base f0
    spread: float  # semitones of syllable-to-syllable pitch variation
    trend: float  # semitones of rise (+) or fall (-) over the utterance
    loudness: float  # peak amplitude
    rate: float  # syllables per second
    tilt: float  # spectral tilt: higher is darker
    breath: float  # aspiration noise
    tremor: float  # semitones of 7 Hz pitch tremor


_VOICES = {
    "happiness": _Voice(1.25, 3.0, 1.0, 0.60, 5.2, 1.0, 0.02, 0.0),
    "sadness": _Voice(0.85, 0.8, -2.5, 0.20, 3.2, 1.8, 0.05, 0.0),
    "fear": _Voice(1.35, 2.0, 1.5, 0.38, 5.8, 1.3, 0.12, 0.8),
    "anger": _Voice(1.30, 2.5, -1.0, 0.85, 6.0, 0.7, 0.03, 0.0),
    "surprise": _Voice(1.40, 3.5, 4.0, 0.60, 5.0, 1.1, 0.03, 0.0),
    "disgust": _Voice(0.90, 1.5, -1.5, 0.35, 3.8, 1.5, 0.06, 0.0),
    "neutrality": _Voice(1.00, 1.0, -0.5, 0.45, 4.5, 1.3, 0.02, 0.0),
}
_BASE_F0 = {
    ("female", "preteen"): 280.0,
    ("female", "teen"): 240.0,
    ("female", "middle-age"): 210.0,
    ("female", "old"): 190.0,
    ("male", "preteen"): 270.0,
    ("male", "teen"): 150.0,
    ("male", "middle-age"): 120.0,
    ("male", "old"): 110.0,
}
_VOWELS = ((800, 1200), (300, 2300), (350, 800), (500, 1800), (500, 900))  # F1, F2 in Hz
_PAUSES = {"，": 0.22, "、": 0.18, "。": 0.35, "！": 0.35, "？": 0.35, "…": 0.3}
_LEAD = 0.3  # silence before and after speech, seconds


def _blend(kind, first: str, second: str, table: dict):
    """The compound of two emotions' parameters (their mean), or the first's alone."""
    if not second:
        return table[first]
    pairs = zip(astuple(table[first]), astuple(table[second]), strict=True)
    return kind(*((x + y) / 2 for x, y in pairs))


def _voice_of(item: SyntheticUtterance) -> _Voice:
    return _blend(_Voice, item.voice_emotion, item.voice_also, _VOICES)


def _timeline(transcript: str, voice: str | _Voice, seed: int) -> tuple[list, float]:
    """Syllable (start, duration) pairs in seconds and the clip length, fixed by the seed."""
    rng = random.Random(seed ^ 0x5EED)
    mean = 1.0 / (_VOICES[voice] if isinstance(voice, str) else voice).rate
    t, syllables = _LEAD, []
    for char in transcript:
        if char in _PAUSES:
            t += _PAUSES[char] * mean / 0.2
        elif not char.isspace():
            duration = mean * rng.uniform(0.8, 1.2)
            syllables.append((t, duration))
            t += duration
    return syllables, round(t + _LEAD, 2)


def _voice_signal(item: SyntheticUtterance, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mono float32 samples in [-1, 1] and the amplitude envelope (0..1) per sample."""
    voice = _voice_of(item)
    rng = np.random.default_rng(item.seed)
    syllables, natural = _timeline(item.transcript, voice, item.seed)
    seconds = item.seconds  # honour the planned length; stretch the speech to fit if edited
    stretch = seconds / natural
    syllables = [(start * stretch, duration * stretch) for start, duration in syllables]
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    envelope = np.zeros(n)
    semitones = np.zeros(n)
    f1 = np.full(n, 500.0)
    f2 = np.full(n, 1500.0)
    for start, duration in syllables:
        a, b = round(start * sample_rate), min(n, round((start + duration) * sample_rate))
        x = np.linspace(0.0, 1.0, b - a)
        envelope[a:b] = np.minimum(1.0, x / 0.15) * np.minimum(1.0, (1.0 - x) / 0.35) ** 0.7
        envelope[a:b] *= rng.uniform(0.7, 1.0)
        semitones[a:b] = rng.normal(0.0, voice.spread)
        f1[a:b], f2[a:b] = _VOWELS[rng.integers(len(_VOWELS))]
    semitones = _smooth(semitones, int(0.04 * sample_rate))
    semitones += voice.trend * t / max(seconds, 1e-6)
    semitones += voice.tremor * np.sin(2 * np.pi * 7.0 * t)
    f0 = _BASE_F0[(item.speaker_gender, item.age_group)] * voice.pitch * 2 ** (semitones / 12)
    formant_scale = 1.0 if item.speaker_gender == "male" and item.age_group != "preteen" else 1.15
    f1, f2 = _smooth(f1, 320) * formant_scale, _smooth(f2, 320) * formant_scale

    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    signal = np.zeros(n)
    for k in range(1, int(min(4000, sample_rate / 2 - 200) / f0.max()) + 1):
        freq = k * f0
        gain = 1 / (1 + ((freq - f1) / 90) ** 2) + 0.6 / (1 + ((freq - f2) / 120) ** 2) + 0.03
        signal += gain * np.sin(k * phase) / k ** (voice.tilt - 0.5)
    signal /= np.abs(signal).max() or 1.0
    signal += voice.breath * rng.standard_normal(n)
    signal = np.tanh(1.5 * signal * envelope) / math.tanh(1.5)  # a touch of vocal strain
    signal = signal / (np.abs(signal).max() or 1.0) * voice.loudness
    signal += 0.002 * rng.standard_normal(n)  # room noise, so silence is not digital zero
    return np.clip(signal, -1, 1).astype(np.float32), envelope


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    if width < 2:
        return x
    return np.convolve(x, np.ones(width) / width, mode="same")


# --------------------------------------------------------------------------------------------
# Face: a frontal cartoon face with FACS-like parameters per emotion.


@dataclass(frozen=True)
class _Face:
    brow_raise: float  # whole brow up (+) or down (-), face units
    brow_inner: float  # inner ends up (+: sad, fearful) or down (-: angry)
    eye_open: float  # 1 is relaxed
    smile: float  # mouth corners up (+) or down (-)
    mouth_open: float  # 0 closed .. 1 wide open
    mouth_width: float  # 1 is relaxed
    sneer: float  # upper lip raised on one side, nose wrinkled (disgust)


_FACES = {
    "happiness": _Face(0.02, 0.00, 0.75, 0.13, 0.25, 1.20, 0.0),
    "sadness": _Face(-0.01, 0.09, 0.60, -0.09, 0.00, 0.90, 0.0),
    "fear": _Face(0.08, 0.08, 1.45, -0.03, 0.35, 1.20, 0.0),
    "anger": _Face(-0.06, -0.10, 0.70, -0.05, 0.15, 1.00, 0.0),
    "surprise": _Face(0.10, 0.03, 1.55, 0.00, 0.70, 0.70, 0.0),
    "disgust": _Face(-0.04, -0.04, 0.60, -0.05, 0.10, 0.95, 1.0),
    "neutrality": _Face(0.00, 0.00, 1.00, 0.00, 0.00, 1.00, 0.0),
}
_SKINS = ((224, 186, 160), (210, 165, 130), (235, 200, 175), (190, 145, 110))  # RGB
_HAIR = ((30, 25, 22), (55, 40, 30), (90, 85, 80))
_BACKDROPS = {
    "household": (196, 180, 150),
    "hospital": (200, 215, 220),
    "restaurant": (150, 110, 80),
    "office": (170, 175, 180),
    "outdoor": (140, 175, 200),
    "telephone": (175, 165, 185),
}


class _FacePainter:
    """Draws frames of one speaker; the look is fixed by the seed, the expression by the face."""

    def __init__(self, item: SyntheticUtterance, width: int, height: int) -> None:
        rng = random.Random(item.seed ^ 0xFACE)
        self.w, self.h = width, height
        self.face = _blend(_Face, item.face_emotion, item.face_also, _FACES)
        self.skin = rng.choice(_SKINS)
        self.hair = (130, 128, 125) if item.age_group == "old" else rng.choice(_HAIR)
        self.long_hair = item.speaker_gender == "female"
        self.shirt = tuple(rng.randrange(40, 200) for _ in range(3))
        self.unit = 0.36 * height  # face half-height in pixels
        self.phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
        self.blinks = [rng.uniform(0.5, 2.0)]
        while self.blinks[-1] < item.seconds:
            self.blinks.append(self.blinks[-1] + rng.uniform(2.0, 4.0))
        self.background = self._backdrop(_BACKDROPS[item.scenario])

    def _backdrop(self, colour: tuple[int, int, int]) -> np.ndarray:
        ramp = np.linspace(1.08, 0.85, self.h)[:, None, None]
        img = np.clip(np.array(colour, float)[None, None, :] * ramp, 0, 255)
        return np.broadcast_to(img, (self.h, self.w, 3)).astype(np.uint8)

    def frame(self, time: float, voice_level: float) -> np.ndarray:
        """An RGB frame at `time` seconds; `voice_level` (0..1) opens the mouth a little."""
        img = self.background.copy()
        p = self.phases
        cx = self.w / 2 + 0.012 * self.w * math.sin(2 * math.pi * 0.31 * time + p[0])
        cy = self.h * 0.52 + 0.010 * self.h * math.sin(2 * math.pi * 0.43 * time + p[1])
        tilt = math.radians(2.5 * math.sin(2 * math.pi * 0.21 * time + p[2]))
        u = self.unit
        cos, sin = math.cos(tilt), math.sin(tilt)

        def pt(x: float, y: float) -> tuple[int, int]:  # face units → pixels (rotated)
            return (round(cx + u * (x * cos - y * sin)), round(cy + u * (x * sin + y * cos)))

        def ellipse(x, y, rx, ry, colour, thickness=-1, angle=0.0):
            cv2.ellipse(
                img,
                pt(x, y),
                (max(1, round(rx * u)), max(1, round(ry * u))),
                math.degrees(tilt) + angle,
                0,
                360,
                colour,
                thickness,
                cv2.LINE_AA,
            )

        def line(points, colour, thickness):
            pts = np.array([pt(x, y) for x, y in points], np.int32)
            cv2.polylines(img, [pts], False, colour, max(1, round(thickness * u)), cv2.LINE_AA)

        skin = np.array(self.skin, float)
        shade = tuple(int(c) for c in skin * 0.80)
        deep = tuple(int(c) for c in skin * 0.55)
        # Body, neck, hair behind the head, then the face.
        if self.long_hair:
            cv2.fillPoly(
                img,
                [
                    np.array(
                        [pt(-0.9, -0.2), pt(0.9, -0.2), pt(0.98, 1.05), pt(-0.98, 1.05)], np.int32
                    )
                ],
                self.hair,
                cv2.LINE_AA,
            )
        cv2.fillPoly(
            img,
            [np.array([pt(-0.33, 0.6), pt(0.33, 0.6), pt(0.36, 1.4), pt(-0.36, 1.4)], np.int32)],
            shade,
            cv2.LINE_AA,
        )
        cv2.ellipse(
            img,
            pt(0, 1.75),
            (round(1.5 * u), round(0.6 * u)),
            math.degrees(tilt),
            180,
            360,
            self.shirt,
            -1,
            cv2.LINE_AA,
        )
        ellipse(0, -0.12, 0.90, 1.02, self.hair)
        ellipse(0, 0, 0.78, 1.0, self.skin)
        ellipse(0, -0.84, 0.74, 0.24, self.hair)  # fringe, clear of raised brows
        ellipse(0, -0.90, 0.76, 0.20, self.hair)
        for side in (-1, 1):
            ellipse(side * 0.79, 0.02, 0.08, 0.17, shade)  # ears
            ellipse(side * 0.33, -0.17, 0.24, 0.15, shade)  # eye sockets

        f = self.face
        blinking = any(0 <= time - b < 0.12 for b in self.blinks)
        for side in (-1, 1):
            # Eyebrow: inner end at x=±0.12, outer at ±0.52.
            inner_y = -0.42 - f.brow_raise - f.brow_inner
            outer_y = -0.42 - f.brow_raise + 0.5 * f.brow_inner
            line(
                [
                    (side * 0.12, inner_y),
                    (side * 0.32, min(inner_y, outer_y) - 0.04),
                    (side * 0.52, outer_y),
                ],
                self.hair,
                0.07,
            )
            # Eye: white, iris, pupil, upper lid; closed when blinking.
            ex, ey = side * 0.33, -0.17
            open_y = 0.075 * (0.08 if blinking else f.eye_open)
            if not blinking:
                ellipse(ex, ey, 0.15, open_y, (245, 245, 240))
                ellipse(ex, ey, 0.065, min(0.065, open_y), (60, 45, 35))
                ellipse(ex, ey, 0.03, min(0.03, open_y), (10, 10, 10))
            line(
                [
                    (ex - 0.16, ey),
                    (ex - 0.08, ey - open_y),
                    (ex + 0.08, ey - open_y),
                    (ex + 0.16, ey),
                ],
                (40, 30, 25),
                0.025,
            )
            line([(side * 0.09, -0.12), (side * 0.11, 0.15), (side * 0.15, 0.22)], shade, 0.03)
            ellipse(side * 0.07, 0.24, 0.04, 0.022, deep)  # nostrils
        ellipse(0, 0.0, 0.05, 0.18, tuple(min(255, int(c * 1.08)) for c in skin))  # nose bridge
        if f.sneer:
            line([(-0.12, -0.02), (-0.05, 0.02)], shade, 0.02)
            line([(0.12, -0.02), (0.05, 0.02)], shade, 0.02)
        self._mouth(img, pt, u, voice_level)
        return img

    def _mouth(self, img, pt, u: float, voice_level: float) -> None:
        f = self.face
        half = 0.24 * f.mouth_width
        opening = 0.16 * min(1.0, f.mouth_open + 0.35 * voice_level)
        xs = np.linspace(-1.0, 1.0, 15)
        corner_lift = f.smile * xs**2  # corners move, the middle stays
        sneer = 0.05 * f.sneer * np.clip(xs, 0, 1)
        upper = [
            (half * x, 0.50 - c - s - 0.25 * opening * (1 - x**2))
            for x, c, s in zip(xs, corner_lift, sneer, strict=True)
        ]
        lower = [
            (half * x, 0.50 - c + 0.75 * opening * (1 - x**2))
            for x, c in zip(xs, corner_lift, strict=True)
        ]
        lips = (150, 70, 70)
        if opening > 0.01:
            inside = np.array([pt(x, y) for x, y in upper + lower[::-1]], np.int32)
            cv2.fillPoly(img, [inside], (70, 25, 30), cv2.LINE_AA)
            if f.smile > 0.05 or f.brow_inner < -0.05:  # teeth when smiling or snarling
                teeth = [(x, y + 0.02) for x, y in upper[3:-3]]
                pts = np.array([pt(x, y) for x, y in teeth], np.int32)
                cv2.polylines(
                    img, [pts], False, (235, 235, 225), max(1, round(0.04 * u)), cv2.LINE_AA
                )
        for curve in (upper, lower):
            pts = np.array([pt(x, y) for x, y in curve], np.int32)
            cv2.polylines(img, [pts], False, lips, max(1, round(0.035 * u)), cv2.LINE_AA)


class _ScenePainter:
    """No speaker (the empty backdrop) or several drawn side by side, each in its own strip."""

    def __init__(self, item: SyntheticUtterance, width: int, height: int, faces: int) -> None:
        # Each speaker keeps the single speaker's 4:3 framing, scaled down to fit.
        strip = width // max(faces, 1)
        self.strip_height = min(height, strip * 3 // 4)
        self.painters = [
            _FacePainter(replace(item, seed=item.seed + k), strip, self.strip_height)
            for k in range(faces)
        ]
        self.empty = _FacePainter(item, width, height).background

    def frame(self, time: float, voice_level: float) -> np.ndarray:
        img = self.empty.copy()
        if self.painters:
            top = (img.shape[0] - self.strip_height) // 2
            joined = np.concatenate([p.frame(time, voice_level) for p in self.painters], axis=1)
            img[top : top + self.strip_height, : joined.shape[1]] = joined
        return img


def _scene_painter(item: SyntheticUtterance, width: int, height: int, faces: int):
    if faces == 1:
        return _FacePainter(item, width, height)  # the demo corpus's clips, unchanged
    if not 0 <= faces <= 2:
        raise ValueError(f"Draw 0, 1 or 2 faces, not {faces}.")
    return _ScenePainter(item, width, height, faces)


# --------------------------------------------------------------------------------------------
# Writing


def write_media(
    item: SyntheticUtterance,
    path: str | Path,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    sample_rate: int = 16000,
    faces: int = 1,
    voice: bool = True,
    audio: bool = True,
) -> None:
    """Write `item` as an MP4 (H.264 + AAC) lasting `item.seconds`: a drawn face showing
    `face_emotion` and a voice-like signal showing `voice_emotion`. Same seed, same bytes.

    For testing clip screening: `faces` draws 0, 1 or 2 speakers (two side by side),
    `voice=False` makes the audio track digital silence, `audio=False` leaves it out.
    """
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for H.264, got {width}x{height}.")
    path = Path(path)
    samples, envelope = _voice_signal(item, sample_rate)
    if not voice:
        samples, envelope = np.zeros_like(samples), np.zeros_like(envelope)
    painter = _scene_painter(item, width, height, faces)
    n_frames = max(1, round(len(samples) / sample_rate * fps))
    hop = sample_rate / fps

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    os.close(fd)
    try:
        with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=fps, options=dict(X264_OPTIONS))
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            sound_stream = out.add_stream("aac", rate=sample_rate) if audio else None
            if sound_stream is not None:
                sound_stream.layout = "mono"
            for i in range(n_frames):
                window = envelope[int(i * hop) : int((i + 1) * hop)]
                level = float(window.mean()) if window.size else 0.0
                frame = av.VideoFrame.from_ndarray(painter.frame(i / fps, level), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
            if sound_stream is not None:
                sound = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
                sound.sample_rate, sound.pts = sample_rate, 0
                sound.time_base = Fraction(1, sample_rate)
                out.mux(sound_stream.encode(sound))
                out.mux(sound_stream.encode(None))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
