"""A multi-label synthetic corpus: second emotions as compound expressions in each modality,
kept as ground truth, and simulated annotators deciding the sets from it."""

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from django.core.management import call_command

from labeling import synthetic
from labeling.emotions import EMOTIONS, MODALITIES, emotion_label_set
from labeling.models import Campaign, Job, SyntheticTruth
from labeling.services.simulation import parse_accuracy, simulate
from labeling.synthetic import _FACES, _TEMPLATE_TEXT, _VOICES, _FacePainter, plan_corpus

MOSEI = ["happy", "sad", "anger", "surprise", "disgust", "fear"]


def test_without_co_occurrence_the_plan_is_the_single_label_one():
    assert plan_corpus(40, seed=3, co_occurrence=0.0) == plan_corpus(40, seed=3)
    assert all(len(i.emotions(m)) == 1 for i in plan_corpus(40, seed=3) for m in MODALITIES)


def test_co_occurrence_adds_second_emotions_and_keeps_the_first_ones():
    single = plan_corpus(1500, seed=5, inconsistency=0.3)
    multi = plan_corpus(1500, seed=5, inconsistency=0.3, co_occurrence=0.5)
    for one, two in zip(single, multi, strict=True):
        assert [one.emotions(m)[0] for m in MODALITIES] == [two.emotions(m)[0] for m in MODALITIES]
        assert two.transcript.startswith(one.transcript)
        for m in MODALITIES:
            emotions = two.emotions(m)
            assert len(set(emotions)) == len(emotions) and len(emotions) <= 2
            assert len(emotions) == 1 or "neutrality" not in emotions
    paired = sum(bool(i.underlying_also) for i in multi) / len(multi)
    neutral = sum(i.underlying == "neutrality" for i in multi) / len(multi)
    assert paired == pytest.approx(0.5 * (1 - neutral), abs=0.05)
    shown = Counter(i.face_also == i.underlying_also for i in multi if i.underlying_also)
    assert shown[True] / sum(shown.values()) > 0.6  # the modalities mostly agree on it too


def test_without_inconsistency_every_modality_shows_the_same_pair():
    items = plan_corpus(300, seed=2, inconsistency=0.0, co_occurrence=0.6)
    for item in items:
        assert len({item.emotions(m) for m in "avm"}) == 1
        # The text keeps the pair unless no sentence of the second emotion fits in 63 chars.
        assert item.emotions("t") in (item.emotions("m"), item.emotions("m")[:1])
    assert sum(len(item.emotions("t")) == 2 for item in items) > 100


def _pattern(template: str) -> str:
    return "".join(
        ".+" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{\w+\})", template)
    )


def test_the_transcript_adds_a_sentence_of_the_second_emotion_within_63_characters():
    single = plan_corpus(400, seed=8)
    multi = plan_corpus(400, seed=8, co_occurrence=1.0)
    with_second = 0
    for one, two in zip(single, multi, strict=True):
        assert len(two.transcript) <= synthetic.MAX_CHARS
        added = two.transcript[len(one.transcript) :]
        if not two.text_also:
            assert added == ""
            continue
        with_second += 1
        templates = _TEMPLATE_TEXT[two.text_also].split()
        assert any(re.fullmatch(_pattern(t), added) for t in templates), (two.text_also, added)
    assert with_second > 200


def test_a_compound_face_and_voice_are_the_mean_of_both_emotions_and_look_like_neither():
    item = replace(plan_corpus(1, seed=4)[0], face_emotion="happiness", voice_emotion="sadness")
    both = replace(item, face_also="surprise", voice_also="anger")
    assert synthetic._voice_of(both).loudness == pytest.approx(
        (_VOICES["sadness"].loudness + _VOICES["anger"].loudness) / 2
    )
    painter = _FacePainter(both, 160, 120)
    assert painter.face.mouth_open == pytest.approx(
        (_FACES["happiness"].mouth_open + _FACES["surprise"].mouth_open) / 2
    )
    frames = {
        name: _FacePainter(version, 160, 120).frame(0.0, 0.0).astype(int)
        for name, version in [
            ("both", both),
            ("happiness", item),
            ("surprise", replace(item, face_emotion="surprise")),
        ]
    }
    assert np.abs(frames["both"] - frames["happiness"]).mean() > 0.2
    assert np.abs(frames["both"] - frames["surprise"]).mean() > 0.2
    louder = synthetic._voice_signal(both, 8000)[0]
    quiet = synthetic._voice_signal(replace(both, voice_also=""), 8000)[0]
    assert np.abs(louder).max() > 1.5 * np.abs(quiet).max()


def test_pairs_use_every_emotion_but_neutrality():
    items = plan_corpus(2000, seed=9, co_occurrence=1.0)
    seconds = {i.underlying_also for i in items} - {""}
    assert seconds == set(EMOTIONS) - {"neutrality"}
    with pytest.raises(ValueError, match="co_occurrence"):
        plan_corpus(2, co_occurrence=1.5)


@pytest.mark.django_db
def test_make_demo_keeps_second_emotions_and_simulated_annotators_decide_the_sets(media_root):
    call_command("make_demo", utterances=6, annotators=16, seed=1, co_occurrence=0.8,
                 render_now=True, no_progress=True)  # fmt: skip
    campaign = Campaign.objects.get(name__endswith="all emotions that apply")
    assert campaign.is_multi_label and campaign.label_names == MOSEI and campaign.allow_none
    truths = {t.utterance_id: t for t in SyntheticTruth.objects.all()}
    assert any(t.also for t in truths.values())
    simulate(campaign, accuracy=parse_accuracy("1"))
    sizes = Counter()
    for job in Job.objects.filter(campaign=campaign):
        expected = emotion_label_set(truths[job.utterance_id].emotions(job.modality), MOSEI)
        assert job.state == "decided" and set(job.label_set) == expected
        sizes[len(job.label_set)] += 1
    assert sizes[2] > 0
