"""Campaigns for the simulation tests: rendered corpora with synthetic ground truth, built
through the same services users trigger. Also imported by the SQLite run in a subprocess."""

from __future__ import annotations

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.models import Campaign, Exam, SyntheticTruth, Utterance
from labeling.services.campaigns import create_campaign
from labeling.services.qualification import add_gold_item
from tests.factories import rendered_corpus


def truth_of(index: int) -> dict[str, str]:
    """Utterance `index`'s emotion per modality; they differ across modalities."""
    return {m: EMOTIONS[(index + 3 * j) % len(EMOTIONS)] for j, m in enumerate(MODALITIES)}


def synthetic_corpus(n_utterances: int):
    corpus = rendered_corpus(n_utterances)
    corpus.is_synthetic = True
    corpus.save(update_fields=["is_synthetic"])
    utterances = Utterance.objects.filter(corpus=corpus).order_by("pk")
    SyntheticTruth.objects.bulk_create(
        [
            SyntheticTruth(
                utterance=utterance,
                text_emotion=truth["t"],
                voice_emotion=truth["a"],
                face_emotion=truth["v"],
                underlying=truth["m"],
                seed=index,
            )
            for index, utterance in enumerate(utterances)
            for truth in [truth_of(index)]
        ]
    )
    return corpus


def simulated_campaign(n_utterances: int = 6, corpus=None, **options) -> Campaign:
    corpus = corpus or synthetic_corpus(n_utterances)
    name = options.pop("name", f"simulated on {corpus.name}")
    return create_campaign(name=name, corpus=corpus, **options)


def qualified_campaign(n_utterances: int = 14, **exam) -> Campaign:
    """Text and audio behind an exam each, training and hidden checks from the truth, as
    make_demo builds its second campaign (gold: the first 8 utterances)."""
    corpus = synthetic_corpus(n_utterances)
    campaign = create_campaign(name="qualified simulation", corpus=corpus, modalities="ta")
    campaign.gold_share = 0.3
    campaign.save(update_fields=["gold_share"])
    truths = list(SyntheticTruth.objects.filter(utterance__corpus=corpus).order_by("pk"))
    purposes = ["training", "exam", "exam", "check"]
    for offset, modality in enumerate("ta"):
        for truth, purpose in zip(truths[offset * 4 :], purposes, strict=False):
            add_gold_item(
                campaign,
                utterance=truth.utterance,
                modality=modality,
                purpose=purpose,
                label=truth.emotion(modality),
            )
        Exam.objects.create(
            campaign=campaign,
            modality=modality,
            questions=2,
            pass_mark=1.0,
            max_attempts=exam.get("max_attempts", 3),
            cooldown_minutes=exam.get("cooldown_minutes", 0),
        )
    return campaign
