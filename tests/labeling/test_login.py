"""Logging in: password guessing is slowed and logged; refusals are pages that lead home."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def log_in(client, password):
    return client.post(reverse("login"), {"username": "ana", "password": password})


def test_repeated_wrong_passwords_lock_the_login_and_are_logged(settings):
    User.objects.create_user("ana", password="right-password")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "guess").status_code == 200  # the form again, with its error
    locked = log_in(client, "guess")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert f'href="{reverse("home")}"' in locked.content.decode()
    refused = log_in(client, "right-password")  # even the right one, until the cool-off
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username="ana")
    assert attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT


def test_a_right_password_logs_in_and_clears_earlier_failures(settings):
    User.objects.create_user("ana", password="right-password")
    client = Client()
    log_in(client, "guess")
    response = log_in(client, "right-password")
    assert response.status_code == 302 and client.session["_auth_user_id"]
    assert not AccessAttempt.objects.filter(username="ana").exists()


def test_test_clients_and_scripts_still_log_in_without_a_request():
    User.objects.create_user("ana", password="right-password")
    client = Client()
    assert client.login(username="ana", password="right-password")
    assert not client.login(username="ana", password="wrong")


def test_a_refused_page_says_why_and_links_home():
    User.objects.create_user("ana", password="pw")
    client = Client()
    client.force_login(User.objects.get(username="ana"))
    response = client.get(reverse("rendition-file", args=[1]))  # no such rendition is a 404
    assert response.status_code == 404
    from labeling.models import Corpus, Rendition, Utterance

    corpus = Corpus.objects.create(name="c")
    utterance = Utterance.objects.create(
        corpus=corpus, source_file="s.mp4", duration_seconds=1.0, content_hash="0" * 64
    )
    rendition = Rendition.objects.create(utterance=utterance, modality="a", status="done")
    response = client.get(reverse("rendition-file", args=[rendition.pk]))
    page = response.content.decode()
    assert response.status_code == 403
    assert "You hold no live task on this media." in page
    assert f'href="{reverse("home")}"' in page


def test_an_expired_form_is_a_page_that_says_what_to_do(settings):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "ana", "password": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "reload the page" in page and f'href="{reverse("home")}"' in page
