"""Creating or editing a campaign whose pool is too small for its rule warns, naming the
numbers: in the service, the admin form and the reviewers' pool API."""

import json

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.messages import WARNING, get_messages
from django.test import Client
from django.urls import reverse

from labeling.models import Campaign, Exam, ExamAttempt
from labeling.services.campaigns import create_campaign
from labeling.services.review import pause_annotator
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


def test_the_service_warns_when_the_guard_needs_more_annotators_than_the_pool_has():
    campaign = create_campaign(name="small", corpus=rendered_corpus(2), annotators=annotators(6))
    assert campaign.jobs.count() == 8  # created as before: the warning refuses nothing
    [warning] = campaign.warnings
    assert "'small' cannot finish with its pool" in warning
    assert "needs 16 different annotators" in warning and "12 to start" in warning
    assert "the pool has 6 annotators. Add 10 annotators" in warning


def test_the_service_does_not_warn_when_the_pool_suffices():
    team = annotators(4)
    unguarded = create_campaign(
        name="free", corpus=rendered_corpus(1), annotators=team, independence_guard=False
    )
    assert unguarded.warnings == []
    guarded = create_campaign(
        name="two modalities",
        corpus=rendered_corpus(1),
        annotators=team,
        modalities="ta",
        rule=VotingRule(2, 2, 2),
    )
    assert guarded.warnings == []


def test_paused_members_and_unpassed_exams_do_not_count():
    from labeling.selectors.pool import pool_check

    team = annotators(4)
    campaign = create_campaign(
        name="c", corpus=rendered_corpus(1), annotators=team, independence_guard=False
    )
    boss = User.objects.create_superuser("boss", password="x")
    pause_annotator(boss, campaign, team[0].pk, "too fast")
    check = pool_check(campaign)
    assert check.members == 3 and check.short_to_finish == 1
    exam = Exam.objects.create(campaign=campaign, modality="a")
    ExamAttempt.objects.create(exam=exam, annotator=team[1], number=1, questions=[], passed=True)
    check = pool_check(campaign)
    assert check.per_modality == {"t": 3, "a": 1, "v": 3, "m": 3}
    assert check.short_to_finish == 3
    assert "(1 in audio: the others have not passed that exam)" in check.warning


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def admin_form(corpus, team, **overrides):
    data = {
        "name": "admin campaign",
        "corpus": corpus.pk,
        "label_preset": "",
        "modalities": "tavm",
        "labels": json.dumps([{"name": "positive", "key": "1"}, {"name": "negative", "key": "2"}]),
        "initial_votes": 3,
        "agreement": 3,
        "max_votes": 4,
        "lease_seconds": 300,
        "independence_guard": "on",
        "annotators": [u.pk for u in team],
        "is_active": "on",
        "exams-TOTAL_FORMS": 0,
        "exams-INITIAL_FORMS": 0,
    }
    return {**data, **overrides}


def warnings_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == WARNING]


def test_the_admin_add_form_saves_and_warns_about_a_small_pool(admin_client):
    corpus, team = rendered_corpus(2), annotators(6)
    response = admin_client.post(
        reverse("admin:labeling_campaign_add"), admin_form(corpus, team), follow=True
    )
    assert Campaign.objects.get().jobs.count() == 8
    [warning] = warnings_of(response)
    assert "needs 16 different annotators (4 modalities × 4 votes; 12 to start" in warning
    assert "Add 10 annotators to the pool, or turn the independence guard off" in warning


def test_the_admin_change_form_warns_when_annotators_are_taken_out(admin_client):
    corpus, team = rendered_corpus(1), annotators(4)
    campaign = create_campaign(name="c", corpus=corpus, annotators=team, independence_guard=False)
    url = reverse("admin:labeling_campaign_change", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    assert "This campaign needs 4 (3 to start) per modality." in page
    assert 'name="label_preset"' not in page  # presets are for new campaigns
    data = admin_form(corpus, team[:2], name="c", independence_guard="")
    for fixed in ("corpus", "modalities", "initial_votes", "agreement", "max_votes"):
        data.pop(fixed)
    response = admin_client.post(url, data, follow=True)
    assert campaign.annotators.count() == 2
    [warning] = warnings_of(response)
    assert "every job needs 4 different annotators (3 to start)" in warning
    assert "Add 2 annotators to the pool." in warning
    # Enough again: no warning.
    response = admin_client.post(url, {**data, "annotators": [u.pk for u in team]}, follow=True)
    assert warnings_of(response) == []


def test_the_admin_add_form_takes_a_label_preset(admin_client):
    corpus, team = rendered_corpus(1), annotators(1)
    page = admin_client.get(reverse("admin:labeling_campaign_add")).content.decode()
    assert "CH-SIMS&#x27;s 5 sentiment classes" in page and "every utterance needs" in page
    response = admin_client.post(
        reverse("admin:labeling_campaign_add"),
        admin_form(corpus, team, label_preset="ch-sims", labels=""),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Campaign.objects.get().labels == [
        {"name": "strongly negative", "key": "1"},
        {"name": "weakly negative", "key": "2"},
        {"name": "neutral", "key": "3"},
        {"name": "weakly positive", "key": "4"},
        {"name": "strongly positive", "key": "5"},
    ]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_pool_api_gives_reviewers_needed_versus_available_and_refuses_annotators():
    team = annotators(6)
    campaign = create_campaign(name="api", corpus=rendered_corpus(1), annotators=team)
    url = reverse("api-pool", args=[campaign.pk])
    refused = client_for(team[0]).get(url)
    assert refused.status_code == 403 and refused.json()["error"] == "not_reviewer"
    reviewer = User.objects.create_user("rev", password="pw")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    body = client_for(reviewer).get(url).json()
    assert body["needed"] == {"to_start": 12, "to_finish": 16, "per": "utterance"}
    assert body["available"] == 6 and body["short_to_finish"] == 10
    assert body["available_per_modality"] == {"t": 6, "a": 6, "v": 6, "m": 6}
    assert "Add 10 annotators" in body["warning"]
    assert body["stuck"] == {"total": 0, "per_modality": {}, "add_annotators": 0, "fix": ""}
