"""Simulated annotators finish multi-label campaigns through the same services."""

from collections import Counter

import pytest

from labeling.emotions import emotion_label_set, preset_labels
from labeling.models import Campaign, Job, SyntheticTruth, Vote
from labeling.selectors.integrity import campaign_integrity
from labeling.services.simulation import _Annotator, parse_accuracy, simulate
from labeling.verdicts import State
from tests.factories import annotators
from tests.simulation.campaigns import simulated_campaign

pytestmark = pytest.mark.django_db
MOSEI = [label["name"] for label in preset_labels("mosei")]


def multi_campaign(n_utterances, **options):
    options = {"labels": preset_labels("mosei"), "label_mode": Campaign.LabelMode.MULTI, **options}
    return simulated_campaign(n_utterances, **options)


def assert_rules_held(campaign) -> None:
    integrity = campaign_integrity(campaign)
    assert integrity == {**integrity, "over_voted_jobs": 0, "double_votes": 0}
    assert integrity["votes_after_final"] == integrity["wrong_verdicts"] == 0
    assert integrity["guard_breaches"] == integrity["unfinished_jobs"] == 0


def test_synthetic_emotions_become_label_sets_over_the_campaigns_labels():
    assert emotion_label_set("happiness", MOSEI) == {"happy"}
    assert emotion_label_set("disgust", MOSEI) == {"disgust"}
    assert emotion_label_set("neutrality", MOSEI) == frozenset()
    assert emotion_label_set("neutrality", ["neutrality", "anger"]) == {"neutrality"}
    assert emotion_label_set("anger", ["positive", "negative"]) is None


def test_perfect_simulated_annotators_finish_a_multi_label_campaign_with_the_truth_sets():
    campaign = multi_campaign(6, allow_none=True)
    report = simulate(campaign, accuracy=parse_accuracy("1"))
    truths = {t.utterance_id: t for t in SyntheticTruth.objects.all()}
    for job in Job.objects.filter(campaign=campaign):
        expected = emotion_label_set(truths[job.utterance_id].emotion(job.modality), MOSEI)
        assert (job.state, job.votes_count) == (State.DECIDED, 3)
        assert set(job.label_set) == expected
    assert report.votes == Vote.objects.count() == 6 * 4 * 3 and report.stuck == []
    assert set(Vote.objects.values_list("label", flat=True)) == {""}
    assert_rules_held(campaign)


@pytest.mark.parametrize("policy", ["discard", "mark"])
def test_noisy_simulated_annotators_finish_a_multi_label_campaign_under_the_rule(policy):
    campaign = multi_campaign(8, allow_none=True, undecided_policy=policy)
    report = simulate(campaign, accuracy=parse_accuracy("0.7"), seed=3)
    states = Counter(Job.objects.filter(campaign=campaign).values_list("state", flat=True))
    assert set(states) <= {State.DECIDED, State.DISCARDED} and states[State.DECIDED] > 0
    assert report.jobs == dict(states) and report.stuck == []
    assert max(Job.objects.values_list("votes_count", flat=True)) == 4  # fourth votes asked
    if policy == "mark":
        assert Job.objects.exclude(undecided_labels=[]).exists()
    assert_rules_held(campaign)


@pytest.mark.parametrize("allow_none", [True, False])
def test_the_noise_model_reports_present_emotions_with_the_accuracy_and_adds_few_others(
    allow_none,
):
    campaign = multi_campaign(1, annotators=annotators(1), allow_none=allow_none)
    member = _Annotator(campaign.annotators.get(), campaign, parse_accuracy("0.8"), seed=0)
    answers = [member.answer_set(frozenset({"sad"}), "t") for _ in range(4000)]
    kept = sum("sad" in a for a in answers) / len(answers)
    added = sum(len(set(a) - {"sad"}) for a in answers) / (len(answers) * 5)
    assert added == pytest.approx(0.2 / 6, abs=0.01)
    if allow_none:
        assert kept == pytest.approx(0.8, abs=0.03)
        assert not all(answers)  # "none of these" when nothing was reported
    else:  # an empty answer is not allowed: the annotator picks from the truth instead
        assert kept == pytest.approx(0.8 + 0.2 * (1 - 0.2 / 6) ** 5, abs=0.03)
        assert all(answers)
