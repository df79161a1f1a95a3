"""Prefetch over HTTP (issue 14): `next?ahead_of=` and `release`. One annotator never holds
more than the current and the next lease, an unused one is given back, and a task fetched
ahead opens exactly its own modality's media."""

import pytest
from django.urls import reverse
from django.utils import timezone

from labeling.models import Lease
from tests.annotation.test_api import campaign_with_media, client_for, fetch, media_bytes, post
from tests.factories import annotators

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return annotators(3)


@pytest.fixture
def campaign(team, media_root):
    return campaign_with_media(media_root, "prefetch", 4, team)


def next_url(campaign, ahead_of=None) -> str:
    url = reverse("api-next-task", args=[campaign.pk])
    return url if ahead_of is None else f"{url}?ahead_of={ahead_of}"


def live(annotator) -> list[Lease]:
    return list(
        Lease.objects.filter(
            annotator=annotator, status=Lease.Status.ACTIVE, expires_at__gt=timezone.now()
        ).order_by("pk")
    )


def test_rapid_repeated_prefetches_hold_only_the_current_and_the_next_lease(team, campaign):
    client = client_for(team[0])
    current = post(client, next_url(campaign)).json()["task"]
    aheads = []
    for _ in range(6):
        response = post(client, next_url(campaign, ahead_of=current["lease"]))
        assert response.status_code == 200, response.content
        aheads.append(response.json()["task"]["lease"])
        assert [lease.pk for lease in live(team[0])] == [current["lease"], aheads[0]]
    assert set(aheads) == {aheads[0]} and aheads[0] != current["lease"]
    assert Lease.objects.get(pk=aheads[0]).ahead
    # Asking for the current task again changes nothing either.
    assert post(client, next_url(campaign)).json()["task"]["lease"] == current["lease"]
    assert len(live(team[0])) == 2


def test_after_the_answer_next_promotes_the_task_fetched_ahead(team, campaign):
    client = client_for(team[0])
    current = post(client, next_url(campaign)).json()["task"]
    ahead = post(client, next_url(campaign, ahead_of=current["lease"])).json()["task"]
    submitted = post(client, reverse("api-submit", args=[current["lease"]]), {"label": "fear"})
    assert submitted.status_code == 201
    shown = post(client, next_url(campaign)).json()["task"]
    assert shown["lease"] == ahead["lease"]
    lease = Lease.objects.get(pk=ahead["lease"])
    assert not lease.ahead and lease.shown_at is not None
    assert shown["expires_at"] == lease.expires_at.isoformat()
    following = post(client, next_url(campaign, ahead_of=shown["lease"])).json()["task"]
    assert following["lease"] not in (current["lease"], ahead["lease"])
    assert [lease.pk for lease in live(team[0])] == [ahead["lease"], following["lease"]]


def test_release_gives_back_the_unused_lease_and_frees_its_slot(team, campaign):
    client = client_for(team[0])
    current = post(client, next_url(campaign)).json()["task"]
    ahead = post(client, next_url(campaign, ahead_of=current["lease"])).json()["task"]
    release = reverse("api-release", args=[ahead["lease"]])
    first = post(client, release)
    assert first.status_code == 200, first.content
    assert first.json() == {"lease": ahead["lease"], "status": Lease.Status.RELEASED}
    again = post(client, release)  # a beacon sent twice, or a retry
    assert again.status_code == 200 and again.json() == first.json()
    assert [lease.pk for lease in live(team[0])] == [current["lease"]]
    released = Lease.objects.get(pk=ahead["lease"])
    assert released.status == Lease.Status.RELEASED and released.closed_at is not None
    assert not released.job.leases.filter(status=Lease.Status.ACTIVE).exists()
    # The slot is free: prefetching again takes a new lease, still only one ahead.
    again_ahead = post(client, next_url(campaign, ahead_of=current["lease"])).json()["task"]
    assert again_ahead["lease"] != ahead["lease"]
    assert len(live(team[0])) == 2


def test_release_is_refused_for_someone_elses_lease(team, campaign):
    owner = client_for(team[0])
    current = post(owner, next_url(campaign)).json()["task"]
    ahead = post(owner, next_url(campaign, ahead_of=current["lease"])).json()["task"]
    response = post(client_for(team[1]), reverse("api-release", args=[ahead["lease"]]))
    assert response.status_code == 404 and response.json()["error"] == "lease_not_found"
    assert Lease.objects.get(pk=ahead["lease"]).status == Lease.Status.ACTIVE


def test_a_malformed_ahead_of_is_a_clear_400_that_takes_no_lease(team, campaign):
    client = client_for(team[0])
    response = post(client, next_url(campaign, ahead_of="soon"))
    assert response.status_code == 400 and "ahead_of" in response.json()
    assert not Lease.objects.exists()


@pytest.mark.parametrize("modality", list("tavm"))
def test_a_task_fetched_ahead_opens_only_its_own_modality(team, campaign, modality):
    client = client_for(team[0])
    campaign.jobs.exclude(modality=modality).delete()
    current = post(client, next_url(campaign)).json()["task"]
    ahead = post(client, next_url(campaign, ahead_of=current["lease"])).json()["task"]
    assert ahead["modality"] == modality
    lease = Lease.objects.select_related("job__utterance").get(pk=ahead["lease"])
    utterance = lease.job.utterance
    assert utterance != Lease.objects.get(pk=current["lease"]).job.utterance  # the guard
    mine = utterance.renditions.get(modality=modality)
    assert fetch(client, mine) == (200, media_bytes(mine))
    for other in utterance.renditions.exclude(modality=modality):
        assert fetch(client, other)[0] == 403, other.modality
    subtitles = client.get(
        reverse("rendition-subtitles", args=[utterance.renditions.get(modality="m").pk])
    )
    assert subtitles.status_code == (200 if modality == "m" else 403)
    assert fetch(client_for(team[1]), mine)[0] == 403
    post(client, reverse("api-release", args=[ahead["lease"]]))
    assert fetch(client, mine)[0] == 403  # released: its media is closed again


def test_the_schema_documents_ahead_of_and_release(team, campaign):
    schema = client_for(team[0]).get(reverse("api-schema")).content.decode()
    assert "/api/tasks/{lease_id}/release/" in schema
    assert "ahead_of" in schema
