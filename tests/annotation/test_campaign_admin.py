"""Admins create campaigns in the admin; the jobs appear with them."""

import json

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse

from labeling.models import Campaign
from labeling.services.campaigns import CampaignInvalid, create_campaign
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def form(corpus, team, **overrides):
    data = {
        "name": "admin campaign",
        "corpus": corpus.pk,
        "modalities": "ta",
        "labels": json.dumps([{"name": "positive", "key": "1"}, {"name": "negative", "key": "2"}]),
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
