"""The statistics a campaign's dashboard shows, from votes, overrides and imported labels."""

import pandas as pd
import pytest
from django.contrib.auth.models import User

from labeling.selectors.statistics import (
    annotator_quality,
    campaign_statistics,
    decided_labels,
    disagreement_queue,
)
from labeling.services import review
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def voted():
    """Two utterances, modalities t and m, three annotators with known votes."""
    team = annotators(4)
    campaign = create_campaign(
        name="s",
        corpus=rendered_corpus(2),
        annotators=team,
        modalities="tm",
        independence_guard=False,
    )
    script = {  # (utterance index, modality): votes of annotators 1..3
        (0, "t"): ["anger", "anger", "anger"],
        (0, "m"): ["anger", "anger", "anger"],
        (1, "t"): ["fear", "fear", "fear"],
        (1, "m"): ["sadness", "sadness", "fear"],
    }
    utterances = list(campaign.corpus.utterances.order_by("pk"))
    for annotator in team[:3]:
        while (lease := next_task(annotator, campaign)) is not None:
            index = utterances.index(lease.job.utterance)
            label = script[(index, lease.job.modality)][team.index(annotator)]
            submit_vote(annotator, lease.pk, label)
    return campaign, team, utterances


def test_decided_labels_pivot_per_utterance_and_modality(voted):
    campaign, _, utterances = voted
    labels = decided_labels(campaign)
    assert labels.loc[utterances[0].pk, "t"] == "anger"
    assert labels.loc[utterances[1].pk, "t"] == "fear"
    assert pd.isna(labels.loc[utterances[1].pk, "m"])  # 2:1 waits for a fourth vote
    assert list(labels.columns) == ["t", "a", "v", "m"]


def test_campaign_statistics_count_what_was_decided(voted):
    campaign, _, _ = voted
    stats = campaign_statistics(campaign)
    assert (
        stats["label_distribution"]["t"]["anger"] == 1
        and stats["label_distribution"]["t"]["fear"] == 1
    )
    assert stats["inconsistency"]["matrix"]["t"]["m"] == 0.0  # only utterance 0 decided in both
    assert stats["inconsistency"]["pairs"]["t"]["m"] == 1
    assert stats["progress"]["jobs"]["m"]["needs_vote"] == 1
    assert stats["progress"]["usable_utterances"] == 1
    assert stats["fleiss_kappa"]["t"][1] == 2 and stats["krippendorff_alpha"]["m"][1] == 2
    assert stats["dataset"]["utterances"] == 2


def test_a_reviewer_override_counts_as_the_label_and_is_reported_as_such(voted):
    campaign, team, utterances = voted
    job = campaign.jobs.get(utterance=utterances[1], modality="m")
    review.set_label(User.objects.create_user("rev"), job.pk, "fear", "fear is audible")
    stats = campaign_statistics(campaign)
    assert stats["label_sources"]["m"] == {"voted": 1, "imported": 0, "reviewer": 1}
    assert (
        stats["inconsistency"]["matrix"]["t"]["m"] == 0.0
        and stats["inconsistency"]["pairs"]["t"]["m"] == 2
    )


def test_the_queue_holds_split_jobs_and_filters_by_modality_emotion_and_annotator(voted):
    campaign, team, _ = voted
    assert [j.modality for j in disagreement_queue(campaign)] == ["m"]
    assert disagreement_queue(campaign, modality="t").count() == 0
    assert disagreement_queue(campaign, emotion="sadness").count() == 1
    assert disagreement_queue(campaign, emotion="happiness").count() == 0
    assert disagreement_queue(campaign, annotator=team[3].pk).count() == 0


def test_annotator_quality_measures_agreement_with_final_labels(voted):
    campaign, team, _ = voted
    rows = {row["username"]: row for row in annotator_quality(campaign)}
    assert rows["annotator1"]["votes"] == 4 and rows["annotator1"]["agreement"] == 1.0
    assert rows["annotator3"]["judged"] == 3  # the open 2:1 job is not judged yet
