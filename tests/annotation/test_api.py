"""The annotator API and media access over HTTP: masking, ownership, CSRF and clear errors."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from labeling.models import Lease, Rendition, Vote
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return annotators(4)


@pytest.fixture
def campaign(team, media_root):
    return campaign_with_media(media_root, "api", 3, team[:3])


def campaign_with_media(media_root, name: str, utterances: int, team):
    """A campaign over a rendered corpus whose rendition files hold `media_bytes`."""
    corpus = rendered_corpus(utterances)
    for rendition in Rendition.objects.filter(utterance__corpus=corpus):
        path = media_root / rendition.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(media_bytes(rendition))
    return create_campaign(name=name, corpus=corpus, annotators=team)


def media_bytes(rendition) -> bytes:
    return f"media bytes of {rendition.utterance_id}/{rendition.modality}".encode()


def fetch(client, rendition):
    response = client.get(reverse("rendition-file", args=[rendition.pk]))
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response.status_code, body


def client_for(user, csrf=False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def take(client, campaign):
    return post(client, reverse("api-next-task", args=[campaign.pk])).json()["task"]


def test_an_annotator_gets_a_task_answers_it_and_sees_their_count(team, campaign):
    client = client_for(team[0])
    task = take(client, campaign)
    assert task["labels"][0] == {"name": "happiness", "key": "1"}
    answer = post(
        client, reverse("api-submit", args=[task["lease"]]), {"label": "fear", "seconds_spent": 2}
    )
    assert answer.status_code == 201 and answer.json()["repeated"] is False
    again = post(client, reverse("api-submit", args=[task["lease"]]), {"label": "fear"})
    assert again.status_code == 200 and again.json()["lease"] == answer.json()["lease"]
    assert Vote.objects.count() == 1
    progress = client.get(reverse("api-progress", args=[campaign.pk])).json()
    assert progress["submitted"] == 1


def test_the_task_payload_shows_only_its_modality(team, campaign):
    campaign.independence_guard = False  # so one annotator reaches every modality
    campaign.save()
    client = client_for(team[0])
    seen = {}
    while len(seen) < 4:
        task = take(client, campaign)
        assert task is not None, f"only {sorted(seen)} were handed out"
        seen[task["modality"]] = task
        post(client, reverse("api-skip", args=[task["lease"]]))
    for modality, task in seen.items():
        if modality == "t":
            assert task["transcript"] and task["media_url"] is None
        else:
            assert task["transcript"] is None and task["media_url"]
        assert (task["subtitles_url"] is not None) == (modality == "m")
        assert not {"label", "votes", "state", "votes_count"} & set(task)


@pytest.mark.parametrize("modality", list("tavm"))
def test_media_only_through_a_live_lease_on_that_very_modality(team, campaign, modality):
    campaign.jobs.exclude(modality=modality).delete()
    client = client_for(team[0])
    lease = next_task(team[0], campaign)
    utterance = lease.job.utterance
    mine = utterance.renditions.get(modality=modality)
    assert fetch(client, mine) == (200, media_bytes(mine))
    for other in utterance.renditions.exclude(modality=modality):
        assert fetch(client, other)[0] == 403, other.modality
    subtitles = client.get(
        reverse("rendition-subtitles", args=[utterance.renditions.get(modality="m").pk])
    )
    assert subtitles.status_code == (200 if modality == "m" else 403)
    someone_else = client_for(team[1])
    assert fetch(someone_else, mine)[0] == 403
    Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now())
    assert fetch(client, mine)[0] == 403
    assert fetch(Client(), mine)[0] == 403


def test_the_full_video_comes_with_its_transcript_as_a_subtitle_file(team, campaign):
    utterance = campaign.corpus.utterances.first()
    campaign.jobs.exclude(utterance=utterance, modality="m").delete()
    client = client_for(team[0])
    task = take(client, campaign)
    assert task["modality"] == "m"
    response = client.get(task["subtitles_url"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vtt")
    body = response.content.decode()
    assert body.startswith("WEBVTT") and "00:00:00.000 --> 00:00:02.000" in body
    assert utterance.transcript in body
    audio = utterance.renditions.get(modality="a")
    # The transcript never comes through another modality's rendition.
    assert client.get(reverse("rendition-subtitles", args=[audio.pk])).status_code == 403
    post(client, reverse("api-skip", args=[task["lease"]]))
    assert client.get(task["subtitles_url"]).status_code == 403  # no live lease any more


@pytest.mark.parametrize("body", ['{"label": ', "not json", '["fear"]'])
def test_malformed_json_is_a_clear_400_and_changes_nothing(team, campaign, body):
    client = client_for(team[0])
    task = take(client, campaign)
    response = client.post(
        reverse("api-submit", args=[task["lease"]]), body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()
    assert not Vote.objects.exists()


def test_refusals_are_clear_4xx_errors_that_change_nothing(team, campaign):
    client = client_for(team[0])
    task = take(client, campaign)
    submit = reverse("api-submit", args=[task["lease"]])
    unknown = post(client, submit, {"label": "joy"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_label"
    other = post(client_for(team[1]), submit, {"label": "fear"})
    assert other.status_code == 404 and other.json()["error"] == "lease_not_found"
    Lease.objects.filter(pk=task["lease"]).update(expires_at=timezone.now())
    expired = post(client, submit, {"label": "fear"})
    assert expired.status_code == 409 and expired.json()["error"] == "lease_expired"
    assert "press next" in expired.json()["detail"]
    assert not Vote.objects.exists()


def test_submitting_after_the_job_was_decided_is_refused(team, campaign):
    campaign.jobs.exclude(pk=campaign.jobs.order_by("id").first().pk).delete()
    leases = [next_task(a, campaign) for a in team[:3]]
    for annotator, lease in zip(team[:2], leases[:2], strict=True):
        submit_vote(annotator, lease.pk, "fear")
    lease = leases[2]
    job = lease.job
    job.state, job.label, job.priority = "decided", "fear", 9  # a reviewer closed it meanwhile
    job.save()
    response = post(client_for(team[2]), reverse("api-submit", args=[lease.pk]), {"label": "fear"})
    assert response.status_code == 409 and response.json()["error"] == "job_closed"
    assert Vote.objects.count() == 2


def test_csrf_is_enforced_on_session_authenticated_writes(team, campaign):
    client = client_for(team[0], csrf=True)
    response = post(client, reverse("api-next-task", args=[campaign.pk]))
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not Lease.objects.exists()


def test_token_authentication_works_for_scripts(team, campaign):
    token = Token.objects.create(user=team[0])
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("api-next-task", args=[campaign.pk]), HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 200 and response.json()["task"]["lease"]


def test_outsiders_and_anonymous_users_get_nothing(team, campaign):
    outsider = client_for(team[3])
    assert post(outsider, reverse("api-next-task", args=[campaign.pk])).status_code == 403
    assert outsider.get(reverse("api-progress", args=[campaign.pk])).status_code == 403
    assert outsider.get(reverse("annotate", args=[campaign.pk])).status_code == 403
    assert post(Client(), reverse("api-next-task", args=[campaign.pk])).status_code == 403


def test_annotators_cannot_reach_admin_pages_or_votes(team, campaign):
    client = client_for(team[0])
    for url in (
        "/admin/",
        "/admin/labeling/vote/",
        "/admin/labeling/job/",
        "/admin/labeling/utterance/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_schema_describes_the_annotator_api(team, campaign):
    schema = client_for(team[0]).get(reverse("api-schema")).content.decode()
    for path in (
        "/api/campaigns/{campaign_id}/next/",
        "/api/tasks/{lease_id}/submit/",
        "/api/tasks/{lease_id}/skip/",
    ):
        assert path in schema


def test_next_task_and_submit_use_a_bounded_number_of_queries(
    team, campaign, django_assert_max_num_queries
):
    client = client_for(team[0])
    take(client, campaign)  # warm up the session and content types
    post(client, reverse("api-skip", args=[Lease.objects.get().pk]))
    # A fixed number per window of candidates, whatever the campaign's size (qualification
    # and the screened-clips guard take one each).
    with django_assert_max_num_queries(19):
        task = take(client, campaign)
    with django_assert_max_num_queries(14):
        post(client, reverse("api-submit", args=[task["lease"]]), {"label": "fear"})


def test_the_openapi_schema_is_valid_and_lists_every_annotator_endpoint(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in (
        "/api/campaigns/{campaign_id}/qualification/",
        "/api/campaigns/{campaign_id}/training/{modality}/next/",
        "/api/campaigns/{campaign_id}/exams/{modality}/start/",
        "/api/exams/{attempt_id}/next/",
    ):
        assert path in schema


def reviewer_client():
    from django.contrib.auth.models import Group, User

    from labeling.roles import REVIEWER

    rita = User.objects.create_user("rita", password="pw")
    rita.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    return client_for(rita)


@pytest.mark.parametrize("modality", ["x", "tt", "v"])  # v: real, but not collected here
def test_an_unknown_modality_is_a_400_that_lists_the_valid_ones(team, media_root, modality):
    campaign = create_campaign(
        name="ta", corpus=rendered_corpus(2), annotators=team[:1], modalities="ta"
    )
    client = client_for(team[0])
    for url in (
        reverse("api-training-next", args=[campaign.pk, modality]),
        reverse("api-exam-start", args=[campaign.pk, modality]),
    ):
        response = post(client, url)
        assert response.status_code == 400, url
        body = response.json()
        assert body["error"] == "unknown_modality" and "use one of t, a" in body["detail"]
    assert not Lease.objects.exists()


def test_pausing_or_resuming_someone_outside_the_pool_is_a_404(team, campaign):
    from labeling.models import AnnotatorPause

    client = reviewer_client()
    for annotator_id in (999_999, team[3].pk):  # unknown, and not in this campaign's pool
        for action in ("pause", "resume"):
            response = client.post(
                reverse("review-annotator", args=[campaign.pk, annotator_id]),
                {"action": action, "reason": "a test"},
            )
            assert response.status_code == 404
    assert not AnnotatorPause.objects.exists()


def staff_member(name: str, role: str):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(name, password="pw", is_staff=role == "staff")
    if role == "reviewer":
        from labeling.roles import REVIEWER

        user.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    return user


@pytest.mark.parametrize("role", ["reviewer", "staff"])
def test_reviewers_and_staff_in_the_pool_are_masked_like_any_annotator(campaign, role):
    member = staff_member("insider", role)
    campaign.annotators.add(member)
    campaign.jobs.exclude(modality="a").delete()
    client = client_for(member)
    utterance = campaign.corpus.utterances.first()
    audio = utterance.renditions.get(modality="a")
    assert client.get(reverse("rendition-file", args=[audio.pk])).status_code == 403
    lease = next_task(member, campaign)
    mine = lease.job.utterance.renditions
    audio = mine.get(modality="a")
    assert fetch(client, audio) == (200, media_bytes(audio))
    for other in mine.exclude(modality="a"):
        assert client.get(reverse("rendition-file", args=[other.pk])).status_code == 403
    full = mine.get(modality="m")
    assert client.get(reverse("rendition-subtitles", args=[full.pk])).status_code == 403


def test_reviewers_outside_the_pool_keep_every_modality_for_review(campaign):
    reviewer = staff_member("outsider", "reviewer")
    client = client_for(reviewer)
    for rendition in campaign.corpus.utterances.first().renditions.all():
        response = client.get(reverse("rendition-file", args=[rendition.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"media bytes")


def test_the_schema_and_the_docs_need_a_login(campaign):
    anonymous = Client()
    assert anonymous.get(reverse("api-schema")).status_code == 403
    docs = anonymous.get(reverse("api-docs"))
    assert docs.status_code == 302 and "/accounts/login/" in docs["Location"]


def test_the_docs_page_loads_its_assets_from_this_server_not_a_cdn(team, campaign):
    import re

    from django.contrib.staticfiles import finders

    page = client_for(team[0]).get(reverse("api-docs"))
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [s for s in sources if s.endswith((".js", ".css"))]
    assert assets and not [s for s in sources if "//" in s]  # nothing from another origin
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset


def test_token_authentication_refuses_unknown_tokens_and_inactive_users(team, campaign):
    token = Token.objects.create(user=team[0])
    url = reverse("api-next-task", args=[campaign.pk])
    assert Client(HTTP_AUTHORIZATION=f"Token {token.key}").post(url).status_code == 200
    # 403, not 401: the first authentication class (sessions) sends no WWW-Authenticate.
    unknown = Client(HTTP_AUTHORIZATION="Token " + "0" * 40).post(url)
    assert unknown.status_code == 403 and unknown.json()["detail"] == "Invalid token."
    team[0].is_active = False
    team[0].save(update_fields=["is_active"])
    inactive = Client(HTTP_AUTHORIZATION=f"Token {token.key}").post(url)
    assert inactive.status_code == 403 and inactive.json()["detail"] == "User inactive or deleted."


def test_next_task_for_an_unknown_campaign_is_404(team):
    token = Token.objects.create(user=team[0])
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(reverse("api-next-task", args=[999_999])).status_code == 404
