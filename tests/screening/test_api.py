"""The screening page and JSON API, and who may fetch a clip's media."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from labeling.models import ClipScreening, Rendition
from labeling.services.campaigns import create_campaign
from labeling.services.screening import next_clip_to_screen
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(media_root):
    corpus = rendered_corpus(2)
    for rendition in Rendition.objects.filter(utterance__corpus=corpus):
        path = media_root / rendition.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"video bytes")
    return create_campaign(
        name="api screening",
        corpus=corpus,
        annotators=annotators(1),
        human_screening=True,
        screeners=annotators(2, prefix="screener"),
    )


def client_for(client, username):
    client.login(username=username, password="pw")
    return client


def next_clip(client, campaign):
    return client.post(reverse("api-screening-next", args=[campaign.pk]))


def decide(client, screening_id, **body):
    return client.post(
        reverse("api-screening-decide", args=[screening_id]), body, content_type="application/json"
    )


def test_next_returns_the_clip_with_its_full_video_and_transcript(client, campaign):
    response = next_clip(client_for(client, "screener1"), campaign)
    assert response.status_code == 200
    clip = response.json()["clip"]
    screening = ClipScreening.objects.get(pk=clip["screening"])
    rendition = screening.utterance.renditions.get(modality="m")
    assert clip["media_url"] == reverse("rendition-file", args=[rendition.pk])
    assert clip["transcript"] == screening.utterance.transcript
    assert 0 < clip["seconds_left"] <= campaign.lease_seconds
    assert response.json()["progress"] == {
        "campaign": campaign.pk,
        "decided": 0,
        "accepted": 0,
        "rejected": 0,
        "waiting": 2,
    }
    assert client.get(clip["media_url"]).status_code == 200


def test_accept_then_reject_then_nothing_left(client, campaign):
    client_for(client, "screener1")
    first = next_clip(client, campaign).json()["clip"]["screening"]
    accepted = decide(client, first, accept=True)
    assert accepted.status_code == 201 and accepted.json()["status"] == "accepted"
    assert decide(client, first, accept=True).status_code == 200  # repeated
    assert decide(client, first, accept=False, reason="bad_audio").status_code == 409

    second = next_clip(client, campaign).json()["clip"]["screening"]
    missing = decide(client, second, accept=False)
    assert missing.status_code == 400 and missing.json()["error"] == "reason_required"
    rejected = decide(client, second, accept=False, reason="wrong_language")
    assert rejected.status_code == 201 and rejected.json()["reason"] == "wrong_language"

    done = next_clip(client, campaign).json()
    assert done["clip"] is None and done["progress"]["decided"] == 2
    progress = client.get(reverse("api-screening-progress", args=[campaign.pk])).json()
    assert (progress["accepted"], progress["rejected"], progress["waiting"]) == (1, 1, 0)
    assert campaign.jobs.count() == 4  # one accepted clip × tavm


def test_an_unknown_reason_is_a_bad_request(client, campaign):
    client_for(client, "screener1")
    clip = next_clip(client, campaign).json()["clip"]["screening"]
    assert decide(client, clip, accept=False, reason="too boring").status_code == 400


def test_a_non_screener_gets_403_everywhere(client, campaign):
    client_for(client, "annotator1")
    assert next_clip(client, campaign).status_code == 403
    assert next_clip(client, campaign).json()["error"] == "not_a_screener"
    assert client.get(reverse("screen", args=[campaign.pk])).status_code == 403
    assert client.get(reverse("api-screening-progress", args=[campaign.pk])).status_code == 403


def test_another_screener_cannot_submit_for_the_holder(client, campaign):
    clip = next_clip_to_screen(campaign.screeners.get(username="screener1"), campaign)
    response = decide(client_for(client, "screener2"), clip.pk, accept=True)
    assert response.status_code == 404
    assert not campaign.jobs.exists()


def test_an_expired_lease_cannot_submit(client, campaign):
    client_for(client, "screener1")
    clip = next_clip(client, campaign).json()["clip"]["screening"]
    ClipScreening.objects.filter(pk=clip).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = decide(client, clip, accept=True)
    assert response.status_code == 409 and response.json()["error"] == "lease_expired"


def test_media_of_a_clip_needs_a_live_screening_lease(client, campaign):
    screener = campaign.screeners.get(username="screener1")
    clip = next_clip_to_screen(screener, campaign)
    rendition = clip.utterance.renditions.get(modality="m")
    url = reverse("rendition-file", args=[rendition.pk])
    audio_only = reverse("rendition-file", args=[clip.utterance.renditions.get(modality="a").pk])

    assert client_for(client, "annotator1").get(url).status_code == 403
    client.logout()
    assert client_for(client, "screener2").get(url).status_code == 403
    client.logout()
    client_for(client, "screener1")
    assert client.get(url).status_code == 200
    assert client.get(audio_only).status_code == 403  # only the full video
    ClipScreening.objects.filter(pk=clip.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.get(url).status_code == 403


def test_the_screening_page_and_the_home_link(client, campaign):
    client_for(client, "screener1")
    page = client.get(reverse("screen", args=[campaign.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("api-screening-next", args=[campaign.pk]) in html
    for label in ("several speakers", "face not clear", "bad audio", "wrong language"):
        assert label in html
    home = client.get(reverse("home")).content.decode()
    assert reverse("screen", args=[campaign.pk]) in home


def test_the_api_schema_documents_the_screening_endpoints(client, campaign):
    client_for(client, "screener1")
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    assert "/api/screening/{campaign_id}/next/" in schema["paths"]
    assert "/api/screenings/{screening_id}/decide/" in schema["paths"]
    assert "/api/screening/{campaign_id}/progress/" in schema["paths"]
