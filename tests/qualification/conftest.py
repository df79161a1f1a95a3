import pytest

from labeling.models import Exam, Utterance
from labeling.services.campaigns import create_campaign
from labeling.services.qualification import add_gold_item
from tests.factories import annotators, rendered_corpus


@pytest.fixture
def team(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    return annotators(4)


@pytest.fixture
def campaign(team):
    return build_campaign(team)


def build_campaign(team, utterances: int = 12):
    """Text and audio collected; 6 utterances become gold (2 training, 2 exam, 2 check,
    each for t), and an exam on t only: audio needs no qualification."""
    corpus = rendered_corpus(utterances)
    campaign = create_campaign(
        name="qualified", corpus=corpus, annotators=team, modalities="ta", lease_seconds=60
    )
    gold = list(Utterance.objects.filter(corpus=corpus).order_by("pk"))[:6]
    purposes = ["training"] * 2 + ["exam"] * 2 + ["check"] * 2
    for utterance, purpose in zip(gold, purposes, strict=True):
        add_gold_item(
            campaign,
            utterance=utterance,
            modality="t",
            purpose=purpose,
            label="anger",
            explanation="Raised voice and an insult.",
        )
    Exam.objects.create(
        campaign=campaign,
        modality="t",
        questions=0,
        pass_mark=0.5,
        max_attempts=2,
        cooldown_minutes=30,
    )
    return campaign


def gold_utterance_ids(campaign) -> set[int]:
    return set(campaign.gold_items.values_list("utterance_id", flat=True))
