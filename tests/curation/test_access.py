"""Only reviewers and admins reach the dashboard, its downloads and the review actions."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return create_campaign(name="a", corpus=rendered_corpus(2), annotators=annotators(2))


def urls(campaign):
    job = campaign.jobs.first()
    return [
        ("get", reverse("review-dashboard", args=[campaign.pk])),
        ("get", reverse("review-stats-json", args=[campaign.pk])),
        ("get", reverse("review-stats-csv", args=[campaign.pk])),
        ("get", reverse("review-figure", args=[campaign.pk, "inconsistency"])),
        ("get", reverse("review-queue", args=[campaign.pk])),
        ("get", reverse("review-raw", args=[campaign.pk, "votes", "csv"])),
        ("get", reverse("review-raw", args=[campaign.pk, "verdicts", "jsonl"])),
        ("get", reverse("review-job", args=[job.pk])),
        ("post", reverse("review-job-action", args=[job.pk])),
        ("post", reverse("review-annotator", args=[campaign.pk, 1])),
    ]


def test_annotators_get_403_on_every_review_page_and_action(campaign):
    client = Client()
    client.force_login(User.objects.get(username="annotator1"))
    for method, url in urls(campaign):
        response = getattr(client, method)(url, {"action": "exclude", "reason": "x"})
        assert response.status_code == 403, url
    assert not campaign.jobs.filter(excluded=True).exists()


def test_reviewers_see_every_review_page(campaign):
    reviewer = User.objects.create_user("rev", password="pw")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    client = Client()
    client.force_login(reviewer)
    for method, url in urls(campaign):
        if method == "get":
            assert client.get(url).status_code == 200, url
    svg = client.get(reverse("review-figure", args=[campaign.pk, "label_distribution"]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    csv = client.get(reverse("review-stats-csv", args=[campaign.pk])).content.decode()
    assert csv.startswith("figure,row,column,value") and "inconsistency_matrix,t,m," in csv


def test_anonymous_users_are_sent_to_log_in(campaign):
    response = Client().get(reverse("review-dashboard", args=[campaign.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
