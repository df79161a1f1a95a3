"""make_demo: a synthetic corpus through the real import path, ground truth kept, accounts made."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from labeling.models import Campaign, Corpus, Rendition, SyntheticTruth

pytestmark = pytest.mark.django_db


def test_make_demo_builds_a_rendered_synthetic_corpus_with_truth_accounts_and_a_campaign(
    media_root,
):
    call_command("make_demo", utterances=6, annotators=3, seed=3, render_now=True, no_progress=True)
    corpus = Corpus.objects.get()
    assert corpus.is_synthetic and "synthetic" in str(corpus).lower()
    assert corpus.utterances.count() == 6
    assert SyntheticTruth.objects.filter(utterance__corpus=corpus).count() == 6
    assert set(Rendition.objects.values_list("status", flat=True)) == {"done"}
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="reviewer").is_staff
    assert User.objects.get(username="annotator3").groups.filter(name="annotator").exists()
    campaign = Campaign.objects.get()
    assert campaign.jobs.count() == 24 and campaign.annotators.count() == 3


def test_make_demo_twice_changes_nothing(media_root):
    call_command("make_demo", utterances=4, annotators=2, no_progress=True)
    call_command("make_demo", utterances=4, annotators=2, no_progress=True)
    assert Corpus.objects.get().utterances.count() == 4
    assert Campaign.objects.count() == 1


def test_demo_truth_follows_the_requested_inconsistency(media_root):
    call_command("make_demo", utterances=30, annotators=1, inconsistency=0.0, no_progress=True)
    for truth in SyntheticTruth.objects.all():
        assert truth.underlying == truth.text_emotion == truth.voice_emotion == truth.face_emotion


def test_a_demo_of_twenty_or_more_utterances_has_a_campaign_behind_exams(media_root):
    call_command("make_demo", utterances=20, annotators=2, no_progress=True)
    campaign = Campaign.objects.get(name__endswith="with training and exams")
    assert set(campaign.exams.values_list("modality", flat=True)) == {"t", "a"}
    gold = campaign.gold_items.select_related("utterance__synthetic_truth")
    assert gold.filter(modality="t", purpose="exam").count() == 3
    for item in gold.filter(modality="t"):
        assert item.label == item.utterance.synthetic_truth.text_emotion
    assert not campaign.jobs.filter(utterance__gold_items__campaign=campaign).exists()
    assert Campaign.objects.get(name__endswith="emotions per modality").jobs.count() == 80


def test_the_demo_pool_is_large_enough_for_the_guarded_campaigns_to_finish(media_root):
    call_command("make_demo", utterances=20, no_progress=True)
    for campaign in Campaign.objects.all():
        assert campaign.independence_guard
        needed = len(campaign.modalities) * campaign.max_votes  # nobody sees an utterance twice
        assert campaign.annotators.count() == 16 >= needed
    assert User.objects.filter(username__startswith="annotator").count() == 16
