"""Admins set screening up on the campaign form, see each clip's decision, and re-judge."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from labeling.models import Campaign, ClipScreening, ScreeningStatus, Utterance
from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus
from tests.screening.test_judge import measures

pytestmark = pytest.mark.django_db

Status = ClipScreening.Status


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def form_as_shown(client, url, **changes) -> dict:
    """The admin form's fields as the page fills them in (inlines included), with changes,
    as a browser would post them."""
    response = client.get(url)
    forms = [response.context["adminform"].form]
    forms += [
        inline.formset.management_form for inline in response.context["inline_admin_formsets"]
    ]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = value
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def add_campaign(client, corpus, team, **changes):
    url = reverse("admin:labeling_campaign_add")
    data = form_as_shown(
        client, url, name="admin campaign", corpus=corpus.pk, annotators=[u.pk for u in team]
    )
    return client.post(url, {**data, **changes}, follow=True)


def automatic_campaign(corpus, name: str) -> Campaign:
    return create_campaign(
        name=name, corpus=corpus, annotators=annotators(1), automatic_screening=True
    )


@pytest.fixture
def measured_corpus():
    """Two clips: u0 lasts 1.5 s, u1 lasts 6 s; both otherwise pass."""
    corpus = rendered_corpus(2)
    for utterance, seconds in zip(corpus.utterances.order_by("pk"), (1.5, 6.0), strict=True):
        Utterance.objects.filter(pk=utterance.pk).update(
            screening_status=ScreeningStatus.MEASURED, screening=measures(duration_seconds=seconds)
        )
    return corpus


def test_a_campaign_created_with_automatic_screening_gets_jobs_for_passing_clips(
    admin_client, measured_corpus
):
    response = add_campaign(
        admin_client,
        measured_corpus,
        annotators(1),
        automatic_screening="on",
        screen_min_seconds="2",
        screen_min_face_share="",  # left empty: the default
    )
    assert response.status_code == 200
    campaign = Campaign.objects.get()
    assert set(campaign.jobs.values_list("utterance__external_id", flat=True)) == {"u1"}
    assert "1 accepted, 1 rejected by automatic checks" in response.content.decode()
    assert campaign.screen_min_face_share == 0.6


def test_the_form_refuses_inconsistent_thresholds_and_overlapping_screeners(
    admin_client, measured_corpus
):
    team = annotators(1)
    page = add_campaign(
        admin_client, measured_corpus, team, screen_min_seconds="9", screen_max_seconds="3"
    ).content.decode()
    assert "shorter than the longest" in page
    page = add_campaign(
        admin_client, measured_corpus, team, human_screening="on", screeners=[team[0].pk]
    ).content.decode()
    assert "independence guard" in page
    assert not Campaign.objects.exists()


def test_changing_thresholds_in_the_admin_rejudges_the_clips(admin_client, measured_corpus):
    campaign = automatic_campaign(measured_corpus, "admin campaign")
    assert campaign.jobs.count() == 4 * 2
    url = reverse("admin:labeling_campaign_change", args=[campaign.pk])
    data = form_as_shown(admin_client, url, screen_min_seconds="2")
    response = admin_client.post(url, data, follow=True)
    assert "1 accepted, 1 rejected by automatic checks" in response.content.decode()
    assert set(campaign.jobs.values_list("utterance__external_id", flat=True)) == {"u1"}


def test_the_screening_list_filters_and_shows_reasons_and_measures(admin_client, measured_corpus):
    campaign = automatic_campaign(measured_corpus, "listed")
    campaign.screen_min_seconds = 2.0
    campaign.save()
    url = reverse("admin:labeling_clipscreening_changelist")
    response = admin_client.post(
        url,
        {
            "action": "judge_campaigns_again",
            "_selected_action": list(campaign.screenings.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "1 accepted, 1 rejected by automatic checks" in response.content.decode()

    listing = admin_client.get(url, {"status__exact": Status.REJECTED_AUTO}).content.decode()
    assert "lasts 1.5 s, shorter than 2 s" in listing
    assert admin_client.get(url, {"reason__exact": "bad_audio"}).status_code == 200
    assert admin_client.get(url, {"campaign__id__exact": campaign.pk}).status_code == 200

    rejected = campaign.screenings.get(status=Status.REJECTED_AUTO)
    page = admin_client.get(
        reverse("admin:labeling_clipscreening_change", args=[rejected.pk])
    ).content.decode()
    assert "frames with exactly one face" in page and "1.50 s" in page
    assert "lasts 1.5 s, shorter than 2 s" in page


def test_the_campaign_action_rejudges(admin_client, measured_corpus):
    campaign = automatic_campaign(measured_corpus, "action")
    Campaign.objects.filter(pk=campaign.pk).update(screen_max_seconds=5.0)
    response = admin_client.post(
        reverse("admin:labeling_campaign_changelist"),
        {"action": "judge_screening", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "1 accepted, 1 rejected by automatic checks" in response.content.decode()
    assert set(campaign.jobs.values_list("utterance__external_id", flat=True)) == {"u0"}
