"""Admins create campaigns in the admin; the jobs appear with them."""

import json

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse

from labeling.models import Campaign, Corpus, ReviewAction
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import CampaignInvalid, create_campaign
from labeling.services.label_import import import_labels
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


LABELS = json.dumps([{"name": "positive", "key": "1"}, {"name": "negative", "key": "2"}])


def form(corpus, team, **overrides):
    data = {
        "name": "admin campaign",
        "corpus": corpus.pk,
        "modalities": "ta",
        "labels": LABELS,
        "initial_votes": 3,
        "agreement": 3,
        "max_votes": 4,
        "lease_seconds": 300,
        "independence_guard": "on",
        "annotators": [u.pk for u in team],
        "is_active": "on",
        "exams-TOTAL_FORMS": 0,  # the exams inline, left empty
        "exams-INITIAL_FORMS": 0,
    }
    return {**data, **overrides}


def test_creating_a_campaign_in_the_admin_creates_its_jobs(admin_client):
    corpus, team = rendered_corpus(5), annotators(2)
    response = admin_client.post(reverse("admin:labeling_campaign_add"), form(corpus, team))
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert campaign.jobs.count() == 10
    assert campaign.label_names == ["positive", "negative"]
    assert set(campaign.annotators.all()) == set(team)


def test_the_admin_refuses_duplicate_label_keys(admin_client):
    corpus, team = rendered_corpus(1), annotators(1)
    labels = json.dumps([{"name": "a", "key": "1"}, {"name": "b", "key": "1"}])
    response = admin_client.post(
        reverse("admin:labeling_campaign_add"), form(corpus, team, labels=labels)
    )
    assert response.status_code == 200
    assert "its own one-character keyboard key" in response.content.decode()
    assert not Campaign.objects.exists()


def test_the_admin_refuses_a_rule_that_lets_a_tie_be_decided(admin_client):
    corpus, team = rendered_corpus(1), annotators(1)
    response = admin_client.post(
        reverse("admin:labeling_campaign_add"),
        form(corpus, team, initial_votes=4, agreement=2, max_votes=4),
    )
    assert response.status_code == 200
    assert "more than half of the most votes" in response.content.decode()
    assert not Campaign.objects.exists()


def test_creating_a_campaign_with_a_tie_prone_rule_is_refused():
    with pytest.raises(CampaignInvalid, match="more than half"):
        create_campaign(name="tie", corpus=rendered_corpus(1), rule=VotingRule(4, 2, 4))
    assert not Campaign.objects.exists()


def test_the_database_refuses_a_rule_that_lets_a_tie_be_decided():
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(
            name="raw", corpus=rendered_corpus(1), initial_votes=4, agreement=2, max_votes=4
        )


def change_labels(admin_client, campaign, labels):
    data = form(campaign.corpus, campaign.annotators.all(), name=campaign.name)
    data["labels"] = json.dumps(labels)
    return admin_client.post(reverse("admin:labeling_campaign_change", args=[campaign.pk]), data)


RENAMED = [{"name": "positive", "key": "1"}, {"name": "bad", "key": "2"}]


def test_label_names_may_change_while_nothing_is_labelled(admin_client):
    campaign = create_campaign(name="fresh", corpus=rendered_corpus(1), labels=json.loads(LABELS))
    assert change_labels(admin_client, campaign, RENAMED).status_code == 302
    campaign.refresh_from_db()
    assert campaign.label_names == ["positive", "bad"]


def test_label_names_are_frozen_once_a_campaign_has_votes(admin_client):
    team = annotators(1)
    campaign = create_campaign(
        name="voted", corpus=rendered_corpus(1), annotators=team, labels=json.loads(LABELS),
        modalities="t",
    )  # fmt: skip
    submit_vote(team[0], next_task(team[0], campaign).pk, "negative")
    assert_rename_refused(admin_client, campaign)
    rekeyed = [{"name": "negative", "key": "9"}, {"name": "positive", "key": "8"}]
    assert change_labels(admin_client, campaign, rekeyed).status_code == 302  # keys and order
    campaign.refresh_from_db()
    assert campaign.labels == rekeyed


def test_label_names_are_frozen_once_labels_are_imported(admin_client, tmp_path):
    campaign = create_campaign(
        name="imported", corpus=Corpus.objects.create(name="c"), labels=json.loads(LABELS)
    )
    path = tmp_path / "labels.csv"
    path.write_text("utterance_id,modality,label\nx1,t,negative\n", encoding="utf-8")
    import_labels(campaign, path)
    assert_rename_refused(admin_client, campaign)


def assert_rename_refused(admin_client, campaign):
    response = change_labels(admin_client, campaign, RENAMED)
    assert response.status_code == 200
    assert "label set is fixed" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.label_names == ["positive", "negative"]


def test_editing_a_transcript_after_votes_warns_and_is_audited(admin_client):
    team = annotators(1)
    campaign = create_campaign(  # no guard: the one annotator votes on both modalities
        name="words",
        corpus=rendered_corpus(1),
        annotators=team,
        modalities="ta",
        independence_guard=False,
    )
    utterance = campaign.corpus.utterances.get()
    while (lease := next_task(team[0], campaign)) is not None:
        submit_vote(team[0], lease.pk, "anger")
    renditions = list(utterance.renditions.order_by("pk"))
    data = {
        "corpus": utterance.corpus_id,
        "external_id": utterance.external_id,
        "original_name": utterance.original_name,
        "transcript": "改过的句子",
        "screening_status": utterance.screening_status,
        "screening": "{}",
        "renditions-TOTAL_FORMS": len(renditions),
        "renditions-INITIAL_FORMS": len(renditions),
        **{f"renditions-{i}-id": r.pk for i, r in enumerate(renditions)},
        **{f"renditions-{i}-utterance": utterance.pk for i in range(len(renditions))},
    }
    url = reverse("admin:labeling_utterance_change", args=[utterance.pk])
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    utterance.refresh_from_db()
    assert utterance.transcript == "改过的句子"
    assert "votes were cast on the old transcript" in response.content.decode()
    (action,) = ReviewAction.objects.filter(kind="transcript")
    assert action.job.modality == "t" and action.actor.username == "boss"
    assert action.before == {"transcript": "第0句话"}
    assert action.after == {"transcript": "改过的句子"}
