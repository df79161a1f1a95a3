"""Synthetic demo utterances: planned labels keep the ground truth, and the media really
express the planned emotions (face, voice) so the demo's annotators and models have signal."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from labeling.emotions import EMOTIONS
from labeling.media import probe
from labeling.synthetic import (
    AGE_GROUPS,
    GENDERS,
    SCENARIOS,
    SyntheticUtterance,
    plan_corpus,
    write_media,
)
from tests.media.clips import audio_samples, video_frames


def _shows(item: SyntheticUtterance, emotion: str, **changes) -> SyntheticUtterance:
    """The same speaker and line, with face and voice showing `emotion`."""
    return dataclasses.replace(
        item,
        voice_emotion=emotion,
        face_emotion=emotion,
        transcript="今天真是太好了，谢谢你！",
        seconds=2.0,
        **changes,
    )


@pytest.fixture(scope="module")
def speaker():
    return plan_corpus(1, seed=4)[0]


@pytest.fixture(scope="module")
def clips(speaker, tmp_path_factory):
    """One 2-second clip per emotion, same speaker and line."""
    folder = tmp_path_factory.mktemp("synthetic")
    paths = {}
    for emotion in EMOTIONS:
        paths[emotion] = folder / f"{emotion}.mp4"
        write_media(_shows(speaker, emotion), paths[emotion])
    return paths


def _median_pitch(samples: np.ndarray, rate: int) -> float:
    """Median f0 (Hz) of the loud 40 ms frames, from the autocorrelation peak."""
    size = int(0.04 * rate)
    starts = range(0, len(samples) - size, size // 2)
    loudness = np.array([np.sqrt(np.mean(samples[s : s + size] ** 2)) for s in starts])
    pitches = []
    for start, level in zip(starts, loudness, strict=True):
        if level < 0.5 * loudness.max():
            continue
        x = samples[start : start + size] - samples[start : start + size].mean()
        corr = np.correlate(x, x, "full")[size - 1 :]
        low, high = rate // 600, rate // 60
        pitches.append(rate / (low + np.argmax(corr[low:high])))
    return float(np.median(pitches))


def test_plan_corpus_is_deterministic_for_a_seed():
    assert plan_corpus(50, seed=7) == plan_corpus(50, seed=7)
    assert plan_corpus(50, seed=7) != plan_corpus(50, seed=8)


@pytest.mark.parametrize("requested", [0.35, 0.6])
def test_observed_inconsistency_is_near_the_requested_rate(requested):
    items = plan_corpus(2000, inconsistency=requested, seed=1)

    for field in ("text_emotion", "voice_emotion", "face_emotion"):
        observed = np.mean([getattr(item, field) != item.underlying for item in items])
        assert observed == pytest.approx(requested, abs=0.035), field


def test_zero_inconsistency_shows_the_underlying_emotion_in_every_modality():
    for item in plan_corpus(300, inconsistency=0.0, seed=2):
        assert item.text_emotion == item.voice_emotion == item.face_emotion == item.underlying


def test_deviating_modalities_use_every_other_emotion():
    deviations = {
        (item.underlying, item.face_emotion)
        for item in plan_corpus(2000, inconsistency=1.0, seed=3)
    }

    assert all(shown != underlying for underlying, shown in deviations)
    assert len(deviations) == len(EMOTIONS) * (len(EMOTIONS) - 1)


def test_inconsistency_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        plan_corpus(3, inconsistency=1.5)


def test_transcripts_have_4_to_63_characters():
    lengths = [len(item.transcript) for item in plan_corpus(2000, seed=5)]

    assert min(lengths) >= 4 and max(lengths) <= 63


def test_transcript_words_reveal_the_text_emotion():
    """A bag-of-characters nearest-centroid model recovers text_emotion, so a text model can
    learn it; and transcripts vary."""
    train, held_out = plan_corpus(1400, seed=11), plan_corpus(600, seed=12)
    vocabulary = {c: i for i, c in enumerate(sorted({c for it in train for c in it.transcript}))}

    def features(text: str) -> np.ndarray:
        v = np.zeros(len(vocabulary))
        for c in text:
            if c in vocabulary:
                v[vocabulary[c]] += 1
        return v / np.linalg.norm(v)

    centroids = np.array(
        [
            np.mean([features(it.transcript) for it in train if it.text_emotion == e], axis=0)
            for e in EMOTIONS
        ]
    )
    guesses = [EMOTIONS[int(np.argmax(centroids @ features(it.transcript)))] for it in held_out]

    accuracy = np.mean([g == it.text_emotion for g, it in zip(guesses, held_out, strict=True)])
    assert accuracy > 0.85
    assert len({it.transcript for it in train}) > 500


def test_planned_metadata_is_from_the_known_vocabularies_and_clearly_synthetic():
    items = plan_corpus(500, seed=6)

    assert {it.speaker_gender for it in items} == set(GENDERS)
    assert {it.age_group for it in items} == set(AGE_GROUPS)
    assert {it.scenario for it in items} == set(SCENARIOS)
    assert all(it.programme.startswith("合成剧 ") for it in items)
    assert all(1.0 < it.seconds < 20.0 for it in items)


def test_written_clip_is_decodable_h264_and_aac_of_the_planned_length(tmp_path):
    item = plan_corpus(1, seed=9)[0]

    write_media(item, tmp_path / "clip.mp4")

    info = probe(tmp_path / "clip.mp4")
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.frame_rate, info.sample_rate) == (320, 240, 25, 16000)
    assert info.duration == pytest.approx(item.seconds, abs=0.1)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no temp file left


def test_written_clip_is_identical_for_the_same_seed(speaker, tmp_path):
    item = _shows(speaker, "fear")

    write_media(item, tmp_path / "one.mp4")
    write_media(item, tmp_path / "two.mp4")

    assert (tmp_path / "one.mp4").read_bytes() == (tmp_path / "two.mp4").read_bytes()


def test_angry_voice_is_louder_and_higher_than_sad_voice(clips):
    angry, sad = audio_samples(clips["anger"]), audio_samples(clips["sadness"])

    assert np.sqrt(np.mean(angry**2)) > 2 * np.sqrt(np.mean(sad**2))
    assert _median_pitch(angry, 16000) > 1.3 * _median_pitch(sad, 16000)


def test_voice_pitch_follows_the_speaker(speaker, tmp_path):
    pitches = {}
    for gender, age in [("male", "middle-age"), ("female", "preteen")]:
        path = tmp_path / f"{gender}.mp4"
        write_media(_shows(speaker, "neutrality", speaker_gender=gender, age_group=age), path)
        pitches[gender] = _median_pitch(audio_samples(path), 16000)

    assert pitches["female"] > 1.8 * pitches["male"]


def test_faces_differ_between_every_pair_of_emotions(clips):
    first = {e: video_frames(path)[0].astype(float) for e, path in clips.items()}

    for a in EMOTIONS:
        for b in EMOTIONS:
            if a < b:
                assert np.abs(first[a] - first[b]).mean() > 0.5, (a, b)


def test_happy_mouth_curves_up_and_sad_mouth_curves_down(clips):
    def lip_curvature(path) -> float:
        """x² coefficient of a parabola through the red lip pixels (image rows grow down)."""
        frame = video_frames(path)[0].astype(int)
        red, green = frame[..., 0], frame[..., 1]
        rows, cols = np.nonzero((red - green > 60) & (red > 100))
        return float(np.polyfit(cols - cols.mean(), rows, 2)[0])

    assert lip_curvature(clips["happiness"]) < 0 < lip_curvature(clips["sadness"])


def test_face_moves_and_blinks_so_frames_differ(clips):
    frames = [f.astype(float) for f in video_frames(clips["neutrality"])]

    changes = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:], strict=False)]
    assert np.mean(np.array(changes) > 0.05) > 0.8


@pytest.mark.skipif(
    not hasattr(cv2, "CascadeClassifier"),
    reason="this OpenCV build has no Haar cascades (OpenCV 5 moved them out)",
)
def test_haar_cascade_finds_exactly_one_face_in_most_frames(tmp_path):
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    counts = []
    for index, item in enumerate(plan_corpus(6, seed=21)):
        path = tmp_path / f"{index}.mp4"
        write_media(dataclasses.replace(item, seconds=1.6), path)
        for frame in video_frames(path, format="gray")[::4]:
            faces = detector.detectMultiScale(frame)
            counts.append(len(faces))
            for x, y, w, h in faces:  # on the drawn face, which is centred
                assert x < 160 < x + w and y < 125 < y + h

    assert np.mean(np.array(counts) == 1) > 0.9
