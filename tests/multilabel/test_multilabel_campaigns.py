"""Creating multi-label campaigns: the admin form, manage.py create_campaign, the API."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from labeling.models import Campaign, Job, Vote
from labeling.services.assignment import next_task, submit_vote
from tests.annotation.test_campaign_admin import form
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def test_the_admin_creates_a_multi_label_campaign_and_then_keeps_its_mode(admin_client):
    corpus, team = rendered_corpus(2), annotators(1)
    data = form(corpus, team, label_mode="multi-label", allow_none="on", undecided_policy="mark")
    response = admin_client.post(reverse("admin:labeling_campaign_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert (campaign.label_mode, campaign.allow_none, campaign.undecided_policy) == (
        "multi-label",
        True,
        "mark",
    )
    change = reverse("admin:labeling_campaign_change", args=[campaign.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="label_mode"' not in page and "multi-label (choose all that apply)" in page
    data = form(corpus, team, name=campaign.name, label_mode="single-label")
    admin_client.post(change, data)
    campaign.refresh_from_db()
    assert campaign.label_mode == "multi-label"  # read-only once it has jobs


def test_the_admin_refuses_multi_label_settings_that_do_not_fit(admin_client):
    corpus, team = rendered_corpus(1), annotators(1)
    url = reverse("admin:labeling_campaign_add")
    response = admin_client.post(url, form(corpus, team, allow_none="on"))
    assert "belong to multi-label campaigns" in response.content.decode()
    response = admin_client.post(url, form(corpus, team, label_mode="multi-label", gold_share=0.1))
    assert "cannot serve them yet; set the gold share to 0" in response.content.decode()
    assert not Campaign.objects.exists()


def test_create_campaign_command_makes_a_multi_label_mosei_campaign(capsys):
    rendered_corpus(2, name="mosei corpus")
    call_command(
        "create_campaign",
        "--corpus", "mosei corpus",
        "--name", "emotions",
        "--preset", "mosei",
        "--mode", "multi-label",
        "--allow-none",
        "--undecided", "mark",
    )  # fmt: skip
    campaign = Campaign.objects.get()
    assert campaign.label_names == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    assert campaign.is_multi_label and campaign.allow_none and campaign.undecided_policy == "mark"
    assert f"(id {campaign.pk}, multi-label)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="belong to multi-label campaigns"):
        call_command("create_campaign", "--corpus", "mosei corpus", "--name", "x", "--allow-none")


def test_the_api_says_the_mode_and_takes_a_list_of_labels(client):
    team = annotators(1)
    call_command(
        "create_campaign",
        "--corpus", rendered_corpus(1, name="c").name,
        "--name", "api",
        "--preset", "mosei",
        "--mode", "multi-label",
        "--modalities", "t",
        "--annotators", "annotator1",
    )  # fmt: skip
    campaign = Campaign.objects.get()
    client.force_login(team[0])
    listed = client.get(reverse("api-campaigns")).json()["campaigns"]
    assert listed[0]["label_mode"] == "multi-label"
    task = client.post(reverse("api-next-task", args=[campaign.pk])).json()["task"]
    assert (task["label_mode"], task["allow_none"]) == ("multi-label", False)
    submit = reverse("api-submit", args=[task["lease"]])
    one = client.post(submit, {"label": "sad"}, content_type="application/json")
    assert one.status_code == 400 and "answer with the list" in one.json()["detail"]
    both = client.post(submit, {"label": "sad", "labels": ["sad"]}, content_type="application/json")
    assert both.status_code == 400 and "not both or neither" in json.dumps(both.json())
    empty = client.post(submit, {"labels": []}, content_type="application/json")
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_label"
    done = client.post(submit, {"labels": ["fear", "sad"]}, content_type="application/json")
    assert done.status_code == 201, done.json()
    assert done.json()["labels"] == ["sad", "fear"] and done.json()["label"] == ""
    again = client.post(submit, {"labels": ["sad", "fear"]}, content_type="application/json")
    assert again.status_code == 200 and again.json()["repeated"]
    revise = reverse("api-revise", args=[task["lease"]])
    changed = client.post(revise, {"labels": ["sad"]}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["labels"] == ["sad"]
    assert Vote.objects.get().label_set == ["sad"]


def test_the_schema_documents_the_list_of_labels(admin_client):
    schema = admin_client.get(reverse("api-schema"), {"format": "json"}).json()
    components = schema["components"]["schemas"]
    labels = components["Submit"]["properties"]["labels"]
    assert labels["type"] == "array" and "none of these" in labels["description"]
    mode = components["Task"]["properties"]["label_mode"]
    enum = components[mode["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == ["single-label", "multi-label"]


def test_a_single_label_campaign_still_takes_one_label():
    team = annotators(1)
    call_command("create_campaign", "--corpus", rendered_corpus(1, name="s").name, "--name", "s",
                 "--annotators", "annotator1", "--modalities", "t")  # fmt: skip
    lease = next_task(team[0], Campaign.objects.get())
    submit_vote(team[0], lease.pk, "anger")
    assert Vote.objects.get().label_set is None and Job.objects.get().votes_count == 1
